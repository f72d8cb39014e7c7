package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/robustvision/cotrain/pkg/backend"
	"github.com/robustvision/cotrain/pkg/calibrate"
	"github.com/robustvision/cotrain/pkg/condition"
	"github.com/robustvision/cotrain/pkg/figures"
	"github.com/robustvision/cotrain/pkg/models"
	"github.com/robustvision/cotrain/pkg/provenance"
	"github.com/robustvision/cotrain/pkg/results"
	"github.com/robustvision/cotrain/pkg/scales"
	"github.com/robustvision/cotrain/pkg/study"
)

func runCalibrate(args []string, stdout io.Writer) error {
	fs := newFlagSet("calibrate", `Calibrate a scale's recipe by measurement: train one model of the study (the Baseline, the Oracle's
first stage or the Monkey Predictor) under variants of the scale — learning rates × seeds, and optionally another width, number of images,
epochs or batch size — in a scratch cache, and print each run's validation curve and its held-out result (test
accuracy; FEVe on the neurons with FEV > 0.15). Nothing in the scale's cache is touched.

With -same-step it trains the scale's Baseline and the Oracle's first stage again, exactly as their stages do, and
after every epoch measures both on the same held-out images (the clean test images, the same images half corrupted
— the Oracle's in-domain test — and all corrupted); it writes seed<N>.csv and seed<N>.json to -out, says whether the
retrained models are bit-identical to the cache's, and prints the comparison. -consistency trains the Oracle's first
stage with another form of its consistency loss than the scale's (euclidean: the paper's words; cosine or mse: the
authors' code's options), into seed<N>-<form>.csv and .json, beside the scale's own.

Examples:
  cotrain calibrate -scale mini -model baseline -lr 0.01,0.025 -seeds 1,2,3 -per-class 1000 -epochs 15
  cotrain calibrate -scale mini -same-step -seeds 1,2,3
  cotrain calibrate -scale mini -same-step -consistency euclidean -seeds 1,2`, stdout)
	scaleName := fs.String("scale", scales.Mini.Name, "the scale whose recipe is varied")
	model := fs.String("model", condition.Baseline, "the model: "+condition.Baseline+", "+condition.OracleStage1+" (the Oracle's corruption training) or "+condition.Predictor)
	lrs := fs.String("lr", "", "comma-separated learning rates (SGD for the Baseline, Adam for the predictor; default: the scale's)")
	seeds := fs.String("seeds", "1", "comma-separated seeds")
	perClass := fs.Int("per-class", 0, "training images per class (0: the scale's)")
	testPerClass := fs.Int("test-per-class", 0, "test images per class (0: the scale's)")
	epochs := fs.Int("epochs", 0, "at most this many epochs (0: the scale's)")
	batch := fs.Int("batch", 0, "batch size (0: the scale's)")
	width := fs.Int("width", 0, "width divisor (0: the scale's)")
	backendFlag := fs.String("backend", "", "backend (default $GOMLX_BACKEND, else cpu)")
	jsonOut := fs.String("json", "", "also write the results (with every epoch's metrics) to this JSON file")
	sameStep := fs.Bool("same-step", false, "compare the Oracle's first stage with the Baseline at the same steps on the same held-out images (the other recipe flags do not apply)")
	out := fs.String("out", "", "with -same-step: the folder for seed<N>.csv and seed<N>.json (default: data/cache/<scale>/"+calibrate.SameStepDir+")")
	consistency := fs.String("consistency", "", "with -same-step: the Oracle's form of the consistency loss, if not the scale's: "+
		strings.Join(models.ConsistencyCriteria, ", "))
	if err := parse(fs, args); err != nil {
		return err
	}
	base, err := scales.Lookup(*scaleName)
	if err != nil {
		return usageError{err}
	}
	seedList, err := parseUints(*seeds)
	if err != nil || len(seedList) == 0 {
		return usageError{fmt.Errorf("-seeds %q: want comma-separated positive integers", *seeds)}
	}
	if *sameStep {
		if *lrs != "" || *perClass != 0 || *testPerClass != 0 || *epochs != 0 || *batch != 0 || *width != 0 ||
			*jsonOut != "" || *model != condition.Baseline {
			return usageError{fmt.Errorf("-same-step retrains the scale's own recipe: -model, -lr, -per-class, " +
				"-test-per-class, -epochs, -batch, -width and -json do not apply")}
		}
		if *consistency != "" && !slices.Contains(models.ConsistencyCriteria, *consistency) {
			return usageError{fmt.Errorf("-consistency %q: want one of %s", *consistency,
				strings.Join(models.ConsistencyCriteria, ", "))}
		}
		return runSameStep(base, seedList, *backendFlag, *out, *consistency, stdout)
	}
	var lrList []float64
	if *lrs != "" {
		for _, f := range strings.Split(*lrs, ",") {
			v, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
			if err != nil || v <= 0 {
				return usageError{fmt.Errorf("-lr %q: want comma-separated positive numbers", *lrs)}
			}
			lrList = append(lrList, v)
		}
	}
	for name, v := range map[string]int{"-per-class": *perClass, "-test-per-class": *testPerClass, "-epochs": *epochs,
		"-batch": *batch, "-width": *width} {
		if v < 0 {
			return usageError{fmt.Errorf("%s %d: want a positive number (or 0 for the scale's)", name, v)}
		}
	}
	probes, err := calibrate.Grid{Base: base, Model: *model, LearningRates: lrList, Seeds: seedList,
		TrainPerClass: *perClass, TestPerClass: *testPerClass, Epochs: *epochs, Batch: *batch, WidthDivisor: *width}.Probes()
	if err != nil {
		return usageError{err}
	}
	b, err := backend.New(*backendFlag)
	if err != nil {
		return err
	}
	root, err := scales.FindRoot("")
	if err != nil {
		return err
	}
	results, err := calibrate.Run(b, root, probes, stdout)
	if err != nil {
		return err
	}
	return reportProbes(results, *jsonOut, stdout)
}

// reportProbes prints a table of the calibration runs and, with jsonOut, writes them (every epoch's metrics
// included) to that file.
func reportProbes(results []calibrate.Result, jsonOut string, stdout io.Writer) error {
	fmt.Fprintf(stdout, "\n%-22s %10s %8s %10s %8s %7s %8s\n", "probe", "lr", "epochs", "test acc", "FEVe", "steps", "seconds")
	for _, r := range results {
		lr := r.LearningRate()
		note := ""
		if r.Collapse {
			note = "  (at chance: collapsed)"
		}
		fmt.Fprintf(stdout, "%-22s %10g %8d %10.4f %8.4f %7d %8.0f%s\n", r.Stage, lr, len(r.Metrics), r.TestAcc, r.FEVe,
			r.Steps, r.Seconds, note)
	}
	if jsonOut != "" {
		data, err := json.MarshalIndent(results, "", "  ")
		if err != nil {
			return err
		}
		return provenance.WriteFileAtomic(jsonOut, append(data, '\n'))
	}
	return nil
}

func parseUints(s string) ([]uint64, error) {
	var out []uint64
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.ParseUint(strings.TrimSpace(f), 10, 64)
		if err != nil || v == 0 {
			return nil, fmt.Errorf("%q", f)
		}
		out = append(out, v)
	}
	return out, nil
}

// runSameStep is `cotrain calibrate -same-step`.
func runSameStep(s scales.Scale, seeds []uint64, backendName, out, criterion string, stdout io.Writer) error {
	b, err := backend.New(backendName)
	if err != nil {
		return err
	}
	root, err := scales.FindRoot("")
	if err != nil {
		return err
	}
	if out == "" {
		out = filepath.Join(root, scales.CacheDir(s), calibrate.SameStepDir)
	}
	scratch, err := os.MkdirTemp(root, "calibrate-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(scratch)
	r := &study.Runner{Root: root, Scale: s, Backend: b, Log: stdout}
	var runs []*results.SameStepRun
	for _, seed := range seeds {
		run, err := calibrate.SameStep(r, seed, scratch, criterion)
		if err != nil {
			return err
		}
		if err := calibrate.WriteSameStep(run, out); err != nil {
			return err
		}
		runs = append(runs, run)
		fmt.Fprintf(stdout, "seed %d: %s (bit-identical to the cache's models: %v)\n", seed,
			filepath.Join(out, calibrate.SameStepName(run)+".csv"), run.Reproduces)
	}
	t, err := figures.OracleSameStepTable(s.Name, runs)
	if err != nil {
		return err
	}
	fmt.Fprint(stdout, "\n"+t.Markdown())
	return nil
}
