package recon

import (
	"fmt"
	"math"
	"math/cmplx"

	"github.com/robustvision/cotrain/pkg/fft"
)

// SpectralControl returns the paper's spectral control (Section 4, "spectral control"): an image with the Fourier
// amplitude spectrum of the reconstruction and the phase of the original (noisy) image,
// |F(recon)|·exp(i∠F(original)), transformed back (real part). It carries the reconstruction's energy per spatial
// frequency and none of its spatial structure.
func SpectralControl(recon, original []float64, h, w int) ([]float64, error) {
	if len(recon) != h*w || len(original) != h*w {
		return nil, fmt.Errorf("spectral control: %d and %d pixels for %d×%d images", len(recon), len(original), h, w)
	}
	fr, fo := fft.FFT2(recon, h, w), fft.FFT2(original, h, w)
	mixed := make([]complex128, h*w)
	for i := range mixed {
		mixed[i] = cmplx.Rect(cmplx.Abs(fr[i]), cmplx.Phase(fo[i]))
	}
	back := fft.IFFT2(mixed, h, w)
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
