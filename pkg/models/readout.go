package models

import (
	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/context/initializers"
)

// GaussianReadout is the authors' legacy Gaussian2d readout for one recording session (paper, Section 2 and Fig. 1;
// Lurz et al. 2021): for each of n neurons a position μ ∈ [−1, 1]² (initialised U(−0.3, 0.3)), a standard deviation σ
// per axis (U(0, 0.6)), one weight per channel (1/C) and a bias. In training every image samples its own position μ +
// σ·ε (ε ~ N(0, 1), clipped to [−1, 1]); in evaluation the position is μ. The core's features are sampled there
// bilinearly (BilinearSample), weighted, summed and passed through ELU(y − 1) + 1.
//
// The authors clamp μ to [−1, 1] and σ to ≥ 0 in place before every forward pass; here the clamped values are used
// in the forward pass with an identity gradient and written back to the variables in training, which is the same.
// core is [batch, height, width, channels]; the result is [batch, n]. biasInit, if not nil, initialises the biases
// (the authors use the mean response of the first training batch).
func GaussianReadout(ctx *context.Context, core *Node, n int, biasInit []float32) *Node {
	g := core.Graph()
	dt := core.DType()
	batch, c := core.Shape().Dimensions[0], core.Shape().Dimensions[3]
	muVar := ctx.WithInitializer(initializers.RandomUniformFn(ctx, -0.3, 0.3)).VariableWithShape("mu", shapes.Make(dt, n, 2))
	sigmaVar := ctx.WithInitializer(initializers.RandomUniformFn(ctx, 0, 0.6)).VariableWithShape("sigma", shapes.Make(dt, n, 2))
	features := ctx.WithInitializer(func(g *Graph, s shapes.Shape) *Node {
		return MulScalar(Ones(g, s), 1/float64(c))
	}).VariableWithShape("features", shapes.Make(dt, c, n)).ValueGraph(g)
	biasInitializer := initializers.Zero
	if biasInit != nil {
		biasInitializer = func(g *Graph, s shapes.Shape) *Node { return ConvertDType(Const(g, biasInit), s.DType) }
	}
	bias := ctx.WithInitializer(biasInitializer).VariableWithShape("bias", shapes.Make(dt, n)).ValueGraph(g)

	clampWithIdentityGrad := func(x, clamped *Node) *Node { return Add(x, StopGradient(Sub(clamped, x))) }
	mu := muVar.ValueGraph(g)
	muC := ClipScalar(mu, -1, 1)
	sigma := sigmaVar.ValueGraph(g)
	sigmaC := Max(sigma, ZerosLike(sigma))
	training := ctx.IsTraining(g)
	if training {
		muVar.SetValueGraph(muC)
		sigmaVar.SetValueGraph(sigmaC)
	}
	mu, sigma = clampWithIdentityGrad(mu, muC), clampWithIdentityGrad(sigma, sigmaC)
	pos := BroadcastToDims(Reshape(mu, 1, n, 2), batch, n, 2)
	if training {
		eps := ctx.RandomNormal(g, shapes.Make(dt, batch, n, 2))
		pos = ClipScalar(Add(Mul(eps, Reshape(sigma, 1, n, 2)), pos), -1, 1)
	}
	sampled := BilinearSample(core, pos)                                         // [B, n, C]
	y := ReduceSum(Mul(sampled, Reshape(Transpose(features, 0, 1), 1, n, c)), 2) // [B, n]
	y = Add(y, Reshape(bias, 1, n))
	return PositiveResponse(y)
}

// PositiveResponse is the readout's output nonlinearity ELU(y − 1) + 1: positive firing rates, linear above 1.
func PositiveResponse(y *Node) *Node { return AddScalar(ELU(AddScalar(y, -1)), 1) }

// PoissonLoss is the per-element Poisson negative log-likelihood of firing rates pred for counts y, up to a term
// that does not depend on pred: pred − y·log(pred + 1e-12) (PyTorch's PoissonNLLLoss with log_input=False, which
// the authors use).
func PoissonLoss(pred, y *Node) *Node { return Sub(pred, Mul(y, Log(AddScalar(pred, 1e-12)))) }

// ELU is exp(x) − 1 for x ≤ 0 and x otherwise, written with Exp (GoMLX v0.26 has no gradient for Expm1).
func ELU(x *Node) *Node {
	return Where(GreaterThan(x, ZerosLike(x)), x, AddScalar(Exp(Min(x, ZerosLike(x))), -1))
}
