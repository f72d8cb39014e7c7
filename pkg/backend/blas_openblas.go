//go:build cgo && !noopenblas

package backend

/*
#cgo LDFLAGS: -lopenblas
#include <cblas.h>
*/
import "C"

// blasName names the matrix-product library the convolution kernels use.
const blasName = "OpenBLAS"

func init() {
	// One OpenBLAS thread per call: gemm splits a product among goroutines. OpenBLAS's own pool would keep its
	// threads spinning between the calls, taking the cores from the pure-Go segments that run in between
	// (measured: half of all CPU time in sched_yield).
	C.openblas_set_num_threads(1)
}

// sgemmT sets c = beta·c + aᵀ × b for row-major a [k, m], b [k, n], c [m, n] (all sizes positive).
func sgemmT(m, n, k int, a, b []float32, beta float32, c []float32) {
	C.cblas_sgemm(C.CblasRowMajor, C.CblasTrans, C.CblasNoTrans, C.blasint(m), C.blasint(n), C.blasint(k),
		1, (*C.float)(&a[0]), C.blasint(m), (*C.float)(&b[0]), C.blasint(n), C.float(beta), (*C.float)(&c[0]), C.blasint(n))
}

// dgemmT is sgemmT in float64.
func dgemmT(m, n, k int, a, b []float64, beta float64, c []float64) {
	C.cblas_dgemm(C.CblasRowMajor, C.CblasTrans, C.CblasNoTrans, C.blasint(m), C.blasint(n), C.blasint(k),
		1, (*C.double)(&a[0]), C.blasint(m), (*C.double)(&b[0]), C.blasint(n), C.double(beta), (*C.double)(&c[0]), C.blasint(n))
}

// sgemm sets c = a × b for row-major a [m, k], b [k, n], c [m, n] (all sizes positive); a product with one column
// is a matrix-vector product (gemv, much faster than gemm there).
func sgemm(m, n, k int, a, b, c []float32) {
	if n == 1 {
		C.cblas_sgemv(C.CblasRowMajor, C.CblasNoTrans, C.blasint(m), C.blasint(k), 1, (*C.float)(&a[0]),
			C.blasint(k), (*C.float)(&b[0]), 1, 0, (*C.float)(&c[0]), 1)
		return
	}
	C.cblas_sgemm(C.CblasRowMajor, C.CblasNoTrans, C.CblasNoTrans, C.blasint(m), C.blasint(n), C.blasint(k),
		1, (*C.float)(&a[0]), C.blasint(k), (*C.float)(&b[0]), C.blasint(n), 0, (*C.float)(&c[0]), C.blasint(n))
}

// dgemm is sgemm in float64.
func dgemm(m, n, k int, a, b, c []float64) {
	if n == 1 {
		C.cblas_dgemv(C.CblasRowMajor, C.CblasNoTrans, C.blasint(m), C.blasint(k), 1, (*C.double)(&a[0]),
			C.blasint(k), (*C.double)(&b[0]), 1, 0, (*C.double)(&c[0]), 1)
		return
	}
	C.cblas_dgemm(C.CblasRowMajor, C.CblasNoTrans, C.CblasNoTrans, C.blasint(m), C.blasint(n), C.blasint(k),
		1, (*C.double)(&a[0]), C.blasint(k), (*C.double)(&b[0]), C.blasint(n), 0, (*C.double)(&c[0]), C.blasint(n))
}
