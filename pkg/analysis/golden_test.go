package analysis

import (
	"math"
	"testing"

	"github.com/robustvision/cotrain/pkg/backend"
	"github.com/robustvision/cotrain/pkg/data"
	"github.com/robustvision/cotrain/pkg/internal/golden"
	"github.com/robustvision/cotrain/pkg/models"
	"github.com/robustvision/cotrain/pkg/recon"
	"github.com/robustvision/cotrain/pkg/train"
)

// TestGolden pins Section 4's analysis — the images chosen from a set, both sets of reconstructions from two small
// random networks, the high-frequency share, the edge ratio, ϱ̄, the spectral controls and the paired intervals over
// images — to Version (within a relative 1e-4: BLAS kernels' last bits depend on the machine).
func TestGolden(t *testing.T) {
	b, err := backend.New("cpu")
	if err != nil {
		t.Fatal(err)
	}
	set := &data.Set{Name: "synthetic", N: 8, H: 32, W: 32, C: 1, Classes: []string{"a", "b"}, Pix: make([]uint8, 8*32*32)}
	for i := range set.Pix {
		x, y := float64(i%32)-16, float64(i/32%32)-16
		set.Pix[i] = uint8(100 + 100*math.Exp(-(x*x+y*y)/float64(30+20*(i/1024))))
	}
	for i := range set.N {
		set.Labels = append(set.Labels, i%2)
	}
	im, err := PrepareSetImages(set, 4)
	if err != nil {
		t.Fatal(err)
	}
	var ms []Model
	for i, name := range []string{"baseline", "mtl-monkey"} {
		net, err := train.NewModel(b, train.ModelInfo{Model: models.VGGConfig{WidthDivisor: 32, InputSize: 32, InChannels: 3,
			NumClasses: 2}}, uint64(i+1))
		if err != nil {
			t.Fatal(err)
		}
		cfg := recon.PaperConfig(i == 1)
		cfg.Steps = 20
		ms = append(ms, Model{Name: name, Net: net, Config: cfg})
	}
	res, err := Run(ms, im, []float64{2.5, 7.5}, "mtl-monkey", []string{"baseline", "mtl-monkey"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	mean := func(v [][]float64) float64 {
		var s float64
		n := 0
		for _, row := range v {
			for _, x := range row {
				if !math.IsNaN(x) {
					s, n = s+x, n+1
				}
			}
		}
		return s / float64(n)
	}
	values := map[string]float64{"images": golden.Hash(append(append([]byte(nil), im.Clean[0]...), im.Noisy[3]...))}
	for m, name := range res.Models {
		values[name+"/noise"], values[name+"/edge"], values[name+"/ratio"] = mean(res.Noise[m]), mean(res.Edge[m]), mean(res.Ratio[m])
	}
	values["spectral/ratio"], values["spectral/noise"] = mean(res.Spectral), mean(res.SpectralNoise)
	for _, k := range []string{"noise-diff/mtl-monkey-vs-baseline/7.5", "ratio-diff/mtl-monkey-vs-spectral-control/2.5"} {
		values[k] = res.Paired[k].Estimate
	}
	img := make([]float64, 32*32)
	for i := range img {
		img[i] = math.Sin(float64(i)/3) + 0.2*math.Cos(float64(i*i)/11)
	}
	values["high-frequency"] = HighFrequencyShare(img, 32, 32)
	golden.Check(t, Version, values, 1e-4)
}
