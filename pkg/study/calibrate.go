package study

import (
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/gomlx/gomlx/backends"

	"github.com/robustvision/cotrain/pkg/train"
)

// Calibration: a scale's recipe is chosen by measurement. A probe trains one model of Table 1 (the Baseline, the
// Monkey Predictor) under a variant of a scale — its learning rate, images per class, epochs, batch, width — in a
// scratch cache, and reports the validation curve and the held-out result (test accuracy, or FEVe on the reliable
// neurons). `cotrain calibrate` runs a grid of probes; the scales' doc comments cite what it printed.

// Probe is one calibration run: the model of stage ID (e.g. "baseline/seed1", "predictor/seed1") at scale Scale.
type Probe struct {
	Scale Scale
	Stage string
}

// ProbeResult is what a probe measured.
type ProbeResult struct {
	Probe
	Metrics  []train.EpochMetrics
	TestAcc  float64 // classification models: accuracy on the scale's test images
	FEVe     float64 // models with a readout: mean FEVe over neurons with FEV > 0.15
	Seconds  float64
	Steps    int // optimizer steps
	Collapse bool // ended at chance: the training failed
}

// Calibrate runs the probes one after another in a scratch cache under root (removed afterwards), each on its own
// copy of the scale's data preparation, and writes one line per epoch and per probe to log.
func Calibrate(b backends.Backend, root string, probes []Probe, log io.Writer) ([]ProbeResult, error) {
	scratch, err := os.MkdirTemp(root, "calibrate-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(scratch)
	// The photographs the virtual monkey may need are shared, not copied.
	if err := os.MkdirAll(filepath.Join(scratch, filepath.Dir(PhotoDir)), 0o755); err != nil {
		return nil, err
	}
	if err := os.Symlink(filepath.Join(absolute(root), PhotoDir), filepath.Join(scratch, PhotoDir)); err != nil {
		return nil, err
	}
	var out []ProbeResult
	for i, pr := range probes {
		var st *Stage
		for _, s := range Stages(pr.Scale) {
			if s.ID == pr.Stage {
				s := s
				st = &s
			}
		}
		if st == nil {
			return out, fmt.Errorf("probe %d: no stage %q at this scale", i, pr.Stage)
		}
		r := &Runner{Root: scratch, Scale: pr.Scale, Backend: b}
		// Each probe starts from nothing but the data: a variant of the data changes the normalisation.
		_ = os.RemoveAll(filepath.Join(scratch, CacheDir(pr.Scale)))
		if err := os.MkdirAll(filepath.Join(scratch, CacheDir(pr.Scale)), 0o755); err != nil {
			return out, err
		}
		for _, dep := range st.Deps {
			if dep != "" {
				return out, fmt.Errorf("probe %s: stages with inputs (%v) are not probed", st.ID, st.Deps)
			}
		}
		cfg, err := r.TrainConfig(*st)
		if err != nil {
			return out, err
		}
		d, err := r.trainData(*st)
		if err != nil {
			return out, err
		}
		start := time.Now()
		fmt.Fprintf(log, "probe %d/%d: %s  %s\n", i+1, len(probes), pr.Stage, describeProbe(pr.Scale, cfg))
		m, metrics, err := train.Train(b, cfg, d, train.Options{Progress: log})
		if err != nil {
			return out, fmt.Errorf("probe %s: %w", pr.Stage, err)
		}
		res := ProbeResult{Probe: pr, Metrics: metrics, Seconds: time.Since(start).Seconds(), TestAcc: math.NaN(),
			FEVe: math.NaN()}
		rec := &StageRecord{Results: map[string]float64{}}
		if err := r.evaluate(m, rec); err != nil {
			return out, err
		}
		if v, ok := rec.Results["test_acc"]; ok {
			res.TestAcc = v
			res.Collapse = v <= rec.Results["chance"]*1.5
		}
		if v, ok := rec.Results["feve_reliable"]; ok {
			res.FEVe = v
		}
		for _, e := range metrics {
			res.Steps += e.Images / max(cfg.Batch, 1)
		}
		fmt.Fprintf(log, "probe %d/%d: %s  test acc %.4f  FEVe %.4f  %d epochs  %.0f s\n", i+1, len(probes), pr.Stage,
			res.TestAcc, res.FEVe, len(metrics), res.Seconds)
		out = append(out, res)
	}
	return out, nil
}

// describeProbe says what a probe's recipe is.
func describeProbe(s Scale, cfg train.Config) string {
	lr := cfg.SGD.LearningRate
	if cfg.Objective == train.NeuralPrediction {
		lr = cfg.Adam.LearningRate
	}
	return fmt.Sprintf("width ÷%d, %d×%d, %d/%d/%d images per class, batch %d, lr %g, at most %d epochs",
		s.Model.WidthDivisor, s.Model.InputSize, s.Model.InputSize, s.Data.TrainPerClass, s.Data.ValPerClass,
		s.Data.TestPerClass, cfg.Batch, lr, cfg.MaxEpochs)
}

func absolute(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}
