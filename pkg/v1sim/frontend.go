package v1sim

import "math"

// FilterBank is the virtual monkey's own front end as a convolution: the receptive fields of n neurons of the
// population, each centred in a Size×Size kernel, with what the neuron does with them (simple: the half-squared even
// Gabor; complex: the quadrature energy), its semi-saturation constant and its normalisation pool. Applied at every
// position of an image it is a fixed first stage of a classifier (the VOneNet idea, Dapello et al. 2020): the
// positive control of the findings, beyond the paper.
type FilterBank struct {
	Size            int
	Even, Odd, Pool [][]float64 // [neuron][Size*Size]; Pool sums to 1
	Simple          []bool
	C50             []float64
	NormWeight      float64
	Neurons         []Neuron
	KernelCoverage  []float64 // the share of each Gabor envelope's mass inside the kernel
}

// FrontEndFilters draws n neurons of the population with seed (as Population does) and samples their receptive
// fields, centred, on a size×size grid at ppd pixels per degree.
func FrontEndFilters(pop PopulationConfig, n int, seed uint64, ppd float64, size int) FilterBank {
	neurons := Population(pop, n, seed)
	fb := FilterBank{Size: size, NormWeight: pop.NormWeight}
	for _, nr := range neurons {
		nr.CenterX, nr.CenterY = 0, 0
		f := nr.filters(size, ppd, pop.NormPoolScale)
		even, odd, pool := make([]float64, size*size), make([]float64, size*size), make([]float64, size*size)
		for y := range f.h {
			for x := range f.w {
				even[(f.y0+y)*size+f.x0+x] = f.even[y*f.w+x]
				odd[(f.y0+y)*size+f.x0+x] = f.odd[y*f.w+x]
			}
		}
		var ps float64
		for y := range f.ph {
			for x := range f.pw {
				pool[(f.py0+y)*size+f.px0+x] = f.pool[y*f.pw+x]
				ps += f.pool[y*f.pw+x]
			}
		}
		for i := range pool {
			pool[i] /= math.Max(ps, 1e-12)
		}
		// How much of the envelope the kernel holds (a wide, low-frequency neuron is cut at the kernel's edge).
		sx, sy := nr.SigmaX*ppd, nr.SigmaY*ppd
		cover := math.Erf(float64(size)/2/(math.Sqrt2*math.Max(sx, sy))) * math.Erf(float64(size)/2/(math.Sqrt2*math.Min(sx, sy)))
		fb.Even, fb.Odd, fb.Pool = append(fb.Even, even), append(fb.Odd, odd), append(fb.Pool, pool)
		fb.Simple, fb.C50 = append(fb.Simple, nr.Simple), append(fb.C50, nr.C50)
		fb.Neurons, fb.KernelCoverage = append(fb.Neurons, nr), append(fb.KernelCoverage, cover)
	}
	return fb
}
