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
