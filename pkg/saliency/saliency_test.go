package saliency

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/robustvision/cotrain/pkg/neural"
)

// The mask holds 0.7 of the saliency mass, give or take one pixel's share.
func TestMaskMass(t *testing.T) {
	const h, w = 32, 32
	img := make([]float64, h*w)
	for y := range h {
		for x := range w {
			img[y*w+x] = math.Sin(float64(x)/3) + math.Cos(float64(y*x)/50)
		}
	}
	m, err := SpectralResidual(img, h, w)
	if err != nil {
		t.Fatal(err)
	}
	mask := m.Mask(MaskFraction)
	var mass, largest float64
	n := 0
	for i, in := range mask {
		largest = math.Max(largest, m.Density[i])
		if in {
			mass += m.Density[i]
			n++
		}
	}
	if mass < MaskFraction || mass > MaskFraction+largest {
		t.Errorf("mask holds %.4f of the mass (largest pixel %.4f)", mass, largest)
	}
	if n == 0 || n == h*w {
		t.Errorf("mask of %d of %d pixels", n, h*w)
	}
}

// A patch of horizontal stripes among vertical ones pops out (the spectral residual's classic demonstration): the
// map puts much more mass on and around it than its share of the image.
func TestSpectralResidualFindsTheOddOne(t *testing.T) {
	const h, w = 32, 32
	img := make([]float64, h*w)
	for y := range h {
		for x := range w {
			img[y*w+x] = math.Sin(2 * math.Pi * float64(x) / 4)
			if y >= 10 && y < 14 && x >= 18 && x < 22 {
				img[y*w+x] = math.Sin(2 * math.Pi * float64(y) / 4)
			}
		}
	}
	m, err := SpectralResidual(img, h, w)
	if err != nil {
		t.Fatal(err)
	}
	var near float64
	for y := 6; y < 18; y++ {
		for x := 14; x < 26; x++ {
			near += m.Density[y*w+x]
		}
	}
	if area := 12.0 * 12 / (h * w); near < 3*area {
		t.Errorf("%.2f of the saliency mass near the odd patch, which covers %.2f of the image; want 3 times that", near, area)
	}
}

// ϱ and ϱ̄ by hand: a 4-pixel image, the mask the first two pixels.
func TestRhoByHand(t *testing.T) {
	mask := []bool{true, true, false, false}
	orig := []float64{1, 1, 1, 1}  // ϱ = 2/4
	recon := []float64{2, 0, 1, 0} // ϱ = 4/5
	if got := Rho(orig, mask); got != 0.5 {
		t.Errorf("ϱ(original) = %v, want 0.5", got)
	}
	want := (0.8 - 0.5) / (1 - 0.5)
	if got := NormalisedRatio(recon, orig, mask); math.Abs(got-want) > 1e-12 {
		t.Errorf("ϱ̄ = %v, want %v", got, want)
	}
	if got := NormalisedRatio(orig, orig, mask); got != 0 {
		t.Errorf("ϱ̄ of the original itself = %v, want 0", got)
	}
}

// A user's map (.npy, log-densities) replaces the stand-in; bad files are refused with their name.
func TestLoadMap(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "map.npy")
	vals := make([]float32, 8*8)
	for i := range vals {
		vals[i] = float32(-i) / 10
	}
	if err := neural.WriteResponsesNPY(file, 8, 8, vals); err != nil {
		t.Fatal(err)
	}
	m, err := LoadMap(file, 4, 4, true)
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, v := range m.Density {
		sum += v
	}
	if math.Abs(sum-1) > 1e-9 || m.Density[0] <= m.Density[15] {
		t.Errorf("density %v (sum %v): want normalised, largest at the top left", m.Density, sum)
	}
	bad := filepath.Join(dir, "map.txt")
	os.WriteFile(bad, []byte("x"), 0o644)
	if _, err := LoadMap(bad, 4, 4, false); err == nil || !strings.Contains(err.Error(), "map.txt") {
		t.Errorf("a text file was accepted or not named: %v", err)
	}
}
