package bench

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/gomlx/gomlx/backends"

	"github.com/robustvision/cotrain/pkg/corrupt"
	"github.com/robustvision/cotrain/pkg/data"
	"github.com/robustvision/cotrain/pkg/eval"
	"github.com/robustvision/cotrain/pkg/study"
	"github.com/robustvision/cotrain/pkg/train"
)

// TrainerBench is the throughput of one trainer (or of evaluation) at a scale.
type TrainerBench struct {
	Scale        string  `json:"scale"`
	Trainer      string  `json:"trainer"`
	Steps        int     `json:"steps"`
	ImagesPerSec float64 `json:"images_per_second"` // images through the network per second (both tasks, both views)
	Seconds      float64 `json:"seconds"`
	PeakRSSMiB   float64 `json:"peak_rss_mib"`
}

// Trainers lists what BenchTrainer measures: the four objectives, the frozen-block variants, and evaluation.
var Trainers = []string{"classification", "oracle", "oracle-frozen", "multitask", "multitask-2:1", "neural", "neural-frozen", "eval-clean", "eval-corrupted"}

// BenchTrainer runs one epoch of `batches` batches of a trainer at the scale's width, input size and batch size on
// the scale's classification images (made-up neural targets: only speed is measured) and reports its training
// throughput from the epoch's metrics (the first step, which compiles the graph, included), or evaluation
// throughput. Run each in its own process for a clean peak-memory figure (cotrain bench -trainers).
func BenchTrainer(b backends.Backend, r *study.Runner, trainer string, batches int) (TrainerBench, error) {
	s := r.Scale
	res := TrainerBench{Scale: s.Name, Trainer: trainer}
	p, err := r.Images()
	if err != nil {
		return res, err
	}
	batch := s.Batch
	if batch == 0 {
		batch = 128
	}
	n := min(batches*batch, p.Train.N)
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	sub := &data.Prepared{Split: data.Split{Train: p.Train.Subset("bench", idx), Validation: p.Validation.Subset("bench val", idx[:min(64, p.Validation.N)]), Test: p.Test}, Stats: p.Stats}
	rng := rand.New(rand.NewPCG(1, 2))
	neurons := s.Neurons
	values := make([]float32, n*neurons)
	for i := range values {
		values[i] = float32(rng.ExpFloat64())
	}
	targets, err := train.OnImages("benchmark targets (random)", sub.Train, values, neurons)
	if err != nil {
		return res, err
	}
	random, err := train.NewModel(b, train.ModelInfo{Model: s.Model, Stats: p.Stats, Neurons: neurons}, 1)
	if err != nil {
		return res, err
	}
	init, err := random.Weights()
	if err != nil {
		return res, err
	}
	start := time.Now()
	switch trainer {
	case "eval-clean", "eval-corrupted":
		set := sub.Train
		pix := set.Pix
		if trainer == "eval-corrupted" {
			names := corrupt.Names()
			pix = nil
			for i := range set.N {
				out, err := eval.CorruptImage(set.Image(i), set.H, set.W, i, names[i%len(names)], 1+i%5, eval.Seed, s.CorruptionPreset)
				if err != nil {
					return res, err
				}
				pix = append(pix, out...)
			}
		}
		if _, err := random.Logits(pix, set.N); err != nil {
			return res, err
		}
		res.Steps, res.Seconds = (set.N+127)/128, time.Since(start).Seconds()
		res.ImagesPerSec = float64(set.N) / res.Seconds
		res.PeakRSSMiB = PeakRSSMiB()
		return res, nil
	}
	var cfg train.Config
	d := train.Data{Images: sub}
	switch trainer {
	case "classification":
		cfg = train.Defaults(train.Classification, s.Model, 1, 1)
	case "oracle":
		cfg = train.Defaults(train.CorruptionConsistency, s.Model, 1, 1)
	case "oracle-frozen":
		cfg = train.Defaults(train.Classification, s.Model, 1, 1)
		cfg.Frozen, cfg.Initial, d.Init = []string{"/shared"}, []string{"/shared"}, init
	case "multitask", "multitask-2:1":
		cfg = train.Defaults(train.MultiTask, s.Model, 1, 1)
		if trainer == "multitask-2:1" {
			cfg.Ratio = train.Ratio{Neural: 2, Classification: 1}
		}
		d.Neural = targets
	case "neural", "neural-frozen":
		cfg = train.Defaults(train.NeuralPrediction, s.Model, 1, 1)
		d = train.Data{Neural: targets, NeuralVal: targets, NeuralStats: p.Stats}
		if trainer == "neural-frozen" {
			cfg.Frozen, cfg.Initial, d.Init = []string{"/shared"}, []string{"/shared"}, init
		}
	default:
		return res, fmt.Errorf("trainer %q: want one of %v", trainer, Trainers)
	}
	cfg.Batch = batch
	_, metrics, err := train.Train(b, cfg, d, train.Options{})
	if err != nil {
		return res, err
	}
	m := metrics[0]
	res.Steps, res.Seconds, res.ImagesPerSec = batches, time.Since(start).Seconds(), m.ImagesPerS
	res.PeakRSSMiB = PeakRSSMiB()
	return res, nil
}
