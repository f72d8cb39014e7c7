package recon

import (
	"fmt"
	"math"
	"math/cmplx"

	"gonum.org/v1/gonum/dsp/fourier"
)

// FFT2 is the 2-D discrete Fourier transform of an h×w real image (row by row), by gonum's FFTs along both axes.
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
	buf := make([]complex128, max(h, w))
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
	col := buf[:h]
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

// SpectralControl returns the paper's spectral control (SPEC §5.2): an image with the Fourier amplitude spectrum of
// the reconstruction and the phase of the original (noisy) image, |F(recon)|·exp(i∠F(original)), transformed back
// (real part). It carries the reconstruction's energy per spatial frequency and none of its spatial structure.
func SpectralControl(recon, original []float64, h, w int) ([]float64, error) {
	if len(recon) != h*w || len(original) != h*w {
		return nil, fmt.Errorf("spectral control: %d and %d pixels for %d×%d images", len(recon), len(original), h, w)
	}
	fr, fo := FFT2(recon, h, w), FFT2(original, h, w)
	mixed := make([]complex128, h*w)
	for i := range mixed {
		mixed[i] = cmplx.Rect(cmplx.Abs(fr[i]), cmplx.Phase(fo[i]))
	}
	back := IFFT2(mixed, h, w)
	out := make([]float64, h*w)
	for i, c := range back {
		out[i] = real(c)
	}
	return out, nil
}

// Norm is the L2 norm of an image.
func Norm(img []float64) float64 {
	var s float64
	for _, v := range img {
		s += v * v
	}
	return math.Sqrt(s)
}
