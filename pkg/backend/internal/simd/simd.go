// Package simd runs the executor's hottest float32 element-wise loops eight elements at a time (AVX2 assembly on
// amd64 CPUs that have it, Go loops elsewhere). Every function computes exactly what the Go loop computes, bit for
// bit: IEEE addition, subtraction, multiplication, division and square root are correctly rounded on both paths, and
// Max and Min follow Go's max and min (a NaN on either side gives NaN; max(−0, +0) = +0, min(−0, +0) = −0). Sign is
// +1, −1, or 0 for ±0 and NaN.
//
// Destination and operands have the same length; the destination may be one of the operands (the loops read each
// element before they write it), but must not otherwise overlap them.
package simd

import (
	"math"
	"unsafe"
)

func p(s []float32) *float32 { return unsafe.SliceData(s) }

// Add sets d = a + b.
func Add(d, a, b []float32) {
	a, b = a[:len(d)], b[:len(d)]
	m := vectorPart(len(d))
	if m > 0 {
		addF32(p(d), p(a), p(b), m)
	}
	for i := m; i < len(d); i++ {
		d[i] = a[i] + b[i]
	}
}

// Sub sets d = a − b.
func Sub(d, a, b []float32) {
	a, b = a[:len(d)], b[:len(d)]
	m := vectorPart(len(d))
	if m > 0 {
		subF32(p(d), p(a), p(b), m)
	}
	for i := m; i < len(d); i++ {
		d[i] = a[i] - b[i]
	}
}

// Mul sets d = a · b.
func Mul(d, a, b []float32) {
	a, b = a[:len(d)], b[:len(d)]
	m := vectorPart(len(d))
	if m > 0 {
		mulF32(p(d), p(a), p(b), m)
	}
	for i := m; i < len(d); i++ {
		d[i] = a[i] * b[i]
	}
}

// Div sets d = a / b.
func Div(d, a, b []float32) {
	a, b = a[:len(d)], b[:len(d)]
	m := vectorPart(len(d))
	if m > 0 {
		divF32(p(d), p(a), p(b), m)
	}
	for i := m; i < len(d); i++ {
		d[i] = a[i] / b[i]
	}
}

// Max sets d = max(a, b) (Go's max).
func Max(d, a, b []float32) {
	a, b = a[:len(d)], b[:len(d)]
	m := vectorPart(len(d))
	if m > 0 {
		maxF32(p(d), p(a), p(b), m)
	}
	for i := m; i < len(d); i++ {
		d[i] = max(a[i], b[i])
	}
}

// Min sets d = min(a, b) (Go's min).
func Min(d, a, b []float32) {
	a, b = a[:len(d)], b[:len(d)]
	m := vectorPart(len(d))
	if m > 0 {
		minF32(p(d), p(a), p(b), m)
	}
	for i := m; i < len(d); i++ {
		d[i] = min(a[i], b[i])
	}
}

// Sqrt sets d = √a (correctly rounded).
func Sqrt(d, a []float32) {
	a = a[:len(d)]
	m := vectorPart(len(d))
	if m > 0 {
		sqrtF32(p(d), p(a), m)
	}
	for i := m; i < len(d); i++ {
		d[i] = float32(math.Sqrt(float64(a[i])))
	}
}

// Neg sets d = −a.
func Neg(d, a []float32) {
	a = a[:len(d)]
	m := vectorPart(len(d))
	if m > 0 {
		negF32(p(d), p(a), m)
	}
	for i := m; i < len(d); i++ {
		d[i] = -a[i]
	}
}

// Sign sets d = sign(a): +1, −1, or 0 for ±0 and NaN.
func Sign(d, a []float32) {
	a = a[:len(d)]
	m := vectorPart(len(d))
	if m > 0 {
		signF32(p(d), p(a), m)
	}
	for i := m; i < len(d); i++ {
		switch x := a[i]; {
		case x > 0:
			d[i] = 1
		case x < 0:
			d[i] = -1
		default:
			d[i] = 0
		}
	}
}

// vectorPart is how many of n elements the AVX2 loops take: a multiple of 8, or none without AVX2.
func vectorPart(n int) int {
	if !Available {
		return 0
	}
	return n &^ 7
}
