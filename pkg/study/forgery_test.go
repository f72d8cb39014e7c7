package study

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/robustvision/cotrain/pkg/backend"
	"github.com/robustvision/cotrain/pkg/record"
	"github.com/robustvision/cotrain/pkg/scales"
	"github.com/robustvision/cotrain/pkg/train"
)

// smokeCopy is a runner over a scratch copy of the smoke study (made first where the cache lacks it).
func smokeCopy(t *testing.T) *Runner {
	t.Helper()
	b, err := backend.New("cpu")
	if err != nil {
		t.Fatal(err)
	}
	r := scratchCopy(t, &Runner{Root: root, Scale: scales.Smoke, Backend: b})
	if err := r.Reproduce(nil); err != nil {
		t.Fatal(err)
	}
	return r
}

// forge rewrites a stage's record to match its (edited) files, as a forger would.
func forge(t *testing.T, r *Runner, id string) {
	t.Helper()
	rec, err := record.Read(r.Dir(id))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rec.Write(r.Dir(id)); err != nil {
		t.Fatal(err)
	}
}

func stateOf(t *testing.T, r *Runner, id string) StageStatus {
	t.Helper()
	byID, err := r.statusByID()
	if err != nil {
		t.Fatal(err)
	}
	return byID[id]
}

// What status rejects, with the record rewritten to match edited files (a consistent forgery), and with inputs
// deleted: the stage is stale, naming why, and so is every stage made from it; the readers refuse it.
func TestStatusRejectsForgeries(t *testing.T) {
	r := smokeCopy(t)
	const run, ev = "baseline/seed1", "eval/baseline/seed1"
	accFile := filepath.Join(r.Dir(ev), "accuracies.csv")
	orig, err := os.ReadFile(accFile)
	if err != nil {
		t.Fatal(err)
	}
	// Accuracies of NaN, −0.5 and 1.7 (and one that disagrees with the per-image outcomes), digests matching.
	for _, bad := range []string{"NaN", "-0.5", "1.7", "0.123"} {
		lines := strings.Split(string(orig), "\n")
		f := strings.Split(lines[2], ",")
		f[len(f)-1] = bad
		lines[2] = strings.Join(f, ",")
		os.WriteFile(accFile, []byte(strings.Join(lines, "\n")), 0o644)
		forge(t, r, ev)
		if s := stateOf(t, r, ev); s.State != Stale || !strings.Contains(s.Problem, "accurac") {
			t.Errorf("accuracy %s: %s (%s)", bad, s.State, s.Problem)
		}
		if s := stateOf(t, r, RobustnessStage); s.State != Stale || !strings.Contains(s.Problem, ev) {
			t.Errorf("accuracy %s: the robustness analysis is %s (%s)", bad, s.State, s.Problem)
		}
		if _, err := r.LoadRobustness(); err == nil {
			t.Errorf("accuracy %s: the robustness analysis was read", bad)
		}
	}
	os.WriteFile(accFile, orig, 0o644)
	forge(t, r, ev)
	// The robustness analysis edited to a Baseline accuracy of −42 % and a score of 987.6 %, digests matching.
	robFile := filepath.Join(r.Dir(RobustnessStage), "robustness.json")
	rob, _ := os.ReadFile(robFile)
	edited := strings.Replace(string(rob), `"total": {`, `"total": {"mtl-monkey": {"mean": 987.6, "sd": 1}, "x": {"mean": 1, "sd": 1},`, 1)
	os.WriteFile(robFile, []byte(edited), 0o644)
	forge(t, r, RobustnessStage)
	if s := stateOf(t, r, RobustnessStage); s.State != Stale {
		t.Errorf("an edited robustness.json: %s", s.State)
	}
	os.WriteFile(robFile, rob, 0o644)
	forge(t, r, RobustnessStage)
	if s := stateOf(t, r, RobustnessStage); s.State != Done {
		t.Errorf("robustness.json restored: %s (%s)", s.State, s.Problem)
	}
	// A record that lists no files, its model deleted.
	ckpt := filepath.Join(r.Dir(run), "model.ckpt")
	model, _ := os.ReadFile(ckpt)
	recFile := filepath.Join(r.Dir(run), record.FileName)
	recBytes, _ := os.ReadFile(recFile)
	os.Remove(ckpt)
	rec, _ := record.Read(r.Dir(run))
	rec.Files, rec.Digest = record.Files{}, record.Files{}.Digest()
	writeRecord(t, recFile, rec)
	if s := stateOf(t, r, run); s.State != Stale || !strings.Contains(s.Problem, "model.ckpt") {
		t.Errorf("a record without files: %s (%s)", s.State, s.Problem)
	}
	os.WriteFile(ckpt, model, 0o644)
	os.WriteFile(recFile, recBytes, 0o644)
	// Another stage's checkpoint in the Baseline's slot (the Monkey Predictor's; its digest rewritten): stale, and
	// LoadModel refuses it.
	other, _ := os.ReadFile(filepath.Join(r.Dir("predictor/seed1"), "model.ckpt"))
	os.WriteFile(ckpt, other, 0o644)
	forge(t, r, run)
	if s := stateOf(t, r, run); s.State != Stale || !strings.Contains(s.Problem, "not this stage's model") {
		t.Errorf("the predictor's checkpoint as the Baseline: %s (%s)", s.State, s.Problem)
	}
	if _, err := r.LoadModel(run); err == nil {
		t.Error("LoadModel loaded the predictor's checkpoint as the Baseline")
	}
	// A checkpoint of the same stage at another scale: its architecture and scale are not this scale's.
	var info train.ModelInfo
	snap, err := train.ReadCheckpoint(filepath.Join(root, "data", "cache", "mini", "baseline", "seed1", "model.ckpt"), &info)
	if err == nil {
		if err := train.WriteCheckpoint(ckpt, snap, info); err != nil {
			t.Fatal(err)
		}
		forge(t, r, run)
		if s := stateOf(t, r, run); s.State != Stale || !strings.Contains(s.Problem, "not this stage's model") {
			t.Errorf("the mini Baseline in the smoke Baseline's slot: %s (%s)", s.State, s.Problem)
		}
	}
	os.WriteFile(ckpt, model, 0o644)
	os.WriteFile(recFile, recBytes, 0o644)
	if s := stateOf(t, r, run); s.State != Done {
		t.Errorf("restored: %s (%s)", s.State, s.Problem)
	}
	// A deleted input: what was made from it is stale (but for the stages remade on demand).
	if err := os.RemoveAll(r.Dir(run)); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{ev, RobustnessStage, ReconStage} {
		if s := stateOf(t, r, id); s.State != Stale || !strings.Contains(s.Problem, "is missing") && !strings.Contains(s.Problem, "is stale") {
			t.Errorf("%s after %s was deleted: %s (%s)", id, run, s.State, s.Problem)
		}
	}
	if err := os.RemoveAll(r.Dir(V1Stage)); err != nil {
		t.Fatal(err)
	}
	if s := stateOf(t, r, V1Stage); s.State != OnDemand {
		t.Errorf("the recording, deleted: %s", s.State)
	}
	if s := stateOf(t, r, "predictor/seed1"); s.State != Done {
		t.Errorf("the predictor without the recording (remade on demand): %s (%s)", s.State, s.Problem)
	}
}

func writeRecord(t *testing.T, file string, rec *record.Stage) {
	t.Helper()
	// record.Stage.Write lists the folder's files; the forged record is written by hand instead.
	b, err := jsonMarshal(rec)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func jsonMarshal(v any) ([]byte, error) { return json.MarshalIndent(v, "", "  ") }

// A cache that keeps results, not checkpoints (Scale.ResultsOnly, the gpu scale's), counts a training stage done
// without its checkpoint, its other files checked; elsewhere a missing checkpoint makes the stage stale.
func TestResultsOnlyCache(t *testing.T) {
	r := smokeCopy(t)
	const run = "baseline/seed1"
	os.Remove(filepath.Join(r.Dir(run), "model.ckpt"))
	if s := stateOf(t, r, run); s.State != Stale || !strings.Contains(s.Problem, "model.ckpt") {
		t.Errorf("a missing checkpoint: %s (%s)", s.State, s.Problem)
	}
	r.Scale.ResultsOnly = true
	if s := stateOf(t, r, run); s.State != Done {
		t.Errorf("a missing checkpoint in a results-only cache: %s (%s)", s.State, s.Problem)
	}
	os.WriteFile(filepath.Join(r.Dir(run), "metrics.csv"), []byte("edited"), 0o644)
	if s := stateOf(t, r, run); s.State != Stale || !strings.Contains(s.Problem, "metrics.csv") {
		t.Errorf("an edited metrics.csv in a results-only cache: %s (%s)", s.State, s.Problem)
	}
}

// In a results-only cache a stage that needs a checkpoint the cache does not keep (an evaluation cut off by the end
// of a GPU grant, its model trained in that grant) trains that model again first; with nothing to run, a missing
// checkpoint makes nothing run.
func TestResultsOnlyCacheRemakesNeededCheckpoints(t *testing.T) {
	r := smokeCopy(t)
	r.Scale.ResultsOnly = true
	const run, ev = "baseline/seed1", "eval/baseline/seed1"
	ckpt := filepath.Join(r.Dir(run), "model.ckpt")
	if err := os.Remove(ckpt); err != nil {
		t.Fatal(err)
	}
	todo, _, err := r.plan(nil)
	if err != nil || len(todo) != 0 {
		t.Fatalf("a done study without a checkpoint plans %d stages (%v)", len(todo), err)
	}
	if err := os.RemoveAll(r.Dir(ev)); err != nil {
		t.Fatal(err)
	}
	todo, _, err = r.plan([]string{ev})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, s := range todo {
		ids = append(ids, s.ID)
	}
	if len(ids) != 2 || ids[0] != run || !todo[0].Remake || ids[1] != ev {
		t.Fatalf("the plan for %s without %s's checkpoint: %v", ev, run, ids)
	}
	// An MTL model and its predictor, as a packed results-only cache holds them (no checkpoints, no targets): the
	// targets, remade on demand, need the predictor's checkpoint.
	const mtl, pred, mtlEval = "mtl-monkey/seed1", "predictor/seed1", "eval/mtl-monkey/seed1"
	for _, id := range []string{mtl, pred} {
		if err := os.Remove(filepath.Join(r.Dir(id), "model.ckpt")); err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range []string{mtlEval, "targets/monkey"} {
		if err := os.RemoveAll(r.Dir(id)); err != nil {
			t.Fatal(err)
		}
	}
	if todo, _, err = r.plan([]string{mtlEval}); err != nil {
		t.Fatal(err)
	}
	planned := map[string]StageStatus{}
	for _, s := range todo {
		planned[s.ID] = s
	}
	for _, id := range []string{mtl, pred, "targets/monkey", mtlEval} {
		if _, ok := planned[id]; !ok {
			t.Errorf("the plan for %s without %s's and %s's checkpoints lacks %s", mtlEval, mtl, pred, id)
		}
	}
	if !planned[mtl].Remake || !planned[pred].Remake {
		t.Errorf("%s and %s are not marked to be trained again", mtl, pred)
	}
	if err := r.Reproduce([]string{ev}); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{run, ev} {
		if s := stateOf(t, r, id); s.State != Done {
			t.Errorf("%s after the run: %s (%s)", id, s.State, s.Problem)
		}
	}
	if !exists(ckpt) {
		t.Errorf("%s was not trained again", run)
	}
}
