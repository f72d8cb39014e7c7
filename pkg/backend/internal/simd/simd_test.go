package simd

import (
	"math"
	"math/rand/v2"
	"testing"
)

// Every function against the Go expression it replaces, bit for bit, on random values mixed with the special ones
// (±0, ±Inf, NaN, subnormals), at lengths that exercise the vector part and the tail, in place and not.
func TestMatchesGo(t *testing.T) {
	if !Available {
		t.Log("no AVX2 here: only the Go loops are checked")
	}
	rng := rand.New(rand.NewPCG(1, 2))
	special := []float32{0, float32(math.Copysign(0, -1)), float32(math.Inf(1)), float32(math.Inf(-1)),
		float32(math.NaN()), 1e-40, -1e-40, 1, -1}
	value := func() float32 {
		if rng.IntN(4) == 0 {
			return special[rng.IntN(len(special))]
		}
		return float32(rng.NormFloat64() * math.Exp(3*rng.NormFloat64()))
	}
	same := func(x, y float32) bool { return math.Float32bits(x) == math.Float32bits(y) || (x != x && y != y) }
	binaries := map[string]struct {
		f   func(d, a, b []float32)
		ref func(a, b float32) float32
	}{
		"Add": {Add, func(a, b float32) float32 { return a + b }},
		"Sub": {Sub, func(a, b float32) float32 { return a - b }},
		"Mul": {Mul, func(a, b float32) float32 { return a * b }},
		"Div": {Div, func(a, b float32) float32 { return a / b }},
		"Max": {Max, func(a, b float32) float32 { return max(a, b) }},
		"Min": {Min, func(a, b float32) float32 { return min(a, b) }},
	}
	unaries := map[string]struct {
		f   func(d, a []float32)
		ref func(a float32) float32
	}{
		"Sqrt": {Sqrt, func(a float32) float32 { return float32(math.Sqrt(float64(a))) }},
		"Neg":  {Neg, func(a float32) float32 { return -a }},
		"Sign": {Sign, func(a float32) float32 {
			switch {
			case a > 0:
				return 1
			case a < 0:
				return -1
			}
			return 0
		}},
	}
	for _, n := range []int{0, 1, 7, 8, 9, 31, 64, 1000} {
		a, b, d := make([]float32, n), make([]float32, n), make([]float32, n)
		for i := range a {
			a[i], b[i] = value(), value()
		}
		for name, op := range binaries {
			op.f(d, a, b)
			for i := range d {
				if want := op.ref(a[i], b[i]); !same(d[i], want) {
					t.Fatalf("%s(%v, %v) = %v, Go: %v", name, a[i], b[i], d[i], want)
				}
			}
			c := append([]float32(nil), a...)
			op.f(c, c, b) // in place
			for i := range c {
				if want := op.ref(a[i], b[i]); !same(c[i], want) {
					t.Fatalf("%s in place (%v, %v) = %v, Go: %v", name, a[i], b[i], c[i], want)
				}
			}
		}
		for name, op := range unaries {
			op.f(d, a)
			for i := range d {
				if want := op.ref(a[i]); !same(d[i], want) {
					t.Fatalf("%s(%v) = %v, Go: %v", name, a[i], d[i], want)
				}
			}
		}
	}
}

func BenchmarkAdd(b *testing.B) {
	x, y, d := make([]float32, 2048), make([]float32, 2048), make([]float32, 2048)
	for range b.N {
		Add(d, x, y)
	}
}

// Scatter2x2 against the rule it implements, with ties, NaNs and both directions.
func TestScatter2x2(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{1, 8, 13, 64} {
		for _, isMax := range []bool{true, false} {
			x := make([][]float32, 4)
			for k := range x {
				x[k] = make([]float32, n)
				for c := range n {
					x[k][c] = float32(rng.IntN(3)) // many ties
					if rng.IntN(20) == 0 {
						x[k][c] = float32(math.NaN())
					}
				}
			}
			g := make([]float32, n)
			for c := range g {
				g[c] = float32(rng.NormFloat64())
			}
			y := [4][]float32{make([]float32, n), make([]float32, n), make([]float32, n), make([]float32, n)}
			Scatter2x2(y[0], y[1], y[2], y[3], x[0], x[1], x[2], x[3], g, isMax)
			for c := range n {
				best, at := x[0][c], 0
				for k := 1; k < 4; k++ {
					if v := x[k][c]; (isMax && v > best) || (!isMax && v < best) {
						best, at = v, k
					}
				}
				for k := range 4 {
					want := float32(0)
					if k == at {
						want = g[c]
					}
					if y[k][c] != want {
						t.Fatalf("n %d max %v channel %d pixel %d: %v, want %v (x %v %v %v %v)", n, isMax, c, k,
							y[k][c], want, x[0][c], x[1][c], x[2][c], x[3][c])
					}
				}
			}
		}
	}
}

// NarrowProduct against a float64 product (FMA ordering differs from a naive float32 loop by roundings only).
func TestNarrowProduct(t *testing.T) {
	if !hasFMA {
		t.Skip("no AVX2+FMA here")
	}
	rng := rand.New(rand.NewPCG(5, 6))
	for _, n := range []int{4, 8, 16} {
		for _, m := range []int{1, 7, 8, 9, 33, 200} {
			for _, k := range []int{1, 3, 9, 36, 145} {
				a, b, c := make([]float32, m*k), make([]float32, k*n), make([]float32, m*n)
				for i := range a {
					a[i] = float32(rng.NormFloat64())
				}
				for i := range b {
					b[i] = float32(rng.NormFloat64())
				}
				for i := range c {
					c[i] = float32(math.NaN()) // every element must be written
				}
				if !NarrowProduct(m, n, k, a, b, c) {
					t.Fatalf("n %d refused", n)
				}
				for i := range m {
					for j := range n {
						var want, mag float64
						for kk := range k {
							want += float64(a[i*k+kk]) * float64(b[kk*n+j])
							mag += math.Abs(float64(a[i*k+kk]) * float64(b[kk*n+j]))
						}
						if d := math.Abs(float64(c[i*n+j]) - want); !(d <= 1e-6*mag*float64(k)+1e-6) {
							t.Fatalf("m %d n %d k %d: c[%d,%d] = %v, want %v", m, n, k, i, j, c[i*n+j], want)
						}
					}
				}
			}
		}
	}
	if NarrowProduct(2, 5, 3, make([]float32, 6), make([]float32, 15), make([]float32, 10)) {
		t.Error("n = 5 must be refused")
	}
}
