//go:build !cgo || noopenblas

package backend

import (
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// blasName names the matrix-product library the convolution kernels use.
const blasName = "gonum (pure Go; build with cgo and libopenblas-dev for OpenBLAS)"

var gonumBLAS gonum.Implementation

// sgemmT sets c = beta·c + aᵀ × b for row-major a [k, m], b [k, n], c [m, n] (all sizes positive).
func sgemmT(m, n, k int, a, b []float32, beta float32, c []float32) {
	gonumBLAS.Sgemm(blas.Trans, blas.NoTrans, m, n, k, 1, a, m, b, n, beta, c, n)
}

// dgemmT is sgemmT in float64.
func dgemmT(m, n, k int, a, b []float64, beta float64, c []float64) {
	gonumBLAS.Dgemm(blas.Trans, blas.NoTrans, m, n, k, 1, a, m, b, n, beta, c, n)
}

// sgemm sets c = a × b for row-major a [m, k], b [k, n], c [m, n] (all sizes positive).
func sgemm(m, n, k int, a, b, c []float32) {
	gonumBLAS.Sgemm(blas.NoTrans, blas.NoTrans, m, n, k, 1, a, k, b, n, 0, c, n)
}

// dgemm is sgemm in float64.
func dgemm(m, n, k int, a, b, c []float64) {
	gonumBLAS.Dgemm(blas.NoTrans, blas.NoTrans, m, n, k, 1, a, k, b, n, 0, c, n)
}
