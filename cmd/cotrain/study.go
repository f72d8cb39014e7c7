package main

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"text/tabwriter"

	"github.com/robustvision/cotrain/pkg/backend"
	"github.com/robustvision/cotrain/pkg/condition"
	"github.com/robustvision/cotrain/pkg/corrupt"
	"github.com/robustvision/cotrain/pkg/models"
	"github.com/robustvision/cotrain/pkg/scales"
	"github.com/robustvision/cotrain/pkg/study"
	"github.com/robustvision/cotrain/pkg/train"
)

// stringList is a repeatable flag.
type stringList []string

func (s *stringList) String() string { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error {
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			*s = append(*s, p)
		}
	}
	return nil
}

func newRunner(scaleName, backendName string, log io.Writer) (*study.Runner, error) {
	return newRunnerJobs(scaleName, backendName, 1, log)
}

// newRunnerJobs is the study of a scale in the repository's cache (wherever cotrain runs from inside it).
func newRunnerJobs(scaleName, backendName string, jobs int, log io.Writer) (*study.Runner, error) {
	scale, err := scales.Lookup(scaleName)
	if err != nil {
		return nil, usageError{err}
	}
	root, err := scales.FindRoot("")
	if err != nil {
		return nil, err
	}
	b, err := backend.New(backendName)
	if err != nil {
		return nil, err
	}
	return &study.Runner{Root: root, Scale: scale, Backend: b, Log: log, Jobs: jobs, BackendName: backend.Resolve(backendName)}, nil
}

func runReproduce(args []string, stdout io.Writer) error {
	fs := newFlagSet("reproduce", `Run the study of a scale: train every model of Table 1 (Baseline, Monkey Predictor, Oracle in two
stages, MTL-Oracle, MTL-Monkey, MTL-Shuffled, and MTL on the recorded and on the noise-free SIMULATED responses) for
every seed, compute the MTL targets, and run the batch-ratio sweep — only the stages whose outputs under
data/cache/<scale>/ are missing, stale (made from other settings or inputs) or interrupted (they resume from their last
checkpoint). Stages run in dependency order; "cotrain status" shows where the study stands.`, stdout)
	scaleName := fs.String("scale", scales.Smoke.Name, "smoke, mini, gpu or paper")
	backendName := fs.String("backend", "", "backend (default $GOMLX_BACKEND, else cpu)")
	preset := fs.String("preset", "", "severity table of the corrupted test set: imagenet-c (the paper's, default) or tiny-imagenet-c; changing it re-runs the evaluations")
	salDir := fs.String("saliency", "", "folder of saliency maps (<photo id>.npy or .png) to use instead of the stand-in model in Section 4")
	logDensity := fs.Bool("log-density", false, "with -saliency: the .npy maps hold log-densities (as DeepGaze writes them)")
	jobs := fs.Int("jobs", 0, "independent stages run at once, each on its own backend (0: the number of cores on the CPU backend, 1 on a GPU)")
	stage := fs.String("stage", "", "run exactly this stage (its inputs must be done; a cluster job's command, see cotrain submit)")
	wait := fs.Bool("wait", false, "with -stage: wait for the inputs to be done instead of failing")
	var only stringList
	fs.Var(&only, "only", "run only stages whose IDs start with this (repeatable or comma-separated; their dependencies run too), e.g. baseline or mtl-monkey/seed1")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *jobs < 0 {
		return usageError{fmt.Errorf("-jobs %d: want a positive number of stages at once (0: the default)", *jobs)}
	}
	if *jobs == 0 {
		*jobs = defaultJobs(*backendName)
	}
	r, err := newRunnerJobs(*scaleName, *backendName, *jobs, os.Stderr)
	if err != nil {
		return err
	}
	if *preset != "" {
		p, err := corrupt.ParsePreset(*preset)
		if err != nil {
			return usageError{fmt.Errorf("-preset: %w", err)}
		}
		r.Scale.CorruptionPreset = p
	}
	if *salDir != "" {
		if st, err := os.Stat(*salDir); err != nil || !st.IsDir() {
			return usageError{fmt.Errorf("-saliency %s: want a folder of saliency maps", *salDir)}
		}
		r.Scale.SaliencyMaps, r.Scale.SaliencyLogDensity = *salDir, *logDensity
	}
	if *stage != "" {
		if len(only) > 0 {
			return usageError{fmt.Errorf("-stage and -only exclude each other")}
		}
		return r.RunStage(*stage, *wait)
	}
	if err := r.Reproduce(only); err != nil {
		return err
	}
	return printStatus(r, stdout)
}

func runStatus(args []string, stdout io.Writer) error {
	fs := newFlagSet("status", `Show every stage of a scale's study and whether its output in the cache is done, stale, partial
(an interrupted training that will resume), missing, or remade on demand (the recording and the MTL targets, which the
committed cache does not keep: a stage that needs one remakes it), with its key results (clean test accuracy, FEVe).
A stage is done only if its record, its files and their contents check out and its inputs are done and unchanged.`, stdout)
	scaleName := fs.String("scale", scales.Smoke.Name, "smoke, mini, gpu or paper")
	if err := parse(fs, args); err != nil {
		return err
	}
	r, err := newRunner(*scaleName, "cpu", nil)
	if err != nil {
		return err
	}
	return printStatus(r, stdout)
}

func printStatus(r *study.Runner, stdout io.Writer) error {
	status, err := r.Status()
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "stage\tstate\ttest acc\tFEVe (FEV>0.15)\tepochs\twall s\n")
	counts := map[study.State]int{}
	for _, s := range status {
		counts[s.State]++
		res := map[string]float64{}
		wall := ""
		if s.Record != nil {
			res = s.Record.Results
			if s.Record.Provenance != nil {
				wall = fmt.Sprintf("%.0f", s.Record.Provenance.WallTime)
			}
		}
		f := func(k string, pct bool) string {
			v, ok := res[k]
			switch {
			case !ok:
				return "-"
			case pct:
				return fmt.Sprintf("%.1f%%", 100*v)
			default:
				return fmt.Sprintf("%.3f", v)
			}
		}
		epochs := "-"
		if v, ok := res["epochs"]; ok {
			epochs = fmt.Sprint(v)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", s.ID, s.State, f("test_acc", true), f("feve_reliable", false),
			epochs, wall)
	}
	tw.Flush()
	for _, s := range status {
		if s.Problem != "" {
			fmt.Fprintf(stdout, "%s is stale: %s\n", s.ID, s.Problem)
		}
	}
	fmt.Fprintf(stdout, "%s scale (%s): %d stages: %d done, %d stale, %d partial, %d missing",
		r.Scale.Name, r.Scale.Description, len(status), counts[study.Done], counts[study.Stale], counts[study.Partial], counts[study.Missing])
	if n := counts[study.OnDemand]; n > 0 {
		fmt.Fprintf(stdout, "; %d remade on demand (the recording and the MTL targets: not kept in the cache, not missing "+
			"results; a stage that needs one remakes it)", n)
	}
	fmt.Fprintln(stdout, ". Neural data: SIMULATED V1.")
	return nil
}

func runTrain(args []string, stdout io.Writer) error {
	fs := newFlagSet("train", `Train one model of the study at a scale, into data/cache/<scale>/<model>/seed<N>/ (or
<model>/ratio<a:b>/seed<N>/ for a ratio of the sweep), resuming from its last checkpoint if interrupted; the models it
needs (the predictor for MTL-Monkey, the Oracle's first stage for the Oracle …) are trained first if missing. A progress
bar shows loss, accuracy, learning rate and ETA; metrics.csv records every epoch.`, stdout)
	model := fs.String("model", condition.Baseline, "one of: "+strings.Join(condition.Names(condition.Where(func(c condition.Condition) bool {
		return c.Per == condition.PerSeed
	})), ", "))
	scaleName := fs.String("scale", scales.Smoke.Name, "smoke, mini, gpu or paper")
	seed := fs.Uint64("seed", 0, "model seed (default: the scale's first seed)")
	ratio := fs.String("ratio", "1:1", "neural:classification batch ratio for the MTL models (1:15 … 5:1)")
	backendName := fs.String("backend", "", "backend (default $GOMLX_BACKEND, else cpu)")
	if err := parse(fs, args); err != nil {
		return err
	}
	r, err := newRunner(*scaleName, *backendName, os.Stderr)
	if err != nil {
		return err
	}
	rt, err := train.ParseRatio(*ratio)
	if err != nil {
		return usageError{fmt.Errorf("-ratio: %w", err)}
	}
	if *seed == 0 {
		*seed = r.Scale.Seeds[0]
	}
	id := fmt.Sprintf("%s/seed%d", *model, *seed)
	if rt != (train.Ratio{Neural: 1, Classification: 1}) {
		if c, ok := condition.ByName(*model); !ok || !c.Swept {
			swept := condition.Names(condition.Where(func(c condition.Condition) bool { return c.Swept }))
			return usageError{fmt.Errorf("-ratio %s: only %s are swept", rt, strings.Join(swept, " and "))}
		}
		id = fmt.Sprintf("%s/ratio%s/seed%d", *model, rt, *seed)
	}
	for _, st := range study.Stages(r.Scale) {
		if st.ID == id {
			if err := r.Reproduce([]string{id}); err != nil {
				return err
			}
			return printStatus(r, stdout)
		}
	}
	return usageError{fmt.Errorf("no stage %s at scale %s (seeds %v, sweep ratios %v, sweep seeds %v)", id,
		r.Scale.Name, r.Scale.Seeds, r.Scale.SweepRatios, r.Scale.SweepSeeds)}
}

func runSummary(args []string, stdout io.Writer) error {
	fs := newFlagSet("summary", `Print a model's layer table and parameter count at a scale (from the architecture as data, no
graph is built). At paper scale with 200 classes the classifier has 39,737,352 parameters with the authors'
3-channel first layer (a grayscale image repeated into 3 channels), which this project uses; 39,736,200 with 1 channel.`, stdout)
	model := fs.String("model", condition.MTLMonkey, "one of: "+strings.Join(study.ModelNames, ", "))
	scaleName := fs.String("scale", scales.Paper.Name, "smoke, mini, gpu or paper")
	classes := fs.Int("classes", 0, "number of classes (default: the scale's; the paper's Tiny ImageNet has 200)")
	if err := parse(fs, args); err != nil {
		return err
	}
	scale, err := scales.Lookup(*scaleName)
	if err != nil {
		return usageError{err}
	}
	cfg := scale.Model
	if *classes > 0 {
		cfg.NumClasses = *classes
	}
	if err := cfg.Validate(); err != nil {
		return usageError{err}
	}
	c, ok := condition.ByName(*model)
	if !ok || c.Helper {
		return usageError{fmt.Errorf("-model %q: want one of %s", *model, strings.Join(study.ModelNames, ", "))}
	}
	neurons := 0
	if c.Objective == train.MultiTask || c.Objective == train.NeuralPrediction {
		neurons = scale.Neurons
	}
	if c.FrontEnd {
		cfg.FrontEnd = scale.FrontEnd
	}
	layers := cfg.Layers(neurons)
	if c.Objective == train.NeuralPrediction { // the single-task model is the shared block and the readout
		var kept []models.Layer
		for _, l := range layers {
			if l.Block != models.Classification {
				kept = append(kept, l)
			}
		}
		layers = kept
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "layer\tkind\tin\tout\tsize\tparams\tblock\t\n")
	total := 0
	for _, l := range layers {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%s\t\n", l.Name, l.Kind, l.InChannels, l.OutChannels, l.Size, l.Params, l.Block)
		total += l.Params
	}
	tw.Flush()
	fmt.Fprintf(stdout, "%s at %s scale (width ÷%d, %d×%d input, %d input channels, %d classes, %d neurons): %s trainable parameters\n",
		*model, scale.Name, cfg.WidthDivisor, cfg.InputSize, cfg.InputSize, cfg.InChannels, cfg.NumClasses, neurons, commas(total))
	return nil
}

func commas(n int) string {
	s := fmt.Sprint(n)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// defaultJobs is the number of cores on the CPU backend: the pure-Go backend runs a small network's operations on
// about one core, so independent stages fill the others. On a GPU one stage at a time.
func defaultJobs(backendName string) int {
	if b := backend.Resolve(backendName); strings.HasPrefix(b, "cpu") || b == "go" {
		return runtime.NumCPU()
	}
	return 1
}
