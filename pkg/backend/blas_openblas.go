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
	// One OpenBLAS thread per call: parallelGemm splits a product among goroutines. OpenBLAS's own pool would keep
	// its threads spinning between the calls, taking the cores from the pure-Go segments that run in between
	// (measured: half of all CPU time in sched_yield).
	C.openblas_set_num_threads(1)
}

// gemm32 sets c = a × b for row-major a [m, k], b [k, n], c [m, n].
func gemm32(m, n, k int, a, b, c []float32) { parallelGemm(m, n, k, a, b, c, sgemm) }

// gemm64 sets c = a × b for row-major a [m, k], b [k, n], c [m, n].
func gemm64(m, n, k int, a, b, c []float64) { parallelGemm(m, n, k, a, b, c, dgemm) }

func sgemm(m, n, k int, a, b, c []float32) {
	if m == 0 || n == 0 {
		return
	}
	if k == 0 {
		clear(c[:m*n])
		return
	}
	C.cblas_sgemm(C.CblasRowMajor, C.CblasNoTrans, C.CblasNoTrans, C.blasint(m), C.blasint(n), C.blasint(k),
		1, (*C.float)(&a[0]), C.blasint(k), (*C.float)(&b[0]), C.blasint(n), 0, (*C.float)(&c[0]), C.blasint(n))
}

func dgemm(m, n, k int, a, b, c []float64) {
	if m == 0 || n == 0 {
		return
	}
	if k == 0 {
		clear(c[:m*n])
		return
	}
	C.cblas_dgemm(C.CblasRowMajor, C.CblasNoTrans, C.CblasNoTrans, C.blasint(m), C.blasint(n), C.blasint(k),
		1, (*C.double)(&a[0]), C.blasint(k), (*C.double)(&b[0]), C.blasint(n), 0, (*C.double)(&c[0]), C.blasint(n))
}
