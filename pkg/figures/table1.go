package figures

import (
	"fmt"
	"math"

	"github.com/robustvision/cotrain/pkg/study"
)

// Table1 is the paper's Table 1 with this reproduction's results beside each model: what it trains on, the seeds
// finished, clean test accuracy (mean ± sd over seeds) and, for models with a readout, the FEVe of that readout on
// the SIMULATED neurons' held-out repeats.
func Table1(results []study.ModelResult) Table {
	t := Table{
		Header: []string{"model", "classification data", "neural data", "seeds", "clean test accuracy", "FEVe", "FEVe (FEV > 0.15)", "note"},
	}
	scale := ""
	for _, r := range results {
		scale = r.Scale
		f := func(v float64) string {
			if math.IsNaN(v) {
				return "—"
			}
			return fmt.Sprintf("%.3f", v)
		}
		t.Rows = append(t.Rows, []string{r.Name, r.Classification, r.Neural, fmt.Sprint(r.Seeds),
			study.FormatAccuracy(r.TestAcc, r.TestAccSD), f(r.FEVe), f(r.FEVeReliable), r.Note})
	}
	t.Caption = fmt.Sprintf("Table 1 at the %s scale: images = Fashion-MNIST (stand-in for Tiny ImageNet); neural data SIMULATED (virtual V1)", scale)
	return t
}

// Table1Curves draws the training curves of the first seed of every model of Table 1 that has finished.
func Table1Curves(results []study.ModelResult) (Figure, error) {
	var curves []Curve
	scale := ""
	for _, r := range results {
		scale = r.Scale
		if len(r.Curves) > 0 && r.Model != study.Predictor {
			curves = append(curves, Curve{Label: r.Model, Metrics: r.Curves})
		}
	}
	return TrainingCurves(fmt.Sprintf("%s scale (Fashion-MNIST, SIMULATED V1)", scale), curves)
}
