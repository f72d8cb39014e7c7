package figures

import (
	"fmt"
	"math"

	"github.com/robustvision/cotrain/pkg/condition"
	"github.com/robustvision/cotrain/pkg/results"
	"gonum.org/v1/gonum/stat"
)

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
		c, ok := condition.ByName(r.Model)
		if !ok || c.Table1 == nil {
			continue
		}
		d := c.Table1
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
		t.Rows = append(t.Rows, []string{c.Label, d.Classification, d.Neural, fmt.Sprint(r.Seeds),
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
