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

// Scatter2x2 is the gradient of 2×2 max-pooling (min-pooling when !isMax) for one window and len(g) channels: x0…x3
// are the window's four pixels in row-major order; the first maximum (minimum) of each channel — a later pixel wins
// only when strictly greater (smaller), as XLA's SelectAndScatter specifies — receives g, the other three get 0.
func Scatter2x2(y0, y1, y2, y3, x0, x1, x2, x3, g []float32, isMax bool) {
	n := len(g)
	y0, y1, y2, y3 = y0[:n], y1[:n], y2[:n], y3[:n]
	x0, x1, x2, x3 = x0[:n], x1[:n], x2[:n], x3[:n]
	m := vectorPart(n)
	if m > 0 {
		scatter2x2F32(p(y0), p(y1), p(y2), p(y3), p(x0), p(x1), p(x2), p(x3), p(g), isMax, m)
	}
	better := func(v, best float32) bool { return (isMax && v > best) || (!isMax && v < best) }
	for c := m; c < n; c++ {
		best, at := x0[c], 0
		if better(x1[c], best) {
			best, at = x1[c], 1
		}
		if better(x2[c], best) {
			best, at = x2[c], 2
		}
		if better(x3[c], best) {
			at = 3
		}
		y0[c], y1[c], y2[c], y3[c] = 0, 0, 0, 0
		*[]*float32{&y0[c], &y1[c], &y2[c], &y3[c]}[at] = g[c]
	}
}

// NarrowProduct sets c = a · b for row-major a [m, k], b [k, n], c [m, n] when n is 4, 8 or 16 and the CPU has AVX2
// and FMA, and reports whether it did (otherwise c is untouched). Narrow products are what convolutions with few
// output channels need, and where general matrix-product libraries are slowest. Each element is accumulated over
// k in order with fused multiply-adds (one rounding per step), as matrix-product libraries do.
func NarrowProduct(m, n, k int, a, b, c []float32) bool {
	if !hasFMA || k == 0 || (n != 4 && n != 8 && n != 16) {
		return false
	}
	a, b, c = a[:m*k], b[:k*n], c[:m*n]
	block := 8
	if n == 16 {
		block = 4
	}
	full := m - m%block
	if full > 0 {
		switch n {
		case 4:
			gemmN4(p(c), p(a), p(b), full, k)
		case 8:
			gemmN8(p(c), p(a), p(b), full, k)
		case 16:
			gemmN16(p(c), p(a), p(b), full, k)
		}
	}
	for i := full; i < m; i++ {
		row := c[i*n : (i+1)*n]
		clear(row)
		for kk := range k {
			v := a[i*k+kk]
			br := b[kk*n : (kk+1)*n]
			for j := range row {
				row[j] = float32(math.FMA(float64(v), float64(br[j]), float64(row[j])))
			}
		}
	}
	return true
}
