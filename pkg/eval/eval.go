// Package eval implements the measurements of Section 3: clean and corrupted accuracy, robustness scores, and the
// regression of robustness on accuracy and FEVe.
//
// Clean accuracy comes with bootstrap error bars; the corrupted test set is built on the fly (the same corrupted
// images for every model); the robustness score is normalised by the Baseline per corruption, per category and in
// total (Fig. 2, 3A, 3B, 8); the two-factor regression of robustness on clean accuracy and neural predictivity
// (FEVe) has t-tests (Fig. 3C).
package eval

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/gonum/stat/distuv"

	"github.com/robustvision/cotrain/pkg/corrupt"
)

// Bootstrap resamples per-image correctness n times (the paper: 250) with a seeded source and returns the mean
// accuracy and the standard deviation of the resampled accuracies (the error bar).
func Bootstrap(correct []bool, n int, seed uint64) (mean, sd float64) {
	if len(correct) == 0 || n < 2 {
		return math.NaN(), math.NaN()
	}
	rng := rand.New(rand.NewPCG(seed, 0x626f6f74)) // "boot"
	accs := make([]float64, n)
	for b := range accs {
		right := 0
		for range correct {
			if correct[rng.IntN(len(correct))] {
				right++
			}
		}
		accs[b] = float64(right) / float64(len(correct))
	}
	right := 0
	for _, c := range correct {
		if c {
			right++
		}
	}
	return float64(right) / float64(len(correct)), stat.StdDev(accs, nil)
}

// ImageSeed is the corruption seed of one test image, corruption and severity: a function of those three and the
// evaluation seed only, so that every model is tested on identical corrupted images.
func ImageSeed(evalSeed uint64, image int, corruption string, severity int) uint64 {
	h := evalSeed ^ 0x9e3779b97f4a7c15
	for _, c := range corruption {
		h = (h ^ uint64(c)) * 0x100000001b3
	}
	h = (h ^ uint64(image)) * 0xbf58476d1ce4e5b9
	return (h ^ uint64(severity)) * 0x94d049bb133111eb
}

// CorruptImage returns test image i (grey, h×w) corrupted as every model sees it.
func CorruptImage(pix []uint8, h, w, i int, corruption string, severity int, evalSeed uint64, preset corrupt.Preset) ([]uint8, error) {
	out, err := corrupt.Apply(corrupt.Image{H: h, W: w, C: 1, Pix: append([]uint8(nil), pix...)}, corruption, severity,
		ImageSeed(evalSeed, i, corruption, severity), preset)
	if err != nil {
		return nil, err
	}
	return out.Pix, nil
}

// Accuracy is one measured accuracy: a model (and seed) on a corruption at a severity ("clean" at severity 0).
type Accuracy struct {
	Model      string  `json:"model"`
	Seed       uint64  `json:"seed"`
	Ratio      string  `json:"ratio,omitempty"` // the sweep's batch ratio, "" for the main runs
	Corruption string  `json:"corruption"`
	Category   string  `json:"category"`
	Severity   int     `json:"severity"`
	Images     int     `json:"images"`
	Accuracy   float64 `json:"accuracy"`
}

// Score is a robustness score: Ā(model)/Ā(Baseline) in percent (100 = as robust as the Baseline).
type Score struct {
	Mean, SD float64 // over the model's seeds (SD NaN with one seed)
	Seeds    int
}

// MeanOverSeverities returns, per corruption, the accuracy averaged over severities (Ā_c of one model and seed).
func MeanOverSeverities(acc []Accuracy) map[string]float64 {
	sum, n := map[string]float64{}, map[string]int{}
	for _, a := range acc {
		if a.Severity == 0 {
			continue
		}
		sum[a.Corruption] += a.Accuracy
		n[a.Corruption]++
	}
	out := map[string]float64{}
	for c, s := range sum {
		out[c] = s / float64(n[c])
	}
	return out
}

// Scores computes the paper's robustness scores of a model (Section 3, Fig. 3; Table 3's caption): per corruption c,
// 100·Ā_c(model, seed)/Ā_c(Baseline), with the Baseline's Ā_c averaged over its seeds; per category, the mean of
// its corruptions' scores; in total, the mean over the corruptions given (the paper's 14). Error bars are the
// standard deviation over the model's seeds.
func Scores(model map[uint64][]Accuracy, baseline map[uint64][]Accuracy, corruptions []string) (perCorruption map[string]Score, perCategory map[string]Score, total Score, err error) {
	if len(model) == 0 || len(baseline) == 0 {
		return nil, nil, Score{}, fmt.Errorf("robustness: %d model seeds, %d baseline seeds", len(model), len(baseline))
	}
	base := map[string]float64{}
	for _, accs := range baseline {
		for c, v := range MeanOverSeverities(accs) {
			base[c] += v / float64(len(baseline))
		}
	}
	perSeed := map[string][]float64{}
	catSeed := map[string][]float64{}
	var totals []float64
	seeds := make([]uint64, 0, len(model))
	for s := range model {
		seeds = append(seeds, s)
	}
	sort.Slice(seeds, func(a, b int) bool { return seeds[a] < seeds[b] })
	for _, s := range seeds {
		m := MeanOverSeverities(model[s])
		var sum float64
		cats := map[string][]float64{}
		for _, c := range corruptions {
			b, ok := base[c]
			v, ok2 := m[c]
			if !ok || !ok2 || b == 0 {
				return nil, nil, Score{}, fmt.Errorf("robustness: no accuracy for %s (model seed %d or Baseline)", c, s)
			}
			score := 100 * v / b
			perSeed[c] = append(perSeed[c], score)
			cor, err := corrupt.Lookup(c)
			if err != nil {
				return nil, nil, Score{}, err
			}
			cats[string(cor.Category)] = append(cats[string(cor.Category)], score)
			sum += score
		}
		for cat, v := range cats {
			catSeed[cat] = append(catSeed[cat], stat.Mean(v, nil))
		}
		totals = append(totals, sum/float64(len(corruptions)))
	}
	summarise := func(v []float64) Score {
		s := Score{Mean: stat.Mean(v, nil), SD: math.NaN(), Seeds: len(v)}
		if len(v) > 1 {
			s.SD = stat.StdDev(v, nil)
		}
		return s
	}
	perCorruption, perCategory = map[string]Score{}, map[string]Score{}
	for c, v := range perSeed {
		perCorruption[c] = summarise(v)
	}
	for c, v := range catSeed {
		perCategory[c] = summarise(v)
	}
	return perCorruption, perCategory, summarise(totals), nil
}

// Regression is an ordinary least-squares fit y = b₀ + b₁x₁ + … with standard errors, t statistics and two-sided
// p-values from Student's t distribution with n − k − 1 degrees of freedom.
type Regression struct {
	Names                []string  // "intercept", then the regressors
	Coef, SE, T, P       []float64 // per coefficient
	R2                   float64
	N, DegreesOfFreedom  int
	ResidualStdDeviation float64
}

// OLS fits y on the columns of x (each a regressor, all of length n) with an intercept.
func OLS(y []float64, names []string, x ...[]float64) (Regression, error) {
	n, k := len(y), len(x)
	if len(names) != k {
		return Regression{}, fmt.Errorf("regression: %d names for %d regressors", len(names), k)
	}
	dof := n - k - 1
	if dof < 1 {
		return Regression{}, fmt.Errorf("regression: %d observations for %d coefficients (need at least %d)", n, k+1, k+2)
	}
	design := mat.NewDense(n, k+1, nil)
	for i := range n {
		design.Set(i, 0, 1)
		for j, col := range x {
			if len(col) != n {
				return Regression{}, fmt.Errorf("regression: regressor %s has %d values, y has %d", names[j], len(col), n)
			}
			design.Set(i, j+1, col[i])
		}
	}
	var xtx mat.SymDense
	xtx.SymOuterK(1, design.T())
	var inv mat.Dense
	if err := inv.Inverse(&xtx); err != nil {
		return Regression{}, fmt.Errorf("regression: the regressors are collinear: %w", err)
	}
	var xty mat.VecDense
	xty.MulVec(design.T(), mat.NewVecDense(n, y))
	var beta mat.VecDense
	beta.MulVec(&inv, &xty)
	var fitted mat.VecDense
	fitted.MulVec(design, &beta)
	var rss, tss float64
	my := stat.Mean(y, nil)
	for i := range n {
		r := y[i] - fitted.AtVec(i)
		rss += r * r
		tss += (y[i] - my) * (y[i] - my)
	}
	sigma2 := rss / float64(dof)
	t := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: float64(dof)}
	reg := Regression{Names: append([]string{"intercept"}, names...), N: n, DegreesOfFreedom: dof,
		ResidualStdDeviation: math.Sqrt(sigma2)}
	if tss > 0 {
		reg.R2 = 1 - rss/tss
	}
	for j := range k + 1 {
		b := beta.AtVec(j)
		se := math.Sqrt(sigma2 * inv.At(j, j))
		tv := b / se
		reg.Coef, reg.SE, reg.T = append(reg.Coef, b), append(reg.SE, se), append(reg.T, tv)
		reg.P = append(reg.P, 2*t.Survival(math.Abs(tv)))
	}
	return reg, nil
}

// scoreJSON is Score on disk: NaN (no spread with one seed) is written as null.
type scoreJSON struct {
	Mean  *float64 `json:"mean"`
	SD    *float64 `json:"sd"`
	Seeds int      `json:"seeds"`
}

func finite(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}

func orNaN(p *float64) float64 {
	if p == nil {
		return math.NaN()
	}
	return *p
}

// MarshalJSON writes NaN as null.
func (s Score) MarshalJSON() ([]byte, error) {
	return json.Marshal(scoreJSON{Mean: finite(s.Mean), SD: finite(s.SD), Seeds: s.Seeds})
}

// UnmarshalJSON reads null as NaN.
func (s *Score) UnmarshalJSON(b []byte) error {
	var j scoreJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*s = Score{Mean: orNaN(j.Mean), SD: orNaN(j.SD), Seeds: j.Seeds}
	return nil
}
