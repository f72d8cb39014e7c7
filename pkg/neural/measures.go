package neural

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"

	"gonum.org/v1/gonum/stat"
)

// FEVThreshold: neurons whose fraction of explainable variance is at most this are left out of averages of FEVe,
// as the authors' FEVe_thresholded does.
const FEVThreshold = 0.15

// Repeats groups a session's test trials by image: for each distinct test image (ascending id), the trial indices
// that showed it.
func (s Session) Repeats() (images []int64, trials [][]int) {
	byImage := map[int64][]int{}
	for t, id := range s.TestImageIDs {
		byImage[id] = append(byImage[id], t)
	}
	for id := range byImage {
		images = append(images, id)
	}
	sort.Slice(images, func(i, j int) bool { return images[i] < images[j] })
	for _, id := range images {
		trials = append(trials, byImage[id])
	}
	return images, trials
}

// testCounts returns neuron j's test responses as [image][repeat], NaNs (missing repeats) dropped.
func (s Session) testCounts(j int) [][]float64 {
	_, trials := s.Repeats()
	n := len(s.Neurons)
	out := make([][]float64, len(trials))
	for i, ts := range trials {
		for _, t := range ts {
			if v := float64(s.TestResponses[t*n+j]); !math.IsNaN(v) {
				out[i] = append(out[i], v)
			}
		}
	}
	return out
}

// Variances returns, for neuron j, the total variance of its test responses (all images and repeats pooled, ddof 1)
// and the noise variance (the mean over images of the across-repeat variance, ddof 1), NaN-aware (as the authors'
// code).
func (s Session) Variances(j int) (total, noise float64) {
	counts := s.testCounts(j)
	var all []float64
	var noiseSum float64
	var noiseN int
	for _, reps := range counts {
		all = append(all, reps...)
		if len(reps) >= 2 {
			noiseSum += stat.Variance(reps, nil)
			noiseN++
		}
	}
	if len(all) < 2 || noiseN == 0 {
		return math.NaN(), math.NaN()
	}
	return stat.Variance(all, nil), noiseSum / float64(noiseN)
}

// FEV is neuron j's fraction of explainable variance: (total − noise) / total.
func (s Session) FEV(j int) float64 {
	total, noise := s.Variances(j)
	return (total - noise) / total
}

// FEVe is the fraction of explainable variance that predictions explain for neuron j:
// 1 − (MSE − noise) / (total − noise), where MSE is the mean over all test trials of (response − prediction)² and
// predict gives the prediction for a test image id.
func (s Session) FEVe(j int, predict func(image int64) float64) float64 {
	images, _ := s.Repeats()
	counts := s.testCounts(j)
	var se float64
	var n int
	for i, reps := range counts {
		p := predict(images[i])
		for _, v := range reps {
			se += (v - p) * (v - p)
			n++
		}
	}
	total, noise := s.Variances(j)
	return 1 - (se/float64(n)-noise)/(total-noise)
}

// OracleCorrelation is the leave-one-out oracle: the correlation between each test trial and the mean of the other
// repeats of the same image, over all trials (the authors' compute_oracle_corr).
func (s Session) OracleCorrelation(j int) float64 {
	var xs, ys []float64
	for _, reps := range s.testCounts(j) {
		if len(reps) < 2 {
			continue
		}
		var sum float64
		for _, v := range reps {
			sum += v
		}
		for _, v := range reps {
			xs = append(xs, v)
			ys = append(ys, (sum-v)/float64(len(reps)-1))
		}
	}
	if len(xs) < 3 {
		return math.NaN()
	}
	return stat.Correlation(xs, ys, nil)
}

// Fano is neuron j's Fano factor: the mean over test images of the across-repeat variance divided by the mean
// (images with a zero mean are skipped).
func (s Session) Fano(j int) float64 {
	var sum float64
	var n int
	for _, reps := range s.testCounts(j) {
		if len(reps) < 2 {
			continue
		}
		m := stat.Mean(reps, nil)
		if m > 0 {
			sum += stat.Variance(reps, nil) / m
			n++
		}
	}
	if n == 0 {
		return math.NaN()
	}
	return sum / float64(n)
}

// MeanCount is neuron j's mean spike count over all training and test trials.
func (s Session) MeanCount(j int) float64 {
	n := len(s.Neurons)
	var sum float64
	var k int
	for _, r := range [][]float32{s.TrainResponses, s.TestResponses} {
		for t := 0; t < len(r)/n; t++ {
			if v := float64(r[t*n+j]); !math.IsNaN(v) {
				sum += v
				k++
			}
		}
	}
	return sum / float64(k)
}

// NeuronStats is one neuron's summary: what `cotrain neural stats -json` prints per neuron.
type NeuronStats struct {
	Session    string   `json:"session"`
	Neuron     int      `json:"neuron"`
	FEV        float64  `json:"fev"`
	TrueFEV    *float64 `json:"true_ev,omitempty"` // simulated data: the ground truth
	MeanCount  float64  `json:"mean_count"`
	Fano       float64  `json:"fano"`
	OracleCorr float64  `json:"oracle_corr"`
	Repeats    float64  `json:"repeats"` // mean number of repeats per test image
}

// MarshalJSON writes the measures that are undefined for a neuron (NaN: constant responses, or too few repeats) as
// null.
func (s NeuronStats) MarshalJSON() ([]byte, error) {
	finite := func(v float64) *float64 {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil
		}
		return &v
	}
	return json.Marshal(struct {
		Session    string   `json:"session"`
		Neuron     int      `json:"neuron"`
		FEV        *float64 `json:"fev"`
		TrueFEV    *float64 `json:"true_ev,omitempty"`
		MeanCount  *float64 `json:"mean_count"`
		Fano       *float64 `json:"fano"`
		OracleCorr *float64 `json:"oracle_corr"`
		Repeats    *float64 `json:"repeats"`
	}{s.Session, s.Neuron, finite(s.FEV), s.TrueFEV, finite(s.MeanCount), finite(s.Fano), finite(s.OracleCorr),
		finite(s.Repeats)})
}

// Stats summarises every neuron of the dataset.
func (d *Dataset) Stats() []NeuronStats {
	var out []NeuronStats
	k := 0
	for _, s := range d.Sessions {
		_, trials := s.Repeats()
		var reps float64
		for _, t := range trials {
			reps += float64(len(t))
		}
		reps /= float64(max(1, len(trials)))
		for j, id := range s.Neurons {
			ns := NeuronStats{Session: s.ID, Neuron: id, FEV: s.FEV(j), MeanCount: s.MeanCount(j), Fano: s.Fano(j),
				OracleCorr: s.OracleCorrelation(j), Repeats: reps}
			if d.TrueFEV != nil {
				v := float64(d.TrueFEV[k])
				ns.TrueFEV = &v
			}
			out = append(out, ns)
			k++
		}
	}
	return out
}

// Summary describes the dataset's statistics in a few lines. Means and medians are over the neurons where a measure
// is defined; the neurons without a defined FEV are counted.
func Summary(d *Dataset, stats []NeuronStats) string {
	var fev, fano, count, trueFEV []float64
	kept, undefined := 0, 0
	add := func(to *[]float64, v float64) {
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			*to = append(*to, v)
		}
	}
	for _, s := range stats {
		add(&fev, s.FEV)
		add(&fano, s.Fano)
		add(&count, s.MeanCount)
		if s.TrueFEV != nil {
			add(&trueFEV, *s.TrueFEV)
		}
		if s.FEV > FEVThreshold {
			kept++
		}
		if math.IsNaN(s.FEV) {
			undefined++
		}
	}
	out := fmt.Sprintf("%s: %d neurons in %d sessions, %d images (%d×%d at %.0f ppd)\n", d.Meta.Source, len(stats),
		len(d.Sessions), d.N, d.W, d.H, d.Meta.PPD)
	out += fmt.Sprintf("mean spike count %.2f (median %.2f), Fano factor mean %.2f (median %.2f)\n", meanOf(count),
		median(count), meanOf(fano), median(fano))
	if len(fev) > 0 {
		out += fmt.Sprintf("FEV from repeats: mean %.3f, median %.3f; %d of %d neurons above %.2f\n", meanOf(fev),
			median(fev), kept, len(stats), FEVThreshold)
	} else {
		out += "FEV from repeats: undefined for every neuron\n"
	}
	if undefined > 0 {
		out += fmt.Sprintf("%d neurons have no defined FEV (constant responses or fewer than 2 repeats of a test image): "+
			"left out of the means and of every FEVe average\n", undefined)
	}
	if len(trueFEV) > 0 {
		out += fmt.Sprintf("true FEV (simulator's ground truth): mean %.3f, median %.3f\n", meanOf(trueFEV), median(trueFEV))
	}
	return out
}

// meanOf is the mean of v, NaN when empty.
func meanOf(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	return stat.Mean(v, nil)
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	s = s[:0]
	for _, x := range v {
		if !math.IsNaN(x) {
			s = append(s, x)
		}
	}
	if len(s) == 0 {
		return math.NaN()
	}
	sort.Float64s(s)
	return stat.Quantile(0.5, stat.Empirical, s, nil)
}

// MeanFEVe averages a model's per-neuron FEVe (in the dataset's neuron order: session by session) over the reliable
// neurons, whose FEV exceeds FEVThreshold: the paper's measure (NaN when there are none). The mean over all neurons
// is not computed: for a neuron with almost no explainable variance FEVe is a ratio of two noisy small numbers and
// unbounded. Neurons whose FEVe is undefined (NaN: every test repeat missing, or constant responses) are left out;
// skipped counts them.
func (d *Dataset) MeanFEVe(feve []float64) (reliable float64, skipped int, err error) {
	if len(feve) != d.NumNeurons() {
		return 0, 0, fmt.Errorf("FEVe of %d neurons for a recording of %d", len(feve), d.NumNeurons())
	}
	// Summed in order (not floats.Sum's unrolled order), so that cached results do not change in the last bit.
	var sum float64
	kept, k := 0, 0
	for _, s := range d.Sessions {
		for j := range s.Neurons {
			switch {
			case math.IsNaN(feve[k]) || math.IsInf(feve[k], 0):
				skipped++
			case s.FEV(j) > FEVThreshold:
				sum += feve[k]
				kept++
			}
			k++
		}
	}
	if kept == 0 {
		return math.NaN(), skipped, nil
	}
	return sum / float64(kept), skipped, nil
}
