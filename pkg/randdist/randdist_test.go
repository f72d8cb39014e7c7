package randdist

import (
	"math"
	"math/rand/v2"
	"testing"
)

func moments(draw func() float64, n int) (mean, variance float64) {
	var s, s2 float64
	for range n {
		v := draw()
		s += v
		s2 += v * v
	}
	mean = s / float64(n)
	return mean, s2/float64(n) - mean*mean
}

func TestPoissonMoments(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, lambda := range []float64{0.5, 3, 12, 60, 250} {
		mean, variance := moments(func() float64 { return Poisson(rng, lambda) }, 40000)
		if math.Abs(mean-lambda) > 4*math.Sqrt(lambda/40000) || math.Abs(variance-lambda)/lambda > 0.05 {
			t.Errorf("Poisson(%v): mean %.3f, variance %.3f", lambda, mean, variance)
		}
	}
}

func TestGammaMoments(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, shape := range []float64{0.5, 1, 5, 20} {
		scale := 1 / shape // mean 1, variance 1/shape
		mean, variance := moments(func() float64 { return Gamma(rng, shape, scale) }, 60000)
		if math.Abs(mean-1) > 0.02 || math.Abs(variance-1/shape)/(1/shape) > 0.06 {
			t.Errorf("Gamma(%v, %v): mean %.3f, variance %.3f (want 1, %.3f)", shape, scale, mean, variance, 1/shape)
		}
	}
}
