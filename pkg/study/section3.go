package study

import (
	"fmt"

	"github.com/robustvision/cotrain/pkg/condition"
	"github.com/robustvision/cotrain/pkg/corrupt"
	"github.com/robustvision/cotrain/pkg/data"
	"github.com/robustvision/cotrain/pkg/eval"
	"github.com/robustvision/cotrain/pkg/record"
)

// The Evaluation and Robustness stages: Section 3 of the paper (pkg/eval), over the cache.

// evalSet is the scale's corrupted-test subset.
func (r *Runner) evalSet() (*data.Set, error) {
	p, err := r.Images()
	if err != nil {
		return nil, err
	}
	if r.Scale.EvalPerClass <= 0 {
		return p.Test, nil
	}
	return data.Stratified(p.Test, r.Scale.EvalPerClass, eval.Seed), nil
}

// evaluatedRun names the run an Evaluation stage evaluates (the main table's runs have no ratio).
func (st Stage) evaluatedRun() eval.Run {
	run := eval.Run{Model: st.Model, Seed: st.Seed}
	if st.Sweep {
		run.Ratio = st.Ratio.String()
	}
	return run
}

// evaluationStage evaluates its trained run (st.Deps[0]) and writes clean.json and accuracies.csv.
func (r *Runner) evaluationStage(st Stage, rec *record.Stage) error {
	clean, accs, err := r.evaluate3(st)
	if err != nil {
		return err
	}
	rec.Results["test_acc"] = clean.Accuracy
	rec.Results["test_acc_bootstrap_sd"] = clean.BootstrapSD
	rec.Results["corrupted_acc"] = eval.PaperCorruptedAccuracy(accs)
	return eval.SaveEvaluation(r.Dir(st.ID), clean, accs)
}

// evaluate3 runs Section 3's evaluation of an Evaluation stage's run from its checkpoint.
func (r *Runner) evaluate3(st Stage) (*eval.Clean, []eval.Accuracy, error) {
	m, err := r.LoadModel(st.Deps[0])
	if err != nil {
		return nil, nil, err
	}
	p, err := r.Images()
	if err != nil {
		return nil, nil, err
	}
	set, err := r.evalSet()
	if err != nil {
		return nil, nil, err
	}
	r.logf("    %d clean test images, %d corrupted (%d corruptions × 5 severities × %d images, %s)\n", p.Test.N,
		len(corrupt.All())*5*set.N, len(corrupt.All()), set.N, r.Scale.CorruptionPreset)
	return eval.Evaluate(m, st.evaluatedRun(), p.Test, set, r.Scale.CorruptionPreset)
}

// EvaluateRun evaluates a trained run (its stage ID, e.g. "mtl-monkey/seed1") from its checkpoint, as its
// evaluation stage does, without touching the cache: a reviewer's check of one model.
func (r *Runner) EvaluateRun(run string) (*eval.Clean, []eval.Accuracy, error) {
	for _, st := range Stages(r.Scale) {
		if st.Kind == Evaluation && st.Deps[0] == run {
			return r.evaluate3(st)
		}
	}
	return nil, nil, fmt.Errorf("no evaluated run %q at the %s scale", run, r.Scale.Name)
}

// robustnessStage gathers every evaluation into robustness.json and accuracies.csv (eval.Analysis).
func (r *Runner) robustnessStage(st Stage, rec *record.Stage) error {
	byID, err := r.statusByID()
	if err != nil {
		return err
	}
	var runs []eval.Evaluated
	for _, dep := range st.Deps {
		if byID[dep].Kind != Evaluation {
			continue // a readout stage: read below, for its run
		}
		e, err := eval.LoadEvaluation(r.Dir(dep), byID[dep].evaluatedRun())
		if err != nil {
			return err
		}
		run := byID[dep].Deps[0]
		if v, ok := RunFEVe(byID, run); ok {
			e.FEVe = v
		}
		if _, later := byID[ReadoutStage(run)]; later && byID[run].Record != nil {
			if v, ok := byID[run].Record.Results["feve_reliable"]; ok {
				e.FEVeCoTrained = v
			}
		}
		runs = append(runs, e)
	}
	p, err := r.Images()
	if err != nil {
		return err
	}
	var swept []string
	for _, c := range condition.Where(func(c condition.Condition) bool { return c.Swept }) {
		swept = append(swept, c.Name)
	}
	// The paired comparisons are the condition table's (each evaluated condition against its Against).
	a := eval.Analysis{Scale: r.Scale.Name, Preset: string(r.Scale.CorruptionPreset), Seeds: len(r.Scale.Seeds),
		Baseline: condition.Baseline, Sweep: swept, Chance: 1 / float64(len(p.Test.Classes)), Pairs: condition.Pairs()}
	res, err := a.Analyze(runs)
	if err != nil {
		return err
	}
	for model, total := range res.Total {
		rec.Results["robustness_"+model] = total.Mean
	}
	for cond, reg := range res.Regression {
		rec.Results["b_feve_"+cond] = reg.Coef[2]
		rec.Results["p_feve_"+cond] = reg.P[2]
	}
	return res.Save(r.Dir(st.ID))
}

// RunFEVe is a training run's FEVe on the reliable neurons (FEV > 0.15): that of its readout trained to convergence
// where the scale has readout stages (Scale.ReadoutEpochs), else that of the run's own readout; false if that stage
// is not done or records none.
func RunFEVe(byID map[string]StageStatus, run string) (float64, bool) {
	s, ok := byID[ReadoutStage(run)]
	if !ok {
		s = byID[run]
	}
	if s.State != Done || s.Record == nil {
		return 0, false
	}
	v, ok := s.Record.Results["feve_reliable"]
	return v, ok
}

// LoadRobustness reads Section 3's results from the cache: the robustness analysis, which must be done (a
// *NotDoneError otherwise).
func (r *Runner) LoadRobustness() (*eval.Robustness, error) {
	if _, err := r.Done(RobustnessStage); err != nil {
		return nil, err
	}
	return eval.LoadRobustness(r.Dir(RobustnessStage), condition.Baseline)
}
