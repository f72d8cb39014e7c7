package train

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/gomlx/gomlx/backends"
	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/train/optimizers"

	"github.com/robustvision/cotrain/pkg/data"
	"github.com/robustvision/cotrain/pkg/models"
	"github.com/robustvision/cotrain/pkg/neural"
)

// PredictorConfig is the single-task V1 predictor's training (SPEC §2.1, §2.4, §3.1): the shared block of VGG-19-BN
// (fine-tuned) with one Gaussian readout per session, Adam (lr 5e-4, weight decay 5e-4 added to the gradient as
// PyTorch's Adam does), Poisson loss summed over batch and neurons × √(N_session/B), plus 0.5·Σ|readout weights|.
type PredictorConfig struct {
	Model        models.VGGConfig
	Epochs       int
	Batch        int
	LearningRate float64
	WeightDecay  float64
	GammaReadout float64
	Seed         uint64
}

// PaperPredictor returns the authors' settings for a model configuration and epoch budget.
func PaperPredictor(cfg models.VGGConfig, epochs int, seed uint64) PredictorConfig {
	return PredictorConfig{Model: cfg, Epochs: epochs, Batch: 128, LearningRate: 5e-4, WeightDecay: 5e-4, GammaReadout: 0.5, Seed: seed}
}

// Predictor is a trained response predictor.
type Predictor struct {
	cfg       PredictorConfig
	backend   backends.Backend
	ctx       *context.Context
	data      *neural.Dataset
	mean, std float64 // image normalisation
	predict   map[int]*context.Exec
}

// TrainPredictor trains the predictor on every session's training trials. progress, if not nil, is called after
// every epoch with the mean training loss.
func TrainPredictor(b backends.Backend, d *neural.Dataset, cfg PredictorConfig, progress func(epoch int, loss float64)) (*Predictor, error) {
	p := &Predictor{cfg: cfg, backend: b, ctx: context.New(), data: d, predict: map[int]*context.Exec{}}
	if err := p.ctx.SetRNGStateFromSeed(int64(cfg.Seed)); err != nil {
		return nil, err
	}
	// Images are normalised by the mean and std of all stimuli (the authors' neural loader computes them the same way).
	st := data.ComputeStats(&data.Set{Name: "neural stimuli", N: d.N, H: d.H, W: d.W, C: 1, Pix: d.Images})
	p.mean, p.std = st.Mean, math.Max(st.Std, 1e-6)
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x7072656469637400)) // "predict"
	steps := make([]*context.Exec, len(d.Sessions))
	for epoch := 1; epoch <= cfg.Epochs; epoch++ {
		var total float64
		var count int
		for s, sess := range d.Sessions {
			nn := len(sess.Neurons)
			trials := len(sess.TrainImageIDs)
			order := rng.Perm(trials)
			for start := 0; start < trials; start += cfg.Batch {
				idx := order[start:min(start+cfg.Batch, trials)]
				x, y := p.batch(sess, idx)
				if steps[s] == nil {
					mean := make([]float32, nn) // the readout's bias starts at the first batch's mean response
					for k := range idx {
						for j := range nn {
							mean[j] += y[k*nn+j] / float32(len(idx))
						}
					}
					steps[s] = p.trainStep(s, trials, mean)
				}
				out, err := steps[s].Exec(x, tensors.FromFlatDataAndDimensions(y, len(idx), nn))
				if err != nil {
					return nil, fmt.Errorf("predictor, session %s: %w", sess.ID, err)
				}
				total += float64(tensors.ToScalar[float32](out[0]))
				count++
			}
		}
		if progress != nil {
			progress(epoch, total/float64(count))
		}
	}
	return p, nil
}

func (p *Predictor) batch(sess neural.Session, idx []int) (*tensors.Tensor, []float32) {
	d := p.data
	hw := d.H * d.W
	nn := len(sess.Neurons)
	x := make([]float32, len(idx)*hw)
	y := make([]float32, len(idx)*nn)
	for k, t := range idx {
		img := d.Image(int(sess.TrainImageIDs[t]))
		for i, v := range img {
			x[k*hw+i] = float32((float64(v)/255 - p.mean) / p.std)
		}
		copy(y[k*nn:(k+1)*nn], sess.TrainResponses[t*nn:(t+1)*nn])
	}
	return tensors.FromFlatDataAndDimensions(x, len(idx), d.H, d.W, 1), y
}

func (p *Predictor) readoutScope(s int) string { return "readout_" + p.data.Sessions[s].ID }

func (p *Predictor) trainStep(s, sessionTrials int, biasInit []float32) *context.Exec {
	cfg := p.cfg
	nn := len(p.data.Sessions[s].Neurons)
	// Checked(false): the core's variables are created by the first session's graph and reused by the others.
	return context.MustNewExec(p.backend, p.ctx.Checked(false), func(ctx *context.Context, x, y *Node) *Node {
		g := x.Graph()
		ctx.SetTraining(g, true)
		core := models.SharedBlock(ctx.In("core"), cfg.Model, x)
		readoutCtx := ctx.In(p.readoutScope(s))
		pred := models.GaussianReadout(readoutCtx, core, nn, biasInit)
		batch := float64(x.Shape().Dimensions[0])
		poisson := ReduceAllSum(Sub(pred, Mul(y, Log(AddScalar(pred, 1e-12)))))
		loss := MulScalar(poisson, math.Sqrt(float64(sessionTrials)/batch))
		features := readoutCtx.InspectVariableInScope("features").ValueGraph(g)
		loss = Add(loss, MulScalar(ReduceAllSum(Abs(features)), cfg.GammaReadout))
		if cfg.WeightDecay > 0 { // PyTorch Adam's weight decay: wd·p added to the gradient = ½·wd·Σp² in the loss
			var l2 *Node
			for v := range ctx.IterVariables() {
				if v.Trainable && v.InUseByGraph(g) {
					term := ReduceAllSum(Square(v.ValueGraph(g)))
					if l2 == nil {
						l2 = term
					} else {
						l2 = Add(l2, term)
					}
				}
			}
			loss = Add(loss, MulScalar(l2, 0.5*cfg.WeightDecay))
		}
		optimizers.Adam().LearningRate(cfg.LearningRate).Done().UpdateGraph(ctx, g, loss)
		return poisson
	})
}

// Predict returns the predicted mean counts of session s's neurons for the given images (evaluation mode:
// readout at μ, batch norm with running statistics), as [images × neurons].
func (p *Predictor) Predict(s int, images []int64) ([]float32, error) {
	d := p.data
	sess := d.Sessions[s]
	nn := len(sess.Neurons)
	exec, ok := p.predict[s]
	if !ok {
		exec = context.MustNewExec(p.backend, p.ctx.Checked(false), func(ctx *context.Context, x *Node) *Node {
			ctx.SetTraining(x.Graph(), false)
			core := models.SharedBlock(ctx.In("core"), p.cfg.Model, x)
			return models.GaussianReadout(ctx.In(p.readoutScope(s)), core, nn, nil)
		})
		p.predict[s] = exec
	}
	hw := d.H * d.W
	var out []float32
	for start := 0; start < len(images); start += p.cfg.Batch {
		ids := images[start:min(start+p.cfg.Batch, len(images))]
		x := make([]float32, len(ids)*hw)
		for k, id := range ids {
			for i, v := range d.Image(int(id)) {
				x[k*hw+i] = float32((float64(v)/255 - p.mean) / p.std)
			}
		}
		res, err := exec.Exec(tensors.FromFlatDataAndDimensions(x, len(ids), d.H, d.W, 1))
		if err != nil {
			return nil, err
		}
		out = append(out, tensors.MustCopyFlatData[float32](res[0])...)
	}
	return out, nil
}

// FEVe returns every neuron's fraction of explainable variance explained on the held-out test repeats, session by
// session in the dataset's neuron order.
func (p *Predictor) FEVe() ([]float64, error) {
	var out []float64
	for s, sess := range p.data.Sessions {
		images, _ := sess.Repeats()
		pred, err := p.Predict(s, images)
		if err != nil {
			return nil, err
		}
		nn := len(sess.Neurons)
		index := map[int64]int{}
		for i, id := range images {
			index[id] = i
		}
		for j := range nn {
			out = append(out, sess.FEVe(j, func(id int64) float64 { return float64(pred[index[id]*nn+j]) }))
		}
	}
	return out, nil
}
