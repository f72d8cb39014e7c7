package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/robustvision/cotrain/pkg/corrupt"
	"github.com/robustvision/cotrain/pkg/neural"
)

func TestHelpListsCommands(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{"-h"}, &out, &errOut); code != 0 {
		t.Fatalf("cotrain -h exited %d", code)
	}
	for _, c := range commands() {
		if !strings.Contains(out.String(), c.name) {
			t.Errorf("cotrain -h does not list %q", c.name)
		}
	}
	out.Reset()
	if code := run([]string{"figures", "-h"}, &out, &errOut); code != 0 || !strings.Contains(out.String(), "-scale") {
		t.Errorf("cotrain figures -h: exit %d, output %q", code, out.String())
	}
}

func TestBadInputIsAUsageError(t *testing.T) {
	for _, args := range [][]string{{"nonsense"}, {"figures", "-scale", "huge"}, {"version", "-nope"}, {"figures", "extra"}, {},
		{"reproduce", "-jobs", "-5"}, {"calibrate", "-model", "oracle"}, {"calibrate", "-same-step", "-lr", "0.1"}, {"corrupt", "-in", "x.png"}} {
		var out, errOut bytes.Buffer
		if code := run(args, &out, &errOut); code != 2 {
			t.Errorf("cotrain %q exited %d, want 2 (stderr %q)", args, code, errOut.String())
		}
	}
	var out, errOut bytes.Buffer
	if code := run([]string{"version", "-backend", "tpu"}, &out, &errOut); code != 1 || !strings.Contains(errOut.String(), "accepted values") {
		t.Errorf("cotrain version -backend tpu: exit %d, stderr %q", code, errOut.String())
	}
}

func TestVersionReportsPureGoBackend(t *testing.T) {
	t.Setenv("GOMLX_BACKEND", "")
	var out, errOut bytes.Buffer
	if code := run([]string{"version"}, &out, &errOut); code != 0 {
		t.Fatalf("cotrain version exited %d: %s", code, errOut.String())
	}
	if !strings.Contains(out.String(), "SimpleGo") || !strings.Contains(out.String(), "self-test passed") {
		t.Errorf("cotrain version output:\n%s", out.String())
	}
}

func TestFiguresWritesFilesAndProvenance(t *testing.T) {
	dir := t.TempDir()
	var out, errOut bytes.Buffer
	if code := run([]string{"figures", "-scale", "smoke", "-out", dir, "-manifest", "../../data/photos.tsv", "-photos-dir", "../../data/cache/photos", "-quick"}, &out, &errOut); code != 0 {
		t.Fatalf("cotrain figures exited %d: %s", code, errOut.String())
	}
	for _, f := range []string{"fig1_architecture.png", "fig9_corruptions.png", "corruptions_all_severities.png", "provenance.json"} {
		if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.Size() == 0 {
			t.Errorf("%s not written: %v", f, err)
		}
	}
}

// -only makes the named figures alone and adds their records to provenance.json, keeping the others'; an unknown
// name is refused with the list of names; -list names every figure.
func TestFiguresOnly(t *testing.T) {
	dir := t.TempDir()
	figs := func(args ...string) (int, string) {
		var out, errOut bytes.Buffer
		code := run(append([]string{"figures", "-scale", "smoke", "-out", dir, "-manifest", "../../data/photos.tsv",
			"-photos-dir", "../../data/cache/photos"}, args...), &out, &errOut)
		return code, out.String() + errOut.String()
	}
	if code, out := figs("-only", "fig4"); code != 0 {
		t.Fatalf("-only fig4 exited %d: %s", code, out)
	}
	if code, out := figs("-only", "FIG1, fig9"); code != 0 {
		t.Fatalf("-only fig1,fig9 exited %d: %s", code, out)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 4 {
		t.Errorf("%d files written, want fig1, fig4, fig9 and provenance.json", len(entries))
	}
	var prov figuresProvenance
	b, err := os.ReadFile(filepath.Join(dir, "provenance.json"))
	if err != nil || json.Unmarshal(b, &prov) != nil {
		t.Fatalf("provenance.json: %v", err)
	}
	for _, f := range []string{"fig4_toy.png", "fig1_architecture.png", "fig9_corruptions.png"} {
		if prov.Files[f] == nil {
			t.Errorf("provenance.json has no record of %s: %v", f, prov.Files)
		}
	}
	if code, out := figs("-only", "fig99"); code != 2 || !strings.Contains(out, "fig3c") {
		t.Errorf("-only fig99: exit %d, %s", code, out)
	}
	var out bytes.Buffer
	if code := run([]string{"figures", "-list"}, &out, &out); code != 0 || !strings.Contains(out.String(), "fig3c_regression.png") {
		t.Errorf("-list: exit %d, %s", code, out.String())
	}
}

func TestCorruptCommand(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in")
	img := corrupt.NewImage(32, 32, 1)
	for i := range img.Pix {
		img.Pix[i] = uint8(i * 7)
	}
	for _, n := range []string{"a.png", "b.png"} {
		if err := corrupt.WritePNG(filepath.Join(in, n), img); err != nil {
			t.Fatal(err)
		}
	}
	var out, errOut bytes.Buffer
	code := run([]string{"corrupt", "-in", in, "-out", filepath.Join(dir, "out"), "-name", "fog,contrast", "-severity", "1,5", "-seed", "3"}, &out, &errOut)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	entries, _ := os.ReadDir(filepath.Join(dir, "out"))
	if len(entries) != 2*2*2 {
		t.Errorf("%d files written, want 8", len(entries))
	}
	got, err := corrupt.ReadPNG(filepath.Join(dir, "out", "a_fog_s5.png"))
	if err != nil || got.C != 1 || got.H != 32 {
		t.Errorf("a_fog_s5.png: %+v, %v (want a 32×32 grayscale PNG)", got.C, err)
	}
	single := filepath.Join(dir, "one.png")
	if code := run([]string{"corrupt", "-in", filepath.Join(in, "a.png"), "-out", single, "-name", "snow", "-severity", "2"}, &out, &errOut); code != 0 {
		t.Fatalf("single file: exit %d", code)
	}
	if _, err := os.Stat(single); err != nil {
		t.Error(err)
	}
	for _, args := range [][]string{
		{"corrupt", "-in", in, "-out", dir, "-name", "rain"},
		{"corrupt", "-in", in, "-out", dir, "-preset", "cifar"},
		{"corrupt", "-in", in},
	} {
		if code := run(args, &out, &errOut); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
	os.WriteFile(filepath.Join(dir, "bad.png"), []byte("not a png"), 0o644)
	errOut.Reset()
	if code := run([]string{"corrupt", "-in", filepath.Join(dir, "bad.png"), "-out", filepath.Join(dir, "x.png"), "-name", "fog", "-severity", "1"}, &out, &errOut); code != 1 || !strings.Contains(errOut.String(), "bad.png") {
		t.Errorf("corrupt PNG: exit %d, stderr %q", code, errOut.String())
	}
}

// Hostile inputs to the commands (the reliability issue's cases): an output that would overwrite its input is
// refused and the input is unchanged; a neural dataset whose statistics are undefined for a neuron prints null in
// JSON; the repository root is found from a folder below it.
func TestHostileCommandInputs(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "a.png")
	img := corrupt.NewImage(32, 32, 1)
	if err := corrupt.WritePNG(in, img); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(in)
	var out, errOut bytes.Buffer
	if code := run([]string{"corrupt", "-in", in, "-out", in, "-name", "fog", "-severity", "1"}, &out, &errOut); code == 0 ||
		!strings.Contains(errOut.String(), "overwrite") {
		t.Errorf("corrupt -in a.png -out a.png: exit %d, %s", code, errOut.String())
	}
	if after, _ := os.ReadFile(in); !bytes.Equal(before, after) {
		t.Error("the input was overwritten")
	}
	if code := run([]string{"corrupt", "-in", dir, "-out", dir, "-name", "fog", "-severity", "1"}, &out, &errOut); code != 0 {
		t.Errorf("a folder into itself, names distinct from the inputs': exit %d, %s", code, errOut.String())
	}
	// A neuron whose test responses are constant has no FEV: null in JSON, not -1 and not a failure.
	ds := filepath.Join(dir, "ds")
	d := &neural.Dataset{Meta: neural.Meta{Source: "test", PPD: 14, ImageSize: 4, WindowMs: [2]float64{40, 160},
		Sessions: []neural.SessionRef{{ID: "s1", Neurons: []int{0}}}}, Images: make([]uint8, 3*16), N: 3, H: 4, W: 4,
		Sessions: []neural.Session{{ID: "s1", Neurons: []int{0}, TrainImageIDs: []int64{2}, TrainResponses: []float32{1},
			TestImageIDs: []int64{0, 0, 1, 1}, TestResponses: []float32{2, 2, 2, 2}}}}
	if err := d.Write(ds); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if code := run([]string{"neural", "stats", "-data", ds, "-json"}, &out, &errOut); code != 0 ||
		!strings.Contains(out.String(), `"fev":null`) {
		t.Errorf("neural stats -json: exit %d, %s %s", code, out.String(), errOut.String())
	}
	out.Reset()
	if code := run([]string{"neural", "stats", "-data", ds}, &out, &errOut); code != 0 || !strings.Contains(out.String(), "undefined") ||
		strings.Contains(out.String(), "mean NaN") {
		t.Errorf("neural stats: exit %d, %s", code, out.String())
	}
	// From a folder below the root, status finds the cache (not pkg/data/cache).
	wd, _ := os.Getwd()
	defer os.Chdir(wd)
	os.Chdir(filepath.Join("..", "..", "pkg", "study"))
	out.Reset()
	if code := run([]string{"status", "-scale", "smoke"}, &out, &errOut); code != 0 || strings.Contains(out.String(), " 0 done") {
		t.Errorf("status from pkg/study: exit %d, %s", code, out.String())
	}
	if _, err := os.Stat("data"); err == nil {
		t.Error("status created a data folder inside pkg/study")
	}
}
