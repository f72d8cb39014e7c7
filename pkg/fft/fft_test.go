package fft

import (
	"math"
	"math/cmplx"
	"math/rand/v2"
	"testing"
)

// FFT2 against the definition (a direct double sum) on a random 5×6 image, and IFFT2 inverts it.
func TestFFT2(t *testing.T) {
	h, w := 5, 6
	rng := rand.New(rand.NewPCG(1, 2))
	img := make([]float64, h*w)
	for i := range img {
		img[i] = rng.NormFloat64()
	}
	spec := FFT2(img, h, w)
	for u := range h {
		for v := range w {
			var want complex128
			for y := range h {
				for x := range w {
					angle := -2 * math.Pi * (float64(u*y)/float64(h) + float64(v*x)/float64(w))
					want += complex(img[y*w+x], 0) * cmplx.Exp(complex(0, angle))
				}
			}
			if cmplx.Abs(spec[u*w+v]-want) > 1e-9 {
				t.Fatalf("F[%d,%d] = %v, want %v", u, v, spec[u*w+v], want)
			}
		}
	}
	back := IFFT2(spec, h, w)
	for i := range back {
		if math.Abs(real(back[i])-img[i]) > 1e-12 || math.Abs(imag(back[i])) > 1e-12 {
			t.Fatalf("IFFT2(FFT2(x))[%d] = %v, want %v", i, back[i], img[i])
		}
	}
}
