package train

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/robustvision/cotrain/pkg/data"
	"github.com/robustvision/cotrain/pkg/neural"
)

// Responses is the neural training data of a readout: trials, each an image with the responses of a session's neurons
// to it. The single-task predictor and "MTL on recorded responses" train on the recorded trials (one session per
// recording session); MTL-Monkey, MTL-Oracle, MTL-Shuffled and MTL-noise-free train on one "session" that holds every
// neuron's (predicted or noise-free) response to every classification training image (paper, Section 2,
// "MTL-Monkey").
type Responses struct {
	Source   string    // what the responses are, for provenance and figures
	Neurons  int       // total number of neurons (the readout's size)
	H, W     int       // image size
	Images   []uint8   // the image bank [images × H × W], grayscale
	Trial    []int     // image of each trial (index into Images)
	Values   []float32 // [trials × Neurons]; a trial's entries outside its session's neurons are 0 and unused
	Sessions []ResponseSession
}

// ResponseSession is a group of trials recorded together: which neurons they hold.
type ResponseSession struct {
	ID      string
	Neurons []int // indices into 0…Neurons−1
	Trials  []int // indices into Trial
}

// NumImages is the size of the image bank.
func (r *Responses) NumImages() int { return len(r.Images) / (r.H * r.W) }

// Validate checks the sizes.
func (r *Responses) Validate() error {
	switch {
	case r.Neurons <= 0 || r.H <= 0 || r.W <= 0:
		return fmt.Errorf("responses %q: %d neurons, %d×%d images", r.Source, r.Neurons, r.H, r.W)
	case len(r.Images)%(r.H*r.W) != 0:
		return fmt.Errorf("responses %q: %d pixels is not a whole number of %d×%d images", r.Source, len(r.Images), r.H, r.W)
	case len(r.Values) != len(r.Trial)*r.Neurons:
		return fmt.Errorf("responses %q: %d values for %d trials × %d neurons", r.Source, len(r.Values), len(r.Trial), r.Neurons)
	case len(r.Sessions) == 0:
		return fmt.Errorf("responses %q: no sessions", r.Source)
	}
	n := r.NumImages()
	for _, img := range r.Trial {
		if img < 0 || img >= n {
			return fmt.Errorf("responses %q: trial image %d of %d", r.Source, img, n)
		}
	}
	for _, s := range r.Sessions {
		if len(s.Trials) == 0 || len(s.Neurons) == 0 {
			return fmt.Errorf("responses %q, session %s: %d trials, %d neurons", r.Source, s.ID, len(s.Trials), len(s.Neurons))
		}
	}
	return nil
}

// Mask returns session s's neuron mask [Neurons] (1 for its neurons).
func (r *Responses) Mask(s int) []float32 {
	m := make([]float32, r.Neurons)
	for _, j := range r.Sessions[s].Neurons {
		m[j] = 1
	}
	return m
}

// Recorded returns the training trials of a neural data set, session by session; the neurons are numbered in the
// data set's order (session by session), as Predictor.Responses returns them. hold, if > 0, keeps back that
// fraction of every session's trials (a random choice, seeded) and returns them as a second set for validation.
func Recorded(d *neural.Dataset, hold float64, seed uint64) (train, val *Responses) {
	mk := func() *Responses {
		return &Responses{Source: d.Meta.Source, Neurons: d.NumNeurons(), H: d.H, W: d.W, Images: d.Images}
	}
	train, val = mk(), mk()
	rng := rand.New(rand.NewPCG(seed, 0x686f6c64)) // "hold"
	first := 0
	for _, sess := range d.Sessions {
		nn := len(sess.Neurons)
		idx := make([]int, nn)
		for k := range idx {
			idx[k] = first + k
		}
		first += nn
		trials := len(sess.TrainImageIDs)
		nHold := int(hold * float64(trials))
		isHeld := make([]bool, trials)
		for _, t := range rng.Perm(trials)[:nHold] {
			isHeld[t] = true
		}
		add := func(r *Responses, t int) {
			r.Trial = append(r.Trial, int(sess.TrainImageIDs[t]))
			row := make([]float32, r.Neurons)
			for k, j := range idx {
				row[j] = sess.TrainResponses[t*nn+k]
			}
			r.Values = append(r.Values, row...)
		}
		ts, vs := ResponseSession{ID: sess.ID, Neurons: idx}, ResponseSession{ID: sess.ID, Neurons: idx}
		for t := range trials {
			if isHeld[t] {
				vs.Trials = append(vs.Trials, len(val.Trial))
				add(val, t)
			} else {
				ts.Trials = append(ts.Trials, len(train.Trial))
				add(train, t)
			}
		}
		train.Sessions = append(train.Sessions, ts)
		if len(vs.Trials) > 0 {
			val.Sessions = append(val.Sessions, vs)
		}
	}
	if hold <= 0 {
		val = nil
	}
	return train, val
}

// OnImages returns one session of every neuron's response to every image of set: values [set.N × neurons], as the
// MTL conditions train on (targets predicted for, or simulated on, the classification training images).
func OnImages(source string, set *data.Set, values []float32, neurons int) (*Responses, error) {
	if set.C != 1 {
		return nil, fmt.Errorf("responses %q: %s has %d channels, want grayscale", source, set.Name, set.C)
	}
	if len(values) != set.N*neurons {
		return nil, fmt.Errorf("responses %q: %d values for %d images × %d neurons", source, len(values), set.N, neurons)
	}
	r := &Responses{Source: source, Neurons: neurons, H: set.H, W: set.W, Images: set.Pix, Values: values}
	all := ResponseSession{ID: "all"}
	for j := range neurons {
		all.Neurons = append(all.Neurons, j)
	}
	for i := range set.N {
		r.Trial = append(r.Trial, i)
		all.Trials = append(all.Trials, i)
	}
	r.Sessions = []ResponseSession{all}
	return r, nil
}

// Shuffled returns a copy whose responses are permuted across the trials of each session (seeded): the same
// marginal statistics, no relation to the images (MTL-Shuffled, paper Section 3).
func (r *Responses) Shuffled(seed uint64) *Responses {
	out := *r
	out.Source = r.Source + ", shuffled across images"
	out.Values = make([]float32, len(r.Values))
	rng := rand.New(rand.NewPCG(seed, 0x73687566)) // "shuf"
	for _, s := range r.Sessions {
		perm := rng.Perm(len(s.Trials))
		for k, t := range s.Trials {
			src := s.Trials[perm[k]]
			copy(out.Values[t*r.Neurons:(t+1)*r.Neurons], r.Values[src*r.Neurons:(src+1)*r.Neurons])
		}
	}
	return &out
}

// cycler hands out neural batches as the authors' cyclers do: sessions in turn, each session's trials
// in a random order that is redrawn after every pass. Its position is plain data, saved in checkpoints.
type cycler struct {
	r     *Responses
	batch int
	seed  uint64
	Pos   cyclerPos
	order [][]int // per session, the current pass's order
}

// cyclerPos is where the cycler stands: the next session, and per session its pass and position in it.
type cyclerPos struct {
	Session int   `json:"session"`
	Pass    []int `json:"pass"`
	Next    []int `json:"next"`
}

func newCycler(r *Responses, batch int, seed uint64) *cycler {
	c := &cycler{r: r, batch: batch, seed: seed}
	c.Pos = cyclerPos{Pass: make([]int, len(r.Sessions)), Next: make([]int, len(r.Sessions))}
	c.order = make([][]int, len(r.Sessions))
	return c
}

// setPos restores a saved position.
func (c *cycler) setPos(p cyclerPos) error {
	if len(p.Pass) != len(c.r.Sessions) || len(p.Next) != len(c.r.Sessions) {
		return fmt.Errorf("neural batch position for %d sessions, data have %d", len(p.Pass), len(c.r.Sessions))
	}
	c.Pos = p.clone()
	c.order = make([][]int, len(c.r.Sessions))
	return nil
}

// clone copies a position (its slices are not shared).
func (p cyclerPos) clone() cyclerPos {
	return cyclerPos{Session: p.Session, Pass: append([]int(nil), p.Pass...), Next: append([]int(nil), p.Next...)}
}

func (c *cycler) passOrder(s int) []int {
	if c.order[s] == nil {
		rng := rand.New(rand.NewPCG(c.seed^uint64(s)*0x9e3779b97f4a7c15, uint64(c.Pos.Pass[s])))
		trials := c.r.Sessions[s].Trials
		c.order[s] = make([]int, len(trials))
		for k, p := range rng.Perm(len(trials)) {
			c.order[s][k] = trials[p]
		}
	}
	return c.order[s]
}

// next returns the session and trials of the next batch (always full: a pass that runs out continues into the next).
func (c *cycler) next() (int, []int) {
	s := c.Pos.Session
	c.Pos.Session = (s + 1) % len(c.r.Sessions)
	trials := make([]int, 0, c.batch)
	for len(trials) < c.batch {
		order := c.passOrder(s)
		take := min(c.batch-len(trials), len(order)-c.Pos.Next[s])
		trials = append(trials, order[c.Pos.Next[s]:c.Pos.Next[s]+take]...)
		c.Pos.Next[s] += take
		if c.Pos.Next[s] == len(order) {
			c.Pos.Pass[s]++
			c.Pos.Next[s] = 0
			c.order[s] = nil
		}
	}
	return s, trials
}

// firstBatchMeans is the per-neuron mean response of every session's first batch (the readout's bias
// initialisation, as the authors' readout), without moving the cycler.
func (c *cycler) firstBatchMeans() []float32 {
	probe := newCycler(c.r, c.batch, c.seed)
	mean := make([]float32, c.r.Neurons)
	for range c.r.Sessions {
		s, trials := probe.next()
		for _, t := range trials {
			for _, j := range c.r.Sessions[s].Neurons {
				mean[j] += c.r.Values[t*c.r.Neurons+j] / float32(len(trials))
			}
		}
	}
	return mean
}

// fill writes the batch's normalised images [B×H×W] and responses [B×Neurons].
func (r *Responses) fill(trials []int, stats data.Stats, images, values []float32) {
	hw := r.H * r.W
	mean, inv := float32(stats.Mean), float32(1/stats.Std)
	for k, t := range trials {
		src := r.Images[r.Trial[t]*hw : (r.Trial[t]+1)*hw]
		dst := images[k*hw : (k+1)*hw]
		for p, v := range src {
			dst[p] = (float32(v)/255 - mean) * inv
		}
		copy(values[k*r.Neurons:(k+1)*r.Neurons], r.Values[t*r.Neurons:(t+1)*r.Neurons])
	}
}

// Split draws at most keep trials (all when keep ≤ 0), the same fraction of every session, and keeps back a
// fraction hold of them for validation (a seeded random choice; val is nil when hold is 0). The study's readout
// stages use it to train an MTL model's readout on its own neural data until the validation correlation stops
// improving.
func (r *Responses) Split(keep int, hold float64, seed uint64) (train, val *Responses) {
	total := len(r.Trial)
	frac := 1.0
	if keep > 0 && keep < total {
		frac = float64(keep) / float64(total)
	}
	mk := func() *Responses {
		return &Responses{Source: r.Source, Neurons: r.Neurons, H: r.H, W: r.W, Images: r.Images}
	}
	train, val = mk(), mk()
	rng := rand.New(rand.NewPCG(seed, 0x73706c74)) // "splt"
	add := func(dst *Responses, sess *ResponseSession, t int) {
		sess.Trials = append(sess.Trials, len(dst.Trial))
		dst.Trial = append(dst.Trial, r.Trial[t])
		dst.Values = append(dst.Values, r.Values[t*r.Neurons:(t+1)*r.Neurons]...)
	}
	for _, s := range r.Sessions {
		n := max(1, int(math.Round(frac*float64(len(s.Trials)))))
		nHold := int(hold * float64(n))
		ts, vs := ResponseSession{ID: s.ID, Neurons: s.Neurons}, ResponseSession{ID: s.ID, Neurons: s.Neurons}
		for k, p := range rng.Perm(len(s.Trials))[:n] {
			if k < nHold {
				add(val, &vs, s.Trials[p])
			} else {
				add(train, &ts, s.Trials[p])
			}
		}
		if len(ts.Trials) > 0 {
			train.Sessions = append(train.Sessions, ts)
		}
		if len(vs.Trials) > 0 {
			val.Sessions = append(val.Sessions, vs)
		}
	}
	if len(val.Sessions) == 0 {
		val = nil
	}
	return train, val
}
