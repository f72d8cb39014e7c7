package figures

import (
	"fmt"
	"math"

	"github.com/robustvision/cotrain/pkg/condition"
	"github.com/robustvision/cotrain/pkg/results"
	"gonum.org/v1/gonum/stat"
)

// ModelDescription is one row of the paper's Table 1: what a model is trained on.
type ModelDescription struct {
	Model, Name, Classification, Neural, Note string
}

// Table1Models describes the study's models as the paper's Table 1 does, with this reproduction's stand-ins named.
var Table1Models = []ModelDescription{
	{condition.Baseline, "Baseline", "images", "—", "VGG-19-BN trained for classification only"},
	{condition.Predictor, "Monkey Predictor", "—", "recorded V1 responses (SIMULATED)", "shared block + Gaussian readout, Poisson loss, Adam"},
	{condition.Oracle, "Oracle", "images, clean and corrupted 1:1", "—", "+ conv3_1 consistency between two corrupted views; then the block is frozen and the rest retrained on clean images"},
	{condition.MTLOracle, "MTL-Oracle", "images", "Oracle-block readout's predictions", "the readout is trained on the recording on the frozen Oracle block"},
	{condition.MTLMonkey, "MTL-Monkey", "images", "Monkey Predictor's predictions", "targets for every classification training image"},
	{condition.MTLShuffled, "MTL-Shuffled", "images", "MTL-Monkey's targets shuffled across images", "same response statistics, no image information"},
	{condition.MTLRecorded, "MTL-recorded", "images", "recorded V1 trials (SIMULATED, noisy)", "the paper's Table 3 'real responses'"},
	{condition.MTLNoiseFree, "MTL-noise-free", "images", "the simulator's noise-free responses", "beyond the paper: responses no lab can measure"},
}

// Table1 is the paper's Table 1 with this reproduction's results beside each model: what it trains on, the seeds
// finished, clean test accuracy (mean ± sd over seeds) and, for models with a readout, the FEVe of that readout on
// the SIMULATED neurons' held-out repeats.
func Table1(results []results.ModelResult) Table {
	t := Table{
		Header: []string{"model", "classification data", "neural data", "seeds", "clean test accuracy", "FEVe (FEV > 0.15)", "note"},
	}
	scale := ""
	for _, r := range results {
		scale = r.Scale
		var d ModelDescription
		for _, m := range Table1Models {
			if m.Model == r.Model {
				d = m
			}
		}
		f := func(v float64) string {
			if math.IsNaN(v) {
				return "—"
			}
			return fmt.Sprintf("%.3f", v)
		}
		feve := f(r.FEVeReliable)
		if !math.IsNaN(r.FEVeCoTrained) {
			feve += fmt.Sprintf(" (co-trained %s)", f(r.FEVeCoTrained))
		}
		t.Rows = append(t.Rows, []string{d.Name, d.Classification, d.Neural, fmt.Sprint(r.Seeds),
			formatAccuracy(r.TestAcc, r.TestAccSD), feve, d.Note})
	}
	t.Caption = fmt.Sprintf("Table 1 at the %s scale: images = Fashion-MNIST (stand-in for Tiny ImageNet); neural data SIMULATED (virtual V1)", scale)
	return t
}

// Table1Curves draws the training curves of the first seed of every model of Table 1 that has finished.
func Table1Curves(results []results.ModelResult) (Figure, error) {
	var curves []Curve
	scale := ""
	for _, r := range results {
		scale = r.Scale
		if len(r.Curves) > 0 && r.Model != condition.Predictor {
			curves = append(curves, Curve{Label: r.Model, Metrics: r.Curves})
		}
	}
	return TrainingCurves(fmt.Sprintf("%s scale, Fashion-MNIST + SIMULATED V1", scale), curves)
}

// formatAccuracy prints mean ± sd in percent, "—" when absent.
func formatAccuracy(mean, sd float64) string {
	switch {
	case math.IsNaN(mean):
		return "—"
	case math.IsNaN(sd):
		return fmt.Sprintf("%.1f %%", 100*mean)
	default:
		return fmt.Sprintf("%.1f ± %.1f %%", 100*mean, 100*sd)
	}
}

// meanOf is the mean of v, NaN when v is empty.
func meanOf(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	return stat.Mean(v, nil)
}
