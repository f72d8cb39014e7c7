package study

import (
	"fmt"
	"math"
	"path/filepath"

	"gonum.org/v1/gonum/stat"

	"github.com/robustvision/cotrain/pkg/train"
)

// ModelDescription is one row of the paper's Table 1: what a model is trained on.
type ModelDescription struct {
	Model, Name, Classification, Neural, Note string
}

// Table1 describes the study's models as the paper's Table 1 does, with this reproduction's stand-ins named.
var Table1 = []ModelDescription{
	{Baseline, "Baseline", "images", "—", "VGG-19-BN trained for classification only"},
	{Predictor, "Monkey Predictor", "—", "recorded V1 responses (SIMULATED)", "shared block + Gaussian readout, Poisson loss, Adam"},
	{Oracle, "Oracle", "images, clean and corrupted 1:1", "—", "+ conv3_1 consistency between two corrupted views; then the block is frozen and the rest retrained on clean images"},
	{MTLOracle, "MTL-Oracle", "images", "Oracle-block readout's predictions", "the readout is trained on the recording on the frozen Oracle block"},
	{MTLMonkey, "MTL-Monkey", "images", "Monkey Predictor's predictions", "targets for every classification training image"},
	{MTLShuffled, "MTL-Shuffled", "images", "MTL-Monkey's targets shuffled across images", "same response statistics, no image information"},
	{MTLRecorded, "MTL-recorded", "images", "recorded V1 trials (SIMULATED, noisy)", "the paper's Table 3 'real responses'"},
	{MTLNoiseFree, "MTL-noise-free", "images", "the simulator's noise-free responses", "beyond the paper: responses no lab can measure"},
}

// ModelResult summarises a model's finished seeds (the first seeds' runs of the main table, not the sweep).
type ModelResult struct {
	ModelDescription
	Seeds                  int
	TestAcc, TestAccSD     float64 // clean test accuracy over seeds (NaN when the model has no classifier)
	FEVe                   float64 // mean over seeds of the readout's mean FEVe on the test repeats (NaN: no readout)
	FEVeReliable           float64 // the same over neurons with FEV > 0.15
	Epochs                 float64 // mean number of epochs trained
	Curves                 []train.EpochMetrics
	CurveStage, Scale, Use string
}

// Results collects Table 1's models from the cache (finished stages only), with the first seed's training curve.
func (r *Runner) Results() ([]ModelResult, error) {
	status, err := r.Status()
	if err != nil {
		return nil, err
	}
	var out []ModelResult
	for _, desc := range Table1 {
		res := ModelResult{ModelDescription: desc, TestAcc: math.NaN(), TestAccSD: math.NaN(), FEVe: math.NaN(),
			FEVeReliable: math.NaN(), Scale: r.Scale.Name}
		var accs, feves, reliable, epochs []float64
		for _, s := range status {
			if s.Model != desc.Model || s.Sweep || s.State != Done {
				continue
			}
			if res.Seeds == 0 {
				res.CurveStage = s.ID
				if m, err := train.ReadMetricsCSV(filepath.Join(r.Dir(s.ID), "metrics.csv")); err == nil {
					res.Curves = m
				}
			}
			res.Seeds++
			if v, ok := s.Record.Results["test_acc"]; ok {
				accs = append(accs, v)
			}
			if v, ok := s.Record.Results["feve"]; ok {
				feves = append(feves, v)
			}
			if v, ok := s.Record.Results["feve_reliable"]; ok {
				reliable = append(reliable, v)
			}
			epochs = append(epochs, s.Record.Results["epochs"])
		}
		if len(accs) > 0 {
			res.TestAcc = stat.Mean(accs, nil)
			if len(accs) > 1 {
				res.TestAccSD = stat.StdDev(accs, nil)
			}
		}
		if len(feves) > 0 {
			res.FEVe = stat.Mean(feves, nil)
		}
		if len(reliable) > 0 {
			res.FEVeReliable = stat.Mean(reliable, nil)
		}
		if len(epochs) > 0 {
			res.Epochs = stat.Mean(epochs, nil)
		}
		out = append(out, res)
	}
	return out, nil
}

// FormatAccuracy prints mean ± sd in percent, "—" when absent.
func FormatAccuracy(mean, sd float64) string {
	switch {
	case math.IsNaN(mean):
		return "—"
	case math.IsNaN(sd):
		return fmt.Sprintf("%.1f %%", 100*mean)
	default:
		return fmt.Sprintf("%.1f ± %.1f %%", 100*mean, 100*sd)
	}
}

// Available returns the largest scale whose Table 1 study has finished in the cache under root (paper, then mini,
// then smoke), so that notebooks show the best results at hand; smoke if none has.
func Available(root string) Scale {
	for _, s := range []Scale{Paper, Mini} {
		r := &Runner{Root: root, Scale: s}
		status, err := r.Status()
		if err != nil {
			continue
		}
		complete := true
		for _, st := range status {
			if !st.Sweep && st.State != Done {
				complete = false
				break
			}
		}
		if complete {
			return s
		}
	}
	return Smoke
}
