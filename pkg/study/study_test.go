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

	"github.com/robustvision/cotrain/pkg/backend"
	"github.com/robustvision/cotrain/pkg/neural"
	"github.com/robustvision/cotrain/pkg/saliency"
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
	r := &Runner{Root: root, Scale: Smoke, Backend: b, Log: os.Stderr}
	if err := r.Reproduce(nil); err != nil {
		t.Fatal(err)
	}
	status, err := r.Status()
	if err != nil {
		t.Fatal(err)
	}
	records := map[string]*StageRecord{}
	for _, s := range status {
		if s.State != Done {
			t.Errorf("stage %s is %s after reproduce", s.ID, s.State)
			continue
		}
		records[s.ID] = s.Record
	}
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
		if model == Predictor {
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
	// The Oracle's shared block is stage 1's, unchanged.
	stage1, err := r.LoadModel("oracle-stage1/seed1")
	if err != nil {
		t.Fatal(err)
	}
	oracle, err := r.LoadModel("oracle/seed1")
	if err != nil {
		t.Fatal(err)
	}
	w1, _ := stage1.Weights()
	w2, _ := oracle.Weights()
	frozen := 0
	for path, v := range w2 {
		if train.InScope("/shared")(path) && v.DType() == dtypes.Float32 {
			frozen++
			if !slices.Equal(tensors.MustCopyFlatData[float32](v), tensors.MustCopyFlatData[float32](w1[path])) {
				t.Errorf("the Oracle's frozen %s differs from stage 1's", path)
			}
		}
	}
	if frozen == 0 {
		t.Error("the Oracle has no shared block")
	}
	// Section 3 and 4 results: a robustness score for every model, a regression for each sweep condition, and
	// reconstructions that respect their norm constraints.
	res, err := r.LoadRobustness()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{Oracle, MTLOracle, MTLMonkey, MTLShuffled, MTLRecorded, MTLNoiseFree} {
		if s, ok := res.Total[m]; !ok || !(s.Mean > 0) {
			t.Errorf("no robustness score for %s: %+v", m, s)
		}
	}
	if b := res.Total[Baseline]; math.Abs(b.Mean-100) > 1e-9 {
		t.Errorf("the Baseline's own score is %v, want 100", b.Mean)
	}
	for _, cond := range []string{MTLMonkey, MTLShuffled} {
		if res.Regression[cond] == nil || len(res.Sweep[cond]) != 1+len(Smoke.SweepRatios) {
			t.Errorf("%s: regression %v over %d runs (%s)", cond, res.Regression[cond], len(res.Sweep[cond]), res.RegressionNote[cond])
		}
	}
	a, err := r.LoadReconAnalysis()
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
	// A second run finds everything done.
	before, _ := os.Stat(filepath.Join(r.Dir("baseline/seed1"), stageFile))
	if err := r.Reproduce(nil); err != nil {
		t.Fatal(err)
	}
	after, _ := os.Stat(filepath.Join(r.Dir("baseline/seed1"), stageFile))
	if !before.ModTime().Equal(after.ModTime()) {
		t.Error("a second reproduce re-ran a finished stage")
	}
}

// Keys change with the settings and propagate to dependent stages; Select adds what a stage needs.
func TestStagesKeysAndSelect(t *testing.T) {
	stages := Stages(Mini)
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
	// Mini: 8 models × 3 seeds (+ Oracle stage 1), one predictor and one Oracle readout, 3 targets, the sweep
	// (11 ratios besides 1:1 × 2 conditions, one seed), the Section 4 analysis, an evaluation of every classifier
	// (Baseline and Oracle, 5 MTL models, the sweep) and the robustness analysis.
	want := 1 + 3*3 + 1 + 3 + 5*3 + 11*2 + 1 + (2*3 + 5*3 + 11*2) + 1
	if len(stages) != want {
		t.Errorf("%d mini stages, want %d", len(stages), want)
	}
	keys := func(s Scale) map[string]string {
		k := map[string]string{}
		for _, st := range Stages(s) {
			k[st.ID] = st.Key(s, k)
		}
		return k
	}
	a := keys(Smoke)
	other := Smoke
	other.PredictorEpochs++
	b := keys(other)
	if a["predictor/seed1"] == b["predictor/seed1"] || a["mtl-monkey/seed1"] == b["mtl-monkey/seed1"] {
		t.Error("changing the predictor's epochs does not make the predictor and its dependants stale")
	}
	sel, err := Select(Stages(Smoke), []string{"mtl-monkey/seed1"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, st := range sel {
		got = append(got, st.ID)
	}
	if !slices.Equal(got, []string{"predictor/seed1", "targets/monkey", "mtl-monkey/seed1"}) {
		t.Errorf("Select(mtl-monkey/seed1) = %v", got)
	}
	if _, err := Select(Stages(Smoke), []string{"nonsense"}); err == nil {
		t.Error("an unknown stage was accepted")
	}
}

// A folder of saliency maps replaces the stand-in model; a missing map is an error that names the folder.
func TestUserSaliencyMaps(t *testing.T) {
	dir := t.TempDir()
	vals := make([]float32, 16*16)
	for i := range vals {
		vals[i] = float32(i % 16)
	}
	if err := neural.WriteResponsesNPY(filepath.Join(dir, "photo1.npy"), 16, 16, vals); err != nil {
		t.Fatal(err)
	}
	s := Smoke
	s.SaliencyMaps = dir
	r := &Runner{Root: root, Scale: s}
	patch := make([]uint8, 32*32)
	m, err := r.saliencyMap("photo1", patch, 32)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(m.Source, dir) || m.Density[31] <= m.Density[0] {
		t.Errorf("user map: source %q, density left %v right %v", m.Source, m.Density[0], m.Density[31])
	}
	if _, err := r.saliencyMap("photo2", patch, 32); err == nil || !strings.Contains(err.Error(), dir) {
		t.Errorf("missing map: %v", err)
	}
	s.SaliencyMaps = ""
	m, err = (&Runner{Root: root, Scale: s}).saliencyMap("photo1", patch, 32)
	if err != nil {
		t.Fatal(err)
	}
	if m.Source != saliency.StandIn {
		t.Errorf("default source %q", m.Source)
	}
}
