package analysis

import (
	"math"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"github.com/robustvision/cotrain/pkg/neural"
	"github.com/robustvision/cotrain/pkg/saliency"
)

// A folder of saliency maps replaces the stand-in model; a missing map is an error that names the folder.
func TestUserSaliencyMaps(t *testing.T) {
	dir := t.TempDir()
	vals := make([]float32, 16*16)
	for i := range vals {
		vals[i] = float32(i % 16)
	}
	if err := neural.WriteResponsesNPY(filepath.Join(dir, "photo1.npy"), 16, 16, vals); err != nil {
		t.Fatal(err)
	}
	patch := make([]uint8, 32*32)
	m, err := SaliencyMap("photo1", patch, 32, dir, false)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(m.Source, dir) || m.Density[31] <= m.Density[0] {
		t.Errorf("user map: source %q, density left %v right %v", m.Source, m.Density[0], m.Density[31])
	}
	if _, err := SaliencyMap("photo2", patch, 32, dir, false); err == nil || !strings.Contains(err.Error(), dir) {
		t.Errorf("missing map: %v", err)
	}
	m, err = SaliencyMap("photo1", patch, 32, "", false)
	if err != nil {
		t.Fatal(err)
	}
	if m.Source != saliency.StandIn {
		t.Errorf("default source %q", m.Source)
	}
}

// White noise has about 1 − π/16 of its power above a quarter of the sampling rate, a smooth ramp almost none; a
// paired comparison finds a consistent difference and not a null one.
func TestNoiseShareAndPairedComparison(t *testing.T) {
	const n = 32
	rng := rand.New(rand.NewPCG(1, 2))
	var white, ramp []float64
	for y := range n {
		for x := range n {
			white = append(white, rng.NormFloat64())
			ramp = append(ramp, math.Sin(math.Pi*float64(x)/n)+math.Sin(math.Pi*float64(y)/n))
		}
	}
	if s := HighFrequencyShare(white, n, n); math.Abs(s-(1-math.Pi/16)) > 0.05 {
		t.Errorf("white noise: high-frequency share %.3f, want about %.3f", s, 1-math.Pi/16)
	}
	if s := HighFrequencyShare(ramp, n, n); s > 0.01 {
		t.Errorf("smooth image: high-frequency share %.3f", s)
	}
	a, b, c := make([]float64, 40), make([]float64, 40), make([]float64, 40)
	for i := range a {
		a[i] = 0.5 + 0.1*rng.NormFloat64()
		b[i] = a[i] - 0.2 + 0.02*rng.NormFloat64()
		c[i] = a[i] + 0.05*rng.NormFloat64()
	}
	if iv, err := PairedOverImages(a, b, 1); err != nil || !iv.Excludes(0, 1) || math.Abs(iv.Estimate-0.2) > 0.02 {
		t.Errorf("a consistent difference of 0.2: %+v, %v", iv, err)
	}
	if iv, err := PairedOverImages(a, c, 1); err != nil || iv.Excludes(0, 1) || iv.Excludes(0, -1) {
		t.Errorf("no difference: %+v, %v", iv, err)
	}
}
