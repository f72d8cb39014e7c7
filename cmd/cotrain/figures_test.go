package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/robustvision/cotrain/pkg/figures"
	"github.com/robustvision/cotrain/pkg/provenance"
)

// Rerunning a figure whose bytes do not change leaves the file and provenance.json byte for byte as they were (a
// clean clone stays clean); a figure that changes gets a new file and a new record, and the scale of each file is
// recorded.
func TestFiguresUnchangedLeaveNoTrace(t *testing.T) {
	dir := t.TempDir()
	figs := func(args ...string) string {
		t.Helper()
		var out, errOut bytes.Buffer
		if code := run(append([]string{"figures", "-scale", "smoke", "-out", dir, "-manifest", "../../data/photos.tsv",
			"-photos-dir", "../../data/cache/photos"}, args...), &out, &errOut); code != 0 {
			t.Fatalf("cotrain figures %v exited %d: %s", args, code, errOut.String())
		}
		return out.String()
	}
	figs("-only", "fig4,fig1")
	prov, _ := os.ReadFile(filepath.Join(dir, "provenance.json"))
	fig4, _ := os.Stat(filepath.Join(dir, "fig4_toy.png"))
	if out := figs("-only", "fig4"); !strings.Contains(out, "unchanged") {
		t.Errorf("a figure whose bytes did not change: %s", out)
	}
	again, _ := os.ReadFile(filepath.Join(dir, "provenance.json"))
	after, _ := os.Stat(filepath.Join(dir, "fig4_toy.png"))
	if !bytes.Equal(prov, again) || !after.ModTime().Equal(fig4.ModTime()) {
		t.Error("rerunning an unchanged figure rewrote it or provenance.json")
	}
	os.WriteFile(filepath.Join(dir, "fig4_toy.png"), []byte("old"), 0o644)
	if out := figs("-only", "fig4"); !strings.Contains(out, "wrote") {
		t.Errorf("a changed figure was not written: %s", out)
	}
	var p figuresProvenance
	if err := provenance.ReadJSON(filepath.Join(dir, "provenance.json"), &p); err != nil || p.Files["fig4_toy.png"] == nil ||
		p.Files["fig4_toy.png"].Scale != "smoke" {
		t.Errorf("provenance after a change: %v %+v", err, p.Files["fig4_toy.png"])
	}
	if entries, _ := filepath.Glob(filepath.Join(dir, ".tmp-figures-*")); len(entries) != 0 {
		t.Errorf("temporary folders left: %v", entries)
	}
}

// A figure drawn from a stage that status rejects is an error naming the stage, unless -skip-missing, which skips
// it and says so; a copy of the smoke cache with its robustness analysis edited (its record rewritten to match).
func TestFiguresRefuseStaleResults(t *testing.T) {
	root := copySmokeRepo(t)
	robFile := filepath.Join(root, "data", "cache", "smoke", "analysis", "robustness", "accuracies.csv")
	b, err := os.ReadFile(robFile)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(robFile, append(b, []byte("x")...), 0o644) // one more byte: the recorded size and sum disagree
	t.Chdir(root)
	var out, errOut bytes.Buffer
	code := run([]string{"figures", "-scale", "smoke", "-only", "fig2", "-out", t.TempDir()}, &out, &errOut)
	if code == 0 || !strings.Contains(errOut.String(), "analysis/robustness") {
		t.Errorf("fig2 from an edited robustness analysis: exit %d, %s", code, errOut.String())
	}
	out.Reset()
	errOut.Reset()
	code = run([]string{"figures", "-scale", "smoke", "-only", "fig2,fig4", "-skip-missing", "-out", t.TempDir()}, &out, &errOut)
	if code != 0 || !strings.Contains(out.String(), "skipping fig2") || !strings.Contains(out.String(), "fig4") {
		t.Errorf("-skip-missing: exit %d, %s %s", code, out.String(), errOut.String())
	}
}

// copySmokeRepo is a folder with what the figures of the smoke scale read: go.mod, the photo manifest, the
// photographs (linked) and a copy of the smoke cache.
func copySmokeRepo(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	for _, f := range []string{"go.mod", "data/photos.tsv"} {
		b, err := os.ReadFile(filepath.Join("../..", f))
		if err != nil {
			t.Fatal(err)
		}
		os.MkdirAll(filepath.Dir(filepath.Join(root, f)), 0o755)
		os.WriteFile(filepath.Join(root, f), b, 0o644)
	}
	photos, _ := filepath.Abs("../../data/cache/photos")
	os.MkdirAll(filepath.Join(root, "data", "cache"), 0o755)
	os.Symlink(photos, filepath.Join(root, "data", "cache", "photos"))
	if err := os.CopyFS(filepath.Join(root, "data", "cache", "smoke"), os.DirFS("../../data/cache/smoke")); err != nil {
		t.Fatal(err)
	}
	return root
}

// The README's table of figures is figures.Specs: every figure, its command, notebook cell and function.
func TestReadmeFigureTable(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, sp := range figures.Specs {
		nbCell := sp.Notebook
		if nbCell == "" {
			nbCell = "-"
		}
		row := "| " + sp.What + " | `go run ./cmd/cotrain figures -only " + sp.Name + "` | " + nbCell + " | `" + sp.Function + "` |"
		if !strings.Contains(string(readme), row+"\n") {
			t.Errorf("README's table of figures lacks the row\n%s", row)
		}
	}
	if n := strings.Count(string(readme), "`go run ./cmd/cotrain figures -only "); n != len(figures.Specs) {
		t.Errorf("README's table has %d figures, figures.Specs %d", n, len(figures.Specs))
	}
}

// A placement that stops half way (here: a file that cannot be replaced) leaves every file either as it was or new,
// and provenance.json saying which: the files moved have this run's record and scale, the others keep theirs.
func TestFiguresPlacementStopsCleanly(t *testing.T) {
	dir := t.TempDir()
	old := &provenance.Record{Command: "an earlier run"}
	p := figuresProvenance{Scale: "mini", Files: map[string]*figureRecord{"a.png": {Scale: "mini", Record: old},
		"b.png": {Scale: "mini", Record: old}}}
	if err := provenance.WriteJSON(filepath.Join(dir, "provenance.json"), p); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "a.png"), []byte("old a"), 0o644)
	os.Mkdir(filepath.Join(dir, "b.png"), 0o755) // a folder: the rename onto it fails
	os.WriteFile(filepath.Join(dir, "b.png", "x"), []byte("x"), 0o644)
	made := map[string][]byte{"a.png": []byte("new a"), "b.png": []byte("new b")}
	var out bytes.Buffer
	if err := placeFigures(dir, "smoke", []string{"a.png", "b.png"}, made, &provenance.Record{Command: "this run"}, &out); err == nil {
		t.Fatal("placing onto a folder did not fail")
	}
	var got figuresProvenance
	if err := provenance.ReadJSON(filepath.Join(dir, "provenance.json"), &got); err != nil {
		t.Fatal(err)
	}
	a, _ := os.ReadFile(filepath.Join(dir, "a.png"))
	if string(a) != "new a" || got.Files["a.png"].Scale != "smoke" || got.Files["a.png"].Command != "this run" {
		t.Errorf("a.png: %q, record %+v", a, got.Files["a.png"])
	}
	if got.Files["b.png"].Scale != "mini" || got.Files["b.png"].Command != "an earlier run" {
		t.Errorf("b.png, not replaced, has the record %+v", got.Files["b.png"])
	}
	if entries, _ := filepath.Glob(filepath.Join(dir, ".tmp-figures-*")); len(entries) != 0 {
		t.Errorf("temporary folders left: %v", entries)
	}
}
