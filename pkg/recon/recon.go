// Package recon implements the paper's Section 4 analysis of what the networks' representations keep: an image is
// reconstructed from a layer's activations (conv3_1, the end of the shared block, by default) by minimising
// ||f(x) − f(x₀)||² under an L2 norm constraint, with projected gradient steps as the authors' reconstruction code
// (SPEC §5.1); and the spectral control, the reconstruction's amplitude spectrum on the original's phase (SPEC §5.2).
package recon

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"

	"github.com/robustvision/cotrain/pkg/imgproc"
	"github.com/robustvision/cotrain/pkg/models"
	"github.com/robustvision/cotrain/pkg/train"
)

// Optimizer is the reconstruction's optimiser.
type Optimizer string

// The paper's two optimisers: SGD (lr 5) for the MTL models, Adam (lr 0.01) for Baseline and Oracle.
const (
	SGD  Optimizer = "sgd"
	Adam Optimizer = "adam"
)

// Config is one reconstruction setting.
type Config struct {
	Layer        string    // the layer whose activations are matched (default conv3_1)
	Steps        int       // gradient steps (8000 in the paper)
	Optimizer    Optimizer // sgd or adam
	LearningRate float64
	BlurSigma    float64 // Gaussian blur of the gradient before each step (σ = 1 in the authors' code; 0: none)
	Sphere       bool    // rescale to exactly the radius after every step (the authors' ChangeNorm) instead of projecting onto the ball
	Seed         uint64  // the random initialisation
	LogEvery     int     // record the loss every this many steps (0: 100)
}

// PaperConfig is the paper's setting for a model (SPEC §9): SGD lr 5 for the multi-task models, Adam lr 0.01 for
// the others; 8000 steps, gradient blur σ = 1, projection onto the ball.
func PaperConfig(multiTask bool) Config {
	c := Config{Layer: "conv3_1", Steps: 8000, Optimizer: Adam, LearningRate: 0.01, BlurSigma: 1, Seed: 1000}
	if multiTask {
		c.Optimizer, c.LearningRate = SGD, 5
	}
	return c
}

// PaperNorms are the nine norm constraints of Fig. 10 (the figures show 5, 15 and 60).
var PaperNorms = []float64{5, 10, 15, 20, 30, 40, 60, 80, 100}

// Problem is one reconstruction: a target image in the model's input units (grey, H×W, normalised) and the radius
// of the norm constraint. The radius is in the units of the authors' input tensor, in which the grey image is
// repeated into 3 channels: a grey image x has that norm √3·||x||.
type Problem struct {
	Target []float32
	Radius float64
}

// Result holds the reconstructions of a batch of problems.
type Result struct {
	Images  [][]float32 // H×W, model input units
	Loss    []float64   // final ||f(x) − f(x₀)||² (mean over the layer's units)
	Initial []float64   // the loss at the (projected) random initialisation
	Norm    []float64   // final norm (3-channel units)
	MaxNorm []float64   // the largest norm after any step: never above the radius
	Curve   [][]float64 // loss every LogEvery steps
	Steps   int
	Seconds float64
}

// Reconstruct solves the problems together, one graph for the batch (batch norm in evaluation mode makes the images
// independent). progress, if not nil, is called every LogEvery steps.
func Reconstruct(m *train.Model, problems []Problem, cfg Config, progress func(step int, loss []float64)) (*Result, error) {
	if len(problems) == 0 {
		return nil, fmt.Errorf("reconstruct: no problems")
	}
	if cfg.Layer == "" {
		cfg.Layer = "conv3_1"
	}
	if cfg.LogEvery <= 0 {
		cfg.LogEvery = 100
	}
	switch {
	case cfg.Steps < 1:
		return nil, fmt.Errorf("reconstruct: %d steps", cfg.Steps)
	case cfg.Optimizer != SGD && cfg.Optimizer != Adam:
		return nil, fmt.Errorf("reconstruct: optimizer %q: want sgd or adam", cfg.Optimizer)
	case cfg.LearningRate <= 0:
		return nil, fmt.Errorf("reconstruct: learning rate %v", cfg.LearningRate)
	}
	size := m.Info.Model.InputSize
	hw := size * size
	k := len(problems)
	targets := make([]float32, k*hw)
	radii := make([]float32, k)
	for i, p := range problems {
		if len(p.Target) != hw {
			return nil, fmt.Errorf("reconstruct: problem %d: %d pixels, the model takes %d×%d", i, len(p.Target), size, size)
		}
		if p.Radius <= 0 {
			return nil, fmt.Errorf("reconstruct: problem %d: radius %v", i, p.Radius)
		}
		copy(targets[i*hw:], p.Target)
		radii[i] = float32(p.Radius)
	}
	blur := blurMatrix(size, cfg.BlurSigma)
	ctx := m.Context()
	var layerErr error
	features := func(ctx *context.Context, x *Node) *Node {
		ctx.SetTraining(x.Graph(), false)
		f, err := models.Features(ctx, m.Info.Model, x, cfg.Layer)
		if err != nil {
			layerErr = err
			return x
		}
		return f
	}
	targetExec, err := context.NewExec(m.Backend(), ctx, features)
	if err != nil {
		return nil, err
	}
	r0, err := targetExec.Exec(tensors.FromFlatDataAndDimensions(targets, k, size, size, 1))
	if layerErr != nil {
		return nil, layerErr
	}
	if err != nil {
		return nil, err
	}
	step, err := context.NewExec(m.Backend(), ctx, func(ctx *context.Context, in []*Node) []*Node {
		x, target, radius, mom, vel, t := in[0], in[1], in[2], in[3], in[4], in[5]
		f := features(ctx, x)
		axes := make([]int, f.Rank()-1)
		for i := range axes {
			axes[i] = i + 1
		}
		loss := ReduceMean(Square(Sub(f, target)), axes...) // [k]
		g := Gradient(ReduceAllSum(loss), x)[0]
		if blur != nil {
			b := Const(x.Graph(), blur)
			g3 := Reshape(g, k, size, size)
			g3 = Einsum("hi,kiw->khw", b, g3)
			g3 = Einsum("khi,wi->khw", g3, b)
			g = Reshape(g3, k, size, size, 1)
		}
		var next *Node
		switch cfg.Optimizer {
		case SGD:
			next = Sub(x, MulScalar(g, cfg.LearningRate))
		default: // torch.optim.Adam: β = (0.9, 0.999), ε = 1e-8
			mom = Add(MulScalar(mom, 0.9), MulScalar(g, 0.1))
			vel = Add(MulScalar(vel, 0.999), MulScalar(Square(g), 0.001))
			c1 := OneMinus(Pow(Scalar(x.Graph(), x.DType(), 0.9), t))
			c2 := OneMinus(Pow(Scalar(x.Graph(), x.DType(), 0.999), t))
			stepSize := Div(Div(mom, c1), AddScalar(Sqrt(Div(vel, c2)), 1e-8))
			next = Sub(x, MulScalar(stepSize, cfg.LearningRate))
		}
		norm := MulScalar(Sqrt(ReduceSum(Square(next), 1, 2, 3)), math.Sqrt(3)) // [k], 3-channel units
		scale := Div(radius, Max(norm, Scalar(x.Graph(), x.DType(), 1e-12)))
		if !cfg.Sphere {
			scale = Min(scale, OnesLike(scale))
		}
		next = Mul(next, Reshape(scale, k, 1, 1, 1))
		return []*Node{next, mom, vel, loss, Mul(norm, scale)}
	})
	if err != nil {
		return nil, err
	}
	// Initialisation: standard normal noise (seeded, the authors' RandomNormal), projected onto the constraint so that
	// every iterate satisfies it (the authors project after the first step; the start is then feasible too).
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x7265636f6e)) // "recon"
	x0 := make([]float32, k*hw)
	for i := range k {
		img := x0[i*hw : (i+1)*hw]
		var sq float64
		for j := range img {
			img[j] = float32(rng.NormFloat64())
			sq += float64(img[j]) * float64(img[j])
		}
		scale := problems[i].Radius / math.Sqrt(3*sq)
		if !cfg.Sphere {
			scale = math.Min(scale, 1)
		}
		for j := range img {
			img[j] *= float32(scale)
		}
	}
	x := tensors.FromFlatDataAndDimensions(x0, k, size, size, 1)
	initial, err := targetExec.Exec(x)
	if err != nil {
		return nil, err
	}
	lossOf := func(f *tensors.Tensor) []float64 {
		fv, tv := tensors.MustCopyFlatData[float32](f), tensors.MustCopyFlatData[float32](r0[0])
		per := len(fv) / k
		out := make([]float64, k)
		for i := range k {
			var s float64
			for j := i * per; j < (i+1)*per; j++ {
				d := float64(fv[j] - tv[j])
				s += d * d
			}
			out[i] = s / float64(per)
		}
		return out
	}
	mom := tensors.FromFlatDataAndDimensions(make([]float32, k*hw), k, size, size, 1)
	vel := tensors.FromFlatDataAndDimensions(make([]float32, k*hw), k, size, size, 1)
	res := &Result{Steps: cfg.Steps, MaxNorm: make([]float64, k), Curve: make([][]float64, k), Initial: lossOf(initial[0])}
	start := time.Now()
	var loss []float64
	for s := 1; s <= cfg.Steps; s++ {
		out, err := step.Exec(x, r0[0], tensors.FromValue(radii), mom, vel, float32(s))
		if err != nil {
			return nil, err
		}
		x, mom, vel = out[0], out[1], out[2]
		loss = toFloat64(tensors.MustCopyFlatData[float32](out[3]))
		norms := toFloat64(tensors.MustCopyFlatData[float32](out[4]))
		for i, n := range norms {
			res.MaxNorm[i] = math.Max(res.MaxNorm[i], n)
		}
		res.Norm = norms
		if s%cfg.LogEvery == 0 || s == cfg.Steps {
			for i, l := range loss {
				res.Curve[i] = append(res.Curve[i], l)
			}
			if progress != nil {
				progress(s, loss)
			}
		}
	}
	// The loss of the final image (the step's loss was measured before its update).
	final, err := targetExec.Exec(x)
	if err != nil {
		return nil, err
	}
	res.Loss = lossOf(final[0])
	flat := tensors.MustCopyFlatData[float32](x)
	for i := range k {
		res.Images = append(res.Images, flat[i*hw:(i+1)*hw])
	}
	res.Seconds = time.Since(start).Seconds()
	return res, nil
}

func toFloat64(v []float32) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

// blurMatrix is the n×n matrix of a normalised Gaussian blur of standard deviation sigma truncated at 4σ (9 taps for
// σ = 1) with whole-sample symmetric padding (torch's "reflect", imgproc.Mirror); nil for sigma ≤ 0. Blurring rows and
// columns with it is the authors' separable gradient preconditioning (mei.legacy.ops.GaussianBlur).
func blurMatrix(n int, sigma float64) [][]float32 {
	if sigma <= 0 {
		return nil
	}
	taps := imgproc.GaussianKernel(sigma, 4)
	radius := len(taps) / 2
	m := make([][]float32, n)
	for i := range m {
		m[i] = make([]float32, n)
		for t, w := range taps {
			m[i][imgproc.Mirror.Index(i+t-radius, n)] += float32(w)
		}
	}
	return m
}
