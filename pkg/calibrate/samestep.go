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

	"github.com/robustvision/cotrain/pkg/condition"
	"github.com/robustvision/cotrain/pkg/data"
	"github.com/robustvision/cotrain/pkg/provenance"
	"github.com/robustvision/cotrain/pkg/results"
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

// SameStep trains the Baseline and the Oracle's first stage of seed again, in scratch (the cache is not touched),
// and evaluates both on the same held-out images after every epoch. criterion, if not empty, replaces the scale's
// form of the consistency loss (a variant: its Oracle is not the cache's).
func SameStep(r *study.Runner, seed uint64, scratch, criterion string) (*results.SameStepRun, error) {
	prep, err := r.Images()
	if err != nil {
		return nil, err
	}
	oracle := fmt.Sprintf("%s/seed%d", condition.OracleStage1, seed)
	baseline := fmt.Sprintf("%s/seed%d", condition.Baseline, seed)
	cfg, err := r.TrainConfig(study.Stage{ID: oracle, Model: condition.OracleStage1, Seed: seed})
	if err != nil {
		return nil, err
	}
	size := cfg.Model.InputSize
	test := prep.Test
	mixture := test.Transformed(test.Name+"/mixture", train.CorruptionTransform(cfg.Oracle, size, heldOutSeed, true))
	corrupted := test.Transformed(test.Name+"/corrupted", train.CorruptionTransform(cfg.Oracle, size, heldOutSeed, false))
	variant := criterion != "" && criterion != cfg.Oracle.Criterion
	if criterion == "" {
		criterion = cfg.Oracle.Criterion
	}
	run := &results.SameStepRun{Seed: seed, Criterion: criterion, Variant: variant, Reproduces: map[string]bool{},
		Provenance: provenance.New()}
	signed := int64(seed)
	run.Provenance.Seed = &signed
	run.Provenance.Backend, run.Provenance.Device = r.Backend.Name(), r.Backend.Description()
	stepsPerEpoch := (prep.Train.N + cfg.Batch - 1) / cfg.Batch
	for _, id := range []string{baseline, oracle} {
		model := condition.Baseline
		if id == oracle {
			model = condition.OracleStage1
		}
		dir := filepath.Join(scratch, filepath.FromSlash(id))
		if err := os.RemoveAll(dir); err != nil {
			return nil, err
		}
		after := func(epoch int, m *train.Model) error {
			p := results.SameStepPoint{Model: model, Epoch: epoch, Step: epoch * stepsPerEpoch}
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
		var change func(*train.Config)
		if id == oracle && variant {
			change = func(c *train.Config) { c.Oracle.Criterion = criterion }
		}
		m, _, err := r.Retrain(id, dir, change, after)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", id, err)
		}
		if id == oracle && variant {
			continue // not the cache's model
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

// WriteSameStep writes the run as seed<N>.json (everything, with provenance) and seed<N>.csv (the curves) in dir,
// atomically.
func WriteSameStep(run *results.SameStepRun, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	js, err := json.MarshalIndent(run, "", " ")
	if err != nil {
		return err
	}
	base := filepath.Join(dir, SameStepName(run))
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
func ReadSameStep(file string) (*results.SameStepRun, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var run results.SameStepRun
	if err := json.Unmarshal(b, &run); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return &run, nil
}

// SameStepName is the base name of a run's files: seed<N>, or seed<N>-<criterion> for a run whose Oracle used
// another form of the consistency loss than the scale's.
func SameStepName(run *results.SameStepRun) string {
	if run.Variant {
		return fmt.Sprintf("seed%d-%s", run.Seed, run.Criterion)
	}
	return fmt.Sprintf("seed%d", run.Seed)
}

// ReadSameSteps reads every seed<N>.json in dir, in the order of their seeds; none is an error wrapping
// fs.ErrNotExist.
func ReadSameSteps(dir string) ([]*results.SameStepRun, error) {
	files, err := filepath.Glob(filepath.Join(dir, "seed*.json"))
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no same-step comparison in %s (cotrain calibrate -same-step): %w", dir, fs.ErrNotExist)
	}
	var runs []*results.SameStepRun
	for _, f := range files {
		run, err := ReadSameStep(f)
		if err != nil {
			return nil, err
		}
		runs = append(runs, run)
	}
	slices.SortFunc(runs, func(a, b *results.SameStepRun) int { return cmp.Compare(a.Seed, b.Seed) })
	return runs, nil
}

// CachedSameSteps reads the comparison that `cotrain calibrate -same-step` wrote into the runner's cache.
func CachedSameSteps(r *study.Runner) ([]*results.SameStepRun, error) {
	return ReadSameSteps(filepath.Join(r.Dir(""), SameStepDir))
}
