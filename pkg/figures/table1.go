package figures

import (
	"fmt"
	"math"
	"path/filepath"

	"github.com/robustvision/cotrain/pkg/study"
	"github.com/robustvision/cotrain/pkg/train"
	"gonum.org/v1/gonum/stat"
)

// ModelDescription is one row of the paper's Table 1: what a model is trained on.
type ModelDescription struct {
	Model, Name, Classification, Neural, Note string
}

// Table1Models describes the study's models as the paper's Table 1 does, with this reproduction's stand-ins named.
var Table1Models = []ModelDescription{
	{study.Baseline, "Baseline", "images", "—", "VGG-19-BN trained for classification only"},
	{study.Predictor, "Monkey Predictor", "—", "recorded V1 responses (SIMULATED)", "shared block + Gaussian readout, Poisson loss, Adam"},
	{study.Oracle, "Oracle", "images, clean and corrupted 1:1", "—", "+ conv3_1 consistency between two corrupted views; then the block is frozen and the rest retrained on clean images"},
	{study.MTLOracle, "MTL-Oracle", "images", "Oracle-block readout's predictions", "the readout is trained on the recording on the frozen Oracle block"},
	{study.MTLMonkey, "MTL-Monkey", "images", "Monkey Predictor's predictions", "targets for every classification training image"},
	{study.MTLShuffled, "MTL-Shuffled", "images", "MTL-Monkey's targets shuffled across images", "same response statistics, no image information"},
	{study.MTLRecorded, "MTL-recorded", "images", "recorded V1 trials (SIMULATED, noisy)", "the paper's Table 3 'real responses'"},
	{study.MTLNoiseFree, "MTL-noise-free", "images", "the simulator's noise-free responses", "beyond the paper: responses no lab can measure"},
}

// ModelResult summarises a model's finished seeds (the first seeds' runs of the main table, not the sweep).
type ModelResult struct {
	Model              string // one of study.ModelNames
	Seeds              int
	TestAcc, TestAccSD float64 // clean test accuracy over seeds (NaN when the model has no classifier)
	FEVeReliable       float64 // mean over seeds of the readout's FEVe on neurons with FEV > 0.15 (NaN: no readout)
	// FEVeCoTrained is, for an MTL model whose readout a later stage trained on (study.RunFEVe), the mean FEVe of
	// the readout as co-training left it (NaN otherwise).
	FEVeCoTrained          float64
	Epochs                 float64 // mean number of epochs trained
	Curves                 []train.EpochMetrics
	CurveStage, Scale, Use string
}

// Table1Results collects Table 1's models from the cache (finished stages only), with the first seed's training curve.
func Table1Results(r *study.Runner) ([]ModelResult, error) {
	status, err := r.Status()
	if err != nil {
		return nil, err
	}
	byID := map[string]study.StageStatus{}
	for _, s := range status {
		byID[s.ID] = s
	}
	var out []ModelResult
	for _, model := range study.ModelNames {
		res := ModelResult{Model: model, TestAcc: math.NaN(), TestAccSD: math.NaN(), FEVeReliable: math.NaN(),
			FEVeCoTrained: math.NaN(), Scale: r.Scale.Name}
		values := map[string][]float64{}
		for _, s := range status {
			if s.Kind != study.Training || s.Model != model || s.Sweep || s.State != study.Done {
				continue
			}
			if res.Seeds == 0 {
				res.CurveStage = s.ID
				if m, err := train.ReadMetricsCSV(filepath.Join(r.Dir(s.ID), "metrics.csv")); err == nil {
					res.Curves = m
				}
			}
			res.Seeds++
			for _, k := range []string{"test_acc", "epochs"} {
				if v, ok := s.Record.Results[k]; ok {
					values[k] = append(values[k], v)
				}
			}
			if v, ok := study.RunFEVe(byID, s.ID); ok {
				values["feve"] = append(values["feve"], v)
			}
			if _, later := byID[study.ReadoutStage(s.ID)]; later {
				if v, ok := s.Record.Results["feve_reliable"]; ok {
					values["cotrained"] = append(values["cotrained"], v)
				}
			}
		}
		res.TestAcc, res.FEVeReliable = meanOf(values["test_acc"]), meanOf(values["feve"])
		res.FEVeCoTrained = meanOf(values["cotrained"])
		res.Epochs = meanOf(values["epochs"])
		if accs := values["test_acc"]; len(accs) > 1 {
			res.TestAccSD = stat.StdDev(accs, nil)
		}
		out = append(out, res)
	}
	return out, nil
}

// Table1 is the paper's Table 1 with this reproduction's results beside each model: what it trains on, the seeds
// finished, clean test accuracy (mean ± sd over seeds) and, for models with a readout, the FEVe of that readout on
// the SIMULATED neurons' held-out repeats.
func Table1(results []ModelResult) Table {
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
func Table1Curves(results []ModelResult) (Figure, error) {
	var curves []Curve
	scale := ""
	for _, r := range results {
		scale = r.Scale
		if len(r.Curves) > 0 && r.Model != study.Predictor {
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
