package eval

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"gonum.org/v1/gonum/stat"

	"github.com/robustvision/cotrain/pkg/corrupt"
)

// Section 3's analysis over all evaluated runs: Table 2 (clean accuracy over seeds, with the bootstrap error bar),
// the robustness scores normalised by the Baseline per corruption, per category and in total (Fig. 2, 3A, 3B, 8,
// Table 3), and the batch-ratio sweep's regression of robustness on clean accuracy and neural predictivity (Fig. 3C).

// Evaluated is one run's evaluation as the analysis reads it.
type Evaluated struct {
	Run         Run
	Accuracies  []Accuracy
	BootstrapSD float64 // of the clean accuracy (a fraction); NaN when unknown
	FEVe        float64 // the run's readout FEVe on the reliable neurons; NaN when it has no readout
	// FEVeCoTrained is the FEVe of the readout as co-training left it, where a later stage trained the readout on
	// (FEVe is then that stage's); NaN otherwise.
	FEVeCoTrained float64
	Outcomes      *Clean // per-image outcomes (for paired comparisons); nil when unknown
}

// Robustness is robustness.json: Section 3's results at one scale.
type Robustness struct {
	Scale          string                      `json:"scale"`
	Preset         string                      `json:"preset"`
	Corruptions    []string                    `json:"corruptions"`  // the paper's 14 (the total's)
	Clean          map[string]Score            `json:"clean"`        // per model: clean test accuracy (%) over seeds
	BootstrapSD    map[string]float64          `json:"bootstrap_sd"` // per model: mean bootstrap sd of the clean accuracy (%)
	Total          map[string]Score            `json:"total"`        // per model: robustness score over the 14 (%)
	PerCategory    map[string]map[string]Score `json:"per_category"`
	PerCorruption  map[string]map[string]Score `json:"per_corruption"` // includes glass_blur, reported apart
	FEVe           map[string]float64          `json:"feve"`           // per model: readout FEVe (FEV > 0.15), mean over seeds
	Sweep          map[string][]SweepPoint     `json:"sweep"`          // per condition (mtl-monkey, mtl-shuffled)
	Regression     map[string]*Regression      `json:"regression"`     // robustness ~ clean accuracy + FEVe, per condition
	RegressionNote map[string]string           `json:"regression_note,omitempty"`
	// RegressionCoTrained is the same regression on the co-trained readouts' FEVe (the paper's), where the scale's
	// readouts were trained on in stages of their own (Regression then uses theirs).
	RegressionCoTrained map[string]*Regression `json:"regression_cotrained,omitempty"`
	// Paired comparisons with 95 % bootstrap intervals over seeds and test images (paired.go for the keys), and why
	// a comparison could not be made.
	Paired     map[string]Interval  `json:"paired"`
	PairedNote map[string]string    `json:"paired_note,omitempty"`
	FEVeSeeds  map[string][]float64 `json:"feve_seeds"` // per model: readout FEVe (FEV > 0.15) of each seed
	Chance     float64              `json:"chance"`     // chance accuracy (1 / classes)
	Accuracies []Accuracy           `json:"-"`          // every record (accuracies.csv beside this file)
}

// SweepPoint is one run of the batch-ratio sweep.
type SweepPoint struct {
	Ratio      string  `json:"ratio"`
	Seed       uint64  `json:"seed"`
	CleanAcc   float64 `json:"clean_acc"`  // %
	FEVe       float64 `json:"feve"`       // readout FEVe on the neurons with FEV > 0.15
	Robustness float64 `json:"robustness"` // total robustness score (%)
	// FEVeCoTrained is the co-trained readout's FEVe where a readout stage trained it on (0 otherwise).
	FEVeCoTrained float64 `json:"feve_cotrained,omitempty"`
}

// Analysis says what Analyze compares.
type Analysis struct {
	Scale, Preset string
	Seeds         int         // seeds per model of the main table (the bootstrap error bar is their mean)
	Baseline      string      // the model robustness is normalised by
	Sweep         []string    // the conditions of the batch-ratio sweep (MTL-Monkey, MTL-Shuffled)
	Pairs         [][2]string // models compared head to head (clean accuracy and robustness differences)
	Chance        float64     // chance accuracy, for the chance-corrected robustness score
}

// Analyze computes Section 3's results from the evaluated runs: those with a ratio are the sweep's, the others the
// main table's (their 1:1 runs are also the sweep's 1:1 points).
func (a Analysis) Analyze(runs []Evaluated) (*Robustness, error) {
	res := &Robustness{Scale: a.Scale, Preset: a.Preset, Corruptions: corrupt.PaperNames(),
		Clean: map[string]Score{}, BootstrapSD: map[string]float64{}, Total: map[string]Score{},
		PerCategory: map[string]map[string]Score{}, PerCorruption: map[string]map[string]Score{},
		FEVe: map[string]float64{}, Sweep: map[string][]SweepPoint{}, Regression: map[string]*Regression{},
		RegressionNote: map[string]string{}, FEVeSeeds: map[string][]float64{}, Chance: a.Chance,
		RegressionCoTrained: map[string]*Regression{}}
	main := map[string]map[uint64]Evaluated{}
	var sweep []Evaluated
	for _, e := range runs {
		res.Accuracies = append(res.Accuracies, e.Accuracies...)
		if e.Run.Ratio != "" {
			sweep = append(sweep, e)
			continue
		}
		if main[e.Run.Model] == nil {
			main[e.Run.Model] = map[uint64]Evaluated{}
		}
		main[e.Run.Model][e.Run.Seed] = e
		if !math.IsNaN(e.BootstrapSD) {
			res.BootstrapSD[e.Run.Model] += 100 * e.BootstrapSD / float64(a.Seeds)
		}
	}
	baseline := accuracies(main[a.Baseline])
	if len(baseline) == 0 {
		return nil, fmt.Errorf("no %s evaluation", a.Baseline)
	}
	for model, seeds := range main {
		var clean, fv []float64
		for _, seed := range sortedSeeds(seeds) {
			for _, acc := range seeds[seed].Accuracies {
				if acc.Severity == 0 {
					clean = append(clean, 100*acc.Accuracy)
				}
			}
			if v := seeds[seed].FEVe; !math.IsNaN(v) {
				fv = append(fv, v)
			}
		}
		res.Clean[model] = scoreOf(clean)
		if len(fv) > 0 {
			res.FEVe[model] = stat.Mean(fv, nil)
			res.FEVeSeeds[model] = fv
		}
		accs := accuracies(seeds)
		_, cats, total, err := Scores(accs, baseline, corrupt.PaperNames())
		if err != nil {
			return nil, fmt.Errorf("%s: %w", model, err)
		}
		per, _, _, err := Scores(accs, baseline, corrupt.Names())
		if err != nil {
			return nil, fmt.Errorf("%s: %w", model, err)
		}
		res.Total[model], res.PerCategory[model], res.PerCorruption[model] = total, cats, per
	}
	outcomes := map[string]map[uint64]*Clean{}
	var models []string
	for model, seeds := range main {
		models = append(models, model)
		outcomes[model] = map[uint64]*Clean{}
		for s, e := range seeds {
			outcomes[model][s] = e.Outcomes
		}
	}
	slices.Sort(models)
	res.Paired, res.PairedNote = pairedStatistics(outcomes, a.Baseline, models, a.Pairs, a.Chance)
	if err := a.regressSweep(res, main, sweep, baseline); err != nil {
		return nil, err
	}
	return res, nil
}

// regressSweep adds the batch-ratio sweep's points of each condition of a.Sweep (its main runs and its sweep runs)
// and Fig. 3C's regressions over them, on the readout stage's FEVe and, where every run has it, the co-trained one.
func (a Analysis) regressSweep(res *Robustness, main map[string]map[uint64]Evaluated, sweep []Evaluated,
	baseline map[uint64][]Accuracy) error {
	for _, cond := range a.Sweep {
		var runs []Evaluated
		for _, e := range main[cond] {
			runs = append(runs, e)
		}
		for _, e := range sweep {
			if e.Run.Model == cond {
				runs = append(runs, e)
			}
		}
		pts, err := sweepPoints(runs, baseline)
		if err != nil {
			return err
		}
		res.Sweep[cond] = pts
		var y, acc, fv, co []float64
		cotrained := true
		for _, p := range pts {
			y, acc, fv = append(y, p.Robustness), append(acc, p.CleanAcc), append(fv, p.FEVe)
			co = append(co, p.FEVeCoTrained)
			cotrained = cotrained && p.FEVeCoTrained != 0
		}
		reg, err := regress(y, acc, fv)
		if err != nil {
			res.RegressionNote[cond] = fmt.Sprintf("no regression over %d runs: %v", len(pts), err)
			continue
		}
		res.Regression[cond] = reg
		if cotrained {
			if reg, err := regress(y, acc, co); err == nil {
				res.RegressionCoTrained[cond] = reg
			}
		}
	}
	return nil
}

// regress is Fig. 3C's regression, robustness ~ clean accuracy + FEVe, with t-tests.
func regress(y, acc, fv []float64) (*Regression, error) {
	reg, err := OLS(y, []string{"clean accuracy", "FEVe"}, acc, fv)
	if err == nil && !allFinite(reg) {
		err = fmt.Errorf("the fit is degenerate (a perfect fit leaves no error to test against)")
	}
	if err != nil {
		return nil, err
	}
	return &reg, nil
}

// sweepPoints is each run's total robustness against the Baseline, with its clean accuracy and FEVe, ordered from
// the lowest neural:classification ratio to the highest (the 1:1 runs of the main table are the 1:1 point).
func sweepPoints(runs []Evaluated, baseline map[uint64][]Accuracy) ([]SweepPoint, error) {
	var pts []SweepPoint
	for _, e := range runs {
		ratio := e.Run.Ratio
		if ratio == "" {
			ratio = "1:1"
		}
		_, _, total, err := Scores(map[uint64][]Accuracy{e.Run.Seed: e.Accuracies}, baseline, corrupt.PaperNames())
		if err != nil {
			return nil, err
		}
		pt := SweepPoint{Ratio: ratio, Seed: e.Run.Seed, Robustness: total.Mean, FEVe: e.FEVe, FEVeCoTrained: e.FEVeCoTrained}
		if math.IsNaN(pt.FEVe) {
			pt.FEVe = 0
		}
		if math.IsNaN(pt.FEVeCoTrained) {
			pt.FEVeCoTrained = 0
		}
		for _, a := range e.Accuracies {
			if a.Severity == 0 {
				pt.CleanAcc = 100 * a.Accuracy
			}
		}
		pts = append(pts, pt)
	}
	slices.SortFunc(pts, func(a, b SweepPoint) int {
		if a.Ratio != b.Ratio {
			return compareFloats(RatioValue(a.Ratio), RatioValue(b.Ratio))
		}
		return compareFloats(float64(a.Seed), float64(b.Seed))
	})
	return pts, nil
}

func compareFloats(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func accuracies(seeds map[uint64]Evaluated) map[uint64][]Accuracy {
	out := map[uint64][]Accuracy{}
	for seed, e := range seeds {
		out[seed] = e.Accuracies
	}
	return out
}

func sortedSeeds(seeds map[uint64]Evaluated) []uint64 {
	var out []uint64
	for s := range seeds {
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}

func allFinite(r Regression) bool {
	for _, vs := range [][]float64{r.Coef, r.SE, r.T, r.P, {r.R2, r.ResidualStdDeviation}} {
		for _, v := range vs {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return false
			}
		}
	}
	return true
}

func scoreOf(v []float64) Score {
	s := Score{Mean: math.NaN(), SD: math.NaN(), Seeds: len(v)}
	if len(v) > 0 {
		s.Mean = stat.Mean(v, nil)
	}
	if len(v) > 1 {
		s.SD = stat.StdDev(v, nil)
	}
	return s
}

// RatioValue orders batch ratios from 1:15 to 5:1 (neural ÷ classification batches).
func RatioValue(r string) float64 {
	a, b, _ := strings.Cut(r, ":")
	x, _ := strconv.ParseFloat(a, 64)
	y, _ := strconv.ParseFloat(b, 64)
	if y == 0 {
		return math.Inf(1)
	}
	return x / y
}
