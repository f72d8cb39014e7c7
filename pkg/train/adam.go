package train

import (
	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint
)

// AdamStep is one update of torch.optim.Adam (betas (0.9, 0.999), eps 1e-8, no weight decay) of p with gradient g
// at step t (from 1, a scalar of p's dtype), given the moment estimates m and v (zeros before the first step):
//
//	m = 0.9·m + 0.1·g;  v = 0.999·v + 0.001·g²;  p = p − lr·(m / (1 − 0.9ᵗ)) / (√(v / (1 − 0.999ᵗ)) + 1e-8)
//
// It returns the new p, m and v. The reconstructions of Section 4 use it on the image (Adam lr 0.01 for the
// Baseline and the Oracle); TorchAdam is the same update for a model's variables.
func AdamStep(p, g, m, v, t *Node, lr float64) (next, m2, v2 *Node) {
	m2 = Add(MulScalar(m, 0.9), MulScalar(g, 0.1))
	v2 = Add(MulScalar(v, 0.999), MulScalar(Square(g), 0.001))
	c1 := OneMinus(Pow(Scalar(p.Graph(), p.DType(), 0.9), t))
	c2 := OneMinus(Pow(Scalar(p.Graph(), p.DType(), 0.999), t))
	step := Div(Div(m2, c1), AddScalar(Sqrt(Div(v2, c2)), 1e-8))
	return Sub(p, MulScalar(step, lr)), m2, v2
}
