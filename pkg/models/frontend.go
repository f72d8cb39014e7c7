package models

import (
	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"

	"github.com/robustvision/cotrain/pkg/v1sim"
)

// FrontEndConfig is a fixed first stage made of the virtual monkey's own receptive fields, in place of conv1_1: the
// positive control of the findings, beyond the paper (the VOneNet idea, Dapello et al. 2020: a classifier whose first
// stage is a fixed model of V1). Its channels are the first Channels neurons of the simulated population
// (v1sim.FrontEndFilters with Seed: the recording's neurons, in order), each receptive field centred in a
// Kernel×Kernel kernel at PPD pixels per degree and applied at every position: simple cells the half-squared even
// Gabor, complex cells the quadrature energy, each divided by c50² plus itself plus the contrast energy of its
// normalisation pool (the cascade of pkg/v1sim, without the spontaneous and maximal rates). Its input contrast is the
// normalised image minus its mean (in units of the training set's standard deviation: for Fashion-MNIST within about
// a fifth of the luminance contrast (L − L̄)/L̄ the simulator uses). Noise adds, in training, Gaussian noise with the
// variance of Poisson spike counts in the recording's window at the population's median maximal rate. Its filters are
// variables that are not trained (they are in the checkpoint). The zero value means no front end.
type FrontEndConfig struct {
	Channels int     `json:"channels,omitempty"`
	Kernel   int     `json:"kernel,omitempty"`
	PPD      float64 `json:"ppd,omitempty"`
	Seed     uint64  `json:"seed,omitempty"`
	Noise    bool    `json:"noise,omitempty"`
}

// On reports whether the configuration has a front end.
func (f FrontEndConfig) On() bool { return f.Channels > 0 }

// frontEndCounts converts the front end's normalised rate r ∈ [0, 1) into spike counts for its noise: the
// population's median maximal rate over the recording's 120 ms window.
var frontEndCounts = v1sim.DefaultPopulation.MaxRateMedian * 0.120

// frontEnd runs the fixed V1 front end on images x [batch, H, W, 1] and returns rates [batch, H, W, Channels].
func frontEnd(ctx *context.Context, f FrontEndConfig, x *Node) *Node {
	g := x.Graph()
	fb := v1sim.FrontEndFilters(v1sim.DefaultPopulation, f.Channels, f.Seed, f.PPD, f.Kernel)
	k, c := f.Kernel, f.Channels
	kernel := func(name string, rows [][]float64) *Node {
		flat := make([]float32, k*k*c)
		for ch, r := range rows {
			for i, v := range r {
				flat[i*c+ch] = float32(v) // [k, k, 1, c], channels last
			}
		}
		return fixed(ctx, name, tensors.FromFlatDataAndDimensions(flat, k, k, 1, c), g)
	}
	perChannel := func(name string, v []float32) *Node {
		return Reshape(fixed(ctx, name, tensors.FromFlatDataAndDimensions(v, c), g), 1, 1, 1, c)
	}
	simple, c50sq := make([]float32, c), make([]float32, c)
	for i := range c {
		if fb.Simple[i] {
			simple[i] = 1
		}
		c50sq[i] = float32(fb.C50[i] * fb.C50[i])
	}
	s := Sub(x, ReduceAndKeep(x, ReduceMean, 1, 2)) // contrast: the image minus its mean
	conv := func(in, kern *Node) *Node { return Convolve(in, kern).StridePerAxis(1, 1).PadSame().Done() }
	even, odd := conv(s, kernel("even", fb.Even)), conv(s, kernel("odd", fb.Odd))
	pool := conv(Square(s), kernel("pool", fb.Pool))
	isSimple := perChannel("simple", simple)
	halfSquared := Square(Max(even, ZerosLike(even)))
	energy := Add(Square(even), Square(odd))
	drive := Add(Mul(isSimple, halfSquared), Mul(OneMinus(isSimple), energy))
	r := Div(drive, Add(Add(perChannel("c50_squared", c50sq), drive), MulScalar(pool, fb.NormWeight)))
	if f.Noise && ctx.IsTraining(g) {
		std := Sqrt(DivScalar(Max(r, ZerosLike(r)), frontEndCounts))
		r = Add(r, Mul(std, ctx.RandomNormal(g, r.Shape())))
	}
	return r
}

// fixed is a variable that is not trained, initialised with value (the front end's filters).
func fixed(ctx *context.Context, name string, value *tensors.Tensor, g *Graph) *Node {
	v := ctx.VariableWithValue(name, value).SetTrainable(false)
	return v.ValueGraph(g)
}
