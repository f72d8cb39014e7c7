package figures

import (
	"fmt"
	"math"

	"github.com/robustvision/cotrain/pkg/analysis"
	"github.com/robustvision/cotrain/pkg/condition"
	"github.com/robustvision/cotrain/pkg/eval"
)

// The verdicts of the Findings table.
const (
	Reproduced    = "reproduced"
	NotReproduced = "not reproduced"
	NotTestable   = "not testable here"
)

// finding is one claim of the paper and what this reproduction measured for it.
type finding struct {
	claim, paper, ours, verdict, why, source string
}

// Findings is the verdict on each of the paper's claims that the study tests: the paper's number (with where it
// is), ours with its 95 % interval (paired bootstrap over seeds and test images, or over the analysis images), and
// whether it is reproduced, with one sentence why and the cache file behind it. Section 4's rows need a; nil leaves
// them out. Stand-ins are named: Fashion-MNIST for Tiny ImageNet, SIMULATED V1 for the monkey recordings, a classical
// saliency model for DeepGaze II.
func Findings(res *eval.Robustness, a *analysis.Result) Table {
	var rows []finding
	rows = append(rows, section3Findings(res)...)
	if a != nil {
		rows = append(rows, section4Findings(a)...)
	}
	t := Table{Caption: fmt.Sprintf("Findings at the %s scale: the paper's claims against this reproduction "+
		"(Fashion-MNIST for Tiny ImageNet, SIMULATED V1 for the monkey data, a classical saliency model for DeepGaze II; "+
		"intervals are 95 %% paired bootstrap intervals)", res.Scale),
		Header: []string{"claim", "paper", "here", "verdict", "why", "source"}}
	for _, f := range rows {
		t.Rows = append(t.Rows, []string{f.claim, f.paper, f.ours, f.verdict, f.why, f.source})
	}
	return t
}

func formatInterval(iv eval.Interval, unit string) string {
	return fmt.Sprintf("%.1f%s [%.1f, %.1f]", iv.Estimate, unit, iv.Low, iv.High)
}

// directional judges a claim that a quantity is above (sign > 0) or below (sign < 0) null; sample says what was
// resampled.
func directional(iv eval.Interval, null float64, sign int, what, sample string) (string, string) {
	switch {
	case math.IsNaN(iv.Low) || math.IsNaN(iv.High) || math.IsNaN(iv.Estimate):
		return NotTestable, "the statistic is undefined on many resamples (accuracies at or near zero)"
	case iv.Excludes(null, sign):
		return Reproduced, fmt.Sprintf("the interval lies %s %g: %s", map[int]string{1: "above", -1: "below"}[sign], null, what)
	case iv.Excludes(null, -sign):
		return NotReproduced, fmt.Sprintf("the interval lies on the other side of %g: the opposite holds here", null)
	default:
		return NotReproduced, fmt.Sprintf("the interval includes %g: no difference is resolved (%s)", null, sample)
	}
}

func section3Findings(res *eval.Robustness) []finding {
	const src = "analysis/robustness/robustness.json"
	var out []finding
	paired := func(claim, paper, key, unit string, null float64, sign int, what string) {
		iv, ok := res.Paired[key]
		if !ok {
			note := res.PairedNote[key]
			if note == "" {
				note = "the cache predates paired statistics (cotrain reproduce recomputes them)"
			}
			out = append(out, finding{claim, paper, "—", NotTestable, "not computed: " + note, src})
			return
		}
		verdict, why := directional(iv, null, sign, what, fmt.Sprintf("%d seeds and the test images", iv.Seeds))
		out = append(out, finding{claim, paper, formatInterval(iv, unit), verdict, why, src + " paired." + key})
	}
	k := eval.PairedKey
	paired("Table 2: the Oracle is more accurate on clean images than the Baseline", "52.25 vs 49.26 %",
		k("clean-diff", condition.Oracle, condition.Baseline), " pts", 0, 1, "corruption training helps clean accuracy")
	paired("Table 2: MTL-Monkey is less accurate on clean images than the Baseline", "46.28 vs 49.26 %",
		k("clean-diff", condition.MTLMonkey, condition.Baseline), " pts", 0, -1, "co-training costs some clean accuracy")
	paired("Table 2: MTL-Monkey is more accurate on clean images than MTL-Shuffled", "46.28 vs 44.70 %",
		k("clean-diff", condition.MTLMonkey, condition.MTLShuffled), " pts", 0, 1, "real targets beat shuffled ones")
	paired("Fig. 3B, Table 3: MTL-Monkey is more robust than the Baseline", "118 %",
		k("robustness", condition.MTLMonkey), " %", 100, 1, "co-training on predicted responses adds robustness")
	paired("Table 3: MTL on the recorded responses is more robust than the Baseline", "109 %",
		k("robustness", condition.MTLRecorded), " %", 100, 1, "co-training on noisy recordings adds robustness")
	paired("Table 3: MTL on predicted responses is more robust than on the recorded ones", "118 vs 109 %",
		k("robustness-diff", condition.MTLRecorded, condition.MTLMonkey), " pts", 0, -1, "denoised targets help more")
	paired("Fig. 3B: MTL-Monkey is more robust than MTL-Shuffled", "118 vs 98 %",
		k("robustness-diff", condition.MTLMonkey, condition.MTLShuffled), " pts", 0, 1, "the image information of the targets matters")
	// MTL-Shuffled is no more robust than the Baseline: reproduced when its interval does not lie above 100.
	if iv, ok := res.Paired[k("robustness", condition.MTLShuffled)]; ok {
		f := finding{"Table 3: MTL-Shuffled is not more robust than the Baseline", "98 %", formatInterval(iv, " %"),
			Reproduced, "the interval does not lie above 100", src + " paired." + k("robustness", condition.MTLShuffled)}
		if iv.Excludes(100, 1) {
			f.verdict, f.why = NotReproduced, "the interval lies above 100: shuffled targets add robustness here"
		}
		out = append(out, f)
	}
	paired("Fig. 3B: MTL-Oracle is more robust than the Baseline", "about 120 % (Fig. 3B)",
		k("robustness", condition.MTLOracle), " %", 100, 1, "robustness transfers through co-training")
	out = append(out, regressionFindings(res)...)
	return out
}

func regressionFindings(res *eval.Robustness) []finding {
	const src = "analysis/robustness/robustness.json regression."
	var out []finding
	monkey, shuffled := res.Regression[condition.MTLMonkey], res.Regression[condition.MTLShuffled]
	if monkey == nil {
		return append(out, finding{"Fig. 3C: robustness rises with neural predictivity (b_FEVe > 0)", "b = 54.72, p < 1e-4",
			"—", NotTestable, "no regression: " + res.RegressionNote[condition.MTLMonkey], src + condition.MTLMonkey})
	}
	f := finding{"Fig. 3C: robustness rises with neural predictivity (b_FEVe > 0, p < 0.05)", "b = 54.72, p < 1e-4",
		fmt.Sprintf("b = %.2f ± %.2f, p = %.2g (%d runs)", monkey.Coef[2], monkey.SE[2], monkey.P[2], len(res.Sweep[condition.MTLMonkey])),
		NotReproduced, "the slope is not significantly positive", src + condition.MTLMonkey}
	if monkey.Coef[2] > 0 && monkey.P[2] < 0.05 {
		f.verdict, f.why = Reproduced, "a significantly positive slope on FEVe, clean accuracy held fixed"
	}
	out = append(out, f)
	if shuffled == nil {
		return append(out, finding{"Fig. 3C: with shuffled targets the slope is about 0", "b = 0.26, p = 0.034", "—",
			NotTestable, "no regression: " + res.RegressionNote[condition.MTLShuffled], src + condition.MTLShuffled})
	}
	g := finding{"Fig. 3C: with shuffled targets the slope is about 0 (two orders below MTL-Monkey's)", "b = 0.26, p = 0.034",
		fmt.Sprintf("b = %.2f ± %.2f, p = %.2g", shuffled.Coef[2], shuffled.SE[2], shuffled.P[2]), NotReproduced,
		"the shuffled slope is comparable to MTL-Monkey's", src + condition.MTLShuffled}
	if math.Abs(shuffled.Coef[2]) < 0.1*math.Abs(monkey.Coef[2]) || shuffled.P[2] >= 0.05 {
		g.verdict, g.why = Reproduced, "the shuffled slope is small next to MTL-Monkey's or not significant"
	}
	return append(out, g)
}

func section4Findings(a *analysis.Result) []finding {
	const src = "analysis/recon/results.json paired."
	j := 0 // the paper's norm 15 (Fig. 5 text, Fig. 7's middle panel), mapped to the input size
	if len(a.Norms) == 9 {
		j = 2
	} else if len(a.Norms) > 1 {
		j = len(a.Norms) / 2
	}
	norm := a.Norms[j]
	var out []finding
	add := func(claim, paper, key string, sign int, what string) {
		iv, ok := a.Paired[key]
		if !ok {
			out = append(out, finding{claim, paper, "—", NotTestable, "not computed: " + a.PairedNote[key], src + key})
			return
		}
		verdict, why := directional(iv, 0, sign, what, fmt.Sprintf("%d images", len(a.Photos)))
		out = append(out, finding{claim, paper, fmt.Sprintf("%.3f [%.3f, %.3f]", iv.Estimate, iv.Low, iv.High), verdict,
			why, src + key})
	}
	m := condition.MTLMonkey
	add(fmt.Sprintf("Fig. 5: at a mid-range norm (15; here %g) the Baseline reconstructs more of the noise than MTL-Monkey", norm),
		"qualitative", fmt.Sprintf("noise-diff/%s-vs-%s/%g", m, condition.Baseline, norm), -1,
		"MTL-Monkey's reconstructions keep less high-frequency power (share of power above a quarter of the sampling rate)")
	for _, other := range []string{condition.Baseline, condition.Oracle, "spectral-control"} {
		add(fmt.Sprintf("Fig. 7: MTL-Monkey emphasises salient regions more than %s (ϱ̄, norm 15; here %g)", other, norm),
			"most images above the diagonal", fmt.Sprintf("ratio-diff/%s-vs-%s/%g", m, other, norm), 1,
			"higher normalised norm ratio ϱ̄ against the stand-in saliency model")
	}
	return out
}
