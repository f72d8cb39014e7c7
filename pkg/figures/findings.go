package figures

import (
	"fmt"
	"math"
	"strings"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/robustvision/cotrain/pkg/analysis"
	"github.com/robustvision/cotrain/pkg/condition"
	"github.com/robustvision/cotrain/pkg/eval"
	"github.com/robustvision/cotrain/pkg/recon"
	"github.com/robustvision/cotrain/pkg/results"
)

// Equivalence margins of the claims of no effect, stated before looking at the results: a quarter of the paper's
// central effect for a robustness score (MTL-Monkey's 118 % is 18 points above the Baseline's 100), a tenth of the
// paper's MTL-Monkey slope for Fig. 3C's slope (54.72), and 0.05 for a difference of ϱ̄ (on a scale of −1 to 1).
const (
	RobustnessMargin = 5.0
	SlopeMargin      = 5.472
	RatioMargin      = 0.05
)

// finding is one claim of the paper and what this reproduction measured for it.
type finding struct {
	claim, paper, ours, n, detectable string
	verdict                           eval.Verdict
	why, source                       string
	exactP                            float64 // the exact test over seeds, where there is one (NaN otherwise)
}

// Findings is the verdict on every claim of the paper that the study tests: the claim with its place in the paper
// and the paper's number or words, ours with its 95 % interval, n (seeds, images, runs: what the interval resamples),
// the smallest effect this scale could detect at 80 % power, the verdict (eval.Judge: reproduced, contradicted or
// inconclusive) with one sentence why, and the cache file behind it. Comparisons paired by seed add the exact
// sign-flip test over seeds and the number of distinct bootstrap resamples of the seeds. Section 4's rows need a,
// Fig. 12's the resolution search; nil leaves them out. Stand-ins are named: Fashion-MNIST for Tiny ImageNet,
// SIMULATED V1 for the monkey recordings, a classical saliency model for DeepGaze II.
func Findings(res *eval.Robustness, a *analysis.Result, resolution []results.ResolutionPoint) Table {
	rows := section3Findings(res)
	rows = append(rows, regressionFindings(res)...)
	if a != nil {
		rows = append(rows, section4Findings(a)...)
	}
	if len(resolution) > 1 {
		rows = append(rows, resolutionFinding(resolution))
	}
	t := Table{Caption: fmt.Sprintf("Findings at the %s scale: the paper's claims against this reproduction "+
		"(Fashion-MNIST for Tiny ImageNet, SIMULATED V1 for the monkey data, a classical saliency model for DeepGaze II; "+
		"95 %% intervals; verdicts as eval.Judge; detectable: the smallest effect this scale detects with 80 %% power "+
		"at α = 0.05)", res.Scale),
		Header: []string{"claim", "paper", "here", "n", "detectable", "verdict", "why", "source"}}
	var ps []float64
	for _, f := range rows {
		ps = append(ps, f.exactP)
	}
	holm := eval.Holm(ps)
	tested, significant := 0, 0
	for i, f := range rows {
		t.Rows = append(t.Rows, []string{f.claim, f.paper, f.ours, f.n, f.detectable, string(f.verdict), f.why, f.source})
		if !math.IsNaN(holm[i]) {
			tested++
			if holm[i] < 0.05 {
				significant++
			}
		}
	}
	counts := map[eval.Verdict]int{}
	for _, f := range rows {
		counts[f.verdict]++
	}
	t.Note = fmt.Sprintf("%d claims: %d reproduced, %d contradicted, %d inconclusive. Holm's correction over the %d "+
		"rows with an exact test over seeds leaves %d below 0.05 (reported, not used for the verdicts).", len(rows),
		counts[eval.Reproduced], counts[eval.Contradicted], counts[eval.Inconclusive], tested, significant)
	return t
}

// pairedClaim is a claim on one of Section 3's paired statistics.
type pairedClaim struct {
	claim, paper, key, unit string
	c                       eval.Claim
	seedKind, a, b          string // the per-seed differences for the exact test ("" for none)
}

func section3Findings(res *eval.Robustness) []finding {
	const src = "analysis/robustness/robustness.json paired."
	k := eval.PairedKey
	base, monkey, shuffled := condition.Baseline, condition.MTLMonkey, condition.MTLShuffled
	oracle, mtlOracle, recorded := condition.Oracle, condition.MTLOracle, condition.MTLRecorded
	nan := math.NaN()
	up := func(null, e float64) eval.Claim { return eval.Claim{Null: null, Sign: 1, Effect: e} }
	down := func(null, e float64) eval.Claim { return eval.Claim{Null: null, Sign: -1, Effect: e} }
	claims := []pairedClaim{
		{"the Oracle is more accurate on clean images than the Baseline", "Table 2: 52.25 vs 49.26 %",
			k("clean-diff", oracle, base), " pts", up(0, 2.99), "clean-diff", oracle, base},
		{"MTL-Monkey is less accurate on clean images than the Baseline", "Table 2: 46.28 vs 49.26 %",
			k("clean-diff", monkey, base), " pts", down(0, -2.98), "clean-diff", monkey, base},
		{"MTL-Monkey is more accurate on clean images than MTL-Shuffled", "Table 2: 46.28 vs 44.70 %",
			k("clean-diff", monkey, shuffled), " pts", up(0, 1.58), "clean-diff", monkey, shuffled},
		{"MTL-Monkey is more robust than the Baseline", "Section 3 (\"generalized better … than the Baseline\"); Table 3: 118 %",
			k("robustness", monkey), " %", up(100, 118), "robustness", monkey, ""},
		{"MTL-Monkey is more robust than MTL-Shuffled", "Section 3, Fig. 3B; Table 3: 118 vs 98 %",
			k("robustness-diff", monkey, shuffled), " pts", up(0, 20), "robustness-diff", monkey, shuffled},
		{"MTL-Shuffled is not more robust than the Baseline", "Section 3: \"The shuffled control did not provide any benefits\"; Table 3: 98 %",
			k("robustness", shuffled), " %", eval.Claim{Null: 100, AtMost: true, Margin: RobustnessMargin}, "robustness", shuffled, ""},
		{"MTL on the recorded responses is more robust than the Baseline", "Table 3: 109 %",
			k("robustness", recorded), " %", up(100, 109), "robustness", recorded, ""},
		{"MTL on predicted responses is more robust than on the recorded ones", "Table 3: 118 vs 109 %",
			k("robustness-diff", recorded, monkey), " pts", down(0, -9), "robustness-diff", recorded, monkey},
		{"MTL-Oracle is more robust than the Baseline", "Section 3: \"clear signs of successful transfer\" (Fig. 2, 3A, B)",
			k("robustness", mtlOracle), " %", up(100, nan), "robustness", mtlOracle, ""},
		{"the Oracle is more robust than the Baseline", "Fig. 3B (the Oracle is trained on corrupted images)",
			k("robustness", oracle), " %", up(100, nan), "robustness", oracle, ""},
		{"MTL-Oracle performs close to the Oracle", "Section 3: \"the MTL-Oracle performed close to the Oracle in most cases\"",
			k("robustness-diff", mtlOracle, oracle), " pts", eval.Claim{Sign: 0, Margin: RobustnessMargin},
			"robustness-diff", mtlOracle, oracle},
		{"MTL-Monkey's robustness is close to the Oracle's", "Abstract: \"our network's robustness is often very close to that of an Oracle network\"",
			k("robustness-diff", monkey, oracle), " pts", eval.Claim{Sign: 0, Margin: RobustnessMargin},
			"robustness-diff", monkey, oracle},
		{"MTL-Monkey is more robust than the Baseline on most corruptions (a count of 14; 7 is no effect)",
			"Section 3: \"increased robustness for 9/14 image corruptions\"", "improved-corruptions/" + monkey, " of 14",
			up(7, 9), "", "", ""},
	}
	for _, cat := range eval.Categories() {
		pc := pairedClaim{claim: "MTL-Monkey is more robust than the Baseline on " + cat + " corruptions",
			paper: "Section 3: \"mainly observed across 3 groups of distortions: Noise, Blur and Digital\" (Fig. 3A)",
			key:   "robustness-category/" + monkey + "/" + cat, unit: " %", c: up(100, nan),
			seedKind: "robustness-category/" + cat, a: monkey}
		if cat == "weather" {
			pc.claim = "MTL-Monkey is not more robust than the Baseline on weather corruptions"
			pc.paper = "Section 3: \"MTL-Monkey did not exceed the Baseline performance for the Weather group\""
			pc.c = eval.Claim{Null: 100, AtMost: true, Margin: RobustnessMargin}
		}
		claims = append(claims, pc)
	}
	// Beyond the paper: does the virtual monkey carry robustness at all? Its own front end, fixed, under a classifier
	// trained like the Baseline (condition.V1FrontEnd). Robust while MTL-Monkey is not: co-training fails to transfer
	// what the data hold; not robust: the simulation lacks it.
	fe := condition.V1FrontEnd
	beyond := "beyond the paper: a positive control (a fixed V1 front end, the VOneNet idea of Dapello et al., the paper's [33])"
	claims = append(claims,
		pairedClaim{"the virtual monkey's own front end makes a classifier more robust than the Baseline", beyond,
			k("robustness", fe), " %", up(100, nan), "robustness", fe, ""},
		pairedClaim{"the front-end control is more robust than MTL-Monkey", beyond,
			k("robustness-diff", fe, monkey), " pts", up(0, nan), "robustness-diff", fe, monkey},
		pairedClaim{"the front-end control is as accurate on clean images as the Baseline (within 1 point)", beyond,
			k("clean-diff", fe, base), " pts", eval.Claim{Sign: 0, Margin: 1}, "clean-diff", fe, base})
	var out []finding
	for _, pc := range claims {
		if _, ok := res.Total[pc.a]; pc.a != "" && !ok && pc.a != monkey {
			continue // a condition the scale does not train
		}
		out = append(out, pairedFinding(res, pc, src))
	}
	return out
}

// pairedFinding judges one claim on a paired statistic of Section 3.
func pairedFinding(res *eval.Robustness, pc pairedClaim, src string) finding {
	f := finding{claim: pc.claim, paper: pc.paper, source: src + pc.key, exactP: math.NaN(), ours: "—", n: "—",
		detectable: "—"}
	iv, ok := res.Paired[pc.key]
	if !ok {
		note := res.PairedNote[pc.key]
		if note == "" {
			note = "the analysis in the cache predates this statistic (cotrain reproduce remakes it)"
		}
		f.verdict, f.why = eval.Inconclusive, "not computed: "+note
		return f
	}
	f.ours = fmt.Sprintf("%.1f%s [%.1f, %.1f]", iv.Estimate, pc.unit, iv.Low, iv.High)
	f.verdict, f.why = eval.Judge(pc.c, iv)
	f.detectable = detectable(eval.MinimumDetectable(eval.IntervalSE(iv), iv.Seeds-1), "%.1f"+strings.ReplaceAll(strings.TrimPrefix(pc.unit, " of 14"), "%", "%%"))
	f.n = fmt.Sprintf("%s (%s) × the test images", plural(iv.Seeds, "seed"), plural(eval.DistinctResamples(iv.Seeds), "distinct resample"))
	if pc.seedKind != "" && iv.Seeds >= 2 && iv.Seeds < 8 {
		if d, err := res.SeedDifferences(pc.seedKind, condition.Baseline, pc.a, pc.b); err == nil {
			f.exactP = eval.SignFlip(d)
			f.n += fmt.Sprintf("; per seed %s, sign-flip p = %.2g", formatList(d), f.exactP)
		}
	}
	return f
}

// detectable formats a minimum detectable effect, or says that the scale has too few units to estimate one.
func detectable(v float64, format string) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "— (too few seeds)"
	}
	return fmt.Sprintf(format, v)
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}

func formatList(v []float64) string {
	var parts []string
	for _, x := range v {
		parts = append(parts, fmt.Sprintf("%+.1f", x))
	}
	return strings.Join(parts, "/")
}

// regressionFindings judge Fig. 3C's regression of robustness on clean accuracy and FEVe over the batch-ratio sweep:
// on the FEVe of the readouts trained to convergence (where the scale has readout stages) and on the co-trained
// readouts' FEVe (the paper's).
func regressionFindings(res *eval.Robustness) []finding {
	const src = "analysis/robustness/robustness.json "
	monkey, shuffled := condition.MTLMonkey, condition.MTLShuffled
	var out []finding
	type which struct {
		name string
		regs map[string]*eval.Regression
		json string
	}
	sets := []which{{"the readouts trained to convergence", res.Regression, "regression."}}
	if len(res.RegressionCoTrained) > 0 {
		sets = append(sets, which{"the co-trained readouts (the paper's)", res.RegressionCoTrained, "regression_cotrained."})
	}
	for _, w := range sets {
		m, s := w.regs[monkey], w.regs[shuffled]
		out = append(out,
			coefFinding("robustness rises with neural predictivity, clean accuracy held fixed (FEVe of "+w.name+")",
				"Fig. 3C, Section 3: b = 54.72, p < 1e-4", m, 2, eval.Claim{Sign: 1, Effect: 54.72}, src+w.json+monkey, res, monkey),
			coefFinding("robustness rises with clean accuracy, FEVe held fixed (MTL-Monkey; FEVe of "+w.name+")",
				"Section 3: p < 1e-4 for clean accuracy", m, 1, eval.Claim{Sign: 1, Effect: math.NaN()}, src+w.json+monkey, res, monkey),
			coefFinding("with shuffled targets the FEVe slope is small: within a tenth of the paper's MTL-Monkey slope (FEVe of "+w.name+")",
				"Section 3: b = 0.26 (p = 0.034), \"two orders of magnitude\" below 54.72", s, 2,
				eval.Claim{Sign: 0, Margin: SlopeMargin}, src+w.json+shuffled, res, shuffled),
			coefFinding("with shuffled targets robustness rises with clean accuracy (FEVe of "+w.name+")",
				"Section 3: p < 1e-13 for clean accuracy", s, 1, eval.Claim{Sign: 1, Effect: math.NaN()}, src+w.json+shuffled, res, shuffled))
		out = append(out, slopeDifference(m, s, w.name, src+w.json))
	}
	return out
}

// coefFinding judges one coefficient of a regression from its t-interval.
func coefFinding(claim, paper string, reg *eval.Regression, i int, c eval.Claim, source string, res *eval.Robustness,
	cond string) finding {
	f := finding{claim: claim, paper: paper, source: source, exactP: math.NaN(), ours: "—", n: "—", detectable: "—"}
	if reg == nil {
		f.verdict, f.why = eval.Inconclusive, "no regression: "+res.RegressionNote[cond]
		return f
	}
	runs := len(res.Sweep[cond])
	df := runs - 3
	t := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: float64(max(df, 1))}.Quantile(0.975)
	iv := eval.Interval{Estimate: reg.Coef[i], Low: reg.Coef[i] - t*reg.SE[i], High: reg.Coef[i] + t*reg.SE[i]}
	f.ours = fmt.Sprintf("b = %.2f [%.2f, %.2f], p = %.2g", iv.Estimate, iv.Low, iv.High, reg.P[i])
	f.verdict, f.why = eval.Judge(c, iv)
	f.n = fmt.Sprintf("%d runs of the sweep (%d residual degrees of freedom)", runs, df)
	f.detectable = detectable(eval.MinimumDetectable(reg.SE[i], df), "b = %.1f")
	return f
}

// slopeDifference judges MTL-Monkey's FEVe slope against MTL-Shuffled's (two independent regressions).
func slopeDifference(m, s *eval.Regression, which, source string) finding {
	f := finding{claim: "the FEVe slope is larger with real targets than with shuffled ones (FEVe of " + which + ")",
		paper: "Section 3: 54.72 against 0.26", source: source + "{mtl-monkey,mtl-shuffled}", exactP: math.NaN(),
		ours: "—", n: "—", detectable: "—"}
	if m == nil || s == nil {
		f.verdict, f.why = eval.Inconclusive, "a regression is missing"
		return f
	}
	d, se := m.Coef[2]-s.Coef[2], math.Hypot(m.SE[2], s.SE[2])
	iv := eval.Interval{Estimate: d, Low: d - 1.96*se, High: d + 1.96*se}
	f.ours = fmt.Sprintf("%.2f [%.2f, %.2f]", d, iv.Low, iv.High)
	f.verdict, f.why = eval.Judge(eval.Claim{Sign: 1, Effect: 54.46}, iv)
	f.n = "both sweeps"
	f.detectable = fmt.Sprintf("%.1f", eval.MinimumDetectable(se, 1000))
	return f
}

// section4Findings judge Section 4's claims on the analysis's images (paired over images), at the sizes' norms that
// correspond to the paper's 5, 15 and 60 (recon.NormFor; found by value).
func section4Findings(a *analysis.Result) []finding {
	norm := func(paper float64) (float64, bool) {
		want := recon.NormFor(paper, a.Size)
		for _, n := range a.Norms {
			if math.Abs(n-want) < 1e-9 {
				return n, true
			}
		}
		return 0, false
	}
	m := condition.MTLMonkey
	type claim struct {
		claim, paper, stat string
		paperNorm          float64
		other              string
		c                  eval.Claim
		// blind, if set, says why the statistic cannot decide the claim: the row shows the estimate and is
		// inconclusive whatever the interval.
		blind string
	}
	down, up := eval.Claim{Sign: -1, Effect: math.NaN()}, eval.Claim{Sign: 1, Effect: math.NaN()}
	claims := []claim{
		{"the Baseline's reconstructions keep more of the noise than MTL-Monkey's (high-frequency share)",
			"Section 4 (Fig. 5): \"a stronger noise component in the background … from the Baseline model\"", "noise-diff", 15,
			m + "-vs-" + condition.Baseline, down, ""},
		{"the Oracle's reconstructions keep less of the noise than the Baseline's", "Section 4 (Fig. 5): \"The robust networks (MTL-Monkey, Oracle and MTL-Oracle) … were less sensitive to these perturbations\"",
			"noise-diff", 15, condition.Oracle + "-vs-" + condition.Baseline, down, ""},
		{"MTL-Oracle's reconstructions keep less of the noise than the Baseline's", "Section 4 (Fig. 5), as above",
			"noise-diff", 15, condition.MTLOracle + "-vs-" + condition.Baseline, down, ""},
		{"MTL-Monkey's reconstructions stress edges more than the Oracle's (edge ratio)", "Section 4: \"MTL-Monkey … more emphasis on edges and object boundaries\"",
			"edge-diff", 15, m + "-vs-" + condition.Oracle, up, ""},
		{"MTL-Monkey's reconstructions stress edges more than MTL-Oracle's (edge ratio)", "Section 4, as above",
			"edge-diff", 15, m + "-vs-" + condition.MTLOracle, up, ""},
		{"the spectral control keeps more background noise than MTL-Monkey's reconstruction", "Section 4: \"The spectral control exhibited more noise in the background\"",
			"noise-diff", 15, m + "-vs-spectral-control", down,
			"not tested: the high-frequency share cannot tell them apart, since the spectral control keeps the amplitude " +
				"spectrum of MTL-Monkey's reconstruction (their shares are equal by construction); the paper's claim is " +
				"about noise in the image's background, a spatial measure this analysis does not compute"},
		{"the spectral control stresses edges less than MTL-Monkey's reconstruction", "Section 4: \"… and showed less edge enhancing\"",
			"edge-diff", 15, m + "-vs-spectral-control", up, ""},
	}
	for _, pn := range []float64{5, 15} {
		for _, o := range []string{condition.Baseline, condition.Oracle} {
			claims = append(claims, claim{fmt.Sprintf("MTL-Monkey emphasises salient regions more than %s (ϱ̄, the paper's norm %g)", condition.Label(o), pn),
				"Section 4, Fig. 7: \"more sensitive to salient regions than the Oracle and Baseline models … under low to mid-range norm constraints\"",
				"ratio-diff", pn, m + "-vs-" + o, up, ""})
		}
	}
	claims = append(claims,
		claim{"MTL-Monkey emphasises salient regions more than the spectral control (ϱ̄, the paper's norm 15)",
			"Section 4, Fig. 7: \"in most cases the MTL-Monkey model emphasized the salient regions more strongly\"",
			"ratio-diff", 15, m + "-vs-spectral-control", up, ""},
		claim{"near the image's own norm the models' ϱ̄ become equal (MTL-Monkey against the Baseline, the paper's norm 60)",
			"Section 4, Fig. 7: \"as the norm approaches the norm of the full image, the ratios … become more equal\"",
			"ratio-diff", 60, m + "-vs-" + condition.Baseline, eval.Claim{Sign: 0, Margin: RatioMargin}, ""})
	var out []finding
	for _, c := range claims {
		f := finding{claim: c.claim, paper: c.paper, exactP: math.NaN(), ours: "—", n: "—", detectable: "—"}
		n, ok := norm(c.paperNorm)
		if !ok {
			f.verdict, f.why = eval.Inconclusive, fmt.Sprintf("the analysis has no norm equivalent to the paper's %g", c.paperNorm)
			f.source = "analysis/recon/results.json"
			out = append(out, f)
			continue
		}
		key := fmt.Sprintf("%s/%s/%g", c.stat, c.other, n)
		f.source = "analysis/recon/results.json paired." + key
		iv, ok := a.Paired[key]
		if !ok {
			note := a.PairedNote[key]
			if note == "" {
				note = "the analysis in the cache predates this statistic (cotrain reproduce remakes it)"
			}
			f.verdict, f.why = eval.Inconclusive, "not computed: "+note
			out = append(out, f)
			continue
		}
		f.ours = fmt.Sprintf("%.3f [%.3f, %.3f] at norm %g", iv.Estimate, iv.Low, iv.High, n)
		f.verdict, f.why = eval.Judge(c.c, iv)
		if c.blind != "" {
			f.verdict, f.why = eval.Inconclusive, c.blind
		}
		images := len(a.Photos)
		f.n = fmt.Sprintf("%d images", images)
		f.detectable = detectable(eval.MinimumDetectable(eval.IntervalSE(iv), images-1), "%.3f")
		out = append(out, f)
	}
	return out
}

// resolutionFinding judges the appendix's claim on the resolution search: the lowest resolution gives the best
// classification accuracy (the difference to the best of the others, with a normal interval over the test images).
func resolutionFinding(points []results.ResolutionPoint) finding {
	f := finding{claim: "the lowest resolution of the search gives the best classification accuracy",
		paper:  "Appendix, Fig. 12: \"the lowest resolution values are associated with the highest classification accuracies\"",
		source: "resolution/ppd*/classifier/stage.json", exactP: math.NaN()}
	low := points[0]
	best := points[1]
	for _, p := range points[2:] {
		if p.Accuracy > best.Accuracy {
			best = p
		}
	}
	n := float64(max(low.TestImages, 1))
	d := 100 * (low.Accuracy - best.Accuracy)
	se := 100 * math.Sqrt((low.Accuracy*(1-low.Accuracy)+best.Accuracy*(1-best.Accuracy))/n)
	iv := eval.Interval{Estimate: d, Low: d - 1.96*se, High: d + 1.96*se}
	f.ours = fmt.Sprintf("%.1f pts [%.1f, %.1f] (%g ppd against %g ppd)", d, iv.Low, iv.High, low.PPD, best.PPD)
	f.verdict, f.why = eval.Judge(eval.Claim{Sign: 1, Effect: math.NaN()}, iv)
	f.n = fmt.Sprintf("one run per resolution × %d test images", low.TestImages)
	f.detectable = fmt.Sprintf("%.1f pts", eval.MinimumDetectable(se, int(n)-1))
	return f
}

// AddScaleColumn adds to a Findings table a column with another scale's estimate and verdict for each claim (its
// Section 3 rows), or "not run" where that scale has no results (nil), so that a reader sees whether a verdict changes
// with scale.
func AddScaleColumn(t *Table, scale string, res *eval.Robustness) {
	other := map[string][]string{}
	if res != nil {
		o := Findings(res, nil, nil)
		for _, r := range o.Rows {
			other[r[0]] = r
		}
	}
	t.Header = append(t.Header, "at the "+scale+" scale")
	for i, r := range t.Rows {
		cell := "not run"
		switch o, ok := other[r[0]]; {
		case res == nil:
		case ok:
			cell = fmt.Sprintf("%s: %s", o[2], o[5])
		default:
			cell = "not in its study"
		}
		t.Rows[i] = append(r, cell)
	}
	if res == nil {
		t.Note += fmt.Sprintf(" The %s scale's study has not run (it needs a GPU; docs/gpu.md).", scale)
	}
}
