package recon

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
)

// Quadratic2D is the toy problem behind the paper's Fig. 4: a loss L(x) = ½(x − x₀)ᵀH(x − x₀) in two dimensions
// with an anisotropic Hessian H, minimised under ||x|| ≤ r. Directions of high curvature (large eigenvalues of H)
// cost more to leave unmatched, so a tight norm budget is spent on them first: the constrained optimum
// (H + γI)⁻¹Hx₀ turns from x₀ towards the high-curvature eigen-direction as r shrinks. A network's reconstruction
// under a norm constraint likewise keeps what its representation is most sensitive to.
type Quadratic2D struct {
	H  *mat.SymDense // 2×2, positive definite
	X0 [2]float64    // the unconstrained optimum
}

// Loss is L(x).
func (q Quadratic2D) Loss(x [2]float64) float64 {
	d := mat.NewVecDense(2, []float64{x[0] - q.X0[0], x[1] - q.X0[1]})
	return 0.5 * mat.Inner(d, q.H, d)
}

// Optimum returns the constrained optimum for radius r and its Lagrange multiplier γ: x₀ itself (γ = 0) when
// ||x₀|| ≤ r, else x(γ) = (H + γI)⁻¹Hx₀ with γ > 0 found by bisection so that ||x(γ)|| = r (||x(γ)|| falls
// monotonically in γ).
func (q Quadratic2D) Optimum(r float64) ([2]float64, float64, error) {
	if r <= 0 {
		return [2]float64{}, 0, fmt.Errorf("radius %v: want > 0", r)
	}
	if math.Hypot(q.X0[0], q.X0[1]) <= r {
		return q.X0, 0, nil
	}
	lo, hi := 0.0, 1.0
	for norm(q.at(hi)) > r {
		hi *= 2
		if hi > 1e12 {
			return [2]float64{}, 0, fmt.Errorf("no multiplier found for radius %v", r)
		}
	}
	for range 200 {
		mid := (lo + hi) / 2
		if norm(q.at(mid)) > r {
			lo = mid
		} else {
			hi = mid
		}
	}
	g := (lo + hi) / 2
	return q.at(g), g, nil
}

// at is (H + γI)⁻¹Hx₀.
func (q Quadratic2D) at(gamma float64) [2]float64 {
	var a mat.Dense
	a.Add(q.H, mat.NewDiagDense(2, []float64{gamma, gamma}))
	var hx mat.VecDense
	hx.MulVec(q.H, mat.NewVecDense(2, q.X0[:]))
	var x mat.VecDense
	if err := x.SolveVec(&a, &hx); err != nil {
		return [2]float64{math.NaN(), math.NaN()}
	}
	return [2]float64{x.AtVec(0), x.AtVec(1)}
}

// Path returns the constrained optima for n radii from 0 to ||x₀||: the curve the optimum follows as the budget
// grows.
func (q Quadratic2D) Path(n int) [][2]float64 {
	top := norm(q.X0)
	var out [][2]float64
	for i := 1; i <= n; i++ {
		if x, _, err := q.Optimum(top * float64(i) / float64(n)); err == nil {
			out = append(out, x)
		}
	}
	return append([][2]float64{{0, 0}}, out...)
}

// Eigen returns H's eigenvalues (ascending) and unit eigenvectors.
func (q Quadratic2D) Eigen() ([2]float64, [2][2]float64, error) {
	var e mat.EigenSym
	if !e.Factorize(q.H, true) {
		return [2]float64{}, [2][2]float64{}, fmt.Errorf("eigen-decomposition of H failed")
	}
	vals := e.Values(nil)
	var vecs mat.Dense
	e.VectorsTo(&vecs)
	return [2]float64{vals[0], vals[1]}, [2][2]float64{{vecs.At(0, 0), vecs.At(1, 0)}, {vecs.At(0, 1), vecs.At(1, 1)}}, nil
}

// ProjectedGradient minimises L on the ball of radius r by projected gradient descent from the origin (the method
// the reconstructions use), for comparison with the closed form.
func (q Quadratic2D) ProjectedGradient(r, lr float64, steps int) [2]float64 {
	x := [2]float64{}
	for range steps {
		d := mat.NewVecDense(2, []float64{x[0] - q.X0[0], x[1] - q.X0[1]})
		var g mat.VecDense
		g.MulVec(q.H, d)
		x[0] -= lr * g.AtVec(0)
		x[1] -= lr * g.AtVec(1)
		if n := norm(x); n > r {
			x[0], x[1] = x[0]*r/n, x[1]*r/n
		}
	}
	return x
}

func norm(x [2]float64) float64 { return math.Hypot(x[0], x[1]) }

// Fig4Norms are the norm constraints drawn in Fig. 4: the optimum moves from the high-curvature direction towards
// the unconstrained optimum as the budget grows.
var Fig4Norms = []float64{0.75, 1.5, 2.5}

// Fig4Problem is the toy problem of the figure: curvature 10 along the direction at 30° and 1 across it, with the
// unconstrained optimum at (1, 3), between the two eigen-directions.
func Fig4Problem() Quadratic2D {
	c, s := math.Cos(math.Pi/6), math.Sin(math.Pi/6)
	r := mat.NewDense(2, 2, []float64{c, -s, s, c})
	d := mat.NewDiagDense(2, []float64{10, 1})
	var rd, h mat.Dense
	rd.Mul(r, d)
	h.Mul(&rd, r.T())
	sym := mat.NewSymDense(2, []float64{h.At(0, 0), (h.At(0, 1) + h.At(1, 0)) / 2, (h.At(0, 1) + h.At(1, 0)) / 2, h.At(1, 1)})
	return Quadratic2D{H: sym, X0: [2]float64{1, 3}}
}
