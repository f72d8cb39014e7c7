//go:build !amd64

package simd

// Other architectures: the Go loops only.

// Available is false: every function runs a Go loop.
var Available = false

func addF32(d, a, b *float32, n int) { panic("no SIMD") }
func subF32(d, a, b *float32, n int) { panic("no SIMD") }
func mulF32(d, a, b *float32, n int) { panic("no SIMD") }
func divF32(d, a, b *float32, n int) { panic("no SIMD") }
func maxF32(d, a, b *float32, n int) { panic("no SIMD") }
func minF32(d, a, b *float32, n int) { panic("no SIMD") }
func sqrtF32(d, a *float32, n int)   { panic("no SIMD") }
func negF32(d, a *float32, n int)    { panic("no SIMD") }
func signF32(d, a *float32, n int)   { panic("no SIMD") }

func scatter2x2F32(y0, y1, y2, y3, x0, x1, x2, x3, grad *float32, isMax bool, n int) {
	panic("no SIMD")
}

var hasFMA = false

func gemmN8(c, a, b *float32, m, k int)  { panic("no SIMD") }
func gemmN4(c, a, b *float32, m, k int)  { panic("no SIMD") }
func gemmN16(c, a, b *float32, m, k int) { panic("no SIMD") }
