// Package fft is the two-dimensional discrete Fourier transform of images, over gonum's one-dimensional FFTs.
//
// It is what Section 4's spectral control and the saliency stand-in (the spectral residual) need.
package fft

import "gonum.org/v1/gonum/dsp/fourier"

// FFT2 is the 2-D discrete Fourier transform of an h×w real image (row by row).
func FFT2(img []float64, h, w int) []complex128 {
	out := make([]complex128, h*w)
	for i, v := range img {
		out[i] = complex(v, 0)
	}
	transform2(out, h, w, false)
	return out
}

// IFFT2 is the inverse of FFT2 (normalised), complex in, complex out.
func IFFT2(spec []complex128, h, w int) []complex128 {
	out := append([]complex128(nil), spec...)
	transform2(out, h, w, true)
	return out
}

func transform2(a []complex128, h, w int, inverse bool) {
	rowFFT, colFFT := fourier.NewCmplxFFT(w), fourier.NewCmplxFFT(h)
	apply := func(f *fourier.CmplxFFT, seq []complex128) {
		if inverse {
			f.Sequence(seq, seq)
			for i := range seq {
				seq[i] /= complex(float64(len(seq)), 0)
			}
			return
		}
		f.Coefficients(seq, seq)
	}
	for y := range h {
		apply(rowFFT, a[y*w:(y+1)*w])
	}
	col := make([]complex128, h)
	for x := range w {
		for y := range h {
			col[y] = a[y*w+x]
		}
		apply(colFFT, col)
		for y := range h {
			a[y*w+x] = col[y]
		}
	}
}
