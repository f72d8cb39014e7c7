package study

import (
	"fmt"
	"maps"
	"path/filepath"
	"slices"

	"github.com/robustvision/cotrain/pkg/data"
	"github.com/robustvision/cotrain/pkg/neural"
	"github.com/robustvision/cotrain/pkg/record"
	"github.com/robustvision/cotrain/pkg/train"
	"github.com/robustvision/cotrain/pkg/v1sim"
)

// The Training and Targets stages: the models of Table 1 (Section 2) and the MTL targets, configured from the scale.

// TrainConfig is the training configuration of a stage at this scale.
func (r *Runner) TrainConfig(st Stage) (train.Config, error) {
	s := r.Scale
	var cfg train.Config
	switch st.Model {
	case Baseline:
		cfg = train.Defaults(train.Classification, s.Model, s.Epochs, st.Seed)
	case OracleStage1:
		cfg = train.Defaults(train.CorruptionConsistency, s.Model, s.Epochs, st.Seed)
	case Oracle:
		cfg = train.Defaults(train.Classification, s.Model, s.Epochs, st.Seed)
		cfg.Frozen, cfg.Initial = []string{"/shared"}, []string{"/shared"}
	case Predictor, ResolutionPredictor:
		cfg = train.Defaults(train.NeuralPrediction, s.Model, s.PredictorEpochs, st.Seed)
	case ResolutionClassifier: // the appendix's Fig. 12: the predictor's block (to conv3_1) frozen, the rest classifies
		cfg = train.Defaults(train.Classification, s.Model, s.Epochs, st.Seed)
		cfg.Frozen, cfg.Initial = []string{"/shared"}, []string{"/shared"}
	case OracleReadout:
		cfg = train.Defaults(train.NeuralPrediction, s.Model, s.OracleReadoutEpochs, st.Seed)
		cfg.Frozen, cfg.Initial = []string{"/shared"}, []string{"/shared"}
	case MTLReadout: // the co-trained readout goes on learning (the predictor's objective), the shared block frozen
		cfg = train.Defaults(train.NeuralPrediction, s.Model, s.ReadoutEpochs, st.Seed)
		cfg.Frozen, cfg.Initial = []string{"/shared"}, []string{"/shared", "/readout"}
	case MTLMonkey, MTLOracle, MTLShuffled, MTLRecorded, MTLNoiseFree:
		cfg = train.Defaults(train.MultiTask, s.Model, s.Epochs, st.Seed)
		cfg.Ratio = st.Ratio
	default:
		return cfg, fmt.Errorf("stage %s: %q is not a trained model", st.ID, st.Model)
	}
	if s.Batch > 0 {
		cfg.Batch = s.Batch
	}
	switch {
	case cfg.Objective == train.NeuralPrediction && s.PredictorLearningRate > 0:
		cfg.Adam.LearningRate = s.PredictorLearningRate
	case st.Model == Oracle && s.OracleLearningRate > 0:
		cfg.SGD.LearningRate = s.OracleLearningRate
	case cfg.Objective != train.NeuralPrediction && s.LearningRate > 0:
		cfg.SGD.LearningRate = s.LearningRate
	}
	return cfg, nil
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
	if st.Model == MTLReadout {
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
	return m.Save(filepath.Join(dir, modelFile))
}

// Retrain trains a training stage's model again, exactly as the stage does (its configuration and data), into dir
// instead of the cache, calling after at the end of every epoch (train.Options.AfterEpoch). The calibration uses it
// to measure what a stage does not record, such as held-out cross-entropy at every epoch; the cache is not touched.
func (r *Runner) Retrain(id, dir string, after func(epoch int, m *train.Model) error) (*train.Model,
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
	d, err := r.trainData(st)
	if err != nil {
		return nil, nil, err
	}
	return train.Train(r.Backend, cfg, d, train.Options{Dir: dir, Progress: r.Log, AfterEpoch: after})
}

// trainData assembles what a stage trains on.
func (r *Runner) trainData(st Stage) (train.Data, error) {
	if st.Model == MTLReadout {
		return r.readoutData(st)
	}
	var d train.Data
	needsImages := st.Model != Predictor && st.Model != OracleReadout && st.Model != ResolutionPredictor
	if needsImages {
		p, err := r.Images()
		if err != nil {
			return d, err
		}
		d.Images = p
	}
	switch st.Model {
	case Predictor, OracleReadout, ResolutionPredictor:
		monkey, err := r.monkeyAt(st.PPD)
		if err != nil {
			return d, err
		}
		p, err := r.Images()
		if err != nil {
			return d, err
		}
		if d, err = train.NeuralData(monkey, 0.1, st.Seed, &p.Stats); err != nil {
			return d, err
		}
	case MTLRecorded:
		monkey, _, err := r.Monkey()
		if err != nil {
			return d, err
		}
		d.Neural, _ = train.Recorded(monkey, 0, st.Seed)
	case MTLMonkey, MTLShuffled, MTLOracle, MTLNoiseFree:
		t, err := r.loadTargets(st.Deps[0])
		if err != nil {
			return d, err
		}
		if st.Model == MTLShuffled {
			t = t.Shuffled(st.Seed)
		}
		d.Neural = t
	}
	if st.Model == Oracle || st.Model == OracleReadout || st.Model == ResolutionClassifier {
		stage1, err := r.LoadModel(st.Deps[0])
		if err != nil {
			return d, err
		}
		if d.Init, err = stage1.Weights(); err != nil {
			return d, err
		}
	}
	return d, nil
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

// targetSources names what each set of targets is, wherever it appears.
var targetSources = map[string]string{
	"targets/monkey":    "responses predicted by the Monkey Predictor (trained on SIMULATED V1)",
	"targets/oracle":    "responses predicted by a readout on the frozen Oracle block (trained on SIMULATED V1)",
	"targets/noisefree": "noise-free responses of the SIMULATED V1 population",
}

func (r *Runner) loadTargets(id string) (*train.Responses, error) {
	p, err := r.Images()
	if err != nil {
		return nil, err
	}
	file := filepath.Join(r.Dir(id), responsesFile)
	values, rows, cols, err := neural.ReadResponsesNPY(file)
	if err != nil {
		return nil, err
	}
	if rows != p.Train.N {
		return nil, fmt.Errorf("%s: %d rows for %d training images (recompute the stage)", file, rows, p.Train.N)
	}
	return train.OnImages(targetSources[id], p.Train, values, cols)
}
