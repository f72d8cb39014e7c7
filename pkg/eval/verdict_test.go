package eval

import (
	"math"
	"testing"
)

// Judge on synthetic intervals: every outcome of a directional claim with and without the paper's size, a claim of
// no effect that holds and one that fails, and a claim of "not above".
func TestJudge(t *testing.T) {
	nan := math.NaN()
	up := Claim{Null: 100, Sign: 1, Effect: 118}
	down := Claim{Null: 0, Sign: -1, Effect: -3}
	for _, c := range []struct {
		claim    Claim
		low, hi  float64
		want     Verdict
		whyHolds string
	}{
		{up, 105, 130, Reproduced, "above 100"},
		{up, 101, 110, Reproduced, "smaller than the paper's 118"},
		{up, 125, 140, Reproduced, "larger than the paper's 118"},
		{up, 85, 97, Contradicted, "opposite"},
		{up, 92.8, 106, Contradicted, "ruled out"}, // contains 100, excludes 118
		{up, 93.3, 126.3, Inconclusive, "both"},    // contains 100 and 118
		{Claim{Null: 100, Sign: 1, Effect: nan}, 93, 126, Inconclusive, "no size"},
		{Claim{Null: 100, Sign: 1, Effect: nan}, 101, 126, Reproduced, "above"},
		{down, -3.2, -0.8, Reproduced, "below 0"},
		{down, -1.6, 0.8, Contradicted, "ruled out"},
		{down, -4, 1, Inconclusive, "both"},
		{down, 0.5, 2, Contradicted, "opposite"},
		{Claim{Null: 0, Sign: 0, Margin: 5}, -3, 4, Reproduced, "within"},      // equivalence holds
		{Claim{Null: 0, Sign: 0, Margin: 5}, -40, -6, Contradicted, "outside"}, // equivalence fails
		{Claim{Null: 0, Sign: 0, Margin: 5}, -8, 4, Inconclusive, "neither"},
		{Claim{Null: 100, AtMost: true, Margin: 5}, 80, 103, Reproduced, "below"},
		{Claim{Null: 100, AtMost: true, Margin: 5}, 106, 120, Contradicted, "above"},
		{Claim{Null: 100, AtMost: true, Margin: 5}, 90, 110, Inconclusive, "reaches"},
		{up, nan, nan, Inconclusive, "no interval"},
	} {
		got, why := Judge(c.claim, Interval{Low: c.low, High: c.hi})
		if got != c.want || !contains(why, c.whyHolds) {
			t.Errorf("%+v on [%g, %g]: %s (%s), want %s (%q)", c.claim, c.low, c.hi, got, why, c.want, c.whyHolds)
		}
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

// The power and exact-test helpers against values worked out by hand.
func TestPowerAndExactTests(t *testing.T) {
	// (t_{0.975,2} + t_{0.8,2}) = 4.303 + 1.061.
	if got := MinimumDetectable(1, 2); math.Abs(got-5.364) > 0.01 {
		t.Errorf("MinimumDetectable(1, 2) = %v", got)
	}
	if got := MinimumDetectable(1, 1000); math.Abs(got-2.80) > 0.01 {
		t.Errorf("MinimumDetectable(1, 1000) = %v, want about 1.96 + 0.84", got)
	}
	if DistinctResamples(3) != 10 || DistinctResamples(5) != 126 || DistinctResamples(1) != 1 {
		t.Errorf("distinct resamples: %d %d %d", DistinctResamples(3), DistinctResamples(5), DistinctResamples(1))
	}
	// Three positive differences: only the observed assignment and its mirror are as extreme: 2/8.
	if p := SignFlip([]float64{9, 3, 4}); math.Abs(p-0.25) > 1e-12 {
		t.Errorf("SignFlip(3 positive) = %v, want 0.25", p)
	}
	if p := SignFlip([]float64{-10.8, 2.7, 4.0}); p < 0.99 {
		t.Errorf("SignFlip(mixed) = %v, want 1 (the observed mean is the smallest in magnitude)", p)
	}
	h := Holm([]float64{0.01, 0.04, nan(), 0.03})
	if math.Abs(h[0]-0.03) > 1e-12 || math.Abs(h[3]-0.06) > 1e-12 || math.Abs(h[1]-0.06) > 1e-12 || !math.IsNaN(h[2]) {
		t.Errorf("Holm = %v", h)
	}
}

func nan() float64 { return math.NaN() }
