// Package recon reconstructs images from a layer's activations under an L2 norm constraint (Section 4), with the
// spectral control and the toy quadratic behind Figure 4.
//
// An image is reconstructed from a layer's activations (conv3_1, the end of the shared block, by default) by
// minimising ||f(x) − f(x₀)||² under ‖x‖ ≤ norm, with projected gradient steps as the authors' reconstruction code;
// the spectral control puts the reconstruction's amplitude spectrum on the original's phase.
package recon

import (
	stdcontext "context"
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

// PaperConfig is the paper's setting for a model (Section 4): SGD lr 5 for the multi-task models, Adam lr 0.01 for
// the others; 8000 steps, gradient blur σ = 1, projection onto the ball.
func PaperConfig(multiTask bool) Config {
	c := Config{Layer: "conv3_1", Steps: 8000, Optimizer: Adam, LearningRate: 0.01, BlurSigma: 1, Seed: 1000}
	if multiTask {
		c.Optimizer, c.LearningRate = SGD, 5
	}
	return c
}

// PaperNorms are nine norm constraints for the paper's 64×64 inputs. The paper shows nine (Fig. 10) and names three,
// 5, 15 and 60 (Fig. 5); the other six are this project's choice, around the authors' code's demo sweep (5, 10, 20,
// 40, 60).
var PaperNorms = []float64{5, 10, 15, 20, 30, 40, 60, 80, 100}

// NormsFor maps the paper's norm constraints to images of size×size: an image with the same statistics per pixel
// has a norm proportional to the square root of its number of pixels, so the constraints scale by size/64 (at 32×32
// they halve: 2.5 … 50). The same fraction of an image's energy is then allowed at every scale.
func NormsFor(size int) []float64 {
	out := make([]float64, len(PaperNorms))
	for i, n := range PaperNorms {
		out[i] = NormFor(n, size)
	}
	return out
}

// NormFor maps one of the paper's norm constraints (for 64×64 inputs) to images of size×size, as NormsFor does.
func NormFor(paper float64, size int) float64 { return paper * float64(size) / 64 }

// Problem is one reconstruction: a target image in the model's input units (grey, H×W, normalised) and the norm
// constraint ‖x‖ ≤ Norm. Norms are in the units of the authors' input tensor, in which the grey image is repeated
// into the network's input channels (InputNorm).
type Problem struct {
	Target []float32
	Norm   float64
}

// Result holds the reconstructions of a batch of problems.
type Result struct {
	Images    [][]float32 // H×W, model input units
	Loss      []float64   // final ||f(x) − f(x₀)||² (mean over the layer's units)
	Initial   []float64   // the loss at the (projected) random initialisation
	FinalNorm []float64   // the final image's norm (InputNorm)
	MaxNorm   []float64   // the largest norm after any step: never above the constraint
	Curve     [][]float64 // loss every LogEvery steps
	Steps     int
	Seconds   float64
}

// InputNorm is the norm of a grey image x in the units of the network's input: the image repeated into c channels
// has norm √c·‖x‖ (the authors' 3-channel tensor: √3·‖x‖).
func InputNorm(x []float32, channels int) float64 {
	var sq float64
	for _, v := range x {
		sq += float64(v) * float64(v)
	}
	return math.Sqrt(float64(channels) * sq)
}

// validate fills the defaults of cfg and checks it.
func (cfg *Config) validate() error {
	if cfg.Layer == "" {
		cfg.Layer = "conv3_1"
	}
	if cfg.LogEvery <= 0 {
		cfg.LogEvery = 100
	}
	switch {
	case !models.IsLayer(cfg.Layer):
		return fmt.Errorf("reconstruct: layer %q: want one of %v", cfg.Layer, models.LayerNames())
	case cfg.Steps < 1:
		return fmt.Errorf("reconstruct: %d steps", cfg.Steps)
	case cfg.Optimizer != SGD && cfg.Optimizer != Adam:
		return fmt.Errorf("reconstruct: optimizer %q: want sgd or adam", cfg.Optimizer)
	case cfg.LearningRate <= 0:
		return fmt.Errorf("reconstruct: learning rate %v", cfg.LearningRate)
	}
	return nil
}

// Reconstructor reconstructs images from one model's activations. Its two graphs — the layer's activations, and one
// projected gradient step — are compiled once and take the batch of problems and their norm constraints as inputs:
// any batch and any norms run without rebuilding anything (the notebook's slider).
type Reconstructor struct {
	m        *train.Model
	cfg      Config
	size     int
	channels int
	features *context.Exec
	step     *context.Exec
}

// NewReconstructor prepares the reconstructions of cfg's layer of m.
func NewReconstructor(m *train.Model, cfg Config) (*Reconstructor, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	r := &Reconstructor{m: m, cfg: cfg, size: m.Info.Model.InputSize, channels: m.Info.Model.InChannels}
	var err error
	if r.features, err = context.NewExec(m.Backend(), m.Context(), r.layer); err != nil {
		return nil, err
	}
	if r.step, err = context.NewExec(m.Backend(), m.Context(), r.stepGraph); err != nil {
		return nil, err
	}
	return r, nil
}

// layer is the graph of the layer's activations, in evaluation mode.
func (r *Reconstructor) layer(ctx *context.Context, x *Node) *Node {
	ctx.SetTraining(x.Graph(), false)
	f, err := models.Features(ctx, r.m.Info.Model, x, r.cfg.Layer)
	if err != nil {
		panic(err) // the layer was checked in NewReconstructor
	}
	return f
}

// stepGraph is one step for a batch of k images x [k, H, W, 1]: the gradient of each image's loss, blurred (the
// authors' preconditioning), an SGD or Adam step, and the projection onto each image's norm constraint. Inputs: x,
// the target activations, the norms [k], Adam's moments and the step number; outputs: the new x and moments, the
// loss of x and the new norm.
func (r *Reconstructor) stepGraph(ctx *context.Context, in []*Node) []*Node {
	x, target, norms, mom, vel, t := in[0], in[1], in[2], in[3], in[4], in[5]
	k := x.Shape().Dimensions[0]
	f := r.layer(ctx, x)
	axes := make([]int, f.Rank()-1)
	for i := range axes {
		axes[i] = i + 1
	}
	loss := ReduceMean(Square(Sub(f, target)), axes...) // [k]
	g := Gradient(ReduceAllSum(loss), x)[0]
	if blur := blurMatrix(r.size, r.cfg.BlurSigma); blur != nil {
		b := Const(x.Graph(), blur)
		g3 := Reshape(g, k, r.size, r.size)
		g3 = Einsum("hi,kiw->khw", b, g3)
		g3 = Einsum("khi,wi->khw", g3, b)
		g = Reshape(g3, k, r.size, r.size, 1)
	}
	var next *Node
	switch r.cfg.Optimizer {
	case SGD:
		next = Sub(x, MulScalar(g, r.cfg.LearningRate))
	default:
		next, mom, vel = train.AdamStep(x, g, mom, vel, t, r.cfg.LearningRate)
	}
	next, norm := r.project(next, norms)
	return []*Node{next, mom, vel, loss, norm}
}

// project scales each image onto its norm constraint: onto the ball ‖x‖ ≤ norm (the authors' ChangeNormConditional),
// or onto the sphere ‖x‖ = norm with Config.Sphere (ChangeNorm). It returns the images and their new norms.
func (r *Reconstructor) project(x, norms *Node) (*Node, *Node) {
	k := x.Shape().Dimensions[0]
	norm := MulScalar(Sqrt(ReduceSum(Square(x), 1, 2, 3)), math.Sqrt(float64(r.channels))) // [k], InputNorm
	scale := Div(norms, Max(norm, Scalar(x.Graph(), x.DType(), 1e-12)))
	if !r.cfg.Sphere {
		scale = Min(scale, OnesLike(scale))
	}
	return Mul(x, Reshape(scale, k, 1, 1, 1)), Mul(norm, scale)
}

// Solve reconstructs the problems together (batch norm in evaluation mode keeps the images independent), for steps
// steps (≤ 0: the configuration's). progress, if not nil, is called every LogEvery steps with the losses.
func (r *Reconstructor) Solve(problems []Problem, steps int, progress func(step int, loss []float64)) (*Result, error) {
	return r.SolveContext(stdcontext.Background(), problems, steps, progress)
}

// SolveContext is Solve that stops, with ctx's error, as soon as ctx is done (checked before every step): an
// interactive caller abandons a reconstruction that a newer request replaces.
func (r *Reconstructor) SolveContext(ctx stdcontext.Context, problems []Problem, steps int, progress func(step int, loss []float64)) (*Result, error) {
	if len(problems) == 0 {
		return nil, fmt.Errorf("reconstruct: no problems")
	}
	if steps <= 0 {
		steps = r.cfg.Steps
	}
	hw, k := r.size*r.size, len(problems)
	targets := make([]float32, k*hw)
	norms := make([]float32, k)
	for i, p := range problems {
		if len(p.Target) != hw {
			return nil, fmt.Errorf("reconstruct: problem %d: %d pixels, the model takes %d×%d", i, len(p.Target), r.size, r.size)
		}
		if !(p.Norm > 0) {
			return nil, fmt.Errorf("reconstruct: problem %d: norm constraint %v, want > 0", i, p.Norm)
		}
		copy(targets[i*hw:], p.Target)
		norms[i] = float32(p.Norm)
	}
	r0, err := r.features.Exec(tensors.FromFlatDataAndDimensions(targets, k, r.size, r.size, 1))
	if err != nil {
		return nil, err
	}
	x := tensors.FromFlatDataAndDimensions(r.initial(problems), k, r.size, r.size, 1)
	initial, err := r.features.Exec(x)
	if err != nil {
		return nil, err
	}
	res := &Result{Steps: steps, MaxNorm: make([]float64, k), Curve: make([][]float64, k),
		Initial: lossOf(initial[0], r0[0], k)}
	mom := tensors.FromFlatDataAndDimensions(make([]float32, k*hw), k, r.size, r.size, 1)
	vel := tensors.FromFlatDataAndDimensions(make([]float32, k*hw), k, r.size, r.size, 1)
	start := time.Now()
	for s := 1; s <= steps; s++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		out, err := r.step.Exec(x, r0[0], tensors.FromValue(norms), mom, vel, float32(s))
		if err != nil {
			return nil, err
		}
		x, mom, vel = out[0], out[1], out[2]
		res.FinalNorm = floats64(tensors.MustCopyFlatData[float32](out[4]))
		for i, n := range res.FinalNorm {
			res.MaxNorm[i] = math.Max(res.MaxNorm[i], n)
		}
		if s%r.cfg.LogEvery == 0 || s == steps {
			loss := floats64(tensors.MustCopyFlatData[float32](out[3]))
			for i, l := range loss {
				res.Curve[i] = append(res.Curve[i], l)
			}
			if progress != nil {
				progress(s, loss)
			}
		}
	}
	// The loss of the final image (a step's loss is measured before its update).
	final, err := r.features.Exec(x)
	if err != nil {
		return nil, err
	}
	res.Loss = lossOf(final[0], r0[0], k)
	flat := tensors.MustCopyFlatData[float32](x)
	for i := range k {
		res.Images = append(res.Images, flat[i*hw:(i+1)*hw])
	}
	res.Seconds = time.Since(start).Seconds()
	return res, nil
}

// Distance is the loss of a reconstruction: the mean squared difference between the layer's activations of images x
// and of targets (each H×W, model input units), per image.
func (r *Reconstructor) Distance(x, targets [][]float32) ([]float64, error) {
	if len(x) != len(targets) || len(x) == 0 {
		return nil, fmt.Errorf("distance: %d images and %d targets", len(x), len(targets))
	}
	hw := r.size * r.size
	flat := func(v [][]float32) (*tensors.Tensor, error) {
		out := make([]float32, 0, len(v)*hw)
		for i, img := range v {
			if len(img) != hw {
				return nil, fmt.Errorf("distance: image %d has %d pixels, the model takes %d×%d", i, len(img), r.size, r.size)
			}
			out = append(out, img...)
		}
		return tensors.FromFlatDataAndDimensions(out, len(v), r.size, r.size, 1), nil
	}
	xt, err := flat(x)
	if err != nil {
		return nil, err
	}
	tt, err := flat(targets)
	if err != nil {
		return nil, err
	}
	fx, err := r.features.Exec(xt)
	if err != nil {
		return nil, err
	}
	ft, err := r.features.Exec(tt)
	if err != nil {
		return nil, err
	}
	return lossOf(fx[0], ft[0], len(x)), nil
}

// initial is the starting point: standard normal noise (seeded, the authors' RandomNormal), projected onto each
// problem's constraint so that every iterate satisfies it (the authors project after the first step; the start is
// then feasible too).
func (r *Reconstructor) initial(problems []Problem) []float32 {
	hw := r.size * r.size
	rng := rand.New(rand.NewPCG(r.cfg.Seed, 0x7265636f6e)) // "recon"
	x0 := make([]float32, len(problems)*hw)
	for i, p := range problems {
		img := x0[i*hw : (i+1)*hw]
		for j := range img {
			img[j] = float32(rng.NormFloat64())
		}
		scale := p.Norm / InputNorm(img, r.channels)
		if !r.cfg.Sphere {
			scale = math.Min(scale, 1)
		}
		for j := range img {
			img[j] *= float32(scale)
		}
	}
	return x0
}

// lossOf is each image's mean squared difference between activations f and the targets' activations.
func lossOf(f, target *tensors.Tensor, k int) []float64 {
	fv, tv := tensors.MustCopyFlatData[float32](f), tensors.MustCopyFlatData[float32](target)
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

// Reconstruct solves problems on m with cfg: NewReconstructor, then Solve.
func Reconstruct(m *train.Model, problems []Problem, cfg Config, progress func(step int, loss []float64)) (*Result, error) {
	r, err := NewReconstructor(m, cfg)
	if err != nil {
		return nil, err
	}
	return r.Solve(problems, 0, progress)
}

func floats64(v []float32) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

// blurMatrix is the n×n matrix of a normalised Gaussian blur of standard deviation sigma truncated at 4σ (9 taps for
// σ = 1) with whole-sample symmetric padding (torch's "reflect", imgproc.Mirror); nil for sigma ≤ 0. Blurring rows
// and columns with it is the authors' separable gradient preconditioning (mei.legacy.ops.GaussianBlur).
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
