package train

import (
	"fmt"
	"math"

	"github.com/robustvision/cotrain/pkg/data"
	"github.com/robustvision/cotrain/pkg/neural"
)

// NeuralData prepares a recording for the single-task predictor (paper, Section 2, "Monkey Predictor"): every
// session's training trials, of which a seeded fraction hold is kept back for validation (the monitored correlation),
// with the images normalised by stats — in the study, those of the classification images, since the stimuli come from
// the same distribution — or, when stats is nil, by the mean and standard deviation of all stimuli (as the authors'
// neural loader computes them for their ImageNet stimuli).
func NeuralData(d *neural.Dataset, hold float64, seed uint64, stats *data.Stats) (Data, error) {
	if hold <= 0 || hold >= 1 {
		return Data{}, fmt.Errorf("validation fraction %v: want 0 < hold < 1", hold)
	}
	train, val := Recorded(d, hold, seed)
	if stats != nil {
		return Data{Neural: train, NeuralVal: val, NeuralStats: *stats}, nil
	}
	st := data.ComputeStats(&data.Set{Name: "neural stimuli: " + d.Meta.Source, N: d.N, H: d.H, W: d.W, C: 1, Pix: d.Images})
	st.Std = math.Max(st.Std, 1e-6)
	return Data{Neural: train, NeuralVal: val, NeuralStats: st}, nil
}

// PredictedResponses returns a model's predicted responses to every image of set as MTL targets (MTL-Monkey from
// the Monkey Predictor, MTL-Oracle from the readout on the Oracle's block): evaluation mode, clean images.
func PredictedResponses(m *Model, set *data.Set, source string) (*Responses, error) {
	values, err := m.Responses(set.Pix, set.N)
	if err != nil {
		return nil, err
	}
	return OnImages(source, set, values, m.Info.Neurons)
}
