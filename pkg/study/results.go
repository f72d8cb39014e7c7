package study

import (
	"fmt"
	"math"
	"path/filepath"
	"sort"

	"gonum.org/v1/gonum/stat"

	"github.com/robustvision/cotrain/pkg/condition"
	"github.com/robustvision/cotrain/pkg/results"
	"github.com/robustvision/cotrain/pkg/train"
)

// The cache's results as plain values (pkg/results), read from done stages only: what the figures draw and the
// notebooks show.

// ModelResults collects the models of Table 1 (and those this reproduction adds) from the cache, from done stages
// only, with the first seed's training curve.
func (r *Runner) ModelResults() ([]results.ModelResult, error) {
	status, err := r.Status()
	if err != nil {
		return nil, err
	}
	byID := map[string]StageStatus{}
	for _, s := range status {
		byID[s.ID] = s
	}
	var out []results.ModelResult
	for _, model := range ModelNames {
		res := results.ModelResult{Model: model, TestAcc: math.NaN(), TestAccSD: math.NaN(), FEVeReliable: math.NaN(),
			FEVeCoTrained: math.NaN(), Scale: r.Scale.Name}
		values := map[string][]float64{}
		for _, s := range status {
			if s.Kind != Training || s.Model != model || s.Sweep || s.State != Done {
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
			if v, ok := RunFEVe(byID, s.ID); ok {
				values["feve"] = append(values["feve"], v)
			}
			if _, later := byID[ReadoutStage(s.ID)]; later {
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

// ResolutionResults reads the appendix's resolution search from the cache, in increasing resolution; every stage of
// the search must be done (a *NotDoneError otherwise).
func (r *Runner) ResolutionResults() ([]results.ResolutionPoint, error) {
	byID, err := r.statusByID()
	if err != nil {
		return nil, err
	}
	var out []results.ResolutionPoint
	for _, st := range Stages(r.Scale) {
		if st.Model != condition.ResolutionClassifier {
			continue
		}
		p := results.ResolutionPoint{PPD: st.PPD, Predictor: st.Deps[0], Classifier: st.ID, TestImages: r.testImages()}
		for _, id := range []string{p.Predictor, p.Classifier} {
			if s := byID[id]; s.State != Done {
				return nil, &NotDoneError{Stage: id, State: s.State, Problem: s.Problem, Scale: r.Scale.Name}
			}
		}
		var ok1, ok2 bool
		p.FEVe, ok1 = byID[p.Predictor].Record.Results["feve_reliable"]
		p.Accuracy, ok2 = byID[p.Classifier].Record.Results["test_acc"]
		p.Chance = byID[p.Classifier].Record.Results["chance"]
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("%s or %s records no feve_reliable or test_acc", p.Predictor, p.Classifier)
		}
		out = append(out, p)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("the %s scale runs no resolution search (Scale.ResolutionPPDs): %w", r.Scale.Name,
			results.ErrNotInStudy)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].PPD < out[j].PPD })
	return out, nil
}

// testImages is the number of the scale's clean test images (10 classes; all of Fashion-MNIST's 10,000 where the
// scale takes no subset).
func (r *Runner) testImages() int {
	if n := r.Scale.Data.TestPerClass; n > 0 {
		return 10 * n
	}
	return 10000
}

func meanOf(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	return stat.Mean(v, nil)
}
