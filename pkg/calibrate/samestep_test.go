package calibrate

import (
	"path/filepath"
	"testing"

	"github.com/robustvision/cotrain/pkg/backend"
	"github.com/robustvision/cotrain/pkg/condition"
	"github.com/robustvision/cotrain/pkg/results"
	"github.com/robustvision/cotrain/pkg/scales"
	"github.com/robustvision/cotrain/pkg/study"
	"github.com/robustvision/cotrain/pkg/train"
)

// Summarise finds the last common epoch and the run of epochs, ending there, in which the Oracle is below.
func TestSummarise(t *testing.T) {
	point := func(model string, epoch int, clean, mixture float64) results.SameStepPoint {
		return results.SameStepPoint{Model: model, Epoch: epoch, Step: 10 * epoch, Clean: train.Evaluation{CrossEntropy: clean},
			Mixture: train.Evaluation{CrossEntropy: mixture}}
	}
	run := &results.SameStepRun{Seed: 4, Points: []results.SameStepPoint{
		point(condition.Baseline, 1, 1.0, 1.5), point(condition.Baseline, 2, 0.8, 1.4), point(condition.Baseline, 3, 0.6, 1.3),
		point(condition.Baseline, 4, 0.5, 1.2), point(condition.Baseline, 5, 0.4, 1.1),
		point(condition.OracleStage1, 1, 1.2, 1.4), point(condition.OracleStage1, 2, 1.0, 1.5),
		point(condition.OracleStage1, 3, 0.7, 1.0), point(condition.OracleStage1, 4, 0.6, 0.9)}}
	s, err := run.Summarise()
	if err != nil {
		t.Fatal(err)
	}
	ev := func(ce float64) train.Evaluation { return train.Evaluation{CrossEntropy: ce} }
	want := results.Summary{Seed: 4, Steps: 40, CleanBaseline: ev(0.5), CleanOracle: ev(0.6), MixtureBaseline: ev(1.2),
		MixtureOracle: ev(0.9), MixtureBelowFrom: 3, CleanBelowFrom: 0}
	if s != want {
		t.Errorf("summary %+v, want %+v", s, want)
	}
	if _, err := (&results.SameStepRun{Points: []results.SameStepPoint{point(condition.Baseline, 1, 1, 1)}}).Summarise(); err == nil {
		t.Error("a run without the Oracle was summarised")
	}
	if _, err := (&results.SameStepRun{Points: []results.SameStepPoint{point("mtl-monkey", 1, 1, 1)}}).Summarise(); err == nil {
		t.Error("an unknown model was accepted")
	}
}

// SameStep at the smoke scale: both models' curves over every epoch, written and read back, and a retrained model
// bit-identical to the cache's (the Baseline, trained first by its stage); the Oracle, not in the cache, is not
// compared.
func TestSameStep(t *testing.T) {
	if testing.Short() {
		t.Skip("trains two models")
	}
	b, err := backend.New("")
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	r := &study.Runner{Root: root, Scale: scales.Smoke, Backend: b}
	if err := r.Reproduce([]string{"baseline/seed1"}); err != nil {
		t.Skipf("the smoke Baseline does not train here: %v", err)
	}
	run, err := SameStep(r, 1, t.TempDir(), "")
	if err != nil {
		t.Fatal(err)
	}
	if len(run.Reproduces) != 1 || !run.Reproduces["baseline/seed1"] {
		t.Errorf("reproduces the cache: %v, want only baseline/seed1, true", run.Reproduces)
	}
	epochs := map[string]int{}
	for _, p := range run.Points {
		epochs[p.Model]++
		if p.Epoch != epochs[p.Model] || p.Step <= 0 || p.Clean.CrossEntropy <= 0 || p.Mixture.CrossEntropy <= 0 ||
			p.Corrupted.Accuracy < 0 || p.Corrupted.Accuracy > 1 {
			t.Errorf("point %+v", p)
		}
	}
	if epochs[condition.Baseline] != scales.Smoke.Epochs || epochs[condition.OracleStage1] != scales.Smoke.Epochs {
		t.Errorf("epochs per model: %v, want %d each", epochs, scales.Smoke.Epochs)
	}
	dir := t.TempDir()
	if err := WriteSameStep(run, dir); err != nil {
		t.Fatal(err)
	}
	back, err := ReadSameStep(filepath.Join(dir, "seed1.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(back.Points) != len(run.Points) || back.Points[3] != run.Points[3] || back.Provenance == nil {
		t.Errorf("read back %d points, provenance %v", len(back.Points), back.Provenance)
	}
	if _, err := run.Summarise(); err != nil {
		t.Error(err)
	}
	// A variant: the Oracle with the paper's Euclidean consistency, written beside the scale's own run; its Oracle
	// is not compared with the cache's, and it differs from the cosine run's.
	variant, err := SameStep(r, 1, t.TempDir(), "euclidean")
	if err != nil {
		t.Fatal(err)
	}
	if !variant.Variant || variant.Criterion != "euclidean" || SameStepName(variant) != "seed1-euclidean" {
		t.Errorf("variant: %v %q %q", variant.Variant, variant.Criterion, SameStepName(variant))
	}
	if err := WriteSameStep(variant, dir); err != nil {
		t.Fatal(err)
	}
	runs, err := ReadSameSteps(dir)
	if err != nil || len(runs) != 2 {
		t.Fatalf("read %d runs: %v", len(runs), err)
	}
	last := func(r *results.SameStepRun) results.SameStepPoint { return r.Points[len(r.Points)-1] }
	if last(variant).Model != condition.OracleStage1 || last(variant).Clean == last(run).Clean {
		t.Errorf("the Euclidean Oracle's last point equals the cosine one's: %+v", last(variant))
	}
}
