package eval

import (
	"math"
	"slices"
	"testing"

	"github.com/robustvision/cotrain/pkg/corrupt"
)

// OLS against a fit computed by hand, including a known p-value.
func TestOLSByHand(t *testing.T) {
	// A simple regression where every number is checkable: y = (1, 3, 2, 5, 4) on x = (1, 2, 3, 4, 5).
	// x̄ = 3, ȳ = 3, Sxx = 10, Sxy = 8 → b₁ = 0.8, b₀ = 0.6; residuals (−0.4, 0.8, −1, 1.2, −0.6), RSS = 3.6,
	// σ² = 3.6/3 = 1.2, SE(b₁) = √(1.2/10) = 0.34641, t = 2.3094, two-sided p (3 dof) = 0.10408;
	// SE(b₀) = √(1.2·(1/5 + 9/10)) = 1.14891, R² = 1 − 3.6/10 = 0.64.
	y := []float64{1, 3, 2, 5, 4}
	x := []float64{1, 2, 3, 4, 5}
	r, err := OLS(y, []string{"x"}, x)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][2]float64{"b0": {r.Coef[0], 0.6}, "b1": {r.Coef[1], 0.8}, "se1": {r.SE[1], 0.3464102}, "t1": {r.T[1], 2.3094011},
		"p1": {r.P[1], 0.1040880}, "se0": {r.SE[0], 1.1489125}, "r2": {r.R2, 0.64}}
	for name, gw := range want {
		if math.Abs(gw[0]-gw[1]) > 1e-6 {
			t.Errorf("%s = %.7f, want %.7f", name, gw[0], gw[1])
		}
	}
	if r.DegreesOfFreedom != 3 {
		t.Errorf("dof %d", r.DegreesOfFreedom)
	}
	// Two regressors, an exact fit plus a known perturbation: the coefficients are recovered.
	x1 := []float64{0, 1, 2, 3, 4, 5, 6}
	x2 := []float64{1, 0, 1, 0, 2, 1, 0}
	y2 := make([]float64, len(x1))
	for i := range y2 {
		y2[i] = 1 + 2*x1[i] - 3*x2[i]
	}
	y2[3] += 0.01
	r2, err := OLS(y2, []string{"a", "b"}, x1, x2)
	if err != nil || math.Abs(r2.Coef[1]-2) > 0.01 || math.Abs(r2.Coef[2]+3) > 0.02 || r2.P[1] > 1e-6 {
		t.Errorf("two regressors: %+v, %v", r2, err)
	}
	if _, err := OLS([]float64{1, 2}, []string{"x"}, []float64{1, 2}); err == nil {
		t.Error("a fit without residual degrees of freedom was accepted")
	}
	if _, err := OLS([]float64{1, 2, 3, 4}, []string{"a", "b"}, []float64{1, 2, 3, 4}, []float64{2, 4, 6, 8}); err == nil {
		t.Error("collinear regressors were accepted")
	}
}

// The robustness score on a small synthetic table, computed by hand.
func TestRobustnessByHand(t *testing.T) {
	acc := func(c string, sev int, a float64) Accuracy {
		cor, _ := corrupt.Lookup(c)
		return Accuracy{Corruption: c, Category: string(cor.Category), Severity: sev, Accuracy: a}
	}
	table := func(gauss, fog [2]float64) []Accuracy {
		return []Accuracy{acc("gaussian_noise", 1, gauss[0]), acc("gaussian_noise", 2, gauss[1]),
			acc("fog", 1, fog[0]), acc("fog", 2, fog[1]), {Corruption: "clean", Severity: 0, Accuracy: 0.9}}
	}
	baseline := map[uint64][]Accuracy{1: table([2]float64{0.4, 0.2}, [2]float64{0.5, 0.5}), 2: table([2]float64{0.2, 0.0}, [2]float64{0.3, 0.3})}
	// Baseline Ā: gaussian_noise (0.3 + 0.1)/2 = 0.2, fog (0.5 + 0.3)/2 = 0.4.
	model := map[uint64][]Accuracy{1: table([2]float64{0.3, 0.1}, [2]float64{0.4, 0.4}), 2: table([2]float64{0.5, 0.3}, [2]float64{0.4, 0.4})}
	// Model seed 1: gauss 0.2/0.2 = 100 %, fog 0.4/0.4 = 100 % → total 100. Seed 2: gauss 0.4/0.2 = 200 %, fog 100 % → 150.
	per, cats, total, err := Scores(model, baseline, []string{"gaussian_noise", "fog"})
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(per["gaussian_noise"].Mean-150) > 1e-9 || math.Abs(per["fog"].Mean-100) > 1e-9 {
		t.Errorf("per corruption: %+v", per)
	}
	if math.Abs(total.Mean-125) > 1e-9 || math.Abs(total.SD-math.Sqrt(2*25*25)) > 1e-9 || total.Seeds != 2 {
		t.Errorf("total %+v, want 125 ± 35.36", total)
	}
	if math.Abs(cats["noise"].Mean-150) > 1e-9 || math.Abs(cats["weather"].Mean-100) > 1e-9 {
		t.Errorf("per category %+v", cats)
	}
	if _, _, _, err := Scores(model, baseline, []string{"snow"}); err == nil {
		t.Error("a corruption without accuracies was accepted")
	}
}

// The bootstrap is a function of its seed.
func TestBootstrapDeterministic(t *testing.T) {
	correct := make([]bool, 200)
	for i := range correct {
		correct[i] = i%3 == 0
	}
	m1, s1 := Bootstrap(correct, 250, 7)
	m2, s2 := Bootstrap(correct, 250, 7)
	_, s3 := Bootstrap(correct, 250, 8)
	if m1 != m2 || s1 != s2 {
		t.Error("same seed, different bootstrap")
	}
	if s1 == s3 {
		t.Error("different seeds, identical bootstrap")
	}
	// The bootstrap SD approximates the binomial standard error √(p(1−p)/n).
	if want := math.Sqrt(m1 * (1 - m1) / 200); math.Abs(s1-want) > 0.3*want {
		t.Errorf("bootstrap sd %v, binomial %v", s1, want)
	}
}

// Every model sees the same corrupted image for (image, corruption, severity); images and severities differ.
func TestCorruptedInputsIdentical(t *testing.T) {
	img := make([]uint8, 32*32)
	for i := range img {
		img[i] = uint8(i * 7)
	}
	a, err := CorruptImage(img, 32, 32, 5, "shot_noise", 3, 1, corrupt.PresetImageNetC)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := CorruptImage(img, 32, 32, 5, "shot_noise", 3, 1, corrupt.PresetImageNetC)
	c, _ := CorruptImage(img, 32, 32, 6, "shot_noise", 3, 1, corrupt.PresetImageNetC)
	if !slices.Equal(a, b) || slices.Equal(a, c) {
		t.Error("corrupted inputs are not a function of (image, corruption, severity)")
	}
	if ImageSeed(1, 5, "shot_noise", 3) == ImageSeed(1, 5, "shot_noise", 4) {
		t.Error("severities share a seed")
	}
}
