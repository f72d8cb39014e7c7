package figures

import (
	"strings"
	"testing"

	"github.com/robustvision/cotrain/pkg/analysis"
	"github.com/robustvision/cotrain/pkg/eval"
)

// TestSection4FindingsJudgeTheirIntervals feeds Section 4's rows decisive synthetic intervals: a row whose statistic
// can decide follows its interval, and the spectral control's background-noise row, whose high-frequency share is
// equal to its source's by construction, stays inconclusive and says why, whatever its interval.
func TestSection4FindingsJudgeTheirIntervals(t *testing.T) {
	below := eval.Interval{Estimate: -0.3, Low: -0.4, High: -0.2, Seeds: 1, Replicates: 1000}
	a := &analysis.Result{Size: 32, Norms: []float64{2.5, 7.5, 30}, Photos: make([]string, 24),
		Paired: map[string]eval.Interval{
			"noise-diff/mtl-monkey-vs-baseline/7.5":         below,
			"noise-diff/mtl-monkey-vs-spectral-control/7.5": below,
		}}
	rows := section4Findings(a)
	verdict := func(prefix string) finding {
		for _, f := range rows {
			if strings.HasPrefix(f.claim, prefix) {
				return f
			}
		}
		t.Fatalf("no row %q", prefix)
		return finding{}
	}
	if f := verdict("the Baseline's reconstructions keep more of the noise"); f.verdict != eval.Reproduced {
		t.Errorf("Baseline noise row with an interval below 0: %s (%s)", f.verdict, f.why)
	}
	f := verdict("the spectral control keeps more background noise")
	if f.verdict != eval.Inconclusive || !strings.Contains(f.why, "equal by construction") {
		t.Errorf("spectral control noise row: %s (%s), want inconclusive and why", f.verdict, f.why)
	}
	if !strings.Contains(f.ours, "-0.300") {
		t.Errorf("spectral control noise row hides its estimate: %q", f.ours)
	}
}

// TestDetectableKeepsItsUnit: the smallest detectable effect of a robustness row is printed with its unit, not a
// broken format verb.
func TestDetectableKeepsItsUnit(t *testing.T) {
	res := &eval.Robustness{Scale: "test", Preset: "imagenet-c", Paired: map[string]eval.Interval{
		"robustness/mtl-monkey": {Estimate: 97, Low: 91, High: 104, Seeds: 5, Replicates: 1000},
	}}
	for _, f := range section3Findings(res) {
		for _, cell := range []string{f.ours, f.n, f.detectable, f.why} {
			if strings.Contains(cell, "%!") {
				t.Errorf("%s: a broken format verb in %q", f.claim, cell)
			}
		}
	}
}
