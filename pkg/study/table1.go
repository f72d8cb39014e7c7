package study

import (
	"math"
	"path/filepath"

	"gonum.org/v1/gonum/stat"

	"github.com/robustvision/cotrain/pkg/train"
)

// ModelResult summarises a model's finished seeds (the first seeds' runs of the main table, not the sweep).
type ModelResult struct {
	Model                  string // one of ModelNames
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
	for _, model := range ModelNames {
		res := ModelResult{Model: model, TestAcc: math.NaN(), TestAccSD: math.NaN(), FEVe: math.NaN(),
			FEVeReliable: math.NaN(), Scale: r.Scale.Name}
		values := map[string][]float64{}
		for _, s := range status {
			if s.Model != model || s.Sweep || s.State != Done {
				continue
			}
			if res.Seeds == 0 {
				res.CurveStage = s.ID
				if m, err := train.ReadMetricsCSV(filepath.Join(r.Dir(s.ID), "metrics.csv")); err == nil {
					res.Curves = m
				}
			}
			res.Seeds++
			for _, k := range []string{"test_acc", "feve", "feve_reliable", "epochs"} {
				if v, ok := s.Record.Results[k]; ok {
					values[k] = append(values[k], v)
				}
			}
		}
		res.TestAcc, res.FEVe, res.FEVeReliable = meanOf(values["test_acc"]), meanOf(values["feve"]), meanOf(values["feve_reliable"])
		res.Epochs = meanOf(values["epochs"])
		if accs := values["test_acc"]; len(accs) > 1 {
			res.TestAccSD = stat.StdDev(accs, nil)
		}
		out = append(out, res)
	}
	return out, nil
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

// meanOf is the mean of v, NaN when v is empty.
func meanOf(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	return stat.Mean(v, nil)
}
