//go:build amd64

package simd

import "golang.org/x/sys/cpu"

// The AVX2 loops of simd_amd64.s; n must be a multiple of 8.

//go:noescape
func addF32(d, a, b *float32, n int)

//go:noescape
func subF32(d, a, b *float32, n int)

//go:noescape
func mulF32(d, a, b *float32, n int)

//go:noescape
func divF32(d, a, b *float32, n int)

//go:noescape
func maxF32(d, a, b *float32, n int)

//go:noescape
func minF32(d, a, b *float32, n int)

//go:noescape
func sqrtF32(d, a *float32, n int)

//go:noescape
func negF32(d, a *float32, n int)

//go:noescape
func signF32(d, a *float32, n int)

//go:noescape
func gemmN8(c, a, b *float32, m, k int)

//go:noescape
func gemmN4(c, a, b *float32, m, k int)

//go:noescape
func gemmN16(c, a, b *float32, m, k int)

// hasFMA says whether the narrow products (which use fused multiply-adds) can run.
var hasFMA = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// Available says whether this CPU and OS run the AVX2 loops; without them every function runs a Go loop.
var Available = cpu.X86.HasAVX2

//go:noescape
func scatter2x2F32(y0, y1, y2, y3, x0, x1, x2, x3, grad *float32, isMax bool, n int)
