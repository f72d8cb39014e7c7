package study

import (
	"fmt"
	"maps"
	"path/filepath"
	"slices"

	"github.com/robustvision/cotrain/pkg/condition"
	"github.com/robustvision/cotrain/pkg/data"
	"github.com/robustvision/cotrain/pkg/models"
	"github.com/robustvision/cotrain/pkg/neural"
	"github.com/robustvision/cotrain/pkg/record"
	"github.com/robustvision/cotrain/pkg/scales"
	"github.com/robustvision/cotrain/pkg/train"
	"github.com/robustvision/cotrain/pkg/v1sim"
)

// The Training and Targets stages: the models of Table 1 (Section 2) and the MTL targets, configured from the scale.

// TrainConfig is the training configuration of a stage at this scale: the authors' defaults for the condition's
// objective (condition table), with the scale's budget, batch and learning rate.
func (r *Runner) TrainConfig(st Stage) (train.Config, error) {
	s := r.Scale
	c, ok := condition.ByName(st.Model)
	if !ok || st.Kind != Training {
		return train.Config{}, fmt.Errorf("stage %s: %q is not a trained model", st.ID, st.Model)
	}
	cfg := train.Defaults(c.Objective, ModelOf(s, c), s.EpochsOf(c.Budget), st.Seed)
	if c.Init != "" {
		cfg.Frozen, cfg.Initial = []string{"/shared"}, []string{"/shared"}
	}
	if c.InitReadout {
		cfg.Frozen, cfg.Initial = []string{"/shared"}, []string{"/shared", "/readout"}
	}
	if c.Objective == train.MultiTask {
		cfg.Ratio = st.Ratio
	}
	if c.Objective == train.CorruptionConsistency && s.OracleConsistency != "" {
		cfg.Oracle.Criterion = s.OracleConsistency
	}
	if s.Batch > 0 {
		cfg.Batch = s.Batch
	}
	if lr := s.RateOf(c.Rate); lr > 0 {
		if c.Rate == condition.AdamRate {
			cfg.Adam.LearningRate = lr
		} else {
			cfg.SGD.LearningRate = lr
		}
	}
	return cfg, nil
}

// ModelOf is the network of condition c at scale s: the scale's, with the fixed V1 front end where the condition
// has it (the positive control).
func ModelOf(s scales.Scale, c condition.Condition) models.VGGConfig {
	m := s.Model
	if c.FrontEnd {
		m.FrontEnd = s.FrontEnd
	}
	return m
}

// trainStage trains the stage's model (resuming an interrupted run) and records its test accuracy and FEVe.
func (r *Runner) trainStage(st Stage, rec *record.Stage) error {
	cfg, err := r.TrainConfig(st)
	if err != nil {
		return err
	}
	d, err := r.trainData(st)
	if err != nil {
		return err
	}
	dir := r.Dir(st.ID)
	m, metrics, err := train.Train(r.Backend, cfg, d, train.Options{Dir: dir, Progress: r.Log})
	if err != nil {
		return err
	}
	rec.Results["epochs"] = float64(len(metrics))
	if st.Model == condition.MTLReadout {
		for _, m := range metrics {
			if m.Improved {
				rec.Results["best_epoch"] = float64(m.Epoch)
			}
		}
		run, err := r.readRecord(st.Deps[0])
		if err != nil {
			return err
		}
		if v, ok := run.Results["feve_reliable"]; ok {
			rec.Results["feve_cotrained"] = v
		}
	}
	if st.PPD > 0 {
		rec.Results["ppd"] = st.PPD
	}
	if err := r.evaluate(m, rec, st.PPD); err != nil {
		return err
	}
	rec.Provenance.Finish()
	m.Info.Provenance = rec.Provenance
	m.Info.Stage = &train.StageStamp{ID: st.ID, Scale: r.Scale.Name, Condition: st.Model, Seed: st.Seed, Key: rec.Key}
	return m.Save(filepath.Join(dir, modelFile))
}

// Retrain trains a training stage's model again, exactly as the stage does (its configuration and data, changed by
// change if not nil), into dir instead of the cache, calling after at the end of every epoch
// (train.Options.AfterEpoch). The calibration uses it to measure what a stage does not record, such as held-out
// cross-entropy at every epoch, or a variant of a stage; the cache is not touched.
func (r *Runner) Retrain(id, dir string, change func(*train.Config), after func(epoch int, m *train.Model) error) (*train.Model,
	[]train.EpochMetrics, error) {
	i := slices.IndexFunc(Stages(r.Scale), func(st Stage) bool { return st.ID == id })
	if i < 0 {
		return nil, nil, fmt.Errorf("no stage %q at the %s scale", id, r.Scale.Name)
	}
	st := Stages(r.Scale)[i]
	if st.Kind != Training {
		return nil, nil, fmt.Errorf("stage %s does not train a model", id)
	}
	cfg, err := r.TrainConfig(st)
	if err != nil {
		return nil, nil, err
	}
	if change != nil {
		change(&cfg)
	}
	d, err := r.trainData(st)
	if err != nil {
		return nil, nil, err
	}
	return train.Train(r.Backend, cfg, d, train.Options{Dir: dir, Progress: r.Log, AfterEpoch: after})
}

// trainData assembles what a stage trains on: the recording for a model of it, else the classification images, with
// the condition's neural targets, and the weights of the run it starts from (its first input).
func (r *Runner) trainData(st Stage) (train.Data, error) {
	c := condition.Must(st.Model)
	if c.InitReadout {
		return r.readoutData(st)
	}
	var d train.Data
	p, err := r.Images()
	if err != nil {
		return d, err
	}
	if c.Objective == train.NeuralPrediction {
		monkey, err := r.monkeyAt(st.PPD)
		if err != nil {
			return d, err
		}
		if d, err = train.NeuralData(monkey, 0.1, st.Seed, &p.Stats); err != nil {
			return d, err
		}
	} else {
		d.Images = p
	}
	if t, ok := c.TargetsOf(); ok {
		if d.Neural, err = r.neuralTargets(t, c.Shuffle, st.Seed); err != nil {
			return d, err
		}
	}
	if c.Init != "" {
		from, err := r.LoadModel(st.Deps[0])
		if err != nil {
			return d, err
		}
		if d.Init, err = from.Weights(); err != nil {
			return d, err
		}
	}
	return d, nil
}

// neuralTargets are a multi-task run's targets: the recorded trials, or a targets stage's responses on the
// classification training images (permuted across images with seed when shuffled).
func (r *Runner) neuralTargets(t condition.Targets, shuffle bool, seed uint64) (*train.Responses, error) {
	if t.Name == condition.Recorded {
		monkey, _, err := r.Monkey()
		if err != nil {
			return nil, err
		}
		resp, _ := train.Recorded(monkey, 0, seed)
		return resp, nil
	}
	resp, err := r.loadTargets(t)
	if err != nil || !shuffle {
		return resp, err
	}
	return resp.Shuffled(seed), nil
}

// readoutData is what an MTL run's readout stage trains on: the run's own neural data (its targets, or the recorded
// trials), at most Scale.ReadoutTrials of them with a tenth held out to monitor the validation correlation, and the
// run's weights to start from.
func (r *Runner) readoutData(st Stage) (train.Data, error) {
	run := st.Deps[0]
	d, err := r.trainData(Stage{ID: run, Kind: Training, Model: st.Of, Seed: st.Seed, Deps: st.Deps[1:]})
	if err != nil {
		return d, err
	}
	trainSet, val := d.Neural.Split(r.Scale.ReadoutTrials, 0.1, st.Seed)
	if val == nil {
		return d, fmt.Errorf("%s: too few neural trials to hold some out for validation", st.ID)
	}
	m, err := r.LoadModel(run)
	if err != nil {
		return d, err
	}
	init, err := m.Weights()
	if err != nil {
		return d, err
	}
	return train.Data{Neural: trainSet, NeuralVal: val, NeuralStats: m.Info.Stats, Init: init}, nil
}

// evaluate records a trained model's clean test accuracy and, for a model with a readout, its FEVe on the
// recording's held-out test repeats (train.Model.Scores), shown at ppd pixels per degree (0: as recorded).
// Section 3's evaluation (bootstrap, corruptions) is a later stage.
func (r *Runner) evaluate(m *train.Model, rec *record.Stage, ppd float64) error {
	var test *data.Set
	if m.Info.Objective != train.NeuralPrediction {
		p, err := r.Images()
		if err != nil {
			return err
		}
		test = p.Test
	}
	var monkey *neural.Dataset
	if m.Info.Neurons > 0 {
		var err error
		if monkey, err = r.monkeyAt(ppd); err != nil {
			return err
		}
	}
	scores, err := m.Scores(test, monkey)
	if err != nil {
		return err
	}
	maps.Copy(rec.Results, scores)
	return nil
}

// monkeyAt is the recording with its stimuli at ppd pixels per degree (0: as recorded), as the resolution search
// shows them to its predictors.
func (r *Runner) monkeyAt(ppd float64) (*neural.Dataset, error) {
	monkey, _, err := r.Monkey()
	if err != nil || ppd == 0 {
		return monkey, err
	}
	return monkey.AtResolution(ppd)
}

// targets computes MTL targets on the classification training images: a model's predictions, or the simulator's
// noise-free responses.
func (r *Runner) targets(st Stage, rec *record.Stage) error {
	p, err := r.Images()
	if err != nil {
		return err
	}
	set := p.Train
	var values []float32
	var neurons int
	switch {
	case st.Deps[0] == V1Stage: // the simulator's own (targets/noisefree)
		monkey, pop, err := r.Monkey()
		if err != nil {
			return err
		}
		var order []int
		for _, s := range monkey.Sessions {
			order = append(order, s.Neurons...)
		}
		if values, err = v1sim.ExpectedCounts(pop, order, v1sim.DefaultPopulation, r.Scale.V1, set.Pix, set.N); err != nil {
			return err
		}
		neurons = len(order)
	default:
		m, err := r.LoadModel(st.Deps[0])
		if err != nil {
			return err
		}
		if values, err = m.Responses(set.Pix, set.N); err != nil {
			return err
		}
		neurons = m.Info.Neurons
	}
	var sum float64
	for _, v := range values {
		sum += float64(v)
	}
	rec.Results["images"] = float64(set.N)
	rec.Results["neurons"] = float64(neurons)
	rec.Results["mean_response"] = sum / float64(len(values))
	return neural.WriteResponsesNPY(filepath.Join(r.Dir(st.ID), responsesFile), set.N, neurons, values)
}

// loadTargets reads a targets stage's responses on the classification training images.
func (r *Runner) loadTargets(t condition.Targets) (*train.Responses, error) {
	p, err := r.Images()
	if err != nil {
		return nil, err
	}
	file := filepath.Join(r.Dir(t.Stage()), responsesFile)
	values, rows, cols, err := neural.ReadResponsesNPY(file)
	if err != nil {
		return nil, err
	}
	if rows != p.Train.N {
		return nil, fmt.Errorf("%s: %d rows for %d training images (recompute the stage)", file, rows, p.Train.N)
	}
	return train.OnImages(t.About, p.Train, values, cols)
}
