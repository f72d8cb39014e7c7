// Package randdist draws Poisson and Gamma variates from a caller's seeded source.
//
// The corruptions (shot noise) and the virtual V1 (spike counts) need them and math/rand lacks them; the caller's
// source keeps results reproducible.
package randdist

import (
	"math"
	"math/rand/v2"
)

// Poisson draws a Poisson variate with mean lambda: Knuth's product method for small means and Hörmann's
// transformed rejection with squeeze (PTRS, 1993) for lambda ≥ 10.
func Poisson(rng *rand.Rand, lambda float64) float64 {
	if lambda <= 0 {
		return 0
	}
	if lambda < 10 {
		l := math.Exp(-lambda)
		k, prod := 0.0, rng.Float64()
		for prod > l {
			k++
			prod *= rng.Float64()
		}
		return k
	}
	slam := math.Sqrt(lambda)
	loglam := math.Log(lambda)
	b := 0.931 + 2.53*slam
	a := -0.059 + 0.02483*b
	invalpha := 1.1239 + 1.1328/(b-3.4)
	vr := 0.9277 - 3.6224/(b-2)
	for {
		u := rng.Float64() - 0.5
		v := rng.Float64()
		us := 0.5 - math.Abs(u)
		k := math.Floor((2*a/us+b)*u + lambda + 0.43)
		if us >= 0.07 && v <= vr {
			return k
		}
		if k < 0 || (us < 0.013 && v > us) {
			continue
		}
		lg, _ := math.Lgamma(k + 1)
		if math.Log(v)+math.Log(invalpha)-math.Log(a/(us*us)+b) <= -lambda+k*loglam-lg {
			return k
		}
	}
}

// Gamma draws a Gamma variate with the given shape and scale (Marsaglia & Tsang 2000; shape < 1 by boosting).
func Gamma(rng *rand.Rand, shape, scale float64) float64 {
	boost := 1.0
	if shape < 1 {
		boost = math.Pow(rng.Float64(), 1/shape)
		shape++
	}
	d := shape - 1.0/3
	c := 1 / math.Sqrt(9*d)
	for {
		x := rng.NormFloat64()
		v := 1 + c*x
		if v <= 0 {
			continue
		}
		v = v * v * v
		u := rng.Float64()
		if u < 1-0.0331*x*x*x*x || math.Log(u) < 0.5*x*x+d*(1-v+math.Log(v)) {
			return d * v * scale * boost
		}
	}
}
