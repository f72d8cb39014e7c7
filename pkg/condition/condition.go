// Package condition is the study's conditions as data: every model the paper trains (Table 1), the helpers that
// make them (the Oracle's first stage, the readouts, the resolution search of the appendix) and the models this
// reproduction adds beyond the paper, each one row of one table.
//
// A row says what the condition is trained for and on, where its neural targets come from, whether Section 3
// evaluates it and against which conditions, whether its readout gets a stage of its own, whether Section 4
// reconstructs from it, its colour in every figure and its row of Table 1. The stage graph (pkg/study), the training
// configuration, the figures, the command line and the scales all read this table: adding a condition is one row
// here and, where it trains in a new way, the trainer option it sets.
package condition

import (
	"fmt"
	"image/color"
	"slices"
	"strings"

	"github.com/robustvision/cotrain/pkg/train"
)

// The conditions' names: the folders of their stages under a scale's cache and the keys of their results.
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
	MTLNoiseFree  = "mtl-noisefree"  // MTL on the simulator's noise-free responses (beyond the paper)
	V1FrontEnd    = "v1-frontend"    // the virtual monkey's own front end, fixed, under a trained classifier (beyond the paper)
	// MTLReadout is an MTL run's readout trained on, its shared block frozen, until the validation correlation stops
	// improving (beyond the paper, whose co-trained readout stops when the classifier does).
	MTLReadout = "mtl-readout"
	// The appendix's resolution search (Fig. 12): a predictor trained on the recording shown at another resolution,
	// and a classifier trained on its frozen shared block.
	ResolutionPredictor  = "resolution-predictor"
	ResolutionClassifier = "resolution-classifier"
)

// Budget names which of a scale's epoch budgets a condition trains for.
type Budget string

// The budgets (pkg/scales resolves them to epochs).
const (
	ClassifierEpochs    Budget = "classifier"     // the classification and multi-task trainings
	PredictorEpochs     Budget = "predictor"      // single-task models of the recording
	OracleReadoutEpochs Budget = "oracle-readout" // the readout on the frozen Oracle block
	ReadoutEpochs       Budget = "readout"        // an MTL run's readout stage
)

// Rate names which of a scale's learning rates a condition trains with.
type Rate string

// The learning rates (pkg/scales resolves them).
const (
	SGDRate    Rate = "sgd"    // the classification and multi-task trainings
	OracleRate Rate = "oracle" // the Oracle's second stage (the scale's OracleLearningRate where it sets one)
	AdamRate   Rate = "adam"   // the single-task predictors and readouts
)

// Targets are where the neural targets of multi-task training come from.
type Targets struct {
	Name  string // "monkey", "oracle", "noisefree", or Recorded
	From  string // the condition whose predictions they are ("" for the simulator's noise-free responses)
	About string // what they are, wherever they appear
}

// Recorded names the targets that are the recorded trials themselves (no targets stage).
const Recorded = "recorded"

// Stage is the ID of the stage that computes the targets ("" for the recorded trials).
func (t Targets) Stage() string {
	if t.Name == Recorded {
		return ""
	}
	return "targets/" + t.Name
}

// TargetSources lists the targets of the multi-task conditions.
var TargetSources = []Targets{
	{Name: "monkey", From: Predictor, About: "responses predicted by the Monkey Predictor (trained on SIMULATED V1)"},
	{Name: "oracle", From: OracleReadout,
		About: "responses predicted by a readout on the frozen Oracle block (trained on SIMULATED V1)"},
	{Name: "noisefree", About: "noise-free responses of the SIMULATED V1 population"},
	{Name: Recorded, About: "recorded trials of the SIMULATED V1 population (noisy)"},
}

// TargetsNamed returns the targets called name.
func TargetsNamed(name string) (Targets, bool) {
	i := slices.IndexFunc(TargetSources, func(t Targets) bool { return t.Name == name })
	if i < 0 {
		return Targets{}, false
	}
	return TargetSources[i], true
}

// Table1Row is a condition's row of the paper's Table 1 (what it is trained on), with the stand-ins named.
type Table1Row struct {
	Classification, Neural, Note string
}

// Per says what a condition's stages are made for.
type Per string

// What a condition's stages are made for.
const (
	PerSeed       Per = ""           // every seed of the scale (or its first, Once)
	PerRun        Per = "run"        // every run of a condition with Readout (an MTL run's readout stage)
	PerResolution Per = "resolution" // every resolution of the appendix's search (Scale.ResolutionPPDs)
)

// Condition is one row of the table.
type Condition struct {
	Name  string // the stage folder, e.g. "mtl-monkey"
	Label string // as the paper writes it, e.g. "MTL-Monkey"
	// Paper says where the paper has the condition ("" for the helpers and for what this reproduction adds).
	Paper     string
	Objective train.Objective
	Budget    Budget
	Rate      Rate
	// Once: trained once, with the scale's first seed (the paper's single Monkey Predictor and Oracle readout).
	Once bool
	// Init is the condition whose shared block this one starts from, frozen ("" none); InitReadout starts the
	// readout from it too (a readout stage goes on training the run's own readout).
	Init        string
	InitReadout bool
	Recording   bool   // reads the recording (trains on it, or scores a readout on it)
	Targets     string // multi-task conditions: the name of their Targets
	Shuffle     bool   // the targets permuted across images (with the run's seed)
	Evaluated   bool   // Section 3 evaluates it on the clean and corrupted test sets
	Readout     bool   // its readout gets a stage of its own (scales with readout stages)
	Swept       bool   // part of the batch-ratio sweep (Fig. 3C)
	// Reconstruct is Section 4's reconstruction optimiser for it, the paper's: "sgd" for the MTL models, "adam"
	// for the Baseline and the Oracle ("" not reconstructed). Salient: its reconstructions of the undistorted images
	// are compared on saliency (Fig. 6, 7: the paper's MTL-Monkey, Oracle and Baseline).
	Reconstruct string
	Salient     bool
	// Against are the conditions Section 3 compares it with, paired by seed and test image (a difference this
	// condition minus that one).
	Against []string
	// Central: one of the paper's central models, which get the scale's full set of seeds (Scale.Seeds); the
	// others get the first Scale.SideSeeds where a scale sets it.
	Central bool
	// PaperClean and PaperRobustness are the paper's numbers (Table 2, 5 seeds; Table 3, appendix) where it gives them.
	PaperClean, PaperRobustness string
	Table1                      *Table1Row // nil: not a row of Table 1
	Colour                      color.RGBA
	// Cost is the plan's estimate of a training epoch relative to the Baseline's, per classification image (a
	// multi-task run adds its neural batches by its ratio), or, for the models of the recording, per trial
	// relative to a full step (a neural batch runs the shared block and the readout: about 60 % of a full step; a
	// frozen block needs no backward pass: a third of that).
	Cost float64
	// FrontEnd: the classifier's first stage is the virtual monkey's fixed front end (train.Config.FrontEnd).
	FrontEnd bool
	// Helper: not a model of its own (a stage of another model, or a helper of the appendix).
	Helper bool
	Per    Per
}

// All is the table, in dependency order (a condition after the ones it starts from or takes targets from) and in
// the order of the paper's tables.
var All = []Condition{
	{Name: Baseline, Label: "Baseline", Paper: "Table 1", Objective: train.Classification, Budget: ClassifierEpochs,
		Rate: SGDRate, Evaluated: true, Reconstruct: "adam", Salient: true, Central: true, PaperClean: "49.26 ± 1.63",
		Table1: &Table1Row{"images", "—", "VGG-19-BN trained for classification only"},
		Colour: color.RGBA{0x44, 0x44, 0x44, 0xff}, Cost: 1},
	{Name: Predictor, Label: "Monkey Predictor", Paper: "Table 1", Objective: train.NeuralPrediction,
		Budget: PredictorEpochs, Rate: AdamRate, Once: true, Recording: true,
		Table1: &Table1Row{"—", "recorded V1 responses (SIMULATED)", "shared block + Gaussian readout, Poisson loss, Adam"},
		Colour: color.RGBA{0x64, 0xb5, 0xcd, 0xff}, Cost: 0.6},
	{Name: OracleStage1, Label: "Oracle, stage 1", Objective: train.CorruptionConsistency, Budget: ClassifierEpochs,
		Rate: SGDRate, Central: true, Colour: color.RGBA{0x8c, 0x56, 0x4b, 0xff}, Cost: 2.5, Helper: true},
	{Name: Oracle, Label: "Oracle", Paper: "Table 1", Objective: train.Classification, Budget: ClassifierEpochs,
		Rate: OracleRate, Init: OracleStage1, Evaluated: true, Reconstruct: "adam", Salient: true, Against: []string{Baseline},
		Central: true, PaperClean: "52.25 ± 0.97",
		Table1: &Table1Row{"images, clean and corrupted 1:1", "—",
			"+ conv3_1 consistency between two views; then the block is frozen and the rest retrained on clean images"},
		Colour: color.RGBA{0xc4, 0x4e, 0x52, 0xff}, Cost: 0.7},
	{Name: OracleReadout, Label: "Oracle readout", Objective: train.NeuralPrediction, Budget: OracleReadoutEpochs,
		Rate: AdamRate, Once: true, Init: OracleStage1, Recording: true, Colour: color.RGBA{0xdd, 0x84, 0x52, 0xff},
		Cost: 0.2, Helper: true},
	{Name: MTLOracle, Label: "MTL-Oracle", Paper: "Table 1", Objective: train.MultiTask, Budget: ClassifierEpochs,
		Rate: SGDRate, Recording: true, Targets: "oracle", Evaluated: true, Readout: true, Reconstruct: "sgd",
		Against: []string{Baseline, Oracle}, Central: true, PaperClean: "49.58 ± 1.39",
		Table1: &Table1Row{"images", "Oracle-block readout's predictions",
			"the readout is trained on the recording on the frozen Oracle block"},
		Colour: color.RGBA{0xdd, 0x84, 0x52, 0xff}, Cost: 1},
	{Name: MTLMonkey, Label: "MTL-Monkey", Paper: "Table 1", Objective: train.MultiTask, Budget: ClassifierEpochs,
		Rate: SGDRate, Recording: true, Targets: "monkey", Evaluated: true, Readout: true, Swept: true,
		Reconstruct: "sgd", Salient: true, Against: []string{Baseline, MTLShuffled, Oracle}, Central: true, PaperClean: "46.28 ± 1.30",
		PaperRobustness: "118",
		Table1:          &Table1Row{"images", "Monkey Predictor's predictions", "targets for every classification training image"},
		Colour:          color.RGBA{0x4c, 0x72, 0xb0, 0xff}, Cost: 1},
	{Name: MTLShuffled, Label: "MTL-Shuffled", Paper: "Table 1", Objective: train.MultiTask, Budget: ClassifierEpochs,
		Rate: SGDRate, Recording: true, Targets: "monkey", Shuffle: true, Evaluated: true, Readout: true, Swept: true,
		Reconstruct: "sgd", Central: true, PaperClean: "44.70 ± 0.61", PaperRobustness: "98",
		Table1: &Table1Row{"images", "MTL-Monkey's targets shuffled across images",
			"same response statistics, no image information"},
		Colour: color.RGBA{0x93, 0x93, 0x93, 0xff}, Cost: 1},
	{Name: MTLRecorded, Label: "MTL-recorded", Paper: "Table 3", Objective: train.MultiTask, Budget: ClassifierEpochs,
		Rate: SGDRate, Recording: true, Targets: Recorded, Evaluated: true, Readout: true, Against: []string{MTLMonkey},
		PaperRobustness: "109",
		Table1:          &Table1Row{"images", "recorded V1 trials (SIMULATED, noisy)", "the paper's Table 3 'real responses'"},
		Colour:          color.RGBA{0x55, 0xa8, 0x68, 0xff}, Cost: 1},
	{Name: MTLNoiseFree, Label: "MTL-noise-free", Objective: train.MultiTask, Budget: ClassifierEpochs, Rate: SGDRate,
		Recording: true, Targets: "noisefree", Evaluated: true, Readout: true, Against: []string{MTLMonkey},
		Table1: &Table1Row{"images", "the simulator's noise-free responses", "beyond the paper: responses no lab can measure"},
		Colour: color.RGBA{0x81, 0x72, 0xb3, 0xff}, Cost: 1},
	{Name: V1FrontEnd, Label: "V1 front end", Objective: train.Classification, Budget: ClassifierEpochs, Rate: SGDRate,
		Evaluated: true, Against: []string{Baseline, MTLMonkey}, Central: true, FrontEnd: true,
		Table1: &Table1Row{"images", "— (the virtual monkey's receptive fields, fixed)",
			"beyond the paper: a positive control; the SIMULATED population's own front end replaces conv1_1 (VOneNet)"},
		Colour: color.RGBA{0x17, 0xbe, 0xcf, 0xff}, Cost: 1.2},
	{Name: MTLReadout, Label: "MTL readout", Objective: train.NeuralPrediction, Budget: ReadoutEpochs, Rate: AdamRate,
		InitReadout: true, Recording: true, Colour: color.RGBA{0x4c, 0x72, 0xb0, 0xff}, Cost: 0.2, Helper: true,
		Per: PerRun},
	{Name: ResolutionPredictor, Label: "predictor at another resolution", Paper: "Fig. 12",
		Objective: train.NeuralPrediction, Budget: PredictorEpochs, Rate: AdamRate, Once: true, Recording: true,
		Colour: color.RGBA{0x64, 0xb5, 0xcd, 0xff}, Cost: 0.6, Helper: true, Per: PerResolution},
	{Name: ResolutionClassifier, Label: "classifier on its block", Paper: "Fig. 12", Objective: train.Classification,
		Budget: ClassifierEpochs, Rate: SGDRate, Once: true, Init: ResolutionPredictor, Colour: color.RGBA{0x44, 0x44, 0x44, 0xff}, Cost: 0.7,
		Helper: true, Per: PerResolution},
}

// ByName returns the condition called name.
func ByName(name string) (Condition, bool) {
	i := slices.IndexFunc(All, func(c Condition) bool { return c.Name == name })
	if i < 0 {
		return Condition{}, false
	}
	return All[i], true
}

// Must returns the condition called name, and panics if there is none (for names that are constants of this package).
func Must(name string) Condition {
	c, ok := ByName(name)
	if !ok {
		panic(fmt.Sprintf("condition: no condition %q", name))
	}
	return c
}

// Models are the conditions that are models of their own (Table 1's and what this reproduction adds), in table order.
func Models() []Condition {
	var out []Condition
	for _, c := range All {
		if !c.Helper {
			out = append(out, c)
		}
	}
	return out
}

// Names are the names of cs.
func Names(cs []Condition) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.Name
	}
	return out
}

// Where returns the conditions for which keep is true, in table order.
func Where(keep func(Condition) bool) []Condition {
	var out []Condition
	for _, c := range All {
		if keep(c) {
			out = append(out, c)
		}
	}
	return out
}

// Label is the paper's name of a condition, or the name itself when it is not one.
func Label(name string) string {
	if c, ok := ByName(name); ok {
		return c.Label
	}
	return name
}

// Colour is a condition's colour in every figure; a label that starts with a condition's name ("mtl-monkey 2:1",
// "mtl-monkey/seed1") takes that condition's colour. ok is false when no condition matches.
func Colour(label string) (color.RGBA, bool) {
	best := -1
	for i, c := range All {
		if label == c.Name || strings.HasPrefix(label, c.Name+" ") || strings.HasPrefix(label, c.Name+"/") {
			if best < 0 || len(c.Name) > len(All[best].Name) {
				best = i
			}
		}
	}
	if best < 0 {
		return color.RGBA{}, false
	}
	return All[best].Colour, true
}

// TargetsOf returns the targets of a multi-task condition (ok false for the others).
func (c Condition) TargetsOf() (Targets, bool) {
	if c.Targets == "" {
		return Targets{}, false
	}
	return TargetsNamed(c.Targets)
}

// Needs are the conditions c needs trained before it: the one it starts from and the one whose predictions are
// its targets.
func (c Condition) Needs() []string {
	var out []string
	if c.Init != "" {
		out = append(out, c.Init)
	}
	if t, ok := c.TargetsOf(); ok && t.From != "" {
		out = append(out, t.From)
	}
	return out
}

// Pairs are the paired comparisons of Section 3: every evaluated condition against each of its Against.
func Pairs() [][2]string {
	var out [][2]string
	for _, c := range All {
		for _, o := range c.Against {
			out = append(out, [2]string{c.Name, o})
		}
	}
	return out
}

// Check verifies the table: unique names, conditions after what they need, targets that exist, comparisons with
// evaluated conditions.
func Check() error {
	seen := map[string]bool{}
	for _, c := range All {
		if seen[c.Name] {
			return fmt.Errorf("condition %q twice", c.Name)
		}
		for _, n := range c.Needs() {
			if !seen[n] {
				return fmt.Errorf("condition %q needs %q, which is not before it", c.Name, n)
			}
		}
		if c.Targets != "" {
			if _, ok := TargetsNamed(c.Targets); !ok {
				return fmt.Errorf("condition %q: no targets %q", c.Name, c.Targets)
			}
			if c.Objective != train.MultiTask {
				return fmt.Errorf("condition %q has targets but is not multi-task", c.Name)
			}
		}
		for _, o := range c.Against {
			if oc, ok := ByName(o); !ok || !oc.Evaluated || !c.Evaluated {
				return fmt.Errorf("condition %q is compared with %q: both must be evaluated conditions", c.Name, o)
			}
		}
		if c.Reconstruct != "" && c.Reconstruct != "sgd" && c.Reconstruct != "adam" {
			return fmt.Errorf("condition %q: reconstruction optimiser %q", c.Name, c.Reconstruct)
		}
		seen[c.Name] = true
	}
	return nil
}
