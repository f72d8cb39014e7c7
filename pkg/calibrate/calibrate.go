// Package calibrate chooses a scale's training recipe by measurement: probes train the Baseline, the Oracle's first
// stage or the Monkey Predictor under variants of a scale.
//
// Section 2's models at a reduced scale must still learn. A probe trains one model of Table 1 under a variant of a
// scale (its learning rate, images per class, epochs, batch, width) in a scratch cache, exactly as the study's stage
// would, and reports the validation curve and the held-out result (test accuracy, or FEVe on the reliable neurons).
// `cotrain calibrate` runs a grid of probes; the scales' doc comments cite what it printed.
//
// SameStep (`cotrain calibrate -same-step`) checks the Oracle of Section 2: it trains the Baseline and the Oracle's
// first stage again, bit for bit as their stages did, and measures both on the same held-out images after every
// epoch, which their stages' training losses (on different images) cannot show.
package calibrate

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/gomlx/gomlx/backends"

	"github.com/robustvision/cotrain/pkg/condition"
	"github.com/robustvision/cotrain/pkg/scales"
	"github.com/robustvision/cotrain/pkg/study"
	"github.com/robustvision/cotrain/pkg/train"
)

// Probe is one calibration run: the model of stage Stage (e.g. "baseline/seed1", "predictor/seed1") at scale Scale.
type Probe struct {
	Scale scales.Scale
	Stage string
}

// Result is what a probe measured.
type Result struct {
	Probe
	Metrics  []train.EpochMetrics
	TestAcc  Value // classification models: accuracy on the scale's test images
	FEVe     Value // models with a readout: mean FEVe over neurons with FEV > 0.15
	Seconds  float64
	Steps    int  // optimizer steps
	Collapse bool // ended at chance: the training failed
}

// Value is a measurement that may be absent (NaN, written as null in JSON).
type Value float64

// MarshalJSON writes NaN as null.
func (v Value) MarshalJSON() ([]byte, error) {
	if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
		return []byte("null"), nil
	}
	return json.Marshal(float64(v))
}

// Grid is a set of probes: learning rates × seeds on one model, with optional changes to the scale.
type Grid struct {
	Base          scales.Scale
	Model         string    // condition.Baseline, condition.OracleStage1 or condition.Predictor
	LearningRates []float64 // SGD for the Baseline, Adam for the predictor; empty: the scale's
	Seeds         []uint64
	// Changes to the scale; 0 keeps the scale's.
	TrainPerClass, TestPerClass, Epochs, Batch, WidthDivisor int
}

// Probes lists the grid's probes, each on a scale named <base>-calibration.
func (g Grid) Probes() ([]Probe, error) {
	if g.Model != condition.Baseline && g.Model != condition.Predictor && g.Model != condition.OracleStage1 {
		return nil, fmt.Errorf("model %q: want %s, %s or %s", g.Model, condition.Baseline, condition.OracleStage1, condition.Predictor)
	}
	if len(g.Seeds) == 0 {
		return nil, fmt.Errorf("no seeds")
	}
	s := g.Base
	s.Name = g.Base.Name + "-calibration"
	if g.TrainPerClass > 0 {
		s.Data.TrainPerClass = g.TrainPerClass
	}
	if g.TestPerClass > 0 {
		s.Data.TestPerClass = g.TestPerClass
	}
	if g.Epochs > 0 {
		s.Epochs, s.PredictorEpochs = g.Epochs, g.Epochs
	}
	if g.Batch > 0 {
		s.Batch = g.Batch
	}
	if g.WidthDivisor > 0 {
		s.Model.WidthDivisor = g.WidthDivisor
		if err := s.Model.Validate(); err != nil {
			return nil, fmt.Errorf("width divisor: %w", err)
		}
	}
	lrs := g.LearningRates
	if len(lrs) == 0 {
		lrs = []float64{0} // the scale's own
	}
	var probes []Probe
	for _, lr := range lrs {
		for _, seed := range g.Seeds {
			p := Probe{Scale: s, Stage: fmt.Sprintf("%s/seed%d", g.Model, seed)}
			switch {
			case lr > 0 && g.Model == condition.Predictor:
				p.Scale.PredictorLearningRate = lr
			case lr > 0:
				p.Scale.LearningRate = lr
			}
			if g.Model == condition.Predictor || !slices.Contains(s.Seeds, seed) {
				p.Scale.Seeds = append([]uint64(nil), g.Seeds...)
			}
			probes = append(probes, p)
		}
	}
	return probes, nil
}

// Config is the training configuration of the probe's stage.
func (p Probe) Config() (train.Config, error) {
	for _, st := range study.Stages(p.Scale) {
		if st.ID == p.Stage {
			return (&study.Runner{Scale: p.Scale}).TrainConfig(st)
		}
	}
	return train.Config{}, fmt.Errorf("no stage %q at the %s scale", p.Stage, p.Scale.Name)
}

// LearningRate is the probe's learning rate (SGD, or Adam for the predictor).
func (p Probe) LearningRate() float64 {
	cfg, err := p.Config()
	switch {
	case err != nil:
		return math.NaN()
	case cfg.Objective == train.NeuralPrediction:
		return cfg.Adam.LearningRate
	default:
		return cfg.SGD.LearningRate
	}
}

// Run runs the probes one after another, each in a fresh scratch cache under root (removed afterwards) where only
// the probe's stage runs, as `cotrain reproduce -only` would run it; log gets the training progress and one line per
// probe.
func Run(b backends.Backend, root string, probes []Probe, log io.Writer) ([]Result, error) {
	scratch, err := os.MkdirTemp(root, "calibrate-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(scratch)
	// The photographs the virtual monkey may need are shared, not copied.
	if err := os.MkdirAll(filepath.Join(scratch, filepath.Dir(scales.PhotoDir)), 0o755); err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, err
	}
	if err := os.Symlink(filepath.Join(abs, scales.PhotoDir), filepath.Join(scratch, scales.PhotoDir)); err != nil {
		return nil, err
	}
	var out []Result
	for i, pr := range probes {
		if _, err := pr.Config(); err != nil {
			return out, fmt.Errorf("probe %d: %w", i+1, err)
		}
		fmt.Fprintf(log, "probe %d/%d: %s  %s\n", i+1, len(probes), pr.Stage, Describe(pr))
		res, err := run(b, scratch, pr, log)
		if err != nil {
			return out, fmt.Errorf("probe %s: %w", pr.Stage, err)
		}
		fmt.Fprintf(log, "probe %d/%d: %s  test acc %.4f  FEVe %.4f  %d epochs  %.0f s\n", i+1, len(probes), pr.Stage,
			res.TestAcc, res.FEVe, len(res.Metrics), res.Seconds)
		out = append(out, res)
	}
	return out, nil
}

// run trains one probe's stage in a cache of its own under scratch.
func run(b backends.Backend, scratch string, pr Probe, log io.Writer) (Result, error) {
	res := Result{Probe: pr, TestAcc: Value(math.NaN()), FEVe: Value(math.NaN())}
	r := &study.Runner{Root: scratch, Scale: pr.Scale, Backend: b, Log: log}
	// Each probe starts from nothing but the data: a variant of the data changes the normalisation.
	if err := os.RemoveAll(filepath.Join(scratch, scales.CacheDir(pr.Scale))); err != nil {
		return res, err
	}
	start := time.Now()
	if err := r.Reproduce([]string{pr.Stage}); err != nil {
		return res, err
	}
	res.Seconds = time.Since(start).Seconds()
	status, err := r.Status()
	if err != nil {
		return res, err
	}
	for _, s := range status {
		if s.ID != pr.Stage || s.Record == nil {
			continue
		}
		cfg, err := pr.Config()
		if err != nil {
			return res, err
		}
		if res.Metrics, err = train.ReadMetricsCSV(filepath.Join(r.Dir(s.ID), "metrics.csv")); err != nil {
			return res, err
		}
		for _, e := range res.Metrics {
			res.Steps += e.Images / max(cfg.Batch, 1)
		}
		if v, ok := s.Record.Results["test_acc"]; ok {
			res.TestAcc = Value(v)
			res.Collapse = v <= s.Record.Results["chance"]*1.5
		}
		if v, ok := s.Record.Results["feve_reliable"]; ok {
			res.FEVe = Value(v)
		}
		return res, nil
	}
	return res, fmt.Errorf("stage %s did not run", pr.Stage)
}

// Describe says what a probe's recipe is.
func Describe(p Probe) string {
	cfg, err := p.Config()
	if err != nil {
		return err.Error()
	}
	s := p.Scale
	return fmt.Sprintf("width ÷%d, %d×%d, %d/%d/%d images per class, batch %d, lr %g, at most %d epochs",
		s.Model.WidthDivisor, s.Model.InputSize, s.Model.InputSize, s.Data.TrainPerClass, s.Data.ValPerClass,
		s.Data.TestPerClass, cfg.Batch, p.LearningRate(), cfg.MaxEpochs)
}
