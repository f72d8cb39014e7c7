package analysis

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"gonum.org/v1/gonum/stat"

	"github.com/robustvision/cotrain/pkg/condition"
	"github.com/robustvision/cotrain/pkg/eval"
	"github.com/robustvision/cotrain/pkg/fft"
)

// The measures behind Section 4's claims, with 95 % bootstrap intervals over the analysis images (the images are
// the same for every model, so comparisons are paired by image):
//
//   - Fig. 5: the paper's multi-task reconstructions look less noisy at small norms. Noise is measured as the
//     high-frequency share of a reconstruction's energy: the fraction of its spectral power at spatial frequencies
//     above a quarter of the sampling rate, where the clean images have little power and pixel noise has most of
//     its own (white noise: 1 − π/16 ≈ 80 %).
//   - Fig. 5: MTL-Monkey's reconstructions stress edges and object boundaries: the edge ratio is ϱ̄ with the clean
//     image's edges for the salient region (saliency.EdgeMap: the pixels holding 0.7 of its gradient magnitude).
//   - Fig. 7: MTL-Monkey's reconstructions of the undistorted images keep more of their energy in the salient region
//     (higher ϱ̄) than the other models' and than the spectral control.

// HighFrequencyShare is the fraction of an h×w image's spectral power (its mean removed) at frequencies above a
// quarter of the sampling rate (radius beyond h/4 in the centred spectrum); NaN for a constant image.
func HighFrequencyShare(img []float64, h, w int) float64 {
	var mean float64
	for _, v := range img {
		mean += v / float64(len(img))
	}
	centred := make([]float64, len(img))
	for i, v := range img {
		centred[i] = v - mean
	}
	spec := fft.FFT2(centred, h, w)
	var high, total float64
	for y := range h {
		fy := float64(min(y, h-y)) / float64(h)
		for x := range w {
			fx := float64(min(x, w-x)) / float64(w)
			p := real(spec[y*w+x])*real(spec[y*w+x]) + imag(spec[y*w+x])*imag(spec[y*w+x])
			total += p
			if math.Hypot(fx, fy) > 0.25 {
				high += p
			}
		}
	}
	if total == 0 {
		return math.NaN()
	}
	return high / total
}

// PairedReplicates is the number of bootstrap replicates of a comparison over images.
const PairedReplicates = 1000

// PairedOverImages is the mean over images of a[i] − b[i] (images where either is not finite left out) with its
// 95 % percentile bootstrap interval over images (seeded).
func PairedOverImages(a, b []float64, seed uint64) (eval.Interval, error) {
	if len(a) != len(b) {
		return eval.Interval{}, fmt.Errorf("paired comparison of %d and %d images", len(a), len(b))
	}
	var d []float64
	for i := range a {
		if x := a[i] - b[i]; !math.IsNaN(x) && !math.IsInf(x, 0) {
			d = append(d, x)
		}
	}
	if len(d) < 2 {
		return eval.Interval{}, fmt.Errorf("%d images with finite values on both sides", len(d))
	}
	rng := rand.New(rand.NewPCG(seed, 0x696d61676573)) // "images"
	reps := make([]float64, PairedReplicates)
	for r := range reps {
		var s float64
		for range d {
			s += d[rng.IntN(len(d))]
		}
		reps[r] = s / float64(len(d))
	}
	slices.Sort(reps)
	return eval.Interval{Estimate: stat.Mean(d, nil), Low: stat.Quantile(0.025, stat.Empirical, reps, nil),
		High: stat.Quantile(0.975, stat.Empirical, reps, nil), Seeds: 1, Replicates: PairedReplicates}, nil
}

// compare fills a.Paired with the paired comparisons over images, at every norm:
//
//	noise-diff/A-vs-B/N   A's high-frequency share minus B's (negative: A's reconstruction of the noisy image is less
//	                      noisy): SpectralOf against every other model and the spectral control, and every other
//	                      model against the Baseline
//	edge-diff/A-vs-B/N    the same for the edge ratio (positive: A stresses edges more)
//	ratio-diff/A-vs-B/N   ϱ̄ of the undistorted images' reconstructions: SpectralOf against the other saliency models
//	                      and the spectral control
func (a *Result) compare() {
	a.Paired, a.PairedNote = map[string]eval.Interval{}, map[string]string{}
	column := func(v [][]float64, j int) []float64 {
		out := make([]float64, len(v))
		for i := range v {
			out[i] = v[i][j]
		}
		return out
	}
	add := func(key string, x, y []float64) {
		iv, err := PairedOverImages(x, y, eval.Seed)
		if err != nil {
			a.PairedNote[key] = err.Error()
			return
		}
		a.Paired[key] = iv
	}
	const spectral = "spectral-control"
	mi, base := a.ModelIndex(a.SpectralOf), a.ModelIndex(condition.Baseline)
	for j, n := range a.Norms {
		key := func(stat, x, y string) string { return fmt.Sprintf("%s/%s-vs-%s/%g", stat, x, y, n) }
		for oi, other := range a.Models {
			if mi >= 0 && oi != mi {
				add(key("noise-diff", a.SpectralOf, other), column(a.Noise[mi], j), column(a.Noise[oi], j))
				add(key("edge-diff", a.SpectralOf, other), column(a.Edge[mi], j), column(a.Edge[oi], j))
			}
			if base >= 0 && oi != base && oi != mi {
				add(key("noise-diff", other, condition.Baseline), column(a.Noise[oi], j), column(a.Noise[base], j))
			}
		}
		if mi >= 0 {
			add(key("noise-diff", a.SpectralOf, spectral), column(a.Noise[mi], j), column(a.SpectralNoise, j))
			add(key("edge-diff", a.SpectralOf, spectral), column(a.Edge[mi], j), column(a.SpectralEdge, j))
		}
		si := a.SaliencyIndex(a.SpectralOf)
		if si < 0 {
			continue
		}
		for oi, other := range a.SaliencyModels {
			if oi != si {
				add(key("ratio-diff", a.SpectralOf, other), column(a.Ratio[si], j), column(a.Ratio[oi], j))
			}
		}
		if len(a.Spectral) > 0 {
			add(key("ratio-diff", a.SpectralOf, spectral), column(a.Ratio[si], j), column(a.Spectral, j))
		}
	}
}
