package figures

import (
	"fmt"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"github.com/robustvision/cotrain/pkg/condition"
	"github.com/robustvision/cotrain/pkg/results"
	"github.com/robustvision/cotrain/pkg/train"
)

// OracleSameStep draws the held-out cross-entropy of the Baseline and of the Oracle's first stage against the
// optimizer step, one line per seed, on three sets of the same test images: clean, half corrupted (the 1:1 mixture
// the Oracle trains on, the authors' in-domain test of it) and all corrupted (Section 2, "Models": the Oracle;
// the curves come from `cotrain calibrate -same-step`, which retrains both models as their stages do).
func OracleSameStep(scale string, all []*results.SameStepRun) (Figure, error) {
	var runs []*results.SameStepRun // the scale's own form of the consistency loss; variants are in the table
	for _, r := range all {
		if !r.Variant {
			runs = append(runs, r)
		}
	}
	if len(runs) == 0 {
		return Figure{}, fmt.Errorf("oracle same-step: no runs")
	}
	sets := []struct {
		title string
		of    func(results.SameStepPoint) train.Evaluation
	}{
		{"clean test images", func(p results.SameStepPoint) train.Evaluation { return p.Clean }},
		{"half of them corrupted (1:1)", func(p results.SameStepPoint) train.Evaluation { return p.Mixture }},
		{"all of them corrupted", func(p results.SameStepPoint) train.Evaluation { return p.Corrupted }},
	}
	var row []*plot.Plot
	for _, set := range sets {
		p := newPlot()
		p.Title.Text = set.title
		p.X.Label.Text, p.Y.Label.Text = "optimizer step", "held-out cross-entropy (nats)"
		for _, run := range runs {
			for _, model := range []string{condition.Baseline, condition.OracleStage1} {
				var pts plotter.XYs
				for _, pt := range run.Points {
					if pt.Model == model {
						pts = append(pts, plotter.XY{X: float64(pt.Step), Y: set.of(pt).CrossEntropy})
					}
				}
				if len(pts) == 0 {
					return Figure{}, fmt.Errorf("oracle same-step: seed %d has no %s curve", run.Seed, model)
				}
				l, err := plotter.NewLine(pts)
				if err != nil {
					return Figure{}, err
				}
				l.Color, l.Width = modelColor(model, 0), vg.Points(1.2)
				p.Add(l)
			}
		}
		row = append(row, p)
	}
	legend := plot.NewLegend()
	for _, model := range []string{condition.Baseline, condition.OracleStage1} {
		l, _ := plotter.NewLine(plotter.XYs{{}})
		l.Color, l.Width = modelColor(model, 0), vg.Points(2)
		legend.Add(fmt.Sprintf("%s (%d seeds)", model, len(runs)), l)
	}
	legend.Add(fmt.Sprintf("%s scale, Fashion-MNIST", scale))
	return Figure{Tiles: [][]*plot.Plot{row}, Legend: &legend, Width: 36 * vg.Centimeter, Height: 11 * vg.Centimeter}, nil
}

// OracleSameStepTable gives, per seed and form of the consistency loss, both models' held-out cross-entropy and
// accuracy at the last step both reached, and the epoch from which the Oracle's first stage stays below the
// Baseline's cross-entropy.
func OracleSameStepTable(scale string, runs []*results.SameStepRun) (Table, error) {
	t := Table{Caption: fmt.Sprintf("The Oracle's first stage against the Baseline at the same step, %s scale: "+
		"cross-entropy (accuracy) on the same held-out Fashion-MNIST test images", scale),
		Header: []string{"seed", "consistency", "step", "clean: Baseline", "clean: Oracle stage 1", "Oracle lower from",
			"half corrupted: Baseline", "half corrupted: Oracle stage 1", "Oracle lower from"}}
	from := func(e int) string {
		if e == 0 {
			return "not at the end"
		}
		return fmt.Sprintf("epoch %d", e)
	}
	ev := func(e train.Evaluation) string { return fmt.Sprintf("%.3f (%.1f %%)", e.CrossEntropy, 100*e.Accuracy) }
	for _, run := range runs {
		s, err := run.Summarise()
		if err != nil {
			return Table{}, err
		}
		form := run.Criterion
		if form == "" {
			form = "cosine"
		}
		if !run.Variant {
			form += " (the scale's)"
		}
		t.Rows = append(t.Rows, []string{fmt.Sprint(s.Seed), form, fmt.Sprint(s.Steps), ev(s.CleanBaseline),
			ev(s.CleanOracle), from(s.CleanBelowFrom), ev(s.MixtureBaseline), ev(s.MixtureOracle),
			from(s.MixtureBelowFrom)})
	}
	if len(t.Rows) == 0 {
		return Table{}, fmt.Errorf("oracle same-step: no runs")
	}
	return t, nil
}
