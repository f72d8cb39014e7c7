package corrupt

import (
	"math"
	"math/rand/v2"
	"slices"
	"sync"

	"github.com/robustvision/cotrain/pkg/randdist"
)

// Severity tables, index 0 = severity 1. "ic" = imagecorruptions v1.1.2 (preset imagenet-c), "hr" = Hendrycks'
// make_tinyimagenet_c.py (preset tiny-imagenet-c). SPEC §4.2.
var (
	gaussianNoiseC = map[Preset][5]float64{PresetImageNetC: {.08, .12, .18, .26, .38}, PresetTinyImageNetC: {.04, .08, .12, .15, .18}}
	shotNoiseC     = map[Preset][5]float64{PresetImageNetC: {60, 25, 12, 5, 3}, PresetTinyImageNetC: {250, 100, 50, 30, 15}}
	impulseNoiseC  = map[Preset][5]float64{PresetImageNetC: {.03, .06, .09, .17, .27}, PresetTinyImageNetC: {.01, .02, .05, .08, .14}}
)

// gaussianNoise adds N(0, c²) to every value of x/255.
func gaussianNoise(img Image, sev int, p Preset, rng *rand.Rand) Image {
	c := float32(gaussianNoiseC[p][sev-1])
	f := toFloat(img, 255)
	for i := range f.v {
		f.v[i] += c * float32(rng.NormFloat64())
	}
	return f.toImage(255)
}

// shotNoise draws Poisson(c·x/255)/c for every value. An 8-bit image has only 256 distinct means, so the draws use
// inversion of a cumulative table per (c, level), built once per c.
func shotNoise(img Image, sev int, p Preset, rng *rand.Rand) Image {
	c := shotNoiseC[p][sev-1]
	tables := poissonTables(c)
	f := newF(img.H, img.W, img.C)
	for i, v := range img.Pix {
		f.v[i] = float32(tables[v].draw(rng) / c)
	}
	return f.toImage(255)
}

// poissonCDF holds P(K ≤ k) for k = 0 … len−1; draws beyond the table (probability < 1e-12) fall back to PTRS.
type poissonCDF struct {
	lambda float64
	cdf    []float64
}

func (t poissonCDF) draw(rng *rand.Rand) float64 {
	if t.lambda == 0 {
		return 0
	}
	// K is the smallest k with u ≤ F(k).
	k, _ := slices.BinarySearch(t.cdf, rng.Float64())
	if k == len(t.cdf) {
		return poisson(rng, t.lambda)
	}
	return float64(k)
}

var poissonCache sync.Map // c → *[256]poissonCDF

func poissonTables(c float64) *[256]poissonCDF {
	if t, ok := poissonCache.Load(c); ok {
		return t.(*[256]poissonCDF)
	}
	var tables [256]poissonCDF
	for v := range 256 {
		lambda := float64(float32(v)/255) * c // the same float32 scaling as the other corruptions
		tables[v].lambda = lambda
		if lambda == 0 {
			continue
		}
		pk := math.Exp(-lambda)
		sum := pk
		cdf := []float64{sum}
		for k := 1; sum < 1-1e-12 && k < int(lambda+20*math.Sqrt(lambda)+20); k++ {
			pk *= lambda / float64(k)
			sum += pk
			cdf = append(cdf, sum)
		}
		tables[v].cdf = cdf
	}
	t, _ := poissonCache.LoadOrStore(c, &tables)
	return t.(*[256]poissonCDF)
}

// impulseNoise is scikit-image's random_noise(mode="s&p", amount=c): each value is replaced with probability c, by
// 1 (salt) or 0 (pepper) with equal probability.
func impulseNoise(img Image, sev int, p Preset, rng *rand.Rand) Image {
	c := impulseNoiseC[p][sev-1]
	out := Image{H: img.H, W: img.W, C: img.C, Pix: append([]uint8(nil), img.Pix...)}
	for i := range out.Pix {
		flipped := rng.Float64() < c
		salted := rng.Float64() < 0.5
		if flipped {
			if salted {
				out.Pix[i] = 255
			} else {
				out.Pix[i] = 0
			}
		}
	}
	return out
}

func poisson(rng *rand.Rand, lambda float64) float64 { return randdist.Poisson(rng, lambda) }
