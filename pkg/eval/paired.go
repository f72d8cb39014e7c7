package eval

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"

	"gonum.org/v1/gonum/stat"

	"github.com/robustvision/cotrain/pkg/corrupt"
)

// Paired comparisons with bootstrap intervals. Models of the same seed share their initialisation, and every model
// is tested on the same clean and corrupted images, so comparisons are paired: a bootstrap replicate resamples the
// seeds (the same seeds for every model compared) and, independently, the clean test images and the corrupted subset's
// images (the same images for every model, every corruption and every severity), and recomputes the statistic.

// Interval is an estimate with its 95 % percentile bootstrap interval.
type Interval struct {
	Estimate   float64 `json:"estimate"`
	Low        float64 `json:"low"`
	High       float64 `json:"high"`
	Seeds      int     `json:"seeds"` // seeds paired
	Replicates int     `json:"replicates"`
}

// Excludes reports whether the interval lies entirely above (sign > 0) or below (sign < 0) the value v.
func (iv Interval) Excludes(v float64, sign int) bool {
	if sign > 0 {
		return iv.Low > v
	}
	return iv.High < v
}

// PairedReplicates is the number of bootstrap replicates of a paired comparison.
const PairedReplicates = 1000

// summary is one run's accuracies on one bootstrap replicate's images: clean, and Ā_c per corruption.
type summary struct {
	clean   float64
	perCorr map[string]float64
}

func summarise(o *Clean, cleanIdx, subIdx []int, corruptions []string) (summary, error) {
	s := summary{clean: meanAt(o.Correct, cleanIdx), perCorr: map[string]float64{}}
	for _, c := range corruptions {
		var sum float64
		for sev := 1; sev <= 5; sev++ {
			bits, ok := o.Corrupted[VersionKey(c, sev)]
			if !ok {
				return s, fmt.Errorf("no per-image outcomes for %s at severity %d", c, sev)
			}
			sum += meanAt(bits, subIdx)
		}
		s.perCorr[c] = sum / 5
	}
	return s, nil
}

func meanAt(bits Bits, idx []int) float64 {
	right := 0
	for _, i := range idx {
		if bits[i] {
			right++
		}
	}
	return float64(right) / float64(len(idx))
}

// robustness is the paper's total score of a model's summaries against the Baseline's (averaged over its seeds), in
// percent; chance > 0 subtracts chance accuracy from both first (the chance-corrected score: 100 % means as far above
// chance as the Baseline).
func robustness(model, baseline []summary, corruptions []string, chance float64) float64 {
	var total float64
	for _, m := range model {
		var sum float64
		for _, c := range corruptions {
			var b float64
			for _, bs := range baseline {
				b += bs.perCorr[c] / float64(len(baseline))
			}
			sum += 100 * (m.perCorr[c] - chance) / (b - chance)
		}
		total += sum / float64(len(corruptions))
	}
	return total / float64(len(model))
}

// Statistic is a paired statistic of the runs of several models (their summaries on one replicate, per model, in
// the order of the paired seeds).
type Statistic func(runs map[string][]summary) float64

// PairedBootstrap computes a statistic on the runs of the named models at their common seeds, and its 95 % interval
// from PairedReplicates replicates (seeded: the same inputs give the same interval).
func PairedBootstrap(runs map[string]map[uint64]*Clean, models []string, corruptions []string, f Statistic,
	seed uint64) (Interval, error) {
	var seeds []uint64
	for s := range runs[models[0]] {
		common := true
		for _, m := range models[1:] {
			if o, ok := runs[m][s]; !ok || o == nil {
				common = false
			}
		}
		if o := runs[models[0]][s]; common && o != nil {
			seeds = append(seeds, s)
		}
	}
	if len(seeds) == 0 {
		return Interval{}, fmt.Errorf("no seed with per-image outcomes of every model of %v", models)
	}
	slices.Sort(seeds)
	first := runs[models[0]][seeds[0]]
	nClean, nSub := len(first.Correct), 0
	for _, bits := range first.Corrupted {
		nSub = len(bits)
		break
	}
	for _, m := range models {
		for _, s := range seeds {
			o := runs[m][s]
			for _, bits := range o.Corrupted {
				if len(bits) != nSub {
					return Interval{}, fmt.Errorf("%s seed %d: %d corrupted images, %s seed %d: %d", m, s, len(bits), models[0], seeds[0], nSub)
				}
			}
			if len(o.Correct) != nClean {
				return Interval{}, fmt.Errorf("%s seed %d: %d clean images, want %d", m, s, len(o.Correct), nClean)
			}
		}
	}
	if nClean == 0 || nSub == 0 {
		return Interval{}, fmt.Errorf("no per-image outcomes")
	}
	identity := func(n int) []int {
		idx := make([]int, n)
		for i := range idx {
			idx[i] = i
		}
		return idx
	}
	compute := func(seedList []uint64, cleanIdx, subIdx []int) (float64, error) {
		sums := map[string][]summary{}
		for _, m := range models {
			for _, s := range seedList {
				sm, err := summarise(runs[m][s], cleanIdx, subIdx, corruptions)
				if err != nil {
					return 0, fmt.Errorf("%s seed %d: %w", m, s, err)
				}
				sums[m] = append(sums[m], sm)
			}
		}
		return f(sums), nil
	}
	est, err := compute(seeds, identity(nClean), identity(nSub))
	if err != nil {
		return Interval{}, err
	}
	rng := rand.New(rand.NewPCG(seed, 0x7061697265)) // "paire"
	reps := make([]float64, PairedReplicates)
	draw := func(n int) []int {
		idx := make([]int, n)
		for i := range idx {
			idx[i] = rng.IntN(n)
		}
		return idx
	}
	finite := reps[:0]
	for range reps {
		seedList := make([]uint64, len(seeds))
		for i := range seedList {
			seedList[i] = seeds[rng.IntN(len(seeds))]
		}
		v, err := compute(seedList, draw(nClean), draw(nSub))
		if err != nil {
			return Interval{}, err
		}
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			finite = append(finite, v)
		}
	}
	iv := Interval{Estimate: est, Low: math.NaN(), High: math.NaN(), Seeds: len(seeds), Replicates: PairedReplicates}
	// A statistic undefined on more than a few resamples (a ratio to a Baseline at zero accuracy) has no interval.
	if len(finite) >= PairedReplicates*95/100 {
		slices.Sort(finite)
		iv.Low, iv.High = stat.Quantile(0.025, stat.Empirical, finite, nil), stat.Quantile(0.975, stat.Empirical, finite, nil)
	}
	return iv, nil
}

// The paired statistics of Section 3 (keys of Robustness.Paired):
//
//	robustness/M          M's total robustness score (%), normalised by the Baseline
//	robustness-chance/M   the same with chance accuracy subtracted from M's and the Baseline's
//	clean-diff/A-vs-B     A's clean accuracy minus B's (percentage points), paired by seed
//	robustness-diff/A-vs-B  A's total robustness score minus B's (points of %)
//	robustness-category/M/CAT  M's robustness score over the paper's corruptions of one category (Fig. 3A)
//	improved-corruptions/M  how many of the paper's 14 corruptions M's score is above 100 on (Section 3: "9/14")
func pairedStatistics(runs map[string]map[uint64]*Clean, baseline string, models []string, pairs [][2]string,
	chance float64) (map[string]Interval, map[string]string) {
	out, notes := map[string]Interval{}, map[string]string{}
	corr := corrupt.PaperNames()
	add := func(key string, ms []string, f Statistic) {
		iv, err := PairedBootstrap(runs, ms, corr, f, Seed)
		if err != nil {
			notes[key] = err.Error()
			return
		}
		out[key] = iv
	}
	for _, m := range models {
		if m == baseline {
			continue
		}
		m := m
		add("robustness/"+m, []string{m, baseline}, func(r map[string][]summary) float64 {
			return robustness(r[m], r[baseline], corr, 0)
		})
		add("robustness-chance/"+m, []string{m, baseline}, func(r map[string][]summary) float64 {
			return robustness(r[m], r[baseline], corr, chance)
		})
		for _, cat := range Categories() {
			cs := CategoryCorruptions(cat)
			add("robustness-category/"+m+"/"+cat, []string{m, baseline}, func(r map[string][]summary) float64 {
				return robustness(r[m], r[baseline], cs, 0)
			})
		}
		add("improved-corruptions/"+m, []string{m, baseline}, func(r map[string][]summary) float64 {
			n := 0
			for _, c := range corr {
				if robustness(r[m], r[baseline], []string{c}, 0) > 100 {
					n++
				}
			}
			return float64(n)
		})
	}
	for _, p := range pairs {
		a, b := p[0], p[1]
		name := a + "-vs-" + b
		add("clean-diff/"+name, []string{a, b}, func(r map[string][]summary) float64 {
			var d float64
			for i := range r[a] {
				d += 100 * (r[a][i].clean - r[b][i].clean)
			}
			return d / float64(len(r[a]))
		})
		if a != baseline && b != baseline {
			add("robustness-diff/"+name, []string{a, b, baseline}, func(r map[string][]summary) float64 {
				return robustness(r[a], r[baseline], corr, 0) - robustness(r[b], r[baseline], corr, 0)
			})
		}
	}
	return out, notes
}

// Categories are ImageNet-C's four categories of corruptions, in Fig. 3A's order.
func Categories() []string {
	return []string{string(corrupt.Noise), string(corrupt.Blur), string(corrupt.Weather), string(corrupt.Digital)}
}

// CategoryCorruptions are the paper's corruptions (glass blur left out) of one category.
func CategoryCorruptions(cat string) []string {
	var out []string
	for _, c := range corrupt.All() {
		if string(c.Category) == cat && c.Name != "glass_blur" {
			out = append(out, c.Name)
		}
	}
	return out
}

// PairedKey names a paired statistic (pairedStatistics).
func PairedKey(kind string, models ...string) string {
	return kind + "/" + strings.Join(models, "-vs-")
}

type intervalJSON struct {
	Estimate   *float64 `json:"estimate"`
	Low        *float64 `json:"low"`
	High       *float64 `json:"high"`
	Seeds      int      `json:"seeds"`
	Replicates int      `json:"replicates"`
}

// MarshalJSON writes NaN (an undefined statistic, such as a ratio to a Baseline at chance) as null.
func (iv Interval) MarshalJSON() ([]byte, error) {
	return json.Marshal(intervalJSON{finite(iv.Estimate), finite(iv.Low), finite(iv.High), iv.Seeds, iv.Replicates})
}

// UnmarshalJSON reads null as NaN.
func (iv *Interval) UnmarshalJSON(b []byte) error {
	var j intervalJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*iv = Interval{orNaN(j.Estimate), orNaN(j.Low), orNaN(j.High), j.Seeds, j.Replicates}
	return nil
}
