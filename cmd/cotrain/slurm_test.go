package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The smoke study on a real Slurm cluster (bash .ci/slurm up starts a one-node one from Debian's packages; the README's
// test command runs this with COTRAIN_SLURM=1): `cotrain submit` turns every stage into a job chained by its
// dependencies; at least two stages run at once; a job cancelled in the middle of a training (scancel) is submitted
// again with the rest and resumes from its checkpoint; and the results are bit for bit those of a plain `cotrain
// reproduce` (robustness.json, the reconstructions).
func TestSlurmSmokeStudy(t *testing.T) {
	if os.Getenv("COTRAIN_SLURM") == "" || os.Getenv("SLURM_CONF") == "" {
		t.Skip("needs a Slurm cluster: bash .ci/slurm up, then COTRAIN_SLURM=1 SLURM_CONF=… go test -run Slurm ./cmd/cotrain")
	}
	repo, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	// The cotrain binary (the jobs run it) and a scratch repository root sharing the photographs.
	work := t.TempDir()
	bin := filepath.Join(work, "cotrain")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	root := filepath.Join(work, "repo")
	for _, d := range []string{"data/cache"} {
		os.MkdirAll(filepath.Join(root, d), 0o755)
	}
	photos, _ := os.ReadFile(filepath.Join(repo, "data", "photos.tsv"))
	os.WriteFile(filepath.Join(root, "data", "photos.tsv"), photos, 0o644)
	os.Symlink(filepath.Join(repo, "data", "cache", "photos"), filepath.Join(root, "data", "cache", "photos"))
	cotrain := func(env string, args ...string) string {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Env = append(os.Environ(), env)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("cotrain %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	// The reference: a plain reproduce in the repository (done already by the test command; quick if so).
	cotrain("COTRAIN_ROOT="+repo, "reproduce", "-scale", "smoke")

	scaled := "COTRAIN_ROOT=" + root
	out := cotrain(scaled, "submit", "-engine", "slurm", "-scale", "smoke")
	if !strings.Contains(out, "submitted predictor/seed1") {
		t.Fatalf("submit:\n%s", out)
	}
	q := &slurmQueue{t: t, logs: filepath.Join(root, "data", "cache", "smoke", "logs"), cancelAt: "predictor_seed1"}
	q.watch(10 * time.Minute)
	if !q.cancelled {
		t.Fatal("the predictor's job was never seen running past its third epoch")
	}
	status := cotrain(scaled, "status", "-scale", "smoke")
	if !strings.Contains(status, "predictor/seed1 ") || strings.Contains(status, " 0 partial") {
		t.Errorf("after the cancellation the predictor should be partial:\n%s", status)
	}
	cotrain(scaled, "submit", "-engine", "slurm", "-scale", "smoke")
	q.watch(10 * time.Minute)
	status = cotrain(scaled, "status", "-scale", "smoke")
	if !strings.Contains(status, " 0 stale, 0 partial, 0 missing") {
		t.Fatalf("after the second submission:\n%s", status)
	}
	if q.maxRunning < 2 {
		t.Errorf("at most %d stage ran at once", q.maxRunning)
	}
	resumed, _ := filepath.Glob(filepath.Join(q.logs, "predictor_seed1.*.log"))
	var sawResume bool
	for _, f := range resumed {
		b, _ := os.ReadFile(f)
		sawResume = sawResume || strings.Contains(string(b), "resuming from")
	}
	if !sawResume {
		t.Errorf("no predictor log says it resumed (%v)", resumed)
	}
	for _, f := range []string{"analysis/robustness/robustness.json", "analysis/recon/reconstructions.npy"} {
		a, _ := os.ReadFile(filepath.Join(repo, "data", "cache", "smoke", f))
		b, _ := os.ReadFile(filepath.Join(root, "data", "cache", "smoke", f))
		if len(a) == 0 || !bytes.Equal(a, b) {
			t.Errorf("%s differs from the plain reproduce's", f)
		}
	}
	var rec struct {
		Provenance struct{ Job string } `json:"provenance"`
	}
	b, _ := os.ReadFile(filepath.Join(root, "data", "cache", "smoke", "predictor", "seed1", "stage.json"))
	if json.Unmarshal(b, &rec) != nil || !strings.HasPrefix(rec.Provenance.Job, "slurm job ") {
		t.Errorf("the predictor's provenance does not name its Slurm job: %q", rec.Provenance.Job)
	}
	t.Logf("Slurm: up to %d stages at once; the predictor cancelled at its third epoch and resumed", q.maxRunning)
}

// slurmQueue watches the queue until it is empty, counting the jobs running at once, and cancels the job named
// cancelAt once its log shows its third epoch.
type slurmQueue struct {
	t              *testing.T
	logs, cancelAt string
	cancelled      bool
	maxRunning     int
}

func (q *slurmQueue) watch(deadline time.Duration) {
	q.t.Helper()
	for start := time.Now(); time.Since(start) < deadline; time.Sleep(500 * time.Millisecond) {
		out, err := exec.Command("squeue", "-h", "-o", "%i %T %j").Output()
		if err != nil {
			q.t.Fatalf("squeue: %v", err)
		}
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		if strings.TrimSpace(string(out)) == "" {
			return
		}
		q.maxRunning = max(q.maxRunning, strings.Count(string(out), " RUNNING "))
		for _, line := range lines {
			f := strings.Fields(line)
			if q.cancelled || len(f) != 3 || f[1] != "RUNNING" || !strings.HasSuffix(f[2], q.cancelAt) {
				continue
			}
			if b, _ := os.ReadFile(filepath.Join(q.logs, q.cancelAt+"."+f[0]+".log")); strings.Contains(string(b), "epoch 3/") {
				exec.Command("scancel", f[0]).Run()
				q.cancelled = true
			}
		}
	}
	q.t.Fatalf("the jobs did not finish in %s", deadline)
}
