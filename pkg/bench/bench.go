// Package bench measures how fast the networks train, infer and reconstruct on a backend, with PyTorch as a peer.
//
// The cases are training steps of the VGG-19-BN topology (Section 2's classifier), inference, and reconstruction
// steps (Section 4's gradient with respect to one input image through the layers up to conv3_1), and each trainer of
// the study at a scale. `cotrain bench` and `go test -bench` print its figures.
package bench

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gomlx/gomlx/backends"
	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/train/optimizers"

	"github.com/robustvision/cotrain/pkg/models"
)

// Case is one benchmark.
type Case struct {
	Kind         string  `json:"kind"` // "train", "infer" or "recon"
	WidthDivisor int     `json:"width_divisor"`
	InputSize    int     `json:"input_size"`
	Batch        int     `json:"batch"`
	Steps        int     `json:"steps"`                 // at least this many timed steps, after two untimed warm-up steps
	MinSeconds   float64 `json:"min_seconds,omitempty"` // and at least this long (0: the steps alone)
	Threads      int     `json:"threads,omitempty"`     // the peer's threads (PyTorch); 0: the machine's cores
}

func (c Case) String() string {
	return fmt.Sprintf("%s ÷%d %d×%d batch %d", c.Kind, c.WidthDivisor, c.InputSize, c.InputSize, c.Batch)
}

// Result is a measured Case.
type Result struct {
	Case
	Backend      string  `json:"backend"`
	SecondsStep  float64 `json:"seconds_per_step"`
	ImagesPerSec float64 `json:"images_per_second"`
	CompileSec   float64 `json:"warmup_seconds"` // first step, including graph compilation
	PeakRSSMiB   float64 `json:"peak_rss_mib"`   // of the whole process (run one case per process for a clean figure)
	Cores        float64 `json:"cores"`          // CPU time over wall time during the timed steps: mean cores busy
	// Training cases: the loss of the first step and of the last (the same batch every step, so it must fall).
	FirstLoss float64 `json:"first_loss,omitempty"`
	LastLoss  float64 `json:"last_loss,omitempty"`
}

// Standard lists the cases of the CPU backend issue: training at ÷16, ÷8, ÷4 (32×32) and ÷8, ÷4 (64×64), inference
// at ÷8 32×32, and one reconstruction step at ÷8 32×32.
func Standard(steps int) []Case {
	c := func(kind string, div, size, batch, steps int) Case {
		return Case{Kind: kind, WidthDivisor: div, InputSize: size, Batch: batch, Steps: steps}
	}
	return []Case{
		c("train", 16, 32, 128, steps), c("train", 8, 32, 128, steps), c("train", 4, 32, 128, steps),
		c("train", 8, 64, 128, steps), c("train", 4, 64, 128, steps),
		c("infer", 8, 32, 128, steps), c("recon", 8, 32, 1, 10*steps),
	}
}

// Paper lists the GPU cases: the paper's full-width network at 64×64 (training and inference), and ÷8 at 32×32
// (the mini scale) for comparison.
func Paper(steps int) []Case {
	c := func(kind string, div, size, batch, steps int) Case {
		return Case{Kind: kind, WidthDivisor: div, InputSize: size, Batch: batch, Steps: steps}
	}
	return []Case{
		c("train", 8, 32, 128, steps), c("train", 4, 64, 128, steps), c("train", 1, 64, 128, steps),
		c("infer", 1, 64, 128, steps), c("recon", 1, 64, 1, 10*steps),
	}
}

// Run measures one case on backend b.
func Run(b backends.Backend, c Case) (Result, error) {
	cfg := models.VGGConfig{WidthDivisor: c.WidthDivisor, InputSize: c.InputSize, InChannels: 3, NumClasses: 10}
	if err := cfg.Validate(); err != nil {
		return Result{}, err
	}
	rng := rand.New(rand.NewPCG(1, 1))
	images := make([]float32, c.Batch*c.InputSize*c.InputSize)
	for i := range images {
		images[i] = float32(rng.NormFloat64())
	}
	labels := make([]int32, c.Batch)
	for i := range labels {
		labels[i] = int32(rng.IntN(10))
	}
	ctx := context.New()
	ctx.SetParam(optimizers.ParamLearningRate, 0.01)
	var losses []float64
	var step func() error
	var err error
	switch c.Kind {
	case "train":
		step, err = trainStep(b, ctx, cfg, c, images, labels, &losses)
	case "infer":
		step, err = inferStep(b, ctx, cfg, c, images)
	case "recon":
		step, err = reconStep(b, ctx, cfg, c, images)
	default:
		return Result{}, fmt.Errorf("unknown benchmark kind %q", c.Kind)
	}
	if err != nil {
		return Result{}, err
	}
	// Two warm-up steps: the first compiles, the second still pays for first-touch memory and starting workers.
	start := time.Now()
	if err := step(); err != nil {
		return Result{}, fmt.Errorf("%s: %w", c, err)
	}
	warm := time.Since(start).Seconds()
	if err := step(); err != nil {
		return Result{}, err
	}
	cpu0 := CPUSeconds()
	start = time.Now()
	steps := 0
	for steps < c.Steps || time.Since(start).Seconds() < c.MinSeconds {
		if err := step(); err != nil {
			return Result{}, err
		}
		steps++
	}
	wall := time.Since(start).Seconds()
	per := wall / float64(steps)
	r := Result{Case: c, Backend: b.Name(), SecondsStep: per, ImagesPerSec: float64(c.Batch) / per,
		CompileSec: warm, PeakRSSMiB: PeakRSSMiB(), Cores: (CPUSeconds() - cpu0) / wall}
	if len(losses) > 0 {
		r.FirstLoss, r.LastLoss = losses[0], losses[len(losses)-1]
	}
	return r, nil
}

// trainStep is one SGD step of the classifier on the batch; the step appends its loss to losses.
func trainStep(b backends.Backend, ctx *context.Context, cfg models.VGGConfig, c Case, images []float32, labels []int32,
	losses *[]float64) (func() error, error) {
	exec, err := context.NewExec(b, ctx, func(ctx *context.Context, x, y *Node) *Node {
		ctx.SetTraining(x.Graph(), true)
		loss := models.CrossEntropy(models.Classifier(ctx, cfg, x), y)
		optimizers.StochasticGradientDescent().Done().UpdateGraph(ctx, x.Graph(), loss)
		return loss
	})
	if err != nil {
		return nil, err
	}
	return func() error {
		out, err := exec.Exec(tensors.FromFlatDataAndDimensions(images, c.Batch, c.InputSize, c.InputSize, 1), tensors.FromValue(labels))
		if err == nil {
			*losses = append(*losses, float64(tensors.MustCopyFlatData[float32](out[0])[0]))
		}
		return err
	}, nil
}

// inferStep is one forward pass of the classifier in evaluation mode.
func inferStep(b backends.Backend, ctx *context.Context, cfg models.VGGConfig, c Case, images []float32) (func() error, error) {
	exec, err := context.NewExec(b, ctx, func(ctx *context.Context, x *Node) *Node {
		return ArgMax(models.Classifier(ctx, cfg, x), -1)
	})
	if err != nil {
		return nil, err
	}
	return func() error {
		_, err := exec.Exec(tensors.FromFlatDataAndDimensions(images, c.Batch, c.InputSize, c.InputSize, 1))
		return err
	}, nil
}

// reconStep is one step of the constrained reconstruction: the gradient of ||f(x) − f(x₀)||² with respect to the
// image, f = the shared block up to conv3_1 (evaluation mode), for a batch of one image.
func reconStep(b backends.Backend, ctx *context.Context, cfg models.VGGConfig, c Case, images []float32) (func() error, error) {
	exec, err := context.NewExec(b, ctx, func(ctx *context.Context, x, t *Node) *Node {
		f := models.SharedBlock(ctx, cfg, x)
		loss := ReduceAllMean(Square(Sub(f, t)))
		return Gradient(loss, x)[0]
	})
	if err != nil {
		return nil, err
	}
	var shared models.Layer
	for _, l := range cfg.Layers(0) {
		if l.Name == "conv3_1" {
			shared = l
		}
	}
	target := make([]float32, c.Batch*shared.Size*shared.Size*shared.OutChannels)
	return func() error {
		_, err := exec.Exec(tensors.FromFlatDataAndDimensions(images, c.Batch, c.InputSize, c.InputSize, 1),
			tensors.FromFlatDataAndDimensions(target, c.Batch, shared.Size, shared.Size, shared.OutChannels))
		return err
	}, nil
}

// CPUSeconds is the CPU time (user and system) the process has used so far.
func CPUSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

// PeakRSSMiB is the process's peak resident set size (VmHWM) in MiB, or 0 where /proc is not available.
func PeakRSSMiB() float64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			f := strings.Fields(line)
			if len(f) >= 2 {
				kb, _ := strconv.ParseFloat(f[1], 64)
				return kb / 1024
			}
		}
	}
	return 0
}
