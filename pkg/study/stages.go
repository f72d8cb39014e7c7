package study

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"

	"github.com/robustvision/cotrain/pkg/train"
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
)

// ModelNames lists the eight models of the study (Table 1 and the simulator's two) in the order of the paper's tables.
var ModelNames = []string{Baseline, Predictor, Oracle, MTLOracle, MTLMonkey, MTLShuffled, MTLRecorded, MTLNoiseFree}

// Stage is one step of the study: a training run or the computation of targets, with the stages it needs.
type Stage struct {
	ID    string      // its folder under the scale's cache, e.g. "baseline/seed1" or "mtl-monkey/ratio2:1/seed1"
	Model string      // one of the constants above, or "targets"
	Seed  uint64      // model seed
	Ratio train.Ratio // multi-task batch ratio
	Deps  []string    // IDs of the stages whose outputs it reads
	Sweep bool        // part of the batch-ratio sweep
}

// stageVersion changes when the code that produces a stage's outputs changes their meaning, so that cached outputs
// of older code count as stale.
const stageVersion = "1"

// Stages returns the scale's study in dependency order: every stage after the stages it needs.
func Stages(s Scale) []Stage {
	var out []Stage
	add := func(st Stage) { out = append(out, st) }
	first := s.Seeds[0]
	seedDir := func(model string, seed uint64) string { return fmt.Sprintf("%s/seed%d", model, seed) }
	// One predictor and one Oracle readout make the targets of every MTL seed, as the paper's single monkey model.
	add(Stage{ID: seedDir(Predictor, first), Model: Predictor, Seed: first})
	for _, seed := range s.Seeds {
		add(Stage{ID: seedDir(Baseline, seed), Model: Baseline, Seed: seed})
		add(Stage{ID: seedDir(OracleStage1, seed), Model: OracleStage1, Seed: seed})
		add(Stage{ID: seedDir(Oracle, seed), Model: Oracle, Seed: seed, Deps: []string{seedDir(OracleStage1, seed)}})
	}
	add(Stage{ID: seedDir(OracleReadout, first), Model: OracleReadout, Seed: first, Deps: []string{seedDir(OracleStage1, first)}})
	add(Stage{ID: "targets/monkey", Model: "targets", Deps: []string{seedDir(Predictor, first)}})
	add(Stage{ID: "targets/oracle", Model: "targets", Deps: []string{seedDir(OracleReadout, first)}})
	add(Stage{ID: "targets/noisefree", Model: "targets"})
	one := train.Ratio{Neural: 1, Classification: 1}
	for _, seed := range s.Seeds {
		add(Stage{ID: seedDir(MTLMonkey, seed), Model: MTLMonkey, Seed: seed, Ratio: one, Deps: []string{"targets/monkey"}})
		add(Stage{ID: seedDir(MTLOracle, seed), Model: MTLOracle, Seed: seed, Ratio: one, Deps: []string{"targets/oracle"}})
		add(Stage{ID: seedDir(MTLShuffled, seed), Model: MTLShuffled, Seed: seed, Ratio: one, Deps: []string{"targets/monkey"}})
		add(Stage{ID: seedDir(MTLRecorded, seed), Model: MTLRecorded, Seed: seed, Ratio: one})
		add(Stage{ID: seedDir(MTLNoiseFree, seed), Model: MTLNoiseFree, Seed: seed, Ratio: one, Deps: []string{"targets/noisefree"}})
	}
	for _, model := range []string{MTLMonkey, MTLShuffled} {
		for _, r := range s.SweepRatios {
			if r == one {
				continue // the 1:1 runs above are the sweep's 1:1 point
			}
			for _, seed := range s.SweepSeeds {
				add(Stage{ID: fmt.Sprintf("%s/ratio%s/seed%d", model, r, seed), Model: model, Seed: seed, Ratio: r,
					Deps: []string{"targets/monkey"}, Sweep: true})
			}
		}
	}
	var reconDeps []string
	for _, m := range ReconModels {
		reconDeps = append(reconDeps, seedDir(m, first))
	}
	add(Stage{ID: "analysis/recon", Model: "analysis", Deps: reconDeps})
	// Section 3: every classifier evaluated on the clean and the corrupted test set, then the robustness analysis.
	var evals []string
	for _, st := range append([]Stage(nil), out...) {
		switch st.Model {
		case Baseline, Oracle, MTLMonkey, MTLOracle, MTLShuffled, MTLRecorded, MTLNoiseFree:
			id := "eval/" + st.ID
			add(Stage{ID: id, Model: "eval", Seed: st.Seed, Ratio: st.Ratio, Deps: []string{st.ID}, Sweep: st.Sweep})
			evals = append(evals, id)
		}
	}
	add(Stage{ID: "analysis/robustness", Model: "robustness", Deps: evals})
	return out
}

// Key identifies what a stage's outputs depend on: the scale's settings for it, its own definition and the keys of
// the stages it reads. A cached output whose recorded key differs is stale.
func (st Stage) Key(s Scale, deps map[string]string) string {
	h := sha256.New()
	// The settings this stage's outputs depend on, and no others: adding seeds or changing the analysis does not
	// make the trainings stale.
	fmt.Fprintf(h, "v%s|%s|%+v|%+v|%+v|%+v|%d|%v|%v\n", stageVersion, st.ID, st, s.Model, s.Data, s.V1, s.Batch,
		s.LearningRate, s.PredictorLearningRate)
	switch st.Model {
	case Predictor:
		fmt.Fprintf(h, "epochs %d\n", s.PredictorEpochs)
	case OracleReadout:
		fmt.Fprintf(h, "epochs %d\n", s.OracleReadoutEpochs)
	case "analysis":
		fmt.Fprintf(h, "recon v2 %d %d %v %q\n", s.ReconSteps, s.ReconImages, s.ReconNorms, s.SaliencyMaps+fmt.Sprint(s.SaliencyLogDensity))
	case "eval", "robustness":
		fmt.Fprintf(h, "eval %d %s\n", s.EvalPerClass, s.CorruptionPreset)
	case "targets":
	default:
		fmt.Fprintf(h, "epochs %d\n", s.Epochs)
	}
	keys := append([]string(nil), st.Deps...)
	sort.Strings(keys)
	for _, d := range keys {
		fmt.Fprintf(h, "%s=%s\n", d, deps[d])
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// Select returns the stages whose IDs start with one of the prefixes (all if none), together with every stage they
// depend on, in dependency order; an unknown prefix is an error listing what exists.
func Select(stages []Stage, prefixes []string) ([]Stage, error) {
	if len(prefixes) == 0 {
		return stages, nil
	}
	byID := map[string]Stage{}
	for _, st := range stages {
		byID[st.ID] = st
	}
	want := map[string]bool{}
	var mark func(id string)
	mark = func(id string) {
		if want[id] {
			return
		}
		want[id] = true
		for _, d := range byID[id].Deps {
			mark(d)
		}
	}
	for _, p := range prefixes {
		found := false
		for _, st := range stages {
			if strings.HasPrefix(st.ID, p) {
				mark(st.ID)
				found = true
			}
		}
		if !found {
			return nil, fmt.Errorf("no stage matches %q: stages are named like %s", p, exampleIDs(stages))
		}
	}
	var out []Stage
	for _, st := range stages {
		if want[st.ID] {
			out = append(out, st)
		}
	}
	return out, nil
}

func exampleIDs(stages []Stage) string {
	seen := map[string]bool{}
	var ex []string
	for _, st := range stages {
		top := strings.SplitN(st.ID, "/", 2)[0]
		if !seen[top] {
			seen[top] = true
			ex = append(ex, top)
		}
	}
	return strings.Join(ex, ", ") + " (a prefix such as mtl-monkey/seed1 selects one run)"
}
