package study

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/robustvision/cotrain/pkg/data"
	"github.com/robustvision/cotrain/pkg/jobs"
	"github.com/robustvision/cotrain/pkg/scales"
	"github.com/robustvision/cotrain/pkg/train"
	"github.com/robustvision/cotrain/pkg/v1sim"
)

// The models of Table 1, and the two that the simulator adds.
const (
	Baseline      = "baseline"       // classification only
	Predictor     = "predictor"      // the Monkey Predictor: single-task V1 model on the (virtual) recording
	OracleStage1  = "oracle-stage1"  // the Oracle's first stage: 1:1 clean/corrupted training + conv3_1 consistency
	Oracle        = "oracle"         // the Oracle: stage 1's shared block frozen, the rest retrained on clean images
	OracleReadout = "oracle-readout" // a readout on the frozen Oracle block, trained on the recording (MTL-Oracle's targets)
	MTLMonkey     = "mtl-monkey"     // MTL with the Monkey Predictor's predictions as targets
	MTLOracle     = "mtl-oracle"     // MTL with the Oracle readout's predictions as targets
	MTLShuffled   = "mtl-shuffled"   // MTL with MTL-Monkey's targets permuted across images
	MTLRecorded   = "mtl-recorded"   // MTL on the recorded (noisy) trials, as the paper's Table 3
	MTLNoiseFree  = "mtl-noisefree"  // MTL on the simulator's noise-free responses (beyond the paper: no lab has them)
	// MTLReadout is an MTL run's readout trained on, its shared block frozen, until the validation correlation stops
	// improving (beyond the paper, whose co-trained readout stops when the classifier does; Scale.ReadoutEpochs).
	MTLReadout = "mtl-readout"
	// The appendix's resolution search (Fig. 12): a predictor trained on the recording shown at another resolution,
	// and a classifier trained on its frozen shared block.
	ResolutionPredictor  = "resolution-predictor"
	ResolutionClassifier = "resolution-classifier"
)

// ModelNames lists the eight models of the study (Table 1 and the simulator's two) in the order of the paper's tables.
var ModelNames = []string{Baseline, Predictor, Oracle, MTLOracle, MTLMonkey, MTLShuffled, MTLRecorded, MTLNoiseFree}

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

// stageVersion changes when the code that produces a stage's outputs changes their meaning, so that cached outputs
// of older code count as stale.
const stageVersion = "2"

// Stages returns the scale's study in dependency order: every stage after the stages it needs.
func Stages(s scales.Scale) []Stage {
	var out []Stage
	add := func(st Stage) { out = append(out, st) }
	first := s.Seeds[0]
	seedDir := func(model string, seed uint64) string { return fmt.Sprintf("%s/seed%d", model, seed) }
	// One predictor and one Oracle readout make the targets of every MTL seed, as the paper's single monkey model.
	training := func(model string, seed uint64, ratio train.Ratio, deps ...string) Stage {
		return Stage{ID: seedDir(model, seed), Kind: Training, Model: model, Seed: seed, Ratio: ratio, Deps: deps}
	}
	none := train.Ratio{}
	// The virtual monkey: every stage that reads the recording (to train on it, or to score a readout on it) needs it.
	add(Stage{ID: V1Stage, Kind: Recording, Seed: V1Seed})
	add(training(Predictor, first, none, V1Stage))
	trains := func(model string) bool { return len(s.Models) == 0 || slices.Contains(s.Models, model) }
	for _, seed := range s.Seeds {
		add(training(Baseline, seed, none))
		if trains(Oracle) || trains(MTLOracle) {
			add(training(OracleStage1, seed, none))
		}
		if trains(Oracle) {
			add(training(Oracle, seed, none, seedDir(OracleStage1, seed)))
		}
	}
	if trains(MTLOracle) {
		add(training(OracleReadout, first, none, seedDir(OracleStage1, first), V1Stage))
	}
	add(Stage{ID: "targets/monkey", Kind: Targets, Deps: []string{seedDir(Predictor, first)}})
	if trains(MTLOracle) {
		add(Stage{ID: "targets/oracle", Kind: Targets, Deps: []string{seedDir(OracleReadout, first)}})
	}
	if trains(MTLNoiseFree) {
		add(Stage{ID: "targets/noisefree", Kind: Targets, Deps: []string{V1Stage}})
	}
	one := train.Ratio{Neural: 1, Classification: 1}
	mtl := []struct {
		model string
		deps  []string
	}{{MTLMonkey, []string{"targets/monkey", V1Stage}}, {MTLOracle, []string{"targets/oracle", V1Stage}},
		{MTLShuffled, []string{"targets/monkey", V1Stage}}, {MTLRecorded, []string{V1Stage}},
		{MTLNoiseFree, []string{"targets/noisefree", V1Stage}}}
	for _, seed := range s.Seeds {
		for _, m := range mtl {
			if trains(m.model) {
				add(training(m.model, seed, one, m.deps...))
			}
		}
	}
	for _, model := range []string{MTLMonkey, MTLShuffled} {
		for _, r := range s.SweepRatios {
			if r == one || !trains(model) {
				continue // the 1:1 runs above are the sweep's 1:1 point
			}
			for _, seed := range s.SweepSeeds {
				add(Stage{ID: fmt.Sprintf("%s/ratio%s/seed%d", model, r, seed), Kind: Training, Model: model, Seed: seed,
					Ratio: r, Deps: []string{"targets/monkey", V1Stage}, Sweep: true})
			}
		}
	}
	// Every MTL run's readout trained to convergence on the run's own neural data, its shared block frozen: the FEVe
	// that Table 1 and Fig. 3C report where the scale has these stages (README "The mini study").
	var readouts []string
	if s.ReadoutEpochs > 0 {
		for _, st := range append([]Stage(nil), out...) {
			switch st.Model {
			case MTLMonkey, MTLOracle, MTLShuffled, MTLRecorded, MTLNoiseFree:
				id := ReadoutStage(st.ID)
				add(Stage{ID: id, Kind: Training, Model: MTLReadout, Of: st.Model, Seed: st.Seed,
					Deps: append([]string{st.ID}, st.Deps...), Sweep: st.Sweep})
				readouts = append(readouts, id)
			}
		}
	}
	for _, ppd := range s.ResolutionPPDs {
		predictor := seedDir(Predictor, first) // the Monkey Predictor is the search's point at the recording's resolution
		if ppd != s.V1.PPD {
			predictor = ResolutionStage(ppd, ResolutionPredictor)
			add(Stage{ID: predictor, Kind: Training, Model: ResolutionPredictor, Seed: first, PPD: ppd, Deps: []string{V1Stage}})
		}
		add(Stage{ID: ResolutionStage(ppd, ResolutionClassifier), Kind: Training, Model: ResolutionClassifier, Seed: first,
			PPD: ppd, Deps: []string{predictor}})
	}
	if s.ReconSteps > 0 {
		var reconDeps []string
		for _, m := range ReconModels {
			reconDeps = append(reconDeps, seedDir(m, first))
		}
		add(Stage{ID: "analysis/recon", Kind: Analysis, Deps: reconDeps})
	}
	// Section 3: every classifier evaluated on the clean and the corrupted test set, then the robustness analysis.
	var evals []string
	for _, st := range append([]Stage(nil), out...) {
		switch st.Model {
		case Baseline, Oracle, MTLMonkey, MTLOracle, MTLShuffled, MTLRecorded, MTLNoiseFree:
			id := "eval/" + st.ID
			add(Stage{ID: id, Kind: Evaluation, Model: st.Model, Seed: st.Seed, Ratio: st.Ratio, Deps: []string{st.ID},
				Sweep: st.Sweep})
			evals = append(evals, id)
		}
	}
	add(Stage{ID: "analysis/robustness", Kind: Robustness, Deps: append(evals, readouts...)})
	return out
}

// ReadoutStage is the ID of the readout stage of an MTL run, e.g. "readout/mtl-monkey/seed1".
func ReadoutStage(run string) string { return "readout/" + run }

// ResolutionStage is the ID of a stage of the resolution search, e.g. "resolution/ppd7/classifier" for the
// ResolutionClassifier at 7 pixels per degree.
func ResolutionStage(ppd float64, model string) string {
	return fmt.Sprintf("resolution/ppd%s/%s", strconv.FormatFloat(ppd, 'f', -1, 64), strings.TrimPrefix(model, "resolution-"))
}

// Key identifies what a stage's outputs depend on: the scale's settings for it, its own definition and the keys of
// the stages it reads. A cached output whose recorded key differs is stale.
func (st Stage) Key(s scales.Scale, deps map[string]string) string {
	h := sha256.New()
	// The settings this stage's outputs depend on, and no others: adding seeds or changing the analysis does not
	// make the trainings stale. The stage's own text keeps the layout it has always had (legacyStage), so that
	// caches stay valid when the Go type changes.
	type legacyStage struct {
		ID    string
		Model string
		Seed  uint64
		Ratio train.Ratio
		Deps  []string
		Sweep bool
	}
	ratio := st.Ratio
	if st.Kind != Training && st.Kind != Evaluation {
		ratio = train.Ratio{}
	}
	text := legacyStage{ID: st.ID, Model: st.label(), Seed: st.Seed, Ratio: ratio, Deps: st.Deps, Sweep: st.Sweep}
	fmt.Fprintf(h, "v%s|%s|%+v|%+v|%+v|%+v|%d|%v|%v\n", stageVersion, st.ID, text, s.Model, legacyData(s.Data), s.V1,
		s.Batch, s.LearningRate, s.PredictorLearningRate)
	if s.Data.FirstTrain != 0 {
		fmt.Fprintf(h, "first training images %d\n", s.Data.FirstTrain)
	}
	switch {
	case st.Kind == Training && (st.Model == Predictor || st.Model == ResolutionPredictor):
		fmt.Fprintf(h, "epochs %d\n", s.PredictorEpochs)
		if st.Model == ResolutionPredictor {
			fmt.Fprintf(h, "ppd %v\n", st.PPD)
		}
	case st.Kind == Training && st.Model == OracleReadout:
		fmt.Fprintf(h, "epochs %d\n", s.OracleReadoutEpochs)
	case st.Kind == Training && st.Model == MTLReadout:
		fmt.Fprintf(h, "readout of %s: epochs %d, trials %d\n", st.Of, s.ReadoutEpochs, s.ReadoutTrials)
	case st.Kind == Training:
		fmt.Fprintf(h, "epochs %d\n", s.Epochs)
		if st.Model == Oracle && s.OracleLearningRate > 0 {
			fmt.Fprintf(h, "learning rate %v\n", s.OracleLearningRate)
		}
	case st.Kind == Analysis:
		fmt.Fprintf(h, "recon v3 %d %d %v %q\n", s.ReconSteps, s.ReconImages, s.ReconNorms, s.SaliencyMaps+fmt.Sprint(s.SaliencyLogDensity))
	case st.Kind == Evaluation || st.Kind == Robustness:
		fmt.Fprintf(h, "eval v2 %d %s\n", s.EvalPerClass, s.CorruptionPreset) // v2: per-image outcomes, paired statistics
	case st.Kind == Recording:
		fmt.Fprintf(h, "population %+v\n", v1sim.DefaultPopulation)
	}
	keys := append([]string(nil), st.Deps...)
	sort.Strings(keys)
	for _, d := range keys {
		fmt.Fprintf(h, "%s=%s\n", d, deps[d])
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// legacyData prints as data.Classification did before it had FirstTrain (keys of existing caches stay valid).
func legacyData(c data.Classification) any {
	type Classification struct {
		Dataset, Dir                                   string
		Size, TrainPerClass, ValPerClass, TestPerClass int
		Seed                                           uint64
		HoldoutPerClass                                int
	}
	return Classification{Dataset: c.Dataset, Dir: c.Dir, Size: c.Size, TrainPerClass: c.TrainPerClass,
		ValPerClass: c.ValPerClass, TestPerClass: c.TestPerClass, Seed: c.Seed, HoldoutPerClass: c.HoldoutPerClass}
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
