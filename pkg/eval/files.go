package eval

import (
	"fmt"
	"math"
	"path/filepath"

	"github.com/robustvision/cotrain/pkg/provenance"
)

// The files of an evaluation (clean.json, accuracies.csv) and of the robustness analysis (robustness.json, with
// every accuracy in accuracies.csv beside it).
const (
	cleanFile      = "clean.json"
	accuraciesFile = "accuracies.csv"
	robustnessFile = "robustness.json"
)

// SaveEvaluation writes one run's evaluation into dir.
func SaveEvaluation(dir string, clean *Clean, accs []Accuracy) error {
	if err := provenance.WriteJSON(filepath.Join(dir, cleanFile), clean); err != nil {
		return err
	}
	return WriteAccuracies(filepath.Join(dir, accuraciesFile), accs)
}

// LoadEvaluation reads the evaluation of run saved in dir and checks that its accuracies are those of its
// per-image outcomes and belong to run; its FEVe is NaN (the caller knows the trained run).
func LoadEvaluation(dir string, run Run) (Evaluated, error) {
	e := Evaluated{Run: run, BootstrapSD: math.NaN(), FEVe: math.NaN(), FEVeCoTrained: math.NaN()}
	var err error
	if e.Accuracies, err = ReadAccuracies(filepath.Join(dir, accuraciesFile)); err != nil {
		return e, err
	}
	var c Clean
	if err := provenance.ReadJSON(filepath.Join(dir, cleanFile), &c); err != nil {
		return e, err
	}
	for _, a := range e.Accuracies {
		if a.Model != run.Model || a.Seed != run.Seed || a.Ratio != run.Ratio {
			return e, fmt.Errorf("%s: an accuracy of %s seed %d %s in the evaluation of %+v", filepath.Join(dir,
				accuraciesFile), a.Model, a.Seed, a.Ratio, run)
		}
	}
	if err := c.Check(e.Accuracies); err != nil {
		return e, fmt.Errorf("evaluation in %s: %w", dir, err)
	}
	e.BootstrapSD, e.Outcomes = c.BootstrapSD, &c
	return e, nil
}

// Save writes the robustness analysis into dir.
func (r *Robustness) Save(dir string) error {
	if err := WriteAccuracies(filepath.Join(dir, accuraciesFile), r.Accuracies); err != nil {
		return err
	}
	return provenance.WriteJSON(filepath.Join(dir, robustnessFile), r)
}

// LoadRobustness reads a robustness analysis saved in dir and checks it against its accuracies (Check), its
// scores relative to baseline.
func LoadRobustness(dir, baseline string) (*Robustness, error) {
	var res Robustness
	if err := provenance.ReadJSON(filepath.Join(dir, robustnessFile), &res); err != nil {
		return nil, err
	}
	var err error
	if res.Accuracies, err = ReadAccuracies(filepath.Join(dir, accuraciesFile)); err != nil {
		return nil, fmt.Errorf("robustness analysis in %s: %w", dir, err)
	}
	if err := res.Check(baseline); err != nil {
		return nil, fmt.Errorf("robustness analysis in %s: %w", dir, err)
	}
	return &res, nil
}
