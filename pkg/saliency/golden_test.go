package saliency

import (
	"math"
	"testing"

	"github.com/robustvision/cotrain/pkg/internal/golden"
)

// TestGolden pins the stand-in saliency model, its 0.7-mass mask and the norm ratios to Version.
func TestGolden(t *testing.T) {
	const n = 32
	img := make([]float64, n*n)
	rec := make([]float64, n*n)
	for i := range img {
		x, y := float64(i%n)-12, float64(i/n)-18
		img[i] = math.Exp(-(x*x+y*y)/40) + 0.1*math.Sin(float64(i))
		rec[i] = math.Cos(float64(i) / 7)
	}
	m, err := SpectralResidual(img, n, n)
	if err != nil {
		t.Fatal(err)
	}
	mask := m.Mask(MaskFraction)
	salient := 0
	for _, b := range mask {
		if b {
			salient++
		}
	}
	var sum float64
	for i, v := range m.Density {
		sum += v * float64(i%7)
	}
	edges := EdgeMap(img, n, n).Mask(MaskFraction)
	golden.Check(t, Version, map[string]float64{"density": sum, "salient": float64(salient),
		"rho": Rho(img, mask), "ratio": NormalisedRatio(rec, img, mask), "edge-ratio": NormalisedRatio(rec, img, edges)}, 1e-12)
}
