package eval

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/robustvision/cotrain/pkg/corrupt"
)

// The verdict on a claim of the paper, from our 95 % interval for the claimed quantity. A claim is a direction and,
// where the paper gives one, a size E against a null (0 for a difference, 100 % for a robustness score):
//
//   - reproduced: the interval lies entirely on the paper's side of the null (with "smaller" or "larger than the
//     paper's" when it also excludes E);
//   - contradicted: the interval lies entirely on the other side of the null, or it contains the null and excludes E
//     (the paper's effect is ruled out, and no effect in its direction is resolved);
//   - inconclusive: the interval contains both the null and E, or the claim has no E and the interval contains the
//     null.
//
// A claim of no effect names its equivalence margin m before looking: reproduced when the interval lies inside
// null ± m, contradicted when it lies outside, inconclusive otherwise; a claim that a quantity is not above the null
// ("did not exceed the Baseline") is reproduced when the interval lies below null + m, contradicted when it lies
// above, inconclusive otherwise.

// Verdict is the outcome of a claim.
type Verdict string

// The three verdicts.
const (
	Reproduced   Verdict = "reproduced"
	Contradicted Verdict = "contradicted"
	Inconclusive Verdict = "inconclusive"
)

// Claim is what the paper claims of a quantity.
type Claim struct {
	Null float64
	// Sign is +1 when the paper's effect is above Null, −1 when below, 0 for a claim of no effect (within ±Margin).
	Sign int
	// Effect is the paper's value of the quantity (NaN when the paper gives none).
	Effect float64
	// Margin is the equivalence margin of a claim of no effect (Sign 0) or of one that the quantity is not above the
	// null (AtMost).
	Margin float64
	AtMost bool
}

// Judge gives the verdict on a claim from our interval, and one sentence why.
func Judge(c Claim, iv Interval) (Verdict, string) {
	lo, hi := iv.Low, iv.High
	if math.IsNaN(lo) || math.IsNaN(hi) || lo > hi {
		return Inconclusive, "no interval (the statistic is undefined on many resamples)"
	}
	side := map[int]string{1: "above", -1: "below"}
	switch {
	case c.AtMost:
		switch {
		case hi <= c.Null+c.Margin:
			return Reproduced, fmt.Sprintf("the interval lies below %g + %g (not above the null, within the margin)", c.Null, c.Margin)
		case lo > c.Null+c.Margin:
			return Contradicted, fmt.Sprintf("the interval lies above %g + %g", c.Null, c.Margin)
		}
		return Inconclusive, fmt.Sprintf("the interval reaches above %g + %g", c.Null, c.Margin)
	case c.Sign == 0:
		switch {
		case lo >= c.Null-c.Margin && hi <= c.Null+c.Margin:
			return Reproduced, fmt.Sprintf("the interval lies within %g ± %g", c.Null, c.Margin)
		case hi < c.Null-c.Margin || lo > c.Null+c.Margin:
			return Contradicted, fmt.Sprintf("the interval lies outside %g ± %g: an effect is resolved", c.Null, c.Margin)
		}
		return Inconclusive, fmt.Sprintf("the interval is neither within nor outside %g ± %g", c.Null, c.Margin)
	}
	paperSide := func(v float64) bool { return float64(c.Sign)*(v-c.Null) > 0 }
	hasE := !math.IsNaN(c.Effect)
	excludesE := hasE && (c.Effect < lo || c.Effect > hi)
	switch {
	case paperSide(lo) && paperSide(hi):
		why := fmt.Sprintf("the interval lies %s %g, the claim's direction", side[c.Sign], c.Null)
		if excludesE {
			size := "smaller"
			if math.Abs(lo-c.Null) > math.Abs(c.Effect-c.Null) {
				size = "larger"
			}
			why += fmt.Sprintf(" (%s than the paper's %g)", size, c.Effect)
		}
		return Reproduced, why
	case !paperSide(lo) && !paperSide(hi) && lo != c.Null && hi != c.Null:
		return Contradicted, fmt.Sprintf("the interval lies %s %g: the opposite of the claim's direction", side[-c.Sign], c.Null)
	case excludesE:
		return Contradicted, fmt.Sprintf("the interval contains %g and excludes the paper's %g: its effect is ruled out", c.Null, c.Effect)
	case hasE:
		return Inconclusive, fmt.Sprintf("the interval contains both %g and the paper's %g", c.Null, c.Effect)
	}
	return Inconclusive, fmt.Sprintf("the interval contains %g (the paper gives no size to rule out)", c.Null)
}

// MinimumDetectable is the smallest effect a test with this standard error and degrees of freedom detects with 80 %
// power at α = 0.05, two-sided: (t_{0.975} + t_{0.8}) × se.
func MinimumDetectable(se float64, df int) float64 {
	if df < 1 || !(se > 0) {
		return math.NaN()
	}
	t := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: float64(df)}
	return (t.Quantile(0.975) + t.Quantile(0.8)) * se
}

// IntervalSE is the standard error a 95 % interval implies (its width over 2 × 1.96).
func IntervalSE(iv Interval) float64 { return (iv.High - iv.Low) / (2 * 1.959964) }

// DistinctResamples is the number of distinct bootstrap resamples of n seeds (multisets of size n): C(2n−1, n).
func DistinctResamples(n int) int {
	if n < 1 {
		return 0
	}
	r := 1.0
	for i := 1; i <= n; i++ {
		r = r * float64(n-1+i) / float64(i)
	}
	return int(math.Round(r))
}

// SignFlip is the exact two-sided sign-flip permutation test of paired differences: the share of the 2^n sign
// assignments whose mean is at least as far from zero as the observed one. With n differences the smallest p it
// can give is 2/2^n.
func SignFlip(d []float64) float64 {
	n := len(d)
	if n == 0 || n > 20 {
		return math.NaN()
	}
	obs := math.Abs(mean(d))
	count := 0
	for mask := 0; mask < 1<<n; mask++ {
		var s float64
		for i, v := range d {
			if mask&(1<<i) != 0 {
				s -= v
			} else {
				s += v
			}
		}
		if math.Abs(s/float64(n)) >= obs-1e-12 {
			count++
		}
	}
	return float64(count) / float64(int(1)<<n)
}

func mean(v []float64) float64 {
	var s float64
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}

// Holm adjusts p-values for multiple comparisons (Holm–Bonferroni); NaN stays NaN.
func Holm(p []float64) []float64 {
	type ip struct {
		i int
		p float64
	}
	var valid []ip
	for i, v := range p {
		if !math.IsNaN(v) {
			valid = append(valid, ip{i, v})
		}
	}
	sort.Slice(valid, func(a, b int) bool { return valid[a].p < valid[b].p })
	out := make([]float64, len(p))
	for i := range out {
		out[i] = math.NaN()
	}
	running := 0.0
	for k, v := range valid {
		adj := math.Min(1, float64(len(valid)-k)*v.p)
		running = math.Max(running, adj)
		out[v.i] = running
	}
	return out
}

// SeedDifferences are per-seed paired differences of a statistic of the main runs, for the exact test over seeds:
// kind "clean-diff" (A's clean accuracy minus B's, points), "robustness-diff" (A's robustness score minus B's),
// "robustness" (A's score minus the Baseline's own score of the same seed), or "robustness-category/CAT" (the
// same over one category's corruptions). Scores are relative to the Baseline's mean over seeds, as the paper's; only
// seeds that both runs have count.
func (r *Robustness) SeedDifferences(kind, baseline, a, b string) ([]float64, error) {
	corrs := corrupt.PaperNames()
	cat := ""
	if c, ok := strings.CutPrefix(kind, "robustness-category/"); ok {
		kind, cat, corrs = "robustness", c, CategoryCorruptions(c)
	}
	if kind == "robustness" {
		b = baseline
	}
	type key struct {
		model string
		seed  uint64
	}
	clean := map[key]float64{}
	perCorr := map[key]map[string][]float64{}
	for _, acc := range r.Accuracies {
		if acc.Ratio != "" {
			continue
		}
		k := key{acc.Model, acc.Seed}
		if acc.Severity == 0 {
			clean[k] = acc.Accuracy
			continue
		}
		if perCorr[k] == nil {
			perCorr[k] = map[string][]float64{}
		}
		perCorr[k][acc.Corruption] = append(perCorr[k][acc.Corruption], acc.Accuracy)
	}
	baseMean := map[string]float64{}
	var baseSeeds []uint64
	for k := range clean {
		if k.model == baseline {
			baseSeeds = append(baseSeeds, k.seed)
		}
	}
	if len(baseSeeds) == 0 {
		return nil, fmt.Errorf("no %s runs", baseline)
	}
	for _, c := range corrs {
		var s float64
		for _, seed := range baseSeeds {
			s += mean(perCorr[key{baseline, seed}][c])
		}
		baseMean[c] = s / float64(len(baseSeeds))
	}
	score := func(k key) float64 {
		var s float64
		for _, c := range corrs {
			s += 100 * mean(perCorr[k][c]) / baseMean[c]
		}
		return s / float64(len(corrs))
	}
	var seeds []uint64
	for k := range clean {
		if k.model == a {
			if _, ok := clean[key{b, k.seed}]; ok {
				seeds = append(seeds, k.seed)
			}
		}
	}
	slices.Sort(seeds)
	if len(seeds) == 0 {
		return nil, fmt.Errorf("no seed of both %s and %s", a, b)
	}
	var out []float64
	for _, seed := range seeds {
		ka, kb := key{a, seed}, key{b, seed}
		switch kind {
		case "clean-diff":
			out = append(out, 100*(clean[ka]-clean[kb]))
		case "robustness", "robustness-diff":
			out = append(out, score(ka)-score(kb))
		default:
			return nil, fmt.Errorf("no per-seed differences of %q%s", kind, cat)
		}
	}
	return out, nil
}
