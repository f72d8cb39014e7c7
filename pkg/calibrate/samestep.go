package calibrate

import (
	"bytes"
	"cmp"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/gomlx/gomlx/pkg/core/tensors"

	"github.com/robustvision/cotrain/pkg/data"
	"github.com/robustvision/cotrain/pkg/provenance"
	"github.com/robustvision/cotrain/pkg/study"
	"github.com/robustvision/cotrain/pkg/train"
)

// The Oracle against the Baseline at the same step (Section 2, "Models"; Table 2). Both stages record only their
// training loss — the Baseline's on clean images, the Oracle's first stage's on its 1:1 clean/corrupted mixture —
// and their best validation weights, so their cross-entropies are never measured on the same images at the same
// step. SameStep trains both again, exactly as their stages do, and after every epoch measures each model on the
// same held-out images: the scale's clean test images, the same images with half of them corrupted (the authors'
// in-domain test of the Oracle, the distribution it is trained on), and all of them corrupted.

// SameStepDir is where `cotrain calibrate -same-step` writes, under a scale's cache.
const SameStepDir = "calibration/oracle-same-step"

// heldOutSeed draws the corruptions of the held-out sets: the same images for both models, every epoch and seed.
const heldOutSeed = 0x68656c642d6f7574 // "held-out"

// SameStepPoint is one model's held-out evaluation at the end of one epoch.
type SameStepPoint struct {
	Model     string           `json:"model"` // study.Baseline or study.OracleStage1
	Epoch     int              `json:"epoch"`
	Step      int              `json:"step"`      // optimizer steps so far
	Clean     train.Evaluation `json:"clean"`     // the scale's clean test images
	Mixture   train.Evaluation `json:"mixture"`   // the same images, about half corrupted (the Oracle's in-domain test)
	Corrupted train.Evaluation `json:"corrupted"` // every image corrupted (one of the 14 corruptions, severity 1–5)
}

// SameStepRun is one seed's comparison.
type SameStepRun struct {
	Seed   uint64          `json:"seed"`
	Points []SameStepPoint `json:"points"` // the Baseline's epochs, then the Oracle's first stage's
	// Reproduces says, per stage, whether the retrained model's final (best validation) weights are bit-identical
	// to the committed checkpoint's, so that the curves are those of the cached models; absent where the cache has
	// no model of the stage.
	Reproduces map[string]bool    `json:"reproduces_cache"`
	Provenance *provenance.Record `json:"provenance"`
}

// SameStep trains the Baseline and the Oracle's first stage of seed again, in scratch (the cache is not touched),
// and evaluates both on the same held-out images after every epoch.
func SameStep(r *study.Runner, seed uint64, scratch string) (*SameStepRun, error) {
	prep, err := r.Images()
	if err != nil {
		return nil, err
	}
	oracle := fmt.Sprintf("%s/seed%d", study.OracleStage1, seed)
	baseline := fmt.Sprintf("%s/seed%d", study.Baseline, seed)
	cfg, err := r.TrainConfig(study.Stage{ID: oracle, Model: study.OracleStage1, Seed: seed})
	if err != nil {
		return nil, err
	}
	size := cfg.Model.InputSize
	test := prep.Test
	mixture := test.Transformed(test.Name+"/mixture", train.CorruptionTransform(cfg.Oracle, size, heldOutSeed, true))
	corrupted := test.Transformed(test.Name+"/corrupted", train.CorruptionTransform(cfg.Oracle, size, heldOutSeed, false))
	run := &SameStepRun{Seed: seed, Reproduces: map[string]bool{}, Provenance: provenance.New()}
	signed := int64(seed)
	run.Provenance.Seed = &signed
	run.Provenance.Backend, run.Provenance.Device = r.Backend.Name(), r.Backend.Description()
	stepsPerEpoch := (prep.Train.N + cfg.Batch - 1) / cfg.Batch
	for _, id := range []string{baseline, oracle} {
		model := study.Baseline
		if id == oracle {
			model = study.OracleStage1
		}
		dir := filepath.Join(scratch, filepath.FromSlash(id))
		if err := os.RemoveAll(dir); err != nil {
			return nil, err
		}
		after := func(epoch int, m *train.Model) error {
			p := SameStepPoint{Model: model, Epoch: epoch, Step: epoch * stepsPerEpoch}
			for _, e := range []struct {
				set *data.Set
				out *train.Evaluation
			}{{test, &p.Clean}, {mixture, &p.Mixture}, {corrupted, &p.Corrupted}} {
				ev, err := m.Evaluate(e.set, nil)
				if err != nil {
					return err
				}
				*e.out = ev
			}
			run.Points = append(run.Points, p)
			return nil
		}
		m, _, err := r.Retrain(id, dir, after)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", id, err)
		}
		committed, err := train.ReadCheckpoint(filepath.Join(r.Dir(id), "model.ckpt"), nil)
		switch {
		case err == nil:
			if run.Reproduces[id], err = sameWeights(m, committed); err != nil {
				return nil, err
			}
		case !errors.Is(err, fs.ErrNotExist):
			return nil, fmt.Errorf("the cache's %s: %w", id, err)
		}
	}
	run.Provenance.Finish()
	return run, nil
}

// sameWeights says whether the model holds every variable of the committed checkpoint, bit for bit.
func sameWeights(m *train.Model, committed train.Snapshot) (bool, error) {
	w, err := m.Weights()
	if err != nil {
		return false, err
	}
	for path, tc := range committed {
		tm, ok := w[path]
		if !ok || !tm.Shape().Equal(tc.Shape()) || !bytes.Equal(tensorBytes(tm), tensorBytes(tc)) {
			return false, nil
		}
	}
	return len(committed) > 0, nil
}

func tensorBytes(t *tensors.Tensor) []byte {
	var out []byte
	t.ConstBytes(func(b []byte) { out = append(out, b...) })
	return out
}

// Write writes the run as seed<N>.json (everything, with provenance) and seed<N>.csv (the curves) in dir,
// atomically.
func (run *SameStepRun) Write(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	js, err := json.MarshalIndent(run, "", " ")
	if err != nil {
		return err
	}
	base := filepath.Join(dir, fmt.Sprintf("seed%d", run.Seed))
	if err := provenance.WriteFileAtomic(base+".json", append(js, '\n')); err != nil {
		return err
	}
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	w.Write([]string{"model", "epoch", "step", "clean_ce", "clean_acc", "mixture_ce", "mixture_acc", "corrupted_ce",
		"corrupted_acc"})
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', 4, 64) }
	for _, p := range run.Points {
		w.Write([]string{p.Model, strconv.Itoa(p.Epoch), strconv.Itoa(p.Step), f(p.Clean.CrossEntropy),
			f(p.Clean.Accuracy), f(p.Mixture.CrossEntropy), f(p.Mixture.Accuracy), f(p.Corrupted.CrossEntropy),
			f(p.Corrupted.Accuracy)})
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return err
	}
	return provenance.WriteFileAtomic(base+".csv", buf.Bytes())
}

// ReadSameStep reads a run written by Write.
func ReadSameStep(file string) (*SameStepRun, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var run SameStepRun
	if err := json.Unmarshal(b, &run); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return &run, nil
}

// Summary says, for one seed, how the two models compare at the same steps.
type Summary struct {
	Seed  uint64
	Steps int // the last step both models reached
	// At the last common epoch: the Baseline's and the Oracle's first stage's evaluations.
	CleanBaseline, CleanOracle, MixtureBaseline, MixtureOracle train.Evaluation
	// The first epoch from which the Oracle's held-out cross-entropy stays below the Baseline's to the last common
	// epoch (0: not at the last common epoch).
	MixtureBelowFrom, CleanBelowFrom int
}

// Summarise compares the two curves epoch by epoch.
func (run *SameStepRun) Summarise() (Summary, error) {
	by := map[string]map[int]SameStepPoint{study.Baseline: {}, study.OracleStage1: {}}
	for _, p := range run.Points {
		if by[p.Model] == nil {
			return Summary{}, fmt.Errorf("seed %d: unknown model %q", run.Seed, p.Model)
		}
		by[p.Model][p.Epoch] = p
	}
	s := Summary{Seed: run.Seed}
	last := 0
	for e := range by[study.Baseline] {
		if _, ok := by[study.OracleStage1][e]; ok && e > last {
			last = e
		}
	}
	if last == 0 {
		return s, fmt.Errorf("seed %d: no epoch of both models", run.Seed)
	}
	b, o := by[study.Baseline][last], by[study.OracleStage1][last]
	s.Steps = o.Step
	s.CleanBaseline, s.CleanOracle = b.Clean, o.Clean
	s.MixtureBaseline, s.MixtureOracle = b.Mixture, o.Mixture
	// belowFrom is the first epoch of the run of epochs, ending at the last common one, in which the Oracle's
	// cross-entropy (by ce) is below the Baseline's; 0 if it is not below at the last.
	belowFrom := func(ce func(SameStepPoint) float64) int {
		from := 0
		for e := last; e >= 1; e-- {
			b, okB := by[study.Baseline][e]
			o, okO := by[study.OracleStage1][e]
			if !okB || !okO || ce(o) >= ce(b) {
				break
			}
			from = e
		}
		return from
	}
	s.MixtureBelowFrom = belowFrom(func(p SameStepPoint) float64 { return p.Mixture.CrossEntropy })
	s.CleanBelowFrom = belowFrom(func(p SameStepPoint) float64 { return p.Clean.CrossEntropy })
	return s, nil
}

// ReadSameSteps reads every seed<N>.json in dir, in the order of their seeds; none is an error wrapping
// fs.ErrNotExist.
func ReadSameSteps(dir string) ([]*SameStepRun, error) {
	files, err := filepath.Glob(filepath.Join(dir, "seed*.json"))
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no same-step comparison in %s (cotrain calibrate -same-step): %w", dir, fs.ErrNotExist)
	}
	var runs []*SameStepRun
	for _, f := range files {
		run, err := ReadSameStep(f)
		if err != nil {
			return nil, err
		}
		runs = append(runs, run)
	}
	slices.SortFunc(runs, func(a, b *SameStepRun) int { return cmp.Compare(a.Seed, b.Seed) })
	return runs, nil
}

// CachedSameSteps reads the comparison that `cotrain calibrate -same-step` wrote into the runner's cache.
func CachedSameSteps(r *study.Runner) ([]*SameStepRun, error) {
	return ReadSameSteps(filepath.Join(r.Dir(""), SameStepDir))
}
