package corrupt

import (
	"math"
	"math/rand/v2"
	"sync"

	"github.com/robustvision/cotrain/pkg/randdist"
)

// Severity tables, index 0 = severity 1. "ic" = imagecorruptions v1.1.2 (preset imagenet-c), "hr" = Hendrycks'
// make_tinyimagenet_c.py (preset tiny-imagenet-c).
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

// shotNoise draws Poisson(c·x/255)/c for every value. An 8-bit image has only 256 distinct means, so each level has
// a precomputed alias table (Walker 1977; Vose 1991) and a draw costs one random number.
func shotNoise(img Image, sev int, p Preset, rng *rand.Rand) Image {
	c := shotNoiseC[p][sev-1]
	tables := poissonTables(c)
	f := newF(img.H, img.W, img.C)
	for i, v := range img.Pix {
		f.v[i] = float32(tables[v].draw(rng) / c)
	}
	return f.toImage(255)
}

// poissonAlias samples a Poisson distribution truncated where the remaining mass is below 1e-12 (and renormalised):
// outcome k is drawn by picking a column uniformly and keeping k with probability prob[k], else taking alias[k].
type poissonAlias struct {
	prob  []float64
	alias []int32
}

func (t poissonAlias) draw(rng *rand.Rand) float64 {
	n := len(t.prob)
	if n <= 1 {
		return 0
	}
	u := rng.Float64() * float64(n)
	k := int(u)
	if k >= n {
		k = n - 1
	}
	if u-float64(k) < t.prob[k] {
		return float64(k)
	}
	return float64(t.alias[k])
}

func newPoissonAlias(lambda float64) poissonAlias {
	if lambda <= 0 {
		return poissonAlias{prob: []float64{1}, alias: []int32{0}}
	}
	pk := math.Exp(-lambda)
	pmf := []float64{pk}
	sum := pk
	for k := 1; sum < 1-1e-12 && k < int(lambda+20*math.Sqrt(lambda)+20); k++ {
		pk *= lambda / float64(k)
		sum += pk
		pmf = append(pmf, pk)
	}
	n := len(pmf)
	t := poissonAlias{prob: make([]float64, n), alias: make([]int32, n)}
	scaled := make([]float64, n)
	var small, large []int
	for k, v := range pmf {
		scaled[k] = v / sum * float64(n)
		if scaled[k] < 1 {
			small = append(small, k)
		} else {
			large = append(large, k)
		}
	}
	for len(small) > 0 && len(large) > 0 {
		s, l := small[len(small)-1], large[len(large)-1]
		small, large = small[:len(small)-1], large[:len(large)-1]
		t.prob[s], t.alias[s] = scaled[s], int32(l)
		scaled[l] -= 1 - scaled[s]
		if scaled[l] < 1 {
			small = append(small, l)
		} else {
			large = append(large, l)
		}
	}
	for _, k := range append(small, large...) { // leftovers are 1 up to rounding
		t.prob[k], t.alias[k] = 1, int32(k)
	}
	return t
}

var poissonCache sync.Map // c → *[256]poissonAlias

func poissonTables(c float64) *[256]poissonAlias {
	if t, ok := poissonCache.Load(c); ok {
		return t.(*[256]poissonAlias)
	}
	var tables [256]poissonAlias
	for v := range 256 {
		tables[v] = newPoissonAlias(float64(float32(v)/255) * c) // the same float32 scaling as the other corruptions
	}
	t, _ := poissonCache.LoadOrStore(c, &tables)
	return t.(*[256]poissonAlias)
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
