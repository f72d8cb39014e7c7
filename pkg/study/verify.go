package study

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/robustvision/cotrain/pkg/analysis"
	"github.com/robustvision/cotrain/pkg/condition"
	"github.com/robustvision/cotrain/pkg/eval"
	"github.com/robustvision/cotrain/pkg/record"
	"github.com/robustvision/cotrain/pkg/train"
)

// What a stage must have made, and whether what it made is plausible: a record that lists its files with matching
// sums is not enough (it may have been rewritten to match edited files). Status runs these checks on every stage,
// and every reader of the cache (figures, notebooks, the stages themselves) reads only stages that pass them.

// requiredFiles are the outputs every stage of a kind writes.
var requiredFiles = map[Kind][]string{
	Training:   {modelFile, "metrics.csv"},
	Targets:    {responsesFile},
	Evaluation: {"clean.json", "accuracies.csv"},
	Robustness: {"robustness.json", "accuracies.csv"},
	Analysis:   {"results.json", "reconstructions.npy", "targets.npy", "clean.npy", "saliency.npy", "spectral_controls.npy"},
	Recording:  {"meta.json", "images.npy"},
}

// onDemand reports whether a stage is remade when a stage that needs it runs, rather than kept in the committed
// cache: the virtual monkey's recording and the MTL targets, deterministic and quick to make, large to keep. A
// stage made from one is checked against the input's recorded digest once it is remade.
func (st Stage) onDemand() bool { return st.Kind == Recording || st.Kind == Targets }

// verifyOutputs checks a stage's outputs beyond their sums: every required file listed, and the contents plausible.
func (r *Runner) verifyOutputs(st Stage, rec *record.Stage) error {
	for _, f := range requiredFiles[st.Kind] {
		if _, ok := rec.Files[f]; !ok {
			return fmt.Errorf("its record lists no %s", f)
		}
	}
	dir := r.Dir(st.ID)
	switch st.Kind {
	case Training:
		file := filepath.Join(dir, modelFile)
		if !exists(file) && r.keptElsewhere(modelFile) {
			return nil // a results-only cache: the record's sum stands for the checkpoint
		}
		info, err := train.ReadModelInfo(file)
		if err != nil {
			return err
		}
		return r.checkModel(st, rec.Key, info)
	case Evaluation:
		_, err := eval.LoadEvaluation(dir, st.evaluatedRun())
		return err
	case Robustness:
		_, err := eval.LoadRobustness(dir, condition.Baseline)
		return err
	case Analysis:
		_, err := analysis.Load(dir)
		return err
	}
	return nil
}

// ErrForeignModel is wrapped by the error of a checkpoint that is not the stage's own.
var ErrForeignModel = errors.New("not this stage's model")

// checkModel checks that a checkpoint is the stage's own: written by the stage (its ID, scale, condition, seed and
// key), with the scale's architecture and width and the condition's objective.
func (r *Runner) checkModel(st Stage, key string, info train.ModelInfo) error {
	c := condition.Must(st.Model)
	want := train.StageStamp{ID: st.ID, Scale: r.Scale.Name, Condition: st.Model, Seed: st.Seed, Key: key}
	switch {
	case info.Stage == nil:
		return fmt.Errorf("%s: the checkpoint names no stage: %w", st.ID, ErrForeignModel)
	case *info.Stage != want:
		return fmt.Errorf("%s: the checkpoint was written by %+v, want %+v: %w", st.ID, *info.Stage, want, ErrForeignModel)
	case info.Model != ModelOf(r.Scale, c):
		return fmt.Errorf("%s: the checkpoint's network is %+v, the %s scale's %+v: %w", st.ID, info.Model,
			r.Scale.Name, ModelOf(r.Scale, c), ErrForeignModel)
	case info.Objective != c.Objective:
		return fmt.Errorf("%s: the checkpoint was trained for %s, %s is trained for %s: %w", st.ID, info.Objective,
			st.Model, c.Objective, ErrForeignModel)
	}
	return nil
}

// stageOf returns the stage called id at the runner's scale.
func (r *Runner) stageOf(id string) (Stage, error) {
	for _, st := range Stages(r.Scale) {
		if st.ID == id {
			return st, nil
		}
	}
	return Stage{}, fmt.Errorf("no stage %q at the %s scale", id, r.Scale.Name)
}

// ErrNotDone is wrapped by the error of a reader that asked for a stage that is not done.
var ErrNotDone = errors.New("not done")

// NotDoneError says which stage a reader needed and why it is not done.
type NotDoneError struct {
	Stage   string
	State   State
	Problem string
	Scale   string
}

func (e *NotDoneError) Error() string {
	why := string(e.State)
	if e.Problem != "" {
		why += ": " + e.Problem
	}
	return fmt.Sprintf("stage %s of the %s cache is %s (cotrain status -scale %s; cotrain reproduce -scale %s -only %s "+
		"remakes it)", e.Stage, e.Scale, why, e.Scale, e.Scale, e.Stage)
}

func (e *NotDoneError) Unwrap() error { return ErrNotDone }

// Done returns the status of a stage that a reader needs, or a *NotDoneError when it is not done.
func (r *Runner) Done(id string) (StageStatus, error) {
	byID, err := r.statusByID()
	if err != nil {
		return StageStatus{}, err
	}
	s, ok := byID[id]
	if !ok {
		return s, fmt.Errorf("no stage %q at the %s scale", id, r.Scale.Name)
	}
	if s.State != Done {
		return s, &NotDoneError{Stage: id, State: s.State, Problem: s.Problem, Scale: r.Scale.Name}
	}
	return s, nil
}

// exists reports whether a file exists.
func exists(file string) bool {
	_, err := os.Stat(file)
	return err == nil
}
