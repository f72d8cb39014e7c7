// Package v1sim is the virtual monkey: a simulated population of macaque V1 neurons recorded with the paper's
// protocol (Section 2, "Neural data"). The paper's recordings (458 neurons, two monkeys, 32 sessions) cannot be
// obtained here, so this population stands in for them. Everything it produces is labelled "simulated".
//
// Each neuron is a classic cascade (Carandini et al. 2005; Carandini & Heeger 2012): a Gabor receptive field, a
// simple-cell (half-squared linear) or complex-cell (quadrature energy) stage, divisive normalisation by the local
// contrast energy, a saturating output with spontaneous and maximal rates, and spike counts in the 40–160 ms window
// with super-Poisson variability (a Poisson process whose rate is multiplied on every trial by a Gamma-distributed
// gain: the modulated Poisson model of Goris, Movshon & Simoncelli 2014). Parameters are drawn from published
// distributions for parafoveal macaque V1 at about 4–6° eccentricity; PopulationConfig cites each.
//
// Because the ground truth is known, the simulator also reports each neuron's noise-free mean response to every image
// and its true fraction of explainable variance, which no recording can measure.
package v1sim

import (
	"math"
	"math/rand/v2"

	"github.com/robustvision/cotrain/pkg/randdist"
)

// PopulationConfig holds every parameter distribution of the population, with its source. Log-normal
// distributions are given by their median and the standard deviation of the natural logarithm.
type PopulationConfig struct {
	// Receptive-field centres scatter around the image centre (the paper centred its stimuli on the population
	// receptive field): Gaussian with this standard deviation, in degrees. Multi-electrode arrays span about 1° of
	// visual field at this eccentricity (Cadena et al. 2019 report RFs within the central ~1° of their 2° stimuli).
	RFScatterDeg float64
	// Preferred spatial frequency, cycles/degree: log-normal. De Valois, Albrecht & Thorell (1982) found parafoveal
	// V1 peaks from 0.5 to 8 c/deg with a median near 2–3 c/deg; at 4–6° eccentricity the median is lower
	// (Foster et al. 1985 ~2.2 c/deg).
	SFMedian, SFLogSigma float64
	// Spatial-frequency bandwidth at half height, octaves: log-normal around 1.4 octaves (De Valois et al. 1982,
	// median 1.4; range about 0.7–3). It sets the Gaussian envelope's width along the carrier.
	BandwidthMedian, BandwidthLogSigma float64
	// Envelope aspect ratio (length along the bars / width across), log-normal: Ringach (2002) found most simple
	// cells with ny/nx between 0.5 and 3, median about 1.5.
	AspectMedian, AspectLogSigma float64
	// Fraction of simple cells; the rest are complex. De Valois et al. (1982) and Ringach, Shapley & Hawken (2002,
	// F1/F0 > 1) both find about 40 % simple cells.
	SimpleFraction float64
	// Contrast semi-saturation constant c50, log-normal: Albrecht & Hamilton (1982) report a median near 0.2 with a
	// wide spread (0.05–0.6); Sclar, Maunsell & Lennie (1990) similar. Here the normalisation pool also sits in the
	// denominator, so an optimal full-field grating half-saturates at √2·c50: the median 0.07 puts that at 0.1, the
	// sensitive end of the reported range — chosen, with MaxRateMedian, so that the population's mean fraction of
	// explainable variance on natural patches (≈ 0.27, measured by `cotrain neural stats`) is close to the authors'
	// V1 data (≈ 0.29 in the public demo subset of 68 neurons; the paper reports none).
	C50Median, C50LogSigma float64
	// Divisive normalisation (Heeger 1992; Carandini & Heeger 2012): the pool is the local contrast energy, a
	// Gaussian-weighted mean of squared contrast with this many receptive-field widths as σ, times NormWeight.
	NormPoolScale, NormWeight float64
	// Spontaneous rate (spikes/s), log-normal: awake macaque V1 typically 1–10 sp/s, median ~2–3 (e.g. Gur, Beylin &
	// Snodderly 1997).
	SpontMedian, SpontLogSigma float64
	// Maximal driven rate (spikes/s), log-normal: Albrecht & Hamilton (1982) report 10–100+ sp/s, median ~30–50;
	// awake animals fire more (the median 90 is at the upper end). Natural patches drive cells far below their
	// maximum, so mean counts in the 120 ms window stay near 0.7 (≈ 6 sp/s).
	MaxRateMedian, MaxRateLogSigma float64
	// Variance σ_G² of the multiplicative trial gain (mean 1), log-normal: Goris, Movshon & Simoncelli (2014) fit
	// median σ_G² ≈ 0.2 in V1 (range ~0.05–1), giving Fano factors of about 1–2 for typical counts.
	GainVarMedian, GainVarLogSigma float64
}

// DefaultPopulation is the population used by every scale.
var DefaultPopulation = PopulationConfig{
	RFScatterDeg: 0.25,
	SFMedian:     2.2, SFLogSigma: 0.45,
	BandwidthMedian: 1.4, BandwidthLogSigma: 0.3,
	AspectMedian: 1.5, AspectLogSigma: 0.35,
	SimpleFraction: 0.4,
	C50Median:      0.07, C50LogSigma: 0.6,
	NormPoolScale: 2, NormWeight: 1,
	SpontMedian: 2, SpontLogSigma: 0.7,
	MaxRateMedian: 90, MaxRateLogSigma: 0.5,
	GainVarMedian: 0.2, GainVarLogSigma: 0.5,
}

// Neuron is one model V1 neuron.
type Neuron struct {
	ID                  int
	Simple              bool
	CenterX, CenterY    float64 // receptive-field centre, degrees from the image centre (x right, y down)
	SF                  float64 // preferred spatial frequency, cycles/degree
	Orientation         float64 // radians, orientation of the bars (0 = vertical bars, carrier along x)
	Phase               float64 // radians
	SigmaX, SigmaY      float64 // envelope σ across and along the bars, degrees
	C50, Spont, MaxRate float64
	GainVar             float64 // σ_G² of the trial gain
}

func logNormal(rng *rand.Rand, median, logSigma float64) float64 {
	return median * math.Exp(logSigma*rng.NormFloat64())
}

// SamplePopulation draws n neurons.
func SamplePopulation(cfg PopulationConfig, n int, rng *rand.Rand) []Neuron {
	out := make([]Neuron, n)
	for i := range out {
		sf := logNormal(rng, cfg.SFMedian, cfg.SFLogSigma)
		bw := logNormal(rng, cfg.BandwidthMedian, cfg.BandwidthLogSigma)
		// Envelope σ (across the bars) that gives an SF bandwidth of bw octaves at half height.
		sigmaX := math.Sqrt(math.Ln2/2) / (math.Pi * sf) * (math.Pow(2, bw) + 1) / (math.Pow(2, bw) - 1)
		out[i] = Neuron{
			ID:          i,
			Simple:      rng.Float64() < cfg.SimpleFraction,
			CenterX:     cfg.RFScatterDeg * rng.NormFloat64(),
			CenterY:     cfg.RFScatterDeg * rng.NormFloat64(),
			SF:          sf,
			Orientation: rng.Float64() * math.Pi,
			Phase:       rng.Float64() * 2 * math.Pi,
			SigmaX:      sigmaX,
			SigmaY:      sigmaX * logNormal(rng, cfg.AspectMedian, cfg.AspectLogSigma),
			C50:         logNormal(rng, cfg.C50Median, cfg.C50LogSigma),
			Spont:       logNormal(rng, cfg.SpontMedian, cfg.SpontLogSigma),
			MaxRate:     logNormal(rng, cfg.MaxRateMedian, cfg.MaxRateLogSigma),
			GainVar:     logNormal(rng, cfg.GainVarMedian, cfg.GainVarLogSigma),
		}
	}
	return out
}

// filters is a neuron's receptive field sampled on an image grid: the even and odd Gabors and the normalisation
// pool's weights, over a bounding box.
type filters struct {
	x0, y0, w, h int       // bounding box in pixels
	even, odd    []float64 // normalised: the optimal full-field grating of contrast C drives each to C
	px0, py0     int       // pool box
	pw, ph       int
	pool         []float64 // sums to 1
}

func (n Neuron) filters(size int, ppd, poolScale float64) filters {
	c := float64(size-1) / 2
	cx, cy := c+n.CenterX*ppd, c+n.CenterY*ppd
	sx, sy := n.SigmaX*ppd, n.SigmaY*ppd
	r := 3 * math.Max(sx, sy)
	box := func(cx, cy, r float64) (x0, y0, w, h int) {
		x0 = max(0, int(math.Floor(cx-r)))
		y0 = max(0, int(math.Floor(cy-r)))
		x1 := min(size, int(math.Ceil(cx+r))+1)
		y1 := min(size, int(math.Ceil(cy+r))+1)
		return x0, y0, max(0, x1-x0), max(0, y1-y0)
	}
	var f filters
	f.x0, f.y0, f.w, f.h = box(cx, cy, r)
	f.even, f.odd = make([]float64, f.w*f.h), make([]float64, f.w*f.h)
	env := make([]float64, f.w*f.h)
	cos, sin := math.Cos(n.Orientation), math.Sin(n.Orientation)
	k := 2 * math.Pi * n.SF / ppd // radians per pixel
	var envSum, evenSum, oddSum, evenNorm, oddNorm float64
	for y := range f.h {
		for x := range f.w {
			dx, dy := float64(f.x0+x)-cx, float64(f.y0+y)-cy
			u := dx*cos + dy*sin  // across the bars (carrier direction)
			v := -dx*sin + dy*cos // along the bars
			e := math.Exp(-u*u/(2*sx*sx) - v*v/(2*sy*sy))
			i := y*f.w + x
			env[i] = e
			f.even[i] = e * math.Cos(k*u+n.Phase)
			f.odd[i] = e * math.Sin(k*u+n.Phase)
			envSum += e
			evenSum += f.even[i]
			oddSum += f.odd[i]
		}
	}
	// Remove the DC response (a receptive field does not respond to uniform light) ...
	for i, e := range env {
		f.even[i] -= evenSum / envSum * e
		f.odd[i] -= oddSum / envSum * e
	}
	// ... and scale so the optimal grating of unit contrast gives a linear response of 1.
	for y := range f.h {
		for x := range f.w {
			dx, dy := float64(f.x0+x)-cx, float64(f.y0+y)-cy
			u := dx*cos + dy*sin
			i := y*f.w + x
			evenNorm += f.even[i] * math.Cos(k*u+n.Phase)
			oddNorm += f.odd[i] * math.Sin(k*u+n.Phase)
		}
	}
	for i := range f.even {
		f.even[i] /= evenNorm
		f.odd[i] /= oddNorm
	}
	ps := poolScale * math.Sqrt(sx*sy)
	f.px0, f.py0, f.pw, f.ph = box(cx, cy, 3*ps)
	f.pool = make([]float64, f.pw*f.ph)
	var ws float64
	for y := range f.ph {
		for x := range f.pw {
			dx, dy := float64(f.px0+x)-cx, float64(f.py0+y)-cy
			w := math.Exp(-(dx*dx + dy*dy) / (2 * ps * ps))
			f.pool[y*f.pw+x] = w
			ws += w
		}
	}
	for i := range f.pool {
		f.pool[i] /= ws
	}
	return f
}

// contrastImage converts 8-bit luminance to contrast relative to the image's mean luminance (floored at 0.2 so
// that very dark images do not explode): s = (L − L̄)/L̄ with L = pixel/255.
func contrastImage(img []uint8) []float64 {
	var mean float64
	for _, p := range img {
		mean += float64(p)
	}
	mean = math.Max(mean/float64(len(img))/255, 0.2)
	s := make([]float64, len(img))
	for i, p := range img {
		s[i] = (float64(p)/255 - mean) / mean
	}
	return s
}

// rate is the neuron's noise-free firing rate (spikes/s) for a contrast image s of size×size.
func (n Neuron) rate(f filters, s []float64, size int, normWeight float64) float64 {
	var le, lo float64
	for y := range f.h {
		row := s[(f.y0+y)*size+f.x0:]
		ev, od := f.even[y*f.w:(y+1)*f.w], f.odd[y*f.w:(y+1)*f.w]
		for x, e := range ev {
			le += e * row[x]
			lo += od[x] * row[x]
		}
	}
	var drive float64
	if n.Simple {
		drive = math.Max(le, 0)
		drive *= drive
	} else {
		drive = le*le + lo*lo
	}
	var pool float64
	for y := range f.ph {
		row := s[(f.py0+y)*size+f.px0:]
		w := f.pool[y*f.pw : (y+1)*f.pw]
		for x, wv := range w {
			pool += wv * row[x] * row[x]
		}
	}
	r := drive / (n.C50*n.C50 + drive + normWeight*pool)
	return n.Spont + n.MaxRate*r
}

// gammaGain draws the multiplicative trial gain G ~ Gamma(shape 1/σ², scale σ²): mean 1, variance σ².
func gammaGain(rng *rand.Rand, variance float64) float64 {
	if variance <= 0 {
		return 1
	}
	return randdist.Gamma(rng, 1/variance, variance)
}

func poissonCount(rng *rand.Rand, lambda float64) float64 { return randdist.Poisson(rng, lambda) }
