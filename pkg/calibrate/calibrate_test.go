package calibrate

import (
	"encoding/json"
	"io"
	"math"
	"strings"
	"testing"

	"github.com/robustvision/cotrain/pkg/backend"
	"github.com/robustvision/cotrain/pkg/condition"
	"github.com/robustvision/cotrain/pkg/scales"
)

// A grid is learning rates × seeds with the scale's changes applied; a wrong model or width is an error.
func TestGridProbes(t *testing.T) {
	g := Grid{Base: scales.Smoke, Model: condition.Baseline, LearningRates: []float64{0.01, 0.02}, Seeds: []uint64{1, 7},
		TrainPerClass: 12, Epochs: 2}
	probes, err := g.Probes()
	if err != nil {
		t.Fatal(err)
	}
	if len(probes) != 4 {
		t.Fatalf("%d probes, want 4", len(probes))
	}
	last := probes[3]
	if last.Stage != "baseline/seed7" || last.LearningRate() != 0.02 || last.Scale.Data.TrainPerClass != 12 ||
		last.Scale.Epochs != 2 || !strings.HasSuffix(last.Scale.Name, "-calibration") {
		t.Errorf("last probe: %s lr %v, %+v", last.Stage, last.LearningRate(), last.Scale)
	}
	if _, err := last.Config(); err != nil {
		t.Errorf("seed 7 is not a stage of the probe's scale: %v", err)
	}
	for _, bad := range []Grid{{Base: scales.Smoke, Model: "oracle", Seeds: []uint64{1}},
		{Base: scales.Smoke, Model: condition.Baseline}, {Base: scales.Smoke, Model: condition.Baseline, Seeds: []uint64{1}, WidthDivisor: 3}} {
		if _, err := bad.Probes(); err == nil {
			t.Errorf("grid %+v accepted", bad)
		}
	}
}

// A probe trains its stage in a scratch cache and reports what the stage recorded; NaN is null in JSON.
func TestRunProbe(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a model")
	}
	b, err := backend.New("")
	if err != nil {
		t.Fatal(err)
	}
	probes, err := Grid{Base: scales.Smoke, Model: condition.Baseline, Seeds: []uint64{1}, Epochs: 1}.Probes()
	if err != nil {
		t.Fatal(err)
	}
	res, err := Run(b, t.TempDir(), probes, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	r := res[0]
	if len(r.Metrics) != 1 || r.Steps == 0 || !(r.TestAcc >= 0 && r.TestAcc <= 1) || !math.IsNaN(float64(r.FEVe)) {
		t.Errorf("probe result: %d epochs, %d steps, test acc %v, FEVe %v", len(r.Metrics), r.Steps, r.TestAcc, r.FEVe)
	}
	data, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), `"FEVe":null`) {
		t.Errorf("FEVe of a classifier not null in JSON")
	}
}
