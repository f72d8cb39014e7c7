package study

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/robustvision/cotrain/pkg/condition"
	"github.com/robustvision/cotrain/pkg/jobs"
	"github.com/robustvision/cotrain/pkg/scales"
	"github.com/robustvision/cotrain/pkg/train"
)

// ModelNames lists the models of the study (Table 1's and those this reproduction adds) in the order of the
// paper's tables (Models).
var ModelNames = condition.Names(condition.Models())

// Kind is what a stage does.
type Kind int

// The kinds of stages.
const (
	Training   Kind = iota // a model of Table 1 (Section 2)
	Targets                // MTL targets: a model's predictions for the classification images (Section 2)
	Evaluation             // a classifier on the clean and corrupted test sets (Section 3)
	Robustness             // Section 3's analysis of every evaluation
	Analysis               // Section 4's reconstructions, spectral controls and saliency ratios
	Recording              // the virtual monkey's V1 recording (Section 2's neural data, SIMULATED)
)

// kindNames name the kinds in stage.json (and in the keys, which must not change).
var kindNames = [...]string{Training: "training", Targets: "targets", Evaluation: "eval", Robustness: "robustness",
	Analysis: "analysis", Recording: "v1sim"}

func (k Kind) String() string { return kindNames[k] }

// Stage is one step of the study, with the stages it needs.
type Stage struct {
	ID    string      // its folder under the scale's cache, e.g. "baseline/seed1" or "mtl-monkey/ratio2:1/seed1"
	Kind  Kind        //
	Model string      // Training: the model (one of the constants above); Evaluation: the evaluated run's model
	Seed  uint64      // model seed
	Ratio train.Ratio // multi-task batch ratio
	Deps  []string    // IDs of the stages whose outputs it reads
	Sweep bool        // part of the batch-ratio sweep
	PPD   float64     // the resolution search: the stimuli's pixels per degree as the model sees them
	Of    string      // a readout stage (MTLReadout): the MTL model whose readout it trains (the run is Deps[0])
}

// label is what stage.json records as the stage's model: the model for a training, the kind otherwise.
func (st Stage) label() string {
	if st.Kind == Training {
		return st.Model
	}
	return st.Kind.String()
}

// Stages returns the scale's study in dependency order: every stage after the stages it needs. The conditions and
// what they need come from the condition table (pkg/condition); the scale says which it trains, with which seeds.
func Stages(s scales.Scale) []Stage {
	var out []Stage
	add := func(st Stage) { out = append(out, st) }
	first := s.Seeds[0]
	none, one := train.Ratio{}, train.Ratio{Neural: 1, Classification: 1}
	// The virtual monkey: every stage that reads the recording (to train on it, or to score a readout on it) needs it.
	add(Stage{ID: V1Stage, Kind: Recording, Seed: V1Seed})
	targets := map[string]bool{}
	var runs []Stage // the runs of every model and of the sweep, for their readouts and evaluations
	for _, c := range condition.All {
		if c.Per != condition.PerSeed || !s.Trains(c.Name) {
			continue
		}
		if t, ok := c.TargetsOf(); ok && t.Stage() != "" && !targets[t.Name] {
			add(targetsStage(s, t))
			targets[t.Name] = true
		}
		ratio := none
		if c.Objective == train.MultiTask {
			ratio = one
		}
		for _, seed := range s.SeedsOf(c) {
			st := Stage{ID: seedDir(c.Name, seed), Kind: Training, Model: c.Name, Seed: seed, Ratio: ratio,
				Deps: inputs(s, c, seed)}
			add(st)
			runs = append(runs, st)
		}
		if !c.Swept {
			continue
		}
		for _, r := range s.SweepRatios {
			if r == one {
				continue // the 1:1 runs above are the sweep's 1:1 point
			}
			for _, seed := range s.SweepSeeds {
				st := Stage{ID: fmt.Sprintf("%s/ratio%s/seed%d", c.Name, r, seed), Kind: Training, Model: c.Name,
					Seed: seed, Ratio: r, Deps: inputs(s, c, seed), Sweep: true}
				add(st)
				runs = append(runs, st)
			}
		}
	}
	// Every MTL run's readout trained to convergence on the run's own neural data, its shared block frozen: the FEVe
	// that Table 1 and Fig. 3C report where the scale has these stages (Scale.ReadoutEpochs).
	var readouts []string
	for _, ro := range condition.Where(func(c condition.Condition) bool { return c.Per == condition.PerRun }) {
		for _, run := range runs {
			if s.ReadoutEpochs > 0 && condition.Must(run.Model).Readout {
				id := ReadoutStage(run.ID)
				add(Stage{ID: id, Kind: Training, Model: ro.Name, Of: run.Model, Seed: run.Seed,
					Deps: append([]string{run.ID}, run.Deps...), Sweep: run.Sweep})
				readouts = append(readouts, id)
			}
		}
	}
	out = append(out, resolutionSearch(s)...)
	if s.ReconSteps > 0 {
		var reconDeps []string
		for _, name := range ReconModels(s) {
			reconDeps = append(reconDeps, seedDir(name, first))
		}
		add(Stage{ID: ReconStage, Kind: Analysis, Deps: reconDeps})
	}
	// Section 3: every classifier evaluated on the clean and the corrupted test set, then the robustness analysis.
	var evals []string
	for _, run := range runs {
		if condition.Must(run.Model).Evaluated {
			id := "eval/" + run.ID
			add(Stage{ID: id, Kind: Evaluation, Model: run.Model, Seed: run.Seed, Ratio: run.Ratio, Deps: []string{run.ID},
				Sweep: run.Sweep})
			evals = append(evals, id)
		}
	}
	add(Stage{ID: RobustnessStage, Kind: Robustness, Deps: append(evals, readouts...)})
	return out
}

// The stages of the analyses.
const (
	ReconStage      = "analysis/recon"      // Section 4
	RobustnessStage = "analysis/robustness" // Section 3
)

// seedDir is the stage of a condition's run with one seed, e.g. "baseline/seed2".
func seedDir(model string, seed uint64) string { return fmt.Sprintf("%s/seed%d", model, seed) }

// inputs are the stages a run of condition c with seed reads: the run it starts from, its targets, the recording.
func inputs(s scales.Scale, c condition.Condition, seed uint64) []string {
	var deps []string
	if c.Init != "" {
		from := seed
		if condition.Must(c.Init).Once {
			from = s.Seeds[0]
		}
		deps = append(deps, seedDir(c.Init, from))
	}
	if t, ok := c.TargetsOf(); ok && t.Stage() != "" {
		deps = append(deps, t.Stage())
	}
	if c.Recording {
		deps = append(deps, V1Stage)
	}
	return deps
}

// targetsStage computes a set of MTL targets: the first seed's predictions of the condition they come from, or the
// simulator's noise-free responses.
func targetsStage(s scales.Scale, t condition.Targets) Stage {
	from := V1Stage
	if t.From != "" {
		from = seedDir(t.From, s.Seeds[0])
	}
	return Stage{ID: t.Stage(), Kind: Targets, Deps: []string{from}}
}

// resolutionSearch is the appendix's search (Fig. 12): at each resolution a predictor on the recording shown at
// it (the Monkey Predictor itself at the recording's own) and a classifier on the predictor's frozen block.
func resolutionSearch(s scales.Scale) []Stage {
	var out []Stage
	first := s.Seeds[0]
	for _, ppd := range s.ResolutionPPDs {
		predictor := seedDir(condition.Predictor, first)
		if ppd != s.V1.PPD {
			predictor = ResolutionStage(ppd, condition.ResolutionPredictor)
			out = append(out, Stage{ID: predictor, Kind: Training, Model: condition.ResolutionPredictor, Seed: first,
				PPD: ppd, Deps: []string{V1Stage}})
		}
		out = append(out, Stage{ID: ResolutionStage(ppd, condition.ResolutionClassifier), Kind: Training,
			Model: condition.ResolutionClassifier, Seed: first, PPD: ppd, Deps: []string{predictor}})
	}
	return out
}

// ReconModels are the conditions whose reconstructions Section 4 compares (the first seed of each), those the scale
// trains of the conditions with a reconstruction setting.
func ReconModels(s scales.Scale) []string {
	var out []string
	for _, c := range condition.All {
		if c.Reconstruct != "" && s.Trains(c.Name) {
			out = append(out, c.Name)
		}
	}
	return out
}

// ReadoutStage is the ID of the readout stage of an MTL run, e.g. "readout/mtl-monkey/seed1".
func ReadoutStage(run string) string { return "readout/" + run }

// ResolutionStage is the ID of a stage of the resolution search, e.g. "resolution/ppd7/classifier" for the
// ResolutionClassifier at 7 pixels per degree.
func ResolutionStage(ppd float64, model string) string {
	return fmt.Sprintf("resolution/ppd%s/%s", strconv.FormatFloat(ppd, 'f', -1, 64), strings.TrimPrefix(model, "resolution-"))
}

// Select returns the stages whose IDs start with one of the prefixes (all if none), together with every stage they
// depend on, in dependency order; an unknown prefix is an error listing what exists.
func Select(stages []Stage, prefixes []string) ([]Stage, error) {
	graph := make([]jobs.Job, len(stages))
	for i, st := range stages {
		graph[i] = jobs.Job{ID: st.ID, Deps: st.Deps}
	}
	picked, err := jobs.Select(graph, prefixes)
	if err != nil {
		return nil, fmt.Errorf("stage selection: %w (a prefix such as mtl-monkey/seed1 selects one run)", err)
	}
	out := make([]Stage, len(picked))
	for i, k := range picked {
		out[i] = stages[k]
	}
	return out, nil
}
