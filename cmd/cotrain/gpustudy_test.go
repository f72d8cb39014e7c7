package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/robustvision/cotrain/pkg/scales"
	"github.com/robustvision/cotrain/pkg/study"
)

// docker/gpu-study.sh on the CPU at the smoke scale, as a grant of GPU time runs it at the gpu scale: it runs what is
// to run (here one evaluation), writes the log and the status to $OUT, and packs the cache as a results-only cache
// keeps it. Unpacked into an empty repository, the pack is a study whose every stage is done (or remade on demand),
// from which the next grant continues.
func TestGPUStudyScriptOnCPU(t *testing.T) {
	if testing.Short() {
		t.Skip("runs docker/gpu-study.sh")
	}
	if _, err := os.Stat("../../data/cache/smoke/analysis/robustness/stage.json"); err != nil {
		t.Skip("the smoke study is not in the cache (cotrain reproduce -scale smoke; .ci/test runs it first)")
	}
	root := copySmokeRepo(t)
	if out, err := exec.Command("go", "build", "-o", filepath.Join(root, "bin", "cotrain"), ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	script, err := os.ReadFile("../../docker/gpu-study.sh")
	if err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(root, "docker"), 0o755)
	if err := os.WriteFile(filepath.Join(root, "docker", "gpu-study.sh"), script, 0o755); err != nil {
		t.Fatal(err)
	}
	const ev = "eval/baseline/seed1"
	if err := os.RemoveAll(filepath.Join(root, "data", "cache", "smoke", filepath.FromSlash(ev))); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	cmd := exec.Command("bash", "docker/gpu-study.sh")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "OUT="+out, "SCALE=smoke", "JOBS=1", "STUDY_TIMEOUT=600", "GOMLX_NO_AUTO_INSTALL=1",
		"PATH=/usr/bin:/bin") // no nvidia-smi: the CPU backend
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("gpu-study.sh: %v\n%s", err, b)
	}
	log, _ := os.ReadFile(filepath.Join(out, "reproduce.log"))
	if !strings.Contains(string(log), ev+" done") || !strings.Contains(string(log), "rc 0") {
		t.Errorf("the study's log does not show %s run, or the run failed:\n%s", ev, log)
	}
	for _, f := range []string{"version.txt", "status.txt", "gpu-cache.tar.gz"} {
		if fi, err := os.Stat(filepath.Join(out, f)); err != nil || fi.Size() == 0 {
			t.Errorf("$OUT/%s: missing or empty (%v)", f, err)
		}
	}
	members, err := exec.Command("tar", "tzf", filepath.Join(out, "gpu-cache.tar.gz")).Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range strings.Fields(string(members)) {
		if strings.HasSuffix(m, ".ckpt") || strings.HasSuffix(m, ".lock") || strings.Contains(m, "/v1sim/") ||
			strings.Contains(m, "/targets/") {
			t.Errorf("the pack holds %s, which a results-only cache does not keep", m)
		}
	}
	next := t.TempDir()
	if b, err := exec.Command("tar", "xzf", filepath.Join(out, "gpu-cache.tar.gz"), "-C", next).CombinedOutput(); err != nil {
		t.Fatalf("unpacking: %v\n%s", err, b)
	}
	scale := scales.Smoke
	scale.ResultsOnly = true
	status, err := (&study.Runner{Root: next, Scale: scale}).Status()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range status {
		if s.State != study.Done && s.State != study.OnDemand {
			t.Errorf("unpacked, %s is %s (%s)", s.ID, s.State, s.Problem)
		}
	}
}
