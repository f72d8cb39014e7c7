package study

import (
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/tensors"

	"github.com/robustvision/cotrain/pkg/analysis"
	"github.com/robustvision/cotrain/pkg/backend"
	"github.com/robustvision/cotrain/pkg/condition"
	"github.com/robustvision/cotrain/pkg/recon"
	"github.com/robustvision/cotrain/pkg/record"
	"github.com/robustvision/cotrain/pkg/scales"
	"github.com/robustvision/cotrain/pkg/train"
)

// root is the repository root: the smoke study lives in its cache, where the notebooks find it too.
var root = filepath.Join("..", "..")

// The whole smoke study runs (or is found in the cache), and every model learns what it should: each classifier
// beats chance on the held-out test images (a one-sided binomial test at the 1 % level), the Monkey Predictor
// explains variance of the simulated neurons' held-out repeats (FEVe > 0), the Oracle's frozen block is stage 1's
// block unchanged, and Section 3's and 4's analyses are in place. Running the study again runs nothing.
func TestSmokeStudy(t *testing.T) {
	b, err := backend.New("cpu")
	if err != nil {
		t.Fatal(err)
	}
	r := &Runner{Root: root, Scale: scales.Smoke, Backend: b, Log: os.Stderr}
	if err := r.Reproduce(nil); err != nil {
		t.Fatal(err)
	}
	status, err := r.Status()
	if err != nil {
		t.Fatal(err)
	}
	records := map[string]*record.Stage{}
	for _, s := range status {
		if s.State != Done {
			t.Errorf("stage %s is %s after reproduce", s.ID, s.State)
			continue
		}
		records[s.ID] = s.Record
	}
	checkLearned(t, r, records)
	checkOracleFrozen(t, r)
	checkResolution(t, r)
	checkAnalyses(t, r)
	// A second run finds everything done.
	before, _ := os.Stat(filepath.Join(r.Dir("baseline/seed1"), record.FileName))
	if err := r.Reproduce(nil); err != nil {
		t.Fatal(err)
	}
	after, _ := os.Stat(filepath.Join(r.Dir("baseline/seed1"), record.FileName))
	if !before.ModTime().Equal(after.ModTime()) {
		t.Error("a second reproduce re-ran a finished stage")
	}
	checkDamagedCheckpointRetrained(t, scratchCopy(t, r))
}

// scratchCopy is a runner over a copy of r's cache in a temporary folder, for tests that damage a cache (other
// packages' tests read the smoke cache at the same time).
func scratchCopy(t *testing.T, r *Runner) *Runner {
	t.Helper()
	dir := t.TempDir()
	if err := os.CopyFS(filepath.Join(dir, "data", "cache", r.Scale.Name), os.DirFS(r.Dir(""))); err != nil {
		t.Fatal(err)
	}
	copied := *r
	copied.Root = dir
	return &copied
}

// checkReconTargets: the reconstructions for ϱ̄ (Fig. 6, 7) start from the undistorted images and those of Fig. 5
// from the noisy ones, as results.json records: each reconstruction's recorded loss is its distance to its own
// targets' activations (recomputed here), not to the other set's.
func checkReconTargets(t *testing.T, r *Runner, a *analysis.Result) {
	t.Helper()
	if a.SaliencyTargets != analysis.SaliencyTargets || a.NoisyTargets != analysis.NoisyTargets ||
		!strings.Contains(a.SaliencyTargets, "undistorted") || !strings.Contains(a.NoisyTargets, "noise") {
		t.Errorf("results.json records targets %q (saliency) and %q (Fig. 5)", a.SaliencyTargets, a.NoisyTargets)
	}
	if len(a.SaliencyModels) != 3 {
		t.Errorf("saliency compared for %v, want the paper's MTL-Monkey, Oracle and Baseline", a.SaliencyModels)
	}
	f32 := func(v []float64) []float32 {
		out := make([]float32, len(v))
		for i, x := range v {
			out[i] = float32(x)
		}
		return out
	}
	j := 0
	for si, name := range a.SaliencyModels {
		m := a.ModelIndex(name)
		net, err := r.LoadModel(seedDir(name, r.Scale.Seeds[0]))
		if err != nil {
			t.Fatal(err)
		}
		rc, err := recon.NewReconstructor(net, r.ReconSetting(name))
		if err != nil {
			t.Fatal(err)
		}
		var clean, noisy, cleanRec, noisyRec [][]float32
		for i := range a.Photos {
			clean, noisy = append(clean, f32(a.Clean[i])), append(noisy, f32(a.Targets[i]))
			cleanRec, noisyRec = append(cleanRec, f32(a.SaliencyRecons[si][i][j])), append(noisyRec, f32(a.Recons[m][i][j]))
		}
		own, _ := rc.Distance(cleanRec, clean)
		other, _ := rc.Distance(cleanRec, noisy)
		nOwn, _ := rc.Distance(noisyRec, noisy)
		for i := range a.Photos {
			if math.Abs(own[i]-a.SaliencyLoss[si][i][j]) > 1e-3*a.SaliencyLoss[si][i][j] || math.Abs(own[i]-other[i]) < 1e-9 {
				t.Errorf("%s, image %d: recorded loss %v of the undistorted image's reconstruction; %v to the undistorted "+
					"image, %v to the noisy one", name, i, a.SaliencyLoss[si][i][j], own[i], other[i])
			}
			if math.Abs(nOwn[i]-a.Loss[m][i][j]) > 1e-3*a.Loss[m][i][j] {
				t.Errorf("%s, image %d: recorded loss %v of the noisy image's reconstruction, %v to the noisy image", name,
					i, a.Loss[m][i][j], nOwn[i])
			}
		}
	}
}

// checkDamagedCheckpointRetrained: an emptied model.ckpt makes its stage stale (status names the file) and every
// stage made from it too; reproduce retrains it, to the same weights, and the evaluation made from it (whose input's
// files, with their provenance, changed) runs again.
func checkDamagedCheckpointRetrained(t *testing.T, r *Runner) {
	t.Helper()
	const run, eval = "baseline/seed1", "eval/baseline/seed1"
	m, err := r.LoadModel(run)
	if err != nil {
		t.Fatal(err)
	}
	first, _ := m.Weights()
	os.Truncate(filepath.Join(r.Dir(run), "model.ckpt"), 0)
	status, err := r.Status()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range status {
		if s.ID == run && (s.State != Stale || !strings.Contains(s.Problem, "model.ckpt")) {
			t.Errorf("an emptied model.ckpt: %s (%s)", s.State, s.Problem)
		}
		if s.ID == eval && (s.State != Stale || !strings.Contains(s.Problem, run)) {
			t.Errorf("the evaluation of a damaged run: %s (%s)", s.State, s.Problem)
		}
	}
	if err := r.Reproduce([]string{eval}); err != nil {
		t.Fatal(err)
	}
	m, err = r.LoadModel(run)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := m.Weights()
	for path, v := range first {
		if v.DType() == dtypes.Float32 && !slices.Equal(tensors.MustCopyFlatData[float32](v), tensors.MustCopyFlatData[float32](again[path])) {
			t.Errorf("the retrained %s differs from the first training in %s", run, path)
		}
	}
	status, _ = r.Status()
	for _, s := range status {
		if (s.ID == run || s.ID == eval) && s.State != Done {
			t.Errorf("after the retraining, %s is %s (%s)", s.ID, s.State, s.Problem)
		}
	}
}

// checkLearned: each classifier beats chance (one-sided binomial test at 1 %), the predictor's FEVe is positive.
func checkLearned(t *testing.T, r *Runner, records map[string]*record.Stage) {
	t.Helper()
	p, err := r.Images()
	if err != nil {
		t.Fatal(err)
	}
	chance := 1 / float64(len(p.Test.Classes))
	threshold := chance + 2.326*math.Sqrt(chance*(1-chance)/float64(p.Test.N))
	for _, model := range ModelNames {
		rec := records[model+"/seed1"]
		if rec == nil {
			t.Errorf("%s: no record", model)
			continue
		}
		if model == condition.Predictor {
			// The paper's convention: the mean over neurons whose explainable variance is above 0.15 (the FEVe of
			// neurons with almost no explainable variance is a ratio of two noisy small numbers).
			if v, ok := rec.Results["feve_reliable"]; !ok || v <= 0 {
				t.Errorf("Monkey Predictor: mean FEVe %.4f on the simulated test repeats (FEV > 0.15), want > 0", v)
			}
			continue
		}
		if acc := rec.Results["test_acc"]; acc <= threshold {
			t.Errorf("%s: test accuracy %.3f does not beat chance (%.2f; 1%% threshold %.3f over %d images)", model, acc, chance, threshold, p.Test.N)
		}
	}
}

// checkOracleFrozen: the Oracle's shared block is stage 1's, unchanged.
func checkOracleFrozen(t *testing.T, r *Runner) {
	t.Helper()
	checkFrozen(t, r, "oracle-stage1/seed1", "oracle/seed1", "/classification", true)
	// An MTL run's readout stage trains the readout on and leaves the shared block as co-training left it; the
	// readout changed if an epoch improved the validation correlation (the best weights are kept).
	readout := ReadoutStage("mtl-monkey/seed1")
	rec, err := r.readRecord(readout)
	if err != nil {
		t.Fatal(err)
	}
	checkFrozen(t, r, "mtl-monkey/seed1", readout, "/readout", rec.Results["best_epoch"] > 0)
}

// checkFrozen: the shared block of run equals that of from, and some tensor under trained differs (or, without
// changed, none does).
func checkFrozen(t *testing.T, r *Runner, from, run, trained string, changed bool) {
	t.Helper()
	before, err := r.LoadModel(from)
	if err != nil {
		t.Fatal(err)
	}
	after, err := r.LoadModel(run)
	if err != nil {
		t.Fatal(err)
	}
	w1, _ := before.Weights()
	w2, _ := after.Weights()
	frozen, differ := 0, 0
	for path, v := range w2 {
		if v.DType() != dtypes.Float32 || w1[path] == nil {
			continue
		}
		same := slices.Equal(tensors.MustCopyFlatData[float32](v), tensors.MustCopyFlatData[float32](w1[path]))
		switch {
		case train.InScope("/shared")(path):
			frozen++
			if !same {
				t.Errorf("%s: the frozen %s differs from %s's", run, path, from)
			}
		case train.InScope(trained)(path) && !same:
			differ++
		}
	}
	if frozen == 0 || (differ > 0) != changed {
		t.Errorf("%s: %d shared tensors, %d tensors under %s changed from %s (want changes: %v)", run, frozen, differ,
			trained, from, changed)
	}
}

// checkResolution: the resolution search has a point per resolution, the recording's own made from the Monkey
// Predictor; every classifier learned, on its predictor's block, frozen.
func checkResolution(t *testing.T, r *Runner) {
	t.Helper()
	type point struct {
		PPD, FEVe, Accuracy, Chance float64
		Predictor, Classifier       string
	}
	var points []point
	for _, st := range Stages(r.Scale) {
		if st.Model != condition.ResolutionClassifier {
			continue
		}
		pred, err := r.readRecord(st.Deps[0])
		if err != nil {
			t.Fatal(err)
		}
		cls, err := r.readRecord(st.ID)
		if err != nil {
			t.Fatal(err)
		}
		points = append(points, point{st.PPD, pred.Results["feve_reliable"], cls.Results["test_acc"], cls.Results["chance"],
			st.Deps[0], st.ID})
	}
	if len(points) != len(r.Scale.ResolutionPPDs) {
		t.Fatalf("%d resolutions, want %d", len(points), len(r.Scale.ResolutionPPDs))
	}
	for _, p := range points {
		if (p.PPD == r.Scale.V1.PPD) != (p.Predictor == "predictor/seed1") {
			t.Errorf("%v ppd: predictor %s", p.PPD, p.Predictor)
		}
		if !(p.Accuracy > 1.5*p.Chance) || math.IsNaN(p.FEVe) {
			t.Errorf("%v ppd: accuracy %.3f (chance %.2f), FEVe %v", p.PPD, p.Accuracy, p.Chance, p.FEVe)
		}
		pred, err := r.LoadModel(p.Predictor)
		if err != nil {
			t.Fatal(err)
		}
		cls, err := r.LoadModel(p.Classifier)
		if err != nil {
			t.Fatal(err)
		}
		w1, _ := pred.Weights()
		w2, _ := cls.Weights()
		for path, v := range w2 {
			if train.InScope("/shared")(path) && v.DType() == dtypes.Float32 &&
				!slices.Equal(tensors.MustCopyFlatData[float32](v), tensors.MustCopyFlatData[float32](w1[path])) {
				t.Errorf("%s: the frozen %s differs from its predictor's", p.Classifier, path)
			}
		}
	}
	if points[0].FEVe == points[1].FEVe {
		t.Errorf("the predictors at %v and %v ppd have the same FEVe: the resolution changed nothing", points[0].PPD, points[1].PPD)
	}
}

// checkAnalyses: Section 3 and 4 results hold a robustness score for every model, a regression for each sweep
// condition, and reconstructions that respect their norm constraints.
func checkAnalyses(t *testing.T, r *Runner) {
	t.Helper()
	res, err := r.LoadRobustness()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{condition.Oracle, condition.MTLOracle, condition.MTLMonkey, condition.MTLShuffled, condition.MTLRecorded, condition.MTLNoiseFree} {
		if s, ok := res.Total[m]; !ok || !(s.Mean > 0) {
			t.Errorf("no robustness score for %s: %+v", m, s)
		}
	}
	if b := res.Total[condition.Baseline]; math.Abs(b.Mean-100) > 1e-9 {
		t.Errorf("the condition.Baseline's own score is %v, want 100", b.Mean)
	}
	for _, cond := range []string{condition.MTLMonkey, condition.MTLShuffled} {
		if res.Regression[cond] == nil || len(res.Sweep[cond]) != 1+len(scales.Smoke.SweepRatios) {
			t.Errorf("%s: regression %v over %d runs (%s)", cond, res.Regression[cond], len(res.Sweep[cond]), res.RegressionNote[cond])
		}
	}
	a, err := r.LoadAnalysis()
	if err != nil {
		t.Fatal(err)
	}
	for m := range a.Models {
		for i := range a.Photos {
			for j, n := range a.Norms {
				var sq float64
				for _, v := range a.Recons[m][i][j] {
					sq += v * v
				}
				if math.Sqrt(3*sq) > n*(1+1e-4) {
					t.Errorf("%s, image %d: norm %v above the constraint %v", a.Models[m], i, math.Sqrt(3*sq), n)
				}
			}
		}
	}
	checkReconTargets(t, r, a)
	// The notebook's live reconstruction: every model of the analysis, within the constraint.
	e, err := r.Explorer(0)
	if err != nil {
		t.Fatal(err)
	}
	v, err := e.At(7, 5)
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Images) != len(ReconModels(r.Scale)) || len(v.Spectral) != len(e.Target) {
		t.Errorf("explorer: %d reconstructions, spectral control of %d pixels", len(v.Images), len(v.Spectral))
	}
	for i, n := range v.Achieved {
		if n > 7*(1+1e-4) || !(v.Loss[i] >= 0) {
			t.Errorf("explorer, %s: norm %v above 7, loss %v", e.Models[i], n, v.Loss[i])
		}
	}
	if _, err := r.Explorer(len(a.Photos)); err == nil {
		t.Error("explorer of an image beyond the analysis's accepted")
	}
}

// Keys change with the settings and propagate to dependent stages; Select adds what a stage needs.
func TestStagesKeysAndSelect(t *testing.T) {
	stages := Stages(scales.Mini)
	ids := map[string]bool{}
	for _, st := range stages {
		if ids[st.ID] {
			t.Errorf("duplicate stage %s", st.ID)
		}
		for _, d := range st.Deps {
			if !ids[d] {
				t.Errorf("stage %s needs %s, which comes later or not at all", st.ID, d)
			}
		}
		ids[st.ID] = true
	}
	// Mini: the recording, the predictor, the central models at every seed (the Baseline, the Oracle's two stages,
	// MTL-Oracle, MTL-Monkey, MTL-Shuffled and the front-end control) and the side ones at the first SideSeeds
	// (MTL-Recorded, MTL-NoiseFree), one Oracle readout, 3 targets, the sweep (its ratios besides 1:1 × 2
	// conditions, one seed), the Section 4 analysis, an evaluation of every classifier (all but the Oracle's first
	// stage, and the sweep) and the robustness analysis; the resolution search: a predictor at each resolution but
	// the recording's (the Monkey Predictor's) and a classifier at each; a readout stage per MTL run.
	central, side := len(scales.Mini.Seeds), scales.Mini.SideSeeds
	sweep := (len(scales.Mini.SweepRatios) - 1) * 2
	resolution := 2*len(scales.Mini.ResolutionPPDs) - 1
	models := 7*central + 2*side
	readouts := 3*central + 2*side + sweep
	evals := 6*central + 2*side + sweep
	want := 1 + 1 + models + 1 + 3 + sweep + readouts + resolution + 1 + evals + 1
	if len(stages) != want {
		t.Errorf("%d mini stages, want %d", len(stages), want)
	}
	keys := func(s scales.Scale) map[string]string {
		k, err := (&Runner{Scale: s}).Keys()
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	a := keys(scales.Smoke)
	other := scales.Smoke
	other.PredictorEpochs++
	b := keys(other)
	if a["predictor/seed1"] == b["predictor/seed1"] || a["mtl-monkey/seed1"] == b["mtl-monkey/seed1"] {
		t.Error("changing the predictor's epochs does not make the predictor and its dependants stale")
	}
	sel, err := Select(Stages(scales.Smoke), []string{"mtl-monkey/seed1"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, st := range sel {
		got = append(got, st.ID)
	}
	if !slices.Equal(got, []string{V1Stage, "predictor/seed1", "targets/monkey", "mtl-monkey/seed1"}) {
		t.Errorf("Select(mtl-monkey/seed1) = %v", got)
	}
	// A readout stage reads its run and the run's inputs, and the robustness analysis reads every readout.
	for _, st := range stages {
		if st.Model == condition.MTLReadout && (st.Deps[0] != strings.TrimPrefix(st.ID, "readout/") || !ids["eval/"+st.Deps[0]] ||
			!slices.Contains(stages[len(stages)-1].Deps, st.ID)) {
			t.Errorf("readout stage %s: deps %v", st.ID, st.Deps)
		}
	}
	noReadouts := scales.Mini
	noReadouts.ReadoutEpochs = 0
	if n := len(Stages(noReadouts)); n != want-readouts {
		t.Errorf("without readout epochs %d stages, want %d", n, want-readouts)
	}
	if a["readout/mtl-monkey/seed1"] == "" || a["readout/mtl-monkey/seed1"] == b["readout/mtl-monkey/seed1"] {
		t.Error("a readout stage's key does not follow its run's")
	}
	if _, err := Select(Stages(scales.Smoke), []string{"nonsense"}); err == nil {
		t.Error("an unknown stage was accepted")
	}
}

// A scale that names its models gets those models' stages and their inputs, and nothing of the others; the keys of
// a scale without FirstTrain do not change when the field exists (the committed caches stay valid).
func TestRestrictedStudy(t *testing.T) {
	s := scales.GPU
	s.Models = []string{condition.Baseline, condition.MTLMonkey, condition.MTLShuffled}
	ids := map[string]bool{}
	for _, st := range Stages(s) {
		for _, d := range st.Deps {
			if !ids[d] {
				t.Errorf("stage %s needs %s, which comes later or not at all", st.ID, d)
			}
		}
		ids[st.ID] = true
		switch st.Model {
		case condition.Oracle, condition.OracleStage1, condition.OracleReadout, condition.MTLOracle, condition.MTLRecorded,
			condition.MTLNoiseFree, condition.ResolutionClassifier, condition.V1FrontEnd:
			t.Errorf("a study of %v trains %s (stage %s)", s.Models, st.Model, st.ID)
		}
	}
	n := len(s.Seeds)
	// The recording, the predictor (what MTL-Monkey needs), the targets, 3 models × seeds, the readouts of the 2 MTL
	// models, their evaluations and the robustness analysis.
	if want := 1 + 1 + 1 + 3*n + 2*n + 3*n + 1; len(ids) != want {
		t.Errorf("%d stages, want %d", len(ids), want)
	}
	if !ids["analysis/robustness"] || ids["analysis/recon"] || ids["targets/oracle"] {
		t.Errorf("stages: robustness %v, recon %v, Oracle targets %v", ids["analysis/robustness"],
			ids["analysis/recon"], ids["targets/oracle"])
	}
	// The gpu scale itself: the central conditions, and what they need (the Oracle's first stage and readout).
	gpu := map[string]int{}
	for _, st := range Stages(scales.GPU) {
		if st.Kind == Training {
			gpu[st.Model]++
		}
	}
	for _, m := range []string{condition.Baseline, condition.Oracle, condition.OracleStage1, condition.MTLOracle,
		condition.MTLMonkey, condition.MTLShuffled, condition.V1FrontEnd} {
		if gpu[m] != n {
			t.Errorf("the gpu scale trains %s %d times, want %d", m, gpu[m], n)
		}
	}
	if gpu[condition.MTLRecorded] != 0 || gpu[condition.OracleReadout] != 1 || gpu[condition.Predictor] != 1 {
		t.Errorf("the gpu scale's stages: %v", gpu)
	}
	limited := scales.Mini
	limited.Data.FirstTrain = 48000
	k1, err1 := (&Runner{Scale: scales.Mini}).Keys()
	k2, err2 := (&Runner{Scale: limited}).Keys()
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	if k1[V1Stage] == k2[V1Stage] {
		t.Error("FirstTrain does not enter the keys")
	}
}
