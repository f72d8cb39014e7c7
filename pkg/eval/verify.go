package eval

import (
	"fmt"
	"math"
	"slices"

	"github.com/robustvision/cotrain/pkg/corrupt"
)

// Plausibility at every read: a file of the cache that passes its checksum may still have been written by hand.
// Every accuracy is within [0, 1] and agrees with the per-image outcomes it summarises, and every score of the
// robustness analysis is what its accuracies give.

// checkAccuracy is one record's plausibility.
func checkAccuracy(a Accuracy) error {
	switch {
	case math.IsNaN(a.Accuracy) || a.Accuracy < 0 || a.Accuracy > 1:
		return fmt.Errorf("accuracy %v is not within [0, 1]", a.Accuracy)
	case a.Images <= 0:
		return fmt.Errorf("%d images", a.Images)
	case a.Severity < 0 || a.Severity > 5:
		return fmt.Errorf("severity %d is not within 0 … 5", a.Severity)
	case a.Severity == 0 && a.Corruption != "clean":
		return fmt.Errorf("severity 0 of %q (severity 0 is the clean test set)", a.Corruption)
	case a.Severity > 0 && !slices.Contains(corrupt.Names(), a.Corruption):
		return fmt.Errorf("unknown corruption %q", a.Corruption)
	case a.Model == "":
		return fmt.Errorf("no model")
	}
	return nil
}

// Check verifies that the accuracies of one run's evaluation are those of its per-image outcomes: the clean test
// set's and every corrupted version's.
func (c *Clean) Check(accs []Accuracy) error {
	if c.Images != len(c.Correct) || len(c.Correct) == 0 {
		return fmt.Errorf("per-image outcomes of %d clean images, the evaluation says %d", len(c.Correct), c.Images)
	}
	if math.IsNaN(c.BootstrapSD) || c.BootstrapSD < 0 || c.BootstrapSD > 0.5 {
		return fmt.Errorf("bootstrap sd %v is impossible", c.BootstrapSD)
	}
	seen := map[string]bool{}
	for _, a := range accs {
		bits, key := c.Correct, "clean"
		if a.Severity > 0 {
			key = VersionKey(a.Corruption, a.Severity)
			var ok bool
			if bits, ok = c.Corrupted[key]; !ok {
				return fmt.Errorf("%s: no per-image outcomes", key)
			}
		}
		if seen[key] {
			return fmt.Errorf("%s twice", key)
		}
		seen[key] = true
		if a.Images != len(bits) {
			return fmt.Errorf("%s: %d images, the per-image outcomes have %d", key, a.Images, len(bits))
		}
		if want := meanAt(bits, identity(len(bits))); math.Abs(a.Accuracy-want) > 1e-6 {
			return fmt.Errorf("%s: accuracy %v, the per-image outcomes give %v", key, a.Accuracy, want)
		}
	}
	if len(seen) != 1+len(c.Corrupted) {
		return fmt.Errorf("%d accuracies for %d sets of per-image outcomes", len(seen), 1+len(c.Corrupted))
	}
	return nil
}

func identity(n int) []int {
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	return idx
}

// Check verifies a robustness analysis against its accuracies (accuracies.csv beside robustness.json): the clean
// accuracies and robustness scores it reports are those its accuracies give, relative to baseline, and every
// reported number is finite where it must be.
func (r *Robustness) Check(baseline string) error {
	main := map[string]map[uint64][]Accuracy{}
	for _, a := range r.Accuracies {
		if a.Ratio != "" {
			continue
		}
		if main[a.Model] == nil {
			main[a.Model] = map[uint64][]Accuracy{}
		}
		main[a.Model][a.Seed] = append(main[a.Model][a.Seed], a)
	}
	base, ok := main[baseline]
	if !ok {
		return fmt.Errorf("no accuracies of %s, which the scores are relative to", baseline)
	}
	if len(r.Total) != len(main) || len(r.Clean) != len(main) {
		return fmt.Errorf("scores of %d models and clean accuracies of %d, accuracies of %d", len(r.Total), len(r.Clean), len(main))
	}
	for model, seeds := range main {
		_, _, total, err := Scores(seeds, base, corrupt.PaperNames())
		if err != nil {
			return fmt.Errorf("%s: %w", model, err)
		}
		if got := r.Total[model]; !near(got.Mean, total.Mean) {
			return fmt.Errorf("%s: robustness %v, its accuracies give %v", model, got.Mean, total.Mean)
		}
		var clean []float64
		for _, seed := range sortedKeys(seeds) {
			for _, a := range seeds[seed] {
				if a.Severity == 0 {
					clean = append(clean, 100*a.Accuracy)
				}
			}
		}
		if got, want := r.Clean[model], scoreOf(clean); !near(got.Mean, want.Mean) {
			return fmt.Errorf("%s: clean accuracy %v %%, its accuracies give %v %%", model, got.Mean, want.Mean)
		}
	}
	for key, iv := range r.Paired {
		if math.IsNaN(iv.Estimate) || iv.Low > iv.High || iv.Seeds < 1 {
			return fmt.Errorf("paired %s: %+v is impossible", key, iv)
		}
	}
	for model, v := range r.FEVe {
		if math.IsNaN(v) || math.IsInf(v, 0) || v > 1 {
			return fmt.Errorf("%s: FEVe %v is impossible", model, v)
		}
	}
	return nil
}

func near(a, b float64) bool {
	return a == b || math.Abs(a-b) <= 1e-9*math.Max(1, math.Max(math.Abs(a), math.Abs(b)))
}

func sortedKeys[V any](m map[uint64]V) []uint64 {
	var out []uint64
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
