package study

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"gonum.org/v1/gonum/stat"

	"github.com/robustvision/cotrain/pkg/corrupt"
	"github.com/robustvision/cotrain/pkg/data"
	"github.com/robustvision/cotrain/pkg/eval"
	"github.com/robustvision/cotrain/pkg/provenance"
)

// Section 3's evaluation. Each classifier's stage "eval/<run>" measures clean test accuracy (every test image, with
// bootstrap error bars) and accuracy on the corrupted test set — the 15 corruptions × 5 severities of a subset of
// the test images, corrupted on the fly with a seed per (image, corruption, severity) so that every model sees the
// same images — and writes accuracies.csv (one row per corruption and severity) and clean.json. The stage
// "analysis/robustness" gathers them into robustness scores, Table 2, Table 3 and the sweep's regressions
// (robustness.json). The prepared test images are grey, so they are corrupted as grey images (exact for
// Fashion-MNIST; the paper corrupts Tiny ImageNet's RGB images before the grey conversion).

// EvalSeed seeds the corrupted test set of every scale.
const EvalSeed = 2021

// BootstrapResamples is the paper's number of bootstrap repetitions.
const BootstrapResamples = 250

// evalSet is the scale's corrupted-test subset.
func (r *Runner) evalSet() (*data.Set, error) {
	p, err := r.Images()
	if err != nil {
		return nil, err
	}
	if r.Scale.EvalPerClass <= 0 {
		return p.Test, nil
	}
	return data.Stratified(p.Test, r.Scale.EvalPerClass, EvalSeed), nil
}

// CleanResult is clean.json of an evaluation stage.
type CleanResult struct {
	Accuracy    float64 `json:"accuracy"`
	BootstrapSD float64 `json:"bootstrap_sd"`
	Resamples   int     `json:"resamples"`
	Images      int     `json:"images"`
	Correct     []bool  `json:"correct"` // per test image, in the test set's order
}

// evaluateStage runs an evaluation stage: st.Deps[0] is the trained run.
func (r *Runner) evaluateStage(st Stage, rec *StageRecord) error {
	clean, accs, err := r.EvaluateRun(st.Deps[0])
	if err != nil {
		return err
	}
	dir := r.Dir(st.ID)
	if err := provenance.WriteJSON(filepath.Join(dir, "clean.json"), clean); err != nil {
		return err
	}
	var paperSum float64
	var n int
	for _, a := range accs {
		if a.Severity > 0 && a.Corruption != "glass_blur" {
			paperSum += a.Accuracy
			n++
		}
	}
	rec.Results["test_acc"] = clean.Accuracy
	rec.Results["test_acc_bootstrap_sd"] = clean.BootstrapSD
	rec.Results["corrupted_acc"] = paperSum / float64(max(n, 1))
	return WriteAccuracies(filepath.Join(dir, "accuracies.csv"), accs)
}

// EvaluateRun evaluates a trained run from its checkpoint: clean accuracy on every test image with its bootstrap
// error bar, and accuracy on each corruption and severity of the scale's corrupted test set. The evaluation stage
// writes the result to the cache; a reviewer can call it to re-check one model without touching the cache.
func (r *Runner) EvaluateRun(run string) (*CleanResult, []eval.Accuracy, error) {
	m, err := r.LoadModel(run)
	if err != nil {
		return nil, nil, err
	}
	p, err := r.Images()
	if err != nil {
		return nil, nil, err
	}
	pred, err := m.Predictions(p.Test, nil)
	if err != nil {
		return nil, nil, err
	}
	clean := &CleanResult{Resamples: BootstrapResamples, Images: p.Test.N}
	for i, c := range pred {
		clean.Correct = append(clean.Correct, c == p.Test.Labels[i])
	}
	clean.Accuracy, clean.BootstrapSD = eval.Bootstrap(clean.Correct, BootstrapResamples, EvalSeed)
	set, err := r.evalSet()
	if err != nil {
		return nil, nil, err
	}
	// All corrupted versions in one batch of inference.
	type version struct {
		name     string
		category string
		severity int
	}
	var versions []version
	var pix []uint8
	for _, c := range corrupt.All() {
		for sev := 1; sev <= 5; sev++ {
			versions = append(versions, version{c.Name, string(c.Category), sev})
			for i := range set.N {
				out, err := eval.CorruptImage(set.Image(i), set.H, set.W, i, c.Name, sev, EvalSeed, r.Scale.CorruptionPreset)
				if err != nil {
					return nil, nil, err
				}
				pix = append(pix, out...)
			}
		}
	}
	big := &data.Set{Name: set.Name + " corrupted", N: len(versions) * set.N, H: set.H, W: set.W, C: 1, Pix: pix}
	labels := make([]int, 0, big.N)
	for range versions {
		labels = append(labels, set.Labels...)
	}
	big.Labels = labels
	r.logf("    %d clean test images, %d corrupted (%d corruptions × 5 severities × %d images, %s)\n", p.Test.N, big.N,
		len(corrupt.All()), set.N, r.Scale.CorruptionPreset)
	cpred, err := m.Predictions(big, nil)
	if err != nil {
		return nil, nil, err
	}
	model, seed, ratio := describeRun(run)
	accs := []eval.Accuracy{{Model: model, Seed: seed, Ratio: ratio, Corruption: "clean", Category: "clean", Images: p.Test.N, Accuracy: clean.Accuracy}}
	for v, ver := range versions {
		right := 0
		for i := range set.N {
			if cpred[v*set.N+i] == set.Labels[i] {
				right++
			}
		}
		a := float64(right) / float64(set.N)
		accs = append(accs, eval.Accuracy{Model: model, Seed: seed, Ratio: ratio, Corruption: ver.name, Category: ver.category,
			Severity: ver.severity, Images: set.N, Accuracy: a})
	}
	return clean, accs, nil
}

// describeRun splits a run's ID ("mtl-monkey/ratio1:4/seed1") into model, seed and ratio.
func describeRun(id string) (model string, seed uint64, ratio string) {
	parts := strings.Split(id, "/")
	model = parts[0]
	for _, p := range parts[1:] {
		switch {
		case strings.HasPrefix(p, "seed"):
			seed, _ = strconv.ParseUint(strings.TrimPrefix(p, "seed"), 10, 64)
		case strings.HasPrefix(p, "ratio"):
			ratio = strings.TrimPrefix(p, "ratio")
		}
	}
	return model, seed, ratio
}

// AccuracyHeader is the header of accuracies.csv: one row per model, seed, (ratio,) corruption and severity;
// severity 0 is the clean test set.
var AccuracyHeader = []string{"model", "seed", "ratio", "corruption", "category", "severity", "images", "accuracy"}

// WriteAccuracies writes accuracy records as CSV, atomically.
func WriteAccuracies(file string, accs []eval.Accuracy) error {
	var b strings.Builder
	w := csv.NewWriter(&b)
	_ = w.Write(AccuracyHeader)
	for _, a := range accs {
		_ = w.Write([]string{a.Model, strconv.FormatUint(a.Seed, 10), a.Ratio, a.Corruption, a.Category,
			strconv.Itoa(a.Severity), strconv.Itoa(a.Images), strconv.FormatFloat(a.Accuracy, 'g', 8, 64)})
	}
	w.Flush()
	return provenance.WriteFileAtomic(file, []byte(b.String()))
}

// ReadAccuracies reads a file written by WriteAccuracies.
func ReadAccuracies(file string) ([]eval.Accuracy, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if len(rows) == 0 || strings.Join(rows[0], ",") != strings.Join(AccuracyHeader, ",") {
		return nil, fmt.Errorf("%s: want the header %s", file, strings.Join(AccuracyHeader, ","))
	}
	var out []eval.Accuracy
	for i, r := range rows[1:] {
		seed, err1 := strconv.ParseUint(r[1], 10, 64)
		sev, err2 := strconv.Atoi(r[5])
		n, err3 := strconv.Atoi(r[6])
		acc, err4 := strconv.ParseFloat(r[7], 64)
		if err1 != nil || err2 != nil || err3 != nil || err4 != nil {
			return nil, fmt.Errorf("%s, row %d: malformed", file, i+2)
		}
		out = append(out, eval.Accuracy{Model: r[0], Seed: seed, Ratio: r[2], Corruption: r[3], Category: r[4], Severity: sev, Images: n, Accuracy: acc})
	}
	return out, nil
}

// Robustness is robustness.json: Section 3's results at one scale.
type Robustness struct {
	Scale          string                           `json:"scale"`
	Preset         string                           `json:"preset"`
	Corruptions    []string                         `json:"corruptions"`  // the paper's 14 (the total's)
	Clean          map[string]eval.Score            `json:"clean"`        // per model: clean test accuracy (%) over seeds
	BootstrapSD    map[string]float64               `json:"bootstrap_sd"` // per model: mean bootstrap sd of the clean accuracy (%)
	Total          map[string]eval.Score            `json:"total"`        // per model: robustness score over the 14 (%)
	PerCategory    map[string]map[string]eval.Score `json:"per_category"`
	PerCorruption  map[string]map[string]eval.Score `json:"per_corruption"` // includes glass_blur, reported apart
	FEVe           map[string]float64               `json:"feve"`           // per model: readout FEVe (FEV > 0.15), mean over seeds
	Sweep          map[string][]SweepPoint          `json:"sweep"`          // per condition (mtl-monkey, mtl-shuffled)
	Regression     map[string]*eval.Regression      `json:"regression"`     // robustness ~ clean accuracy + FEVe, per condition
	RegressionNote map[string]string                `json:"regression_note,omitempty"`
	Accuracies     []eval.Accuracy                  `json:"-"` // every record (accuracies.csv beside this file)
}

// SweepPoint is one run of the batch-ratio sweep.
type SweepPoint struct {
	Ratio      string  `json:"ratio"`
	Seed       uint64  `json:"seed"`
	CleanAcc   float64 `json:"clean_acc"`  // %
	FEVe       float64 `json:"feve"`       // readout FEVe on the neurons with FEV > 0.15
	Robustness float64 `json:"robustness"` // total robustness score (%)
}

// robustnessStage gathers every evaluation into robustness.json and accuracies.csv.
func (r *Runner) robustnessStage(st Stage, rec *StageRecord) error {
	status, err := r.Status()
	if err != nil {
		return err
	}
	byID := map[string]StageStatus{}
	for _, s := range status {
		byID[s.ID] = s
	}
	res := &Robustness{Scale: r.Scale.Name, Preset: string(r.Scale.CorruptionPreset), Corruptions: corrupt.PaperNames(),
		Clean: map[string]eval.Score{}, BootstrapSD: map[string]float64{}, Total: map[string]eval.Score{},
		PerCategory: map[string]map[string]eval.Score{}, PerCorruption: map[string]map[string]eval.Score{},
		FEVe: map[string]float64{}, Sweep: map[string][]SweepPoint{}, Regression: map[string]*eval.Regression{},
		RegressionNote: map[string]string{}}
	// Per model and seed (main runs), and per sweep run.
	main := map[string]map[uint64][]eval.Accuracy{}
	sweep := map[string][]eval.Accuracy{} // by run ID
	feve := map[string]float64{}
	for _, dep := range st.Deps {
		accs, err := ReadAccuracies(filepath.Join(r.Dir(dep), "accuracies.csv"))
		if err != nil {
			return err
		}
		res.Accuracies = append(res.Accuracies, accs...)
		run := strings.TrimPrefix(dep, "eval/")
		model, seed, ratio := describeRun(run)
		if trained, ok := byID[run]; ok && trained.Record != nil {
			if v, ok := trained.Record.Results["feve_reliable"]; ok {
				feve[run] = v
			}
		}
		if ratio != "" {
			sweep[run] = accs
			continue
		}
		if main[model] == nil {
			main[model] = map[uint64][]eval.Accuracy{}
		}
		main[model][seed] = accs
		var c CleanResult
		if b, err := os.ReadFile(filepath.Join(r.Dir(dep), "clean.json")); err == nil && json.Unmarshal(b, &c) == nil {
			res.BootstrapSD[model] += 100 * c.BootstrapSD / float64(len(r.Scale.Seeds))
		}
	}
	baseline := main[Baseline]
	if len(baseline) == 0 {
		return fmt.Errorf("no Baseline evaluation")
	}
	all := corrupt.Names()
	for model, seeds := range main {
		var clean, fv []float64
		for seed, accs := range seeds {
			for _, a := range accs {
				if a.Severity == 0 {
					clean = append(clean, 100*a.Accuracy)
				}
			}
			if v, ok := feve[fmt.Sprintf("%s/seed%d", model, seed)]; ok {
				fv = append(fv, v)
			}
		}
		res.Clean[model] = scoreOf(clean)
		if len(fv) > 0 {
			res.FEVe[model] = stat.Mean(fv, nil)
		}
		_, cats, total, err := eval.Robustness(seeds, baseline, corrupt.PaperNames())
		if err != nil {
			return fmt.Errorf("%s: %w", model, err)
		}
		per, _, _, err := eval.Robustness(seeds, baseline, all)
		if err != nil {
			return fmt.Errorf("%s: %w", model, err)
		}
		res.Total[model], res.PerCategory[model], res.PerCorruption[model] = total, cats, per
		rec.Results["robustness_"+model] = total.Mean
	}
	// The sweep: each run's total robustness against the Baseline, with its clean accuracy and FEVe; the 1:1 runs
	// of the main table are the sweep's 1:1 point.
	for _, cond := range []string{MTLMonkey, MTLShuffled} {
		var pts []SweepPoint
		add := func(run string, accs []eval.Accuracy) error {
			_, seed, ratio := describeRun(run)
			if ratio == "" {
				ratio = "1:1"
			}
			_, _, total, err := eval.Robustness(map[uint64][]eval.Accuracy{seed: accs}, baseline, corrupt.PaperNames())
			if err != nil {
				return err
			}
			pt := SweepPoint{Ratio: ratio, Seed: seed, Robustness: total.Mean, FEVe: feve[run]}
			for _, a := range accs {
				if a.Severity == 0 {
					pt.CleanAcc = 100 * a.Accuracy
				}
			}
			pts = append(pts, pt)
			return nil
		}
		for seed, accs := range main[cond] {
			if err := add(fmt.Sprintf("%s/seed%d", cond, seed), accs); err != nil {
				return err
			}
		}
		for run, accs := range sweep {
			if strings.HasPrefix(run, cond+"/") {
				if err := add(run, accs); err != nil {
					return err
				}
			}
		}
		sort.Slice(pts, func(a, b int) bool {
			if pts[a].Ratio != pts[b].Ratio {
				return ratioValue(pts[a].Ratio) < ratioValue(pts[b].Ratio)
			}
			return pts[a].Seed < pts[b].Seed
		})
		res.Sweep[cond] = pts
		var y, acc, fv []float64
		for _, p := range pts {
			y, acc, fv = append(y, p.Robustness), append(acc, p.CleanAcc), append(fv, p.FEVe)
		}
		reg, err := eval.OLS(y, []string{"clean accuracy", "FEVe"}, acc, fv)
		if err == nil && !allFinite(reg) {
			err = fmt.Errorf("the fit is degenerate (a perfect fit leaves no error to test against)")
		}
		if err != nil {
			res.RegressionNote[cond] = fmt.Sprintf("no regression over %d runs: %v", len(pts), err)
			continue
		}
		res.Regression[cond] = &reg
		rec.Results["b_feve_"+cond] = reg.Coef[2]
		rec.Results["p_feve_"+cond] = reg.P[2]
	}
	dir := r.Dir(st.ID)
	if err := WriteAccuracies(filepath.Join(dir, "accuracies.csv"), res.Accuracies); err != nil {
		return err
	}
	return provenance.WriteJSON(filepath.Join(dir, "robustness.json"), res)
}

func allFinite(r eval.Regression) bool {
	for _, vs := range [][]float64{r.Coef, r.SE, r.T, r.P, {r.R2, r.ResidualStdDeviation}} {
		for _, v := range vs {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return false
			}
		}
	}
	return true
}

func scoreOf(v []float64) eval.Score {
	s := eval.Score{Mean: math.NaN(), SD: math.NaN(), Seeds: len(v)}
	if len(v) > 0 {
		s.Mean = stat.Mean(v, nil)
	}
	if len(v) > 1 {
		s.SD = stat.StdDev(v, nil)
	}
	return s
}

// ratioValue orders ratios from 1:15 to 5:1.
func ratioValue(r string) float64 {
	a, b, _ := strings.Cut(r, ":")
	x, _ := strconv.ParseFloat(a, 64)
	y, _ := strconv.ParseFloat(b, 64)
	if y == 0 {
		return math.Inf(1)
	}
	return x / y
}

// LoadRobustness reads Section 3's results from the cache.
func (r *Runner) LoadRobustness() (*Robustness, error) {
	dir := r.Dir("analysis/robustness")
	b, err := os.ReadFile(filepath.Join(dir, "robustness.json"))
	if err != nil {
		return nil, fmt.Errorf("section 3 results not in the cache (run cotrain reproduce -scale %s): %w", r.Scale.Name, err)
	}
	var res Robustness
	if err := json.Unmarshal(b, &res); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, "robustness.json"), err)
	}
	if res.Accuracies, err = ReadAccuracies(filepath.Join(dir, "accuracies.csv")); err != nil {
		return nil, err
	}
	return &res, nil
}
