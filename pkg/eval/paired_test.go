package eval

import (
	"math/rand/v2"
	"testing"

	"github.com/robustvision/cotrain/pkg/corrupt"
)

// outcomesAt makes per-image outcomes with accuracy p on every clean and corrupted image (seeded).
func outcomesAt(p float64, seed uint64) *Clean {
	rng := rand.New(rand.NewPCG(seed, 9))
	bits := func(n int) Bits {
		b := make(Bits, n)
		for i := range b {
			b[i] = rng.Float64() < p
		}
		return b
	}
	c := &Clean{Correct: bits(400), Corrupted: map[string]Bits{}}
	for _, name := range corrupt.Names() {
		for sev := 1; sev <= 5; sev++ {
			c.Corrupted[VersionKey(name, sev)] = bits(60)
		}
	}
	return c
}

// A model right on 70 % of the images against a Baseline right on 50 %: a robustness score near 140 % whose interval
// excludes 100, a clean difference near +20 points; a model identical to the Baseline: exactly 100 %, its interval
// around it; the same inputs give the same interval.
func TestPairedBootstrap(t *testing.T) {
	runs := map[string]map[uint64]*Clean{"base": {}, "better": {}, "same": {}}
	for s := uint64(1); s <= 3; s++ {
		runs["base"][s] = outcomesAt(0.5, s)
		runs["better"][s] = outcomesAt(0.7, 10+s)
		runs["same"][s] = runs["base"][s]
	}
	iv, notes := pairedStatistics(runs, "base", []string{"base", "better", "same"}, [][2]string{{"better", "base"}, {"better", "same"}}, 0.1)
	if len(notes) > 0 {
		t.Fatalf("notes: %v", notes)
	}
	better := iv[PairedKey("robustness", "better")]
	if better.Estimate < 125 || better.Estimate > 155 || !better.Excludes(100, 1) || better.Seeds != 3 {
		t.Errorf("robustness of the better model: %+v", better)
	}
	same := iv[PairedKey("robustness", "same")]
	if same.Estimate != 100 || same.Low > 100 || same.High < 100 {
		t.Errorf("robustness of the identical model: %+v", same)
	}
	if d := iv[PairedKey("clean-diff", "better", "base")]; d.Estimate < 15 || d.Estimate > 25 || !d.Excludes(0, 1) {
		t.Errorf("clean difference: %+v", d)
	}
	if c := iv[PairedKey("robustness-chance", "better")]; c.Estimate <= better.Estimate {
		t.Errorf("the chance-corrected score %+v is not above the plain one %+v (both above chance)", c, better)
	}
	if d := iv[PairedKey("robustness-diff", "better", "same")]; !d.Excludes(0, 1) {
		t.Errorf("robustness difference: %+v", d)
	}
	again, _ := pairedStatistics(runs, "base", []string{"base", "better", "same"}, nil, 0.1)
	if again[PairedKey("robustness", "better")] != better {
		t.Error("the bootstrap is not deterministic")
	}
	delete(runs["same"], 2)
	runs["same"][2] = &Clean{Correct: Bits{true}}
	if _, notes := pairedStatistics(runs, "base", []string{"base", "same"}, nil, 0.1); len(notes) == 0 {
		t.Error("outcomes of different sizes were compared")
	}
}
