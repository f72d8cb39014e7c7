package v1sim

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"

	"github.com/robustvision/cotrain/pkg/data"
	"github.com/robustvision/cotrain/pkg/neural"
)

// Protocol is the recording protocol (the paper's Section 2, "Neural data"): sessions, each recording its own subset
// of the population; training images shown once per trial slot; a fixed set of test images repeated many times in
// every session. In the paper a trial shows 15 images for 120 ms each; the simulated neurons carry no state from
// one image to the next, so the presentations are stored in the order shown and every 15 consecutive presentations
// of a session make one trial.
type Protocol struct {
	Neurons         int        // population size (paper: 458)
	Sessions        int        // recording sessions (paper: 32)
	TrainImages     int        // distinct training images (paper: 24,000)
	TrainPerSession int        // training presentations per session, each a distinct training image
	TestImages      int        // held-out test images (paper: 75)
	RepeatsMin      int        // each test image is repeated RepeatsMin…RepeatsMax times per session (paper: 40–50)
	RepeatsMax      int        //
	ImageSize       int        // pixels (the model's input size)
	PPD             float64    // pixels per degree (paper: 14 at model resolution)
	WindowMs        [2]float64 // spike-count window after onset (paper: 40–160 ms)
}

// Validate checks the protocol.
func (p Protocol) Validate() error {
	switch {
	case p.Neurons < 1 || p.Sessions < 1 || p.Sessions > p.Neurons:
		return fmt.Errorf("protocol: %d neurons in %d sessions", p.Neurons, p.Sessions)
	case p.TrainImages < 1 || p.TrainPerSession < 1 || p.TrainPerSession > p.TrainImages:
		return fmt.Errorf("protocol: %d training presentations per session from %d images", p.TrainPerSession, p.TrainImages)
	case p.TestImages < 2 || p.RepeatsMin < 2 || p.RepeatsMax < p.RepeatsMin:
		return fmt.Errorf("protocol: %d test images repeated %d–%d times (need ≥2 of each)", p.TestImages, p.RepeatsMin, p.RepeatsMax)
	case p.ImageSize < 8 || p.PPD <= 0 || p.WindowMs[1] <= p.WindowMs[0]:
		return fmt.Errorf("protocol: image size %d, ppd %v, window %v", p.ImageSize, p.PPD, p.WindowMs)
	}
	return nil
}

// Simulate draws a population, cuts stimulus patches from the photographs, and records every session. The result
// is a function of (photos, protocol, population, seed).
func Simulate(photos []data.PhotoImage, proto Protocol, pop PopulationConfig, seed uint64) (*neural.Dataset, []Neuron, error) {
	if err := proto.Validate(); err != nil {
		return nil, nil, err
	}
	if len(photos) == 0 {
		return nil, nil, fmt.Errorf("v1sim: no photographs to cut stimuli from")
	}
	rng := newRNG(seed)
	neurons := SamplePopulation(pop, proto.Neurons, rng)
	// Stimuli: grey patches of the photographs at the protocol's resolution, test images first.
	nImages := proto.TestImages + proto.TrainImages
	sampler := data.PatchSampler{PhotoDegrees: data.PaperPatches.PhotoDegrees, TargetPPD: proto.PPD, Size: proto.ImageSize}
	size := proto.ImageSize
	images := make([]uint8, nImages*size*size)
	for i := range nImages {
		patch, err := sampler.Sample(photos[rng.IntN(len(photos))], rng)
		if err != nil {
			return nil, nil, err
		}
		copy(images[i*size*size:], patch)
	}
	return record(images, proto, pop, seed, rng, neurons)
}

// SimulateOn records the population on given stimuli: n grey images of the protocol's size (at least
// TestImages + TrainImages of them), of which a seeded random choice is shown, the test images first. The result is a
// function of (images, protocol, population, seed).
func SimulateOn(images []uint8, n int, proto Protocol, pop PopulationConfig, seed uint64) (*neural.Dataset, []Neuron, error) {
	if err := proto.Validate(); err != nil {
		return nil, nil, err
	}
	size := proto.ImageSize
	need := proto.TestImages + proto.TrainImages
	if len(images) != n*size*size || n < need {
		return nil, nil, fmt.Errorf("v1sim: %d stimuli of %d bytes for %d images of %d×%d (the protocol shows %d)", n,
			len(images), n, size, size, need)
	}
	rng := newRNG(seed)
	neurons := SamplePopulation(pop, proto.Neurons, rng)
	chosen := make([]uint8, need*size*size)
	for i, j := range rng.Perm(n)[:need] {
		copy(chosen[i*size*size:(i+1)*size*size], images[j*size*size:(j+1)*size*size])
	}
	return record(chosen, proto, pop, seed, rng, neurons)
}

// record shows the stimuli (test images first) to the population and records every session.
func record(images []uint8, proto Protocol, pop PopulationConfig, seed uint64, rng *rand.Rand, neurons []Neuron) (*neural.Dataset, []Neuron, error) {
	nImages := proto.TestImages + proto.TrainImages
	size := proto.ImageSize

	// Noise-free responses (expected spike counts) of every neuron to every image.
	all := make([]int, len(neurons))
	for j := range all {
		all[j] = j
	}
	nf, err := ExpectedCounts(neurons, all, pop, proto, images, nImages)
	if err != nil {
		return nil, nil, err
	}

	// Sessions: a random partition of the population.
	perm := rng.Perm(proto.Neurons)
	d := &neural.Dataset{Images: images, N: nImages, H: size, W: size, NoiseFree: nf,
		Meta: neural.Meta{Source: fmt.Sprintf("simulated V1 (cotrain v1sim, seed %d)", seed), Simulated: true,
			PPD: proto.PPD, ImageSize: size, WindowMs: proto.WindowMs}}
	members := make([][]int, proto.Sessions)
	for k, j := range perm {
		members[k%proto.Sessions] = append(members[k%proto.Sessions], j)
	}
	draw := func(img, j int) float32 {
		lambda := float64(nf[img*proto.Neurons+j])
		return float32(poissonCount(rng, lambda*gammaGain(rng, neurons[j].GainVar)))
	}
	for s, m := range members {
		sortInts(m)
		sess := neural.Session{ID: fmt.Sprintf("session%02d", s+1), Neurons: m}
		// Training trials: TrainPerSession distinct training images in random order.
		for _, k := range rng.Perm(proto.TrainImages)[:proto.TrainPerSession] {
			img := proto.TestImages + k
			sess.TrainImageIDs = append(sess.TrainImageIDs, int64(img))
			for _, j := range m {
				sess.TrainResponses = append(sess.TrainResponses, draw(img, j))
			}
		}
		// Test trials: every test image repeated RepeatsMin…RepeatsMax times, in random order.
		var order []int
		for t := range proto.TestImages {
			for range proto.RepeatsMin + rng.IntN(proto.RepeatsMax-proto.RepeatsMin+1) {
				order = append(order, t)
			}
		}
		rng.Shuffle(len(order), func(a, b int) { order[a], order[b] = order[b], order[a] })
		for _, img := range order {
			sess.TestImageIDs = append(sess.TestImageIDs, int64(img))
			for _, j := range m {
				sess.TestResponses = append(sess.TestResponses, draw(img, j))
			}
		}
		d.Sessions = append(d.Sessions, sess)
		d.Meta.Sessions = append(d.Meta.Sessions, neural.SessionRef{ID: sess.ID, Neurons: m})
	}
	// Neurons are stored session by session: reorder the ground truth to match.
	var order []int
	for _, m := range members {
		order = append(order, m...)
	}
	reordered := make([]float32, len(nf))
	for i := range nImages {
		for k, j := range order {
			reordered[i*proto.Neurons+k] = nf[i*proto.Neurons+j]
		}
	}
	d.NoiseFree = reordered
	d.TrueFEV = make([]float32, proto.Neurons)
	for k, j := range order {
		d.TrueFEV[k] = float32(TrueFEV(nf, proto.Neurons, j, proto.TestImages, neurons[j].GainVar))
	}
	return d, neurons, nil
}

// TrueFEV is a neuron's true fraction of explainable variance on the test images: the variance of its expected
// counts across images over that plus the mean noise variance, λ + σ_G²λ² for the modulated Poisson model.
func TrueFEV(nf []float32, nNeurons, j, testImages int, gainVar float64) float64 {
	var mean, sq, noise float64
	for i := range testImages {
		l := float64(nf[i*nNeurons+j])
		mean += l
		sq += l * l
		noise += l + gainVar*l*l
	}
	n := float64(testImages)
	mean /= n
	signal := sq/n - mean*mean
	if signal+noise/n <= 0 {
		return 0
	}
	return signal / (signal + noise/n)
}

func sortInts(v []int) {
	for i := 1; i < len(v); i++ {
		for k := i; k > 0 && v[k] < v[k-1]; k-- {
			v[k], v[k-1] = v[k-1], v[k]
		}
	}
}

// Tuning returns the expected spike counts of neuron n for full-field gratings of the given contrast: one curve over
// orientations (at the preferred SF, best phase) and one over spatial frequencies (at the preferred orientation).
func Tuning(n Neuron, pop PopulationConfig, size int, ppd, windowS, contrast float64, orientations, sfs []float64) (oriCurve, sfCurve []float64) {
	f := n.filters(size, ppd, pop.NormPoolScale)
	respond := func(theta, sf float64) float64 {
		best := 0.0
		for ph := 0; ph < 8; ph++ { // simple cells depend on phase: take the best of 8
			s := make([]float64, size*size)
			k := 2 * math.Pi * sf / ppd
			c := float64(size-1) / 2
			for y := range size {
				for x := range size {
					u := (float64(x)-c)*math.Cos(theta) + (float64(y)-c)*math.Sin(theta)
					s[y*size+x] = contrast * math.Cos(k*u+float64(ph)*math.Pi/4)
				}
			}
			best = math.Max(best, n.rate(f, s, size, pop.NormWeight)*windowS)
		}
		return best
	}
	for _, o := range orientations {
		oriCurve = append(oriCurve, respond(o, n.SF))
	}
	for _, sf := range sfs {
		sfCurve = append(sfCurve, respond(n.Orientation, sf))
	}
	return oriCurve, sfCurve
}

// Kernel returns the neuron's even receptive field over a size×size image (for figures), normalised to [−1, 1].
func Kernel(n Neuron, pop PopulationConfig, size int, ppd float64) []float64 {
	f := n.filters(size, ppd, pop.NormPoolScale)
	out := make([]float64, size*size)
	var m float64
	for y := range f.h {
		for x := range f.w {
			v := f.even[y*f.w+x]
			out[(f.y0+y)*size+f.x0+x] = v
			m = math.Max(m, math.Abs(v))
		}
	}
	for i := range out {
		out[i] /= m
	}
	return out
}

func newRNG(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0x56315f73696d)) } // "V1_sim"

// Population returns the neurons that Simulate draws for this seed (to recover them for a cached dataset).
func Population(pop PopulationConfig, n int, seed uint64) []Neuron {
	return SamplePopulation(pop, n, newRNG(seed))
}

// ExpectedCounts returns the noise-free responses (expected spike counts in the protocol's window) of the given
// neurons, in the given order (indices into neurons), to n grey images of the protocol's size: [n × len(order)].
// These are the responses no experiment can measure — the virtual monkey's answer without trial-to-trial noise —
// which the noise-free multi-task condition uses as targets.
func ExpectedCounts(neurons []Neuron, order []int, pop PopulationConfig, proto Protocol, images []uint8, n int) ([]float32, error) {
	size := proto.ImageSize
	if len(images) != n*size*size {
		return nil, fmt.Errorf("v1sim: %d pixels for %d images of %d×%d", len(images), n, size, size)
	}
	for _, j := range order {
		if j < 0 || j >= len(neurons) {
			return nil, fmt.Errorf("v1sim: neuron %d of %d", j, len(neurons))
		}
	}
	window := (proto.WindowMs[1] - proto.WindowMs[0]) / 1000
	fs := make([]filters, len(neurons))
	for j, nr := range neurons {
		fs[j] = nr.filters(size, proto.PPD, pop.NormPoolScale)
	}
	out := make([]float32, n*len(order))
	var wg sync.WaitGroup
	next := make(chan int)
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for i := range next {
				s := contrastImage(images[i*size*size : (i+1)*size*size])
				for k, j := range order {
					out[i*len(order)+k] = float32(neurons[j].rate(fs[j], s, size, pop.NormWeight) * window)
				}
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	return out, nil
}
