//go:build !cgo || noopenblas

package backend

import (
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// blasName names the matrix-product library the convolution kernels use.
const blasName = "gonum (pure Go; build with cgo and libopenblas-dev for OpenBLAS)"

var gonumBLAS gonum.Implementation

// gemm32 sets c = a × b for row-major a [m, k], b [k, n], c [m, n].
func gemm32(m, n, k int, a, b, c []float32) {
	if m == 0 || n == 0 {
		return
	}
	if k == 0 {
		clear(c[:m*n])
		return
	}
	gonumBLAS.Sgemm(blas.NoTrans, blas.NoTrans, m, n, k, 1, a, k, b, n, 0, c, n)
}

// gemm64 sets c = a × b for row-major a [m, k], b [k, n], c [m, n].
func gemm64(m, n, k int, a, b, c []float64) {
	if m == 0 || n == 0 {
		return
	}
	if k == 0 {
		clear(c[:m*n])
		return
	}
	gonumBLAS.Dgemm(blas.NoTrans, blas.NoTrans, m, n, k, 1, a, k, b, n, 0, c, n)
}
