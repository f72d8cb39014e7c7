package analysis

import (
	"math"
	"testing"

	"github.com/robustvision/cotrain/pkg/internal/golden"
)

// TestGolden pins Section 4's statistics of reconstructions — the high-frequency share and the paired interval over
// images — to Version.
func TestGolden(t *testing.T) {
	img := make([]float64, 32*32)
	for i := range img {
		img[i] = math.Sin(float64(i)/3) + 0.2*math.Cos(float64(i*i)/11)
	}
	a, b := make([]float64, 24), make([]float64, 24)
	for i := range a {
		a[i], b[i] = math.Sin(float64(i)), math.Sin(float64(i))+0.1*math.Cos(float64(3*i))
	}
	iv, err := PairedOverImages(a, b, 4)
	if err != nil {
		t.Fatal(err)
	}
	golden.Check(t, Version, map[string]float64{"high-frequency": HighFrequencyShare(img, 32, 32),
		"paired/estimate": iv.Estimate, "paired/low": iv.Low, "paired/high": iv.High}, 1e-12)
}
