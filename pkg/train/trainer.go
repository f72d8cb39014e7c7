package train

import (
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/train/optimizers"

	"github.com/robustvision/cotrain/pkg/corrupt"
	"github.com/robustvision/cotrain/pkg/data"
	"github.com/robustvision/cotrain/pkg/models"
)

// Objective is what a training run optimises (Table 1 of the paper).
type Objective string

// The four objectives. Every model of Table 1 is one of these, or two in sequence (the Oracle).
const (
	// Classification: cross-entropy on augmented images (Baseline; the Oracle's second stage on a frozen block).
	Classification Objective = "classification"
	// MultiTask: uncertainty-weighted cross-entropy and MSE on neural batches, interleaved by the batch ratio
	// (MTL-Monkey, MTL-Oracle, MTL-Shuffled, MTL on recorded and on noise-free responses).
	MultiTask Objective = "multitask"
	// CorruptionConsistency: cross-entropy on a 1:1 clean/corrupted mixture plus λ·MSE between the conv3_1
	// representations of two corrupted views (the Oracle's first stage).
	CorruptionConsistency Objective = "oracle"
	// NeuralPrediction: Poisson loss on recorded responses with Adam (the Monkey Predictor; the MTL-Oracle's
	// readout on the frozen Oracle block).
	NeuralPrediction Objective = "neural"
)

// Config is one training run. The defaults of each objective are the authors' code's (the paper gives only the
// optimisers); see Defaults.
type Config struct {
	Objective Objective
	Model     models.VGGConfig
	Batch     int
	MaxEpochs int
	Seed      uint64

	SGD           MomentumSGD // classification, multitask, oracle
	Adam          AdamConfig  // neural
	PlateauFactor float64     // learning-rate factor of reduce-on-plateau: 0.4, 0.3, 0.5
	Threshold     float64     // plateau threshold: 1e-4 (1e-6 for the predictor)

	Ratio   Ratio        // multitask: neural:classification batches
	Oracle  OracleConfig // oracle
	Frozen  []string     // scopes (e.g. "/shared") whose variables are not trained and run in evaluation mode
	Initial []string     // scopes that Data.Init initialises (e.g. "/shared")
}

// AdamConfig is torch.optim.Adam(lr, weight_decay) with the single-task predictor's readout L1 penalty.
type AdamConfig struct {
	LearningRate, WeightDecay, GammaReadout float64
}

// OracleConfig is the Oracle's corruption training (paper, Section 3 "Oracle"; the details are the authors' code's).
type OracleConfig struct {
	Corruptions []string       // the 14 corruptions of the paper (glass blur excluded)
	Preset      corrupt.Preset // severity table
	Lambda      float64        // weight of the consistency loss (the authors' default 1)
	// Criterion of the consistency loss (models.Consistency): "euclidean" (the paper's words: the Euclidean distance
	// between the two views' conv3_1 activations), or the authors' code's two options, "mse" (nn.MSELoss) and
	// "cosine" (CosineEmbeddingLoss with target +1: the mean over images of 1 − cos between the two views' flattened
	// activations). MSE can be driven to zero by shrinking the activations, which starves the classification branch
	// (measured under an earlier recipe: stage 1's cross-entropy stayed at 2.30 while the MSE fell to 0.01); the
	// cosine form is scale-free, bounded by 2, and is the default here; a scale chooses (Scale.OracleConsistency).
	Criterion string
}

// Defaults returns the authors' settings for an objective.
func Defaults(o Objective, model models.VGGConfig, maxEpochs int, seed uint64) Config {
	c := Config{Objective: o, Model: model, Batch: 128, MaxEpochs: maxEpochs, Seed: seed, SGD: PaperSGD,
		PlateauFactor: 0.4, Threshold: 1e-4, Ratio: Ratio{1, 1}}
	switch o {
	case MultiTask:
		c.PlateauFactor = 0.3
	case CorruptionConsistency:
		c.Oracle = OracleConfig{Corruptions: corrupt.PaperNames(), Preset: corrupt.PresetImageNetC, Lambda: 1,
			Criterion: "cosine"}
	case NeuralPrediction:
		c.Adam = AdamConfig{LearningRate: 5e-4, WeightDecay: 5e-4, GammaReadout: 0.5}
		c.PlateauFactor, c.Threshold = 0.5, 1e-6
	}
	return c
}

// Validate reports what is wrong with a configuration for the data given.
func (c Config) Validate(d Data) error {
	if err := c.Model.Validate(); err != nil {
		return err
	}
	switch {
	case c.Batch < 1:
		return fmt.Errorf("batch size %d: want ≥ 1", c.Batch)
	case c.MaxEpochs < 1:
		return fmt.Errorf("epochs %d: want ≥ 1", c.MaxEpochs)
	}
	needImages := c.Objective != NeuralPrediction
	needNeural := c.Objective == MultiTask || c.Objective == NeuralPrediction
	if c.Objective == CorruptionConsistency && !slices.Contains(models.ConsistencyCriteria, c.Oracle.Criterion) {
		return fmt.Errorf("consistency criterion %q: want one of %v", c.Oracle.Criterion, models.ConsistencyCriteria)
	}
	switch c.Objective {
	case Classification, MultiTask, CorruptionConsistency, NeuralPrediction:
	default:
		return fmt.Errorf("objective %q: want classification, multitask, oracle or neural", c.Objective)
	}
	if needImages && d.Images == nil {
		return fmt.Errorf("%s training needs classification images", c.Objective)
	}
	if needImages && d.Images.Train.H != c.Model.InputSize {
		return fmt.Errorf("images are %d×%d, the model takes %d×%d", d.Images.Train.W, d.Images.Train.H, c.Model.InputSize, c.Model.InputSize)
	}
	if needNeural {
		if d.Neural == nil {
			return fmt.Errorf("%s training needs neural responses", c.Objective)
		}
		if err := d.Neural.Validate(); err != nil {
			return err
		}
		if d.Neural.H != c.Model.InputSize {
			return fmt.Errorf("neural images are %d×%d, the model takes %d×%d", d.Neural.W, d.Neural.H, c.Model.InputSize, c.Model.InputSize)
		}
	}
	if c.Objective == NeuralPrediction && d.NeuralStats.Std <= 0 {
		return fmt.Errorf("neural training needs the stimuli's normalisation statistics")
	}
	if c.Objective == CorruptionConsistency {
		for _, n := range c.Oracle.Corruptions {
			if _, err := corrupt.Lookup(n); err != nil {
				return err
			}
		}
		if len(c.Oracle.Corruptions) == 0 {
			return fmt.Errorf("oracle training needs at least one corruption")
		}
	}
	if len(c.Initial) > 0 && d.Init == nil {
		return fmt.Errorf("scopes %v are to be initialised, but no initial weights were given", c.Initial)
	}
	return nil
}

// Data is what a run trains on.
type Data struct {
	Images      *data.Prepared // classification images (all objectives but neural)
	Neural      *Responses     // neural training trials (multitask, neural)
	NeuralVal   *Responses     // neural validation trials (neural)
	NeuralStats data.Stats     // normalisation of the neural images for the neural objective (the stimuli's own)
	Init        Snapshot       // initial weights for the scopes Config.Initial names
}

// Options controls where a run keeps its state and how it reports.
type Options struct {
	Dir      string    // checkpoints (last.ckpt, best.ckpt), metrics.csv and the final model.ckpt; "" keeps nothing
	Progress io.Writer // a progress bar (a terminal) or one line per epoch; nil is silent
	// Interrupt, if not nil, is asked after every step; true stops the run as if killed (ErrInterrupted), leaving
	// the last epoch's checkpoint to resume from. Tests use it; so does a caller's deadline.
	Interrupt func(epoch, step int) bool
	// AfterEpoch, if not nil, is called after every epoch's validation with the model as it stands at the end of
	// that epoch (before the plateau schedule restores the best weights); an error stops the run. It reads the
	// model and must not change it: the calibration's held-out curves use it.
	AfterEpoch func(epoch int, m *Model) error
}

// ErrInterrupted is returned when Options.Interrupt stopped a run.
var ErrInterrupted = errors.New("training interrupted")

// ErrDiverged is wrapped by Train when the loss becomes NaN or infinite: training stops, and the last checkpoint
// (of the last epoch that finished with a finite loss) is left in place.
var ErrDiverged = errors.New("training diverged")

// checkLoss stops the run at the first non-finite loss.
func (t *trainer) checkLoss(epoch, step int, loss float64) error {
	if !math.IsNaN(loss) && !math.IsInf(loss, 0) {
		return nil
	}
	where := "nothing was saved"
	if t.opt.Dir != "" && t.state.Epoch > 0 {
		where = fmt.Sprintf("%s holds epoch %d", t.checkpointFile("last.ckpt"), t.state.Epoch)
	}
	return fmt.Errorf("%w: the loss is %v at epoch %d, step %d (try a lower learning rate; %s)", ErrDiverged, loss,
		epoch, step, where)
}

// EpochMetrics is one line of metrics.csv.
type EpochMetrics struct {
	Epoch       int     `json:"epoch"`
	LR          float64 `json:"lr"`
	Loss        float64 `json:"loss"`         // the optimised objective, mean over steps
	CE          float64 `json:"ce"`           // classification cross-entropy (training batches)
	TrainAcc    float64 `json:"train_acc"`    // accuracy on the (augmented) training batches
	Neural      float64 `json:"neural"`       // neural loss: MSE (multitask) or Poisson (neural)
	Consistency float64 `json:"consistency"`  // oracle: conv3_1 MSE between the two corrupted views
	Val         float64 `json:"val"`          // the monitored metric: validation accuracy or correlation
	LogVarC     float64 `json:"log_var_c"`    // multitask: learned log σ² of classification
	LogVarN     float64 `json:"log_var_n"`    // multitask: learned log σ² of the neural task
	Seconds     float64 `json:"seconds"`      // wall time of the epoch with validation
	Improved    bool    `json:"improved"`     // a new best
	Restored    bool    `json:"restored"`     // best weights restored and learning rate reduced
	Images      int     `json:"images"`       // images through the network in training steps (both tasks)
	ImagesPerS  float64 `json:"images_per_s"` // training throughput
}

// trainState is the resumable position of a run, stored with the checkpoint.
type trainState struct {
	Fingerprint string         `json:"fingerprint"` // the configuration the checkpoint belongs to
	Epoch       int            `json:"epoch"`       // epochs completed
	Plateau     Plateau        `json:"plateau"`
	Cycler      cyclerPos      `json:"cycler"`
	Metrics     []EpochMetrics `json:"metrics"`
	Done        bool           `json:"done"`
	Info        ModelInfo      `json:"info"`
}

// trainer holds one run.
type trainer struct {
	b      backends.Backend
	cfg    Config
	d      Data
	opt    Options
	ctx    *context.Context
	info   ModelInfo
	cyc    *cycler
	bias   []float32
	execs  *execCache
	state  trainState
	best   Snapshot
	frozen func(string) bool
}

// Train runs a configuration to the end (reduce-on-plateau's stop or MaxEpochs) and returns the model with the best
// validation weights and the per-epoch metrics. With Options.Dir it checkpoints after every epoch and resumes from
// the last checkpoint of the same configuration: a resumed run ends with the same weights as an uninterrupted one.
func Train(b backends.Backend, cfg Config, d Data, opt Options) (*Model, []EpochMetrics, error) {
	if err := cfg.Validate(d); err != nil {
		return nil, nil, fmt.Errorf("train %s: %w", cfg.Objective, err)
	}
	ctx := context.New().Checked(false)
	t := &trainer{b: b, cfg: cfg, d: d, opt: opt, ctx: ctx, execs: newExecCache(b, ctx), frozen: InScope(cfg.Frozen...)}
	t.info = ModelInfo{Model: cfg.Model, Objective: cfg.Objective}
	t.info.Stats = d.NeuralStats
	if cfg.Objective != NeuralPrediction {
		t.info.Stats = d.Images.Stats
	}
	if d.Neural != nil && (cfg.Objective == MultiTask || cfg.Objective == NeuralPrediction) {
		t.info.Neurons, t.info.NeuronsSource = d.Neural.Neurons, d.Neural.Source
		t.cyc = newCycler(d.Neural, cfg.Batch, cfg.Seed^0x6e657572616c) // "neural"
		t.bias = t.cyc.firstBatchMeans()
	}
	if err := t.ctx.SetRNGStateFromSeed(int64(cfg.Seed)); err != nil {
		return nil, nil, err
	}
	t.state = trainState{Fingerprint: fingerprint(cfg, d), Info: t.info}
	resumed, err := t.resume()
	if err != nil {
		return nil, nil, err
	}
	if !resumed && len(cfg.Initial) > 0 {
		if err := d.Init.Restore(t.ctx, InScope(cfg.Initial...)); err != nil {
			return nil, nil, fmt.Errorf("initial weights: %w", err)
		}
	}
	if !t.state.Done {
		if err := t.run(resumed); err != nil {
			return nil, t.state.Metrics, err
		}
	}
	if err := t.best.Restore(t.ctx, nil); err != nil {
		return nil, nil, err
	}
	m := &Model{Info: t.info, backend: b, ctx: t.ctx, execs: newExecCache(b, t.ctx)}
	if opt.Dir != "" {
		if err := m.Save(filepath.Join(opt.Dir, "model.ckpt")); err != nil {
			return nil, nil, err
		}
	}
	return m, t.state.Metrics, nil
}

// fingerprint identifies a configuration and its data, so that a checkpoint of another run is never resumed.
func fingerprint(cfg Config, d Data) string {
	var parts []string
	parts = append(parts, fmt.Sprintf("%+v", cfg))
	if d.Images != nil {
		parts = append(parts, d.Images.Train.Name, fmt.Sprint(d.Images.Train.N, d.Images.Validation.N, d.Images.Stats))
	}
	if d.Neural != nil {
		parts = append(parts, d.Neural.Source, fmt.Sprint(len(d.Neural.Trial), d.Neural.Neurons))
	}
	return strings.Join(parts, "|")
}

func (t *trainer) checkpointFile(name string) string { return filepath.Join(t.opt.Dir, name) }

// resume loads the last checkpoint of this configuration, if any.
func (t *trainer) resume() (bool, error) {
	if t.opt.Dir == "" {
		return false, nil
	}
	file := t.checkpointFile("last.ckpt")
	var st trainState
	snap, err := ReadCheckpoint(file, &st)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	var best Snapshot
	if err == nil {
		best, err = ReadCheckpoint(t.checkpointFile("best.ckpt"), nil)
	}
	if err != nil {
		// A damaged checkpoint cannot be resumed from: set it aside (for inspection) and start the run afresh.
		for _, f := range []string{"last.ckpt", "best.ckpt"} {
			os.Rename(t.checkpointFile(f), t.checkpointFile(f+".damaged"))
		}
		if t.opt.Progress != nil {
			fmt.Fprintf(t.opt.Progress, "cannot resume (%v): the checkpoints are set aside as *.damaged and the run "+
				"starts afresh\n", err)
		}
		return false, nil
	}
	if st.Fingerprint != t.state.Fingerprint {
		return false, fmt.Errorf("%s belongs to another configuration; remove %s to start afresh", file, t.opt.Dir)
	}
	if err := snap.Restore(t.ctx, nil); err != nil {
		return false, fmt.Errorf("resuming from %s: %w", file, err)
	}
	t.state, t.best = st, best
	if t.opt.Progress != nil {
		fmt.Fprintf(t.opt.Progress, "resuming from %s: %d epochs done\n", file, st.Epoch)
	}
	if t.cyc != nil {
		if err := t.cyc.setPos(st.Cycler); err != nil {
			return false, fmt.Errorf("resuming from %s: %w", file, err)
		}
	}
	return true, nil
}

func (t *trainer) saveCheckpoint() error {
	if t.opt.Dir == "" {
		return nil
	}
	if err := os.MkdirAll(t.opt.Dir, 0o755); err != nil {
		return err
	}
	all, err := Take(t.ctx, nil)
	if err != nil {
		return err
	}
	if err := WriteCheckpoint(t.checkpointFile("best.ckpt"), t.best, nil); err != nil {
		return err
	}
	if err := WriteCheckpoint(t.checkpointFile("last.ckpt"), all, t.state); err != nil {
		return err
	}
	return writeMetricsCSV(t.checkpointFile("metrics.csv"), t.state.Metrics)
}

func (t *trainer) run(resumed bool) error {
	cfg := t.cfg
	lr := cfg.SGD.LearningRate
	if cfg.Objective == NeuralPrediction {
		lr = cfg.Adam.LearningRate
	}
	optimizers.LearningRateVar(t.ctx, dtypes.Float32, lr)
	if !resumed {
		// The authors validate once before the first epoch: the initial best (the authors' trainer).
		t.state.Plateau = Plateau{Factor: cfg.PlateauFactor, Patience: 5, Threshold: cfg.Threshold, RelThreshold: true,
			MinLR: 1e-4, MaxReductions: 5, MaxEpochs: cfg.MaxEpochs, LR: lr}
		if err := t.buildAll(); err != nil {
			return err
		}
		v, err := t.validate()
		if err != nil {
			return err
		}
		t.state.Plateau.Start(v)
		best, err := Take(t.ctx, modelState)
		if err != nil {
			return err
		}
		t.best = best
	}
	bar := newProgress(t.opt.Progress, string(cfg.Objective))
	for !t.state.Done {
		epoch := t.state.Epoch + 1
		if err := SetLearningRate(t.ctx, t.state.Plateau.LR); err != nil {
			return err
		}
		start := time.Now()
		m, err := t.epoch(epoch, bar)
		if err != nil {
			return err
		}
		if m.Val, err = t.validate(); err != nil {
			return err
		}
		m.Epoch, m.LR = epoch, t.state.Plateau.LR
		m.Seconds = time.Since(start).Seconds()
		if t.opt.AfterEpoch != nil {
			if err := t.opt.AfterEpoch(epoch, &Model{Info: t.info, backend: t.b, ctx: t.ctx, execs: t.execs}); err != nil {
				return fmt.Errorf("after epoch %d: %w", epoch, err)
			}
		}
		dec := t.state.Plateau.Step(epoch, m.Val)
		m.Improved, m.Restored = dec.Improved, dec.RestoreBest
		if dec.Improved {
			if t.best, err = Take(t.ctx, modelState); err != nil {
				return err
			}
		}
		if dec.RestoreBest || dec.Stop {
			if err := t.best.Restore(t.ctx, nil); err != nil {
				return err
			}
		}
		t.state.Epoch = epoch
		t.state.Done = dec.Stop
		t.state.Metrics = append(t.state.Metrics, m)
		if t.cyc != nil {
			t.state.Cycler = t.cyc.Pos.clone()
		}
		bar.epochDone(m, cfg.MaxEpochs)
		if err := t.saveCheckpoint(); err != nil {
			return err
		}
	}
	return nil
}

// buildAll compiles the training step before validation, so that every variable exists (and is initialised in the
// same order in every run) before the first validation and snapshot.
func (t *trainer) buildAll() error {
	switch t.cfg.Objective {
	case NeuralPrediction:
		_, err := t.exec("neural", t.neuralStep)
		return err
	case MultiTask:
		if _, err := t.exec("classification", t.classStep); err != nil {
			return err
		}
		_, err := t.exec("multitask", t.multiTaskStep)
		return err
	case CorruptionConsistency:
		_, err := t.exec("oracle", t.oracleStep)
		return err
	default:
		_, err := t.exec("classification", t.classStep)
		return err
	}
}

func (t *trainer) exec(name string, fn func(ctx *context.Context, in []*Node) []*Node) (*context.Exec, error) {
	return getExec(t.execs, name, fn)
}

// training marks the graph as training, and the frozen scopes as evaluation.
func (t *trainer) training(ctx *context.Context, g *Graph) {
	ctx.SetTraining(g, true)
	for _, s := range t.cfg.Frozen {
		ctx.InAbsPath(s).SetTraining(g, false)
	}
}

// freeze marks the frozen scopes' variables as not trainable (after the forward pass created them).
func (t *trainer) freeze(ctx *context.Context) {
	for v := range ctx.IterVariables() {
		if t.frozen(v.ScopeAndName()) {
			v.SetTrainable(false)
		}
	}
}

func correct(logits, labels *Node) *Node {
	return ReduceAllSum(ConvertDType(Equal(ConvertDType(ArgMax(logits, -1), labels.DType()), labels), dtypes.Float32))
}

// classStep: inputs images, labels → loss, CE, correct.
func (t *trainer) classStep(ctx *context.Context, in []*Node) []*Node {
	x, labels := in[0], in[1]
	g := x.Graph()
	t.training(ctx, g)
	logits := models.Classifier(ctx, t.cfg.Model, x)
	ce := models.CrossEntropy(logits, labels)
	loss := ce
	if t.cfg.Objective == MultiTask {
		loss = ClassificationTerm(ctx, ce)
	}
	t.freeze(ctx)
	t.cfg.SGD.UpdateGraph(ctx, g, loss)
	return []*Node{loss, ce, correct(logits, labels)}
}

// multiTaskStep: images, labels, neural images [r, B, H, W, 1], targets [r, B, N], masks [r, N] → loss, CE,
// correct, mean MSE. The r neural batches and the classification batch each run their own forward pass (own batch
// statistics, running statistics updated in turn) and their losses are summed before one optimizer step — the same
// gradient as the authors' accumulation of r + 1 backward passes (the authors' MTL cycler).
func (t *trainer) multiTaskStep(ctx *context.Context, in []*Node) []*Node {
	x, labels, nx, ny, mask := in[0], in[1], in[2], in[3], in[4]
	g := x.Graph()
	t.training(ctx, g)
	r := nx.Shape().Dimensions[0]
	var loss, mseSum *Node
	for k := range r {
		xk := Squeeze(Slice(nx, AxisElem(k)), 0)
		yk := Squeeze(Slice(ny, AxisElem(k)), 0)
		mk := Slice(mask, AxisElem(k)) // [1, N]
		pred := models.Responses(ctx, t.cfg.Model, xk, t.info.Neurons, t.bias)
		mse := maskedMSE(pred, yk, mk)
		term := NeuralTerm(ctx, mse)
		if loss == nil {
			loss, mseSum = term, mse
		} else {
			loss, mseSum = Add(loss, term), Add(mseSum, mse)
		}
	}
	logits := models.Classifier(ctx, t.cfg.Model, x)
	ce := models.CrossEntropy(logits, labels)
	loss = Add(loss, ClassificationTerm(ctx, ce))
	t.freeze(ctx)
	t.cfg.SGD.UpdateGraph(ctx, g, loss)
	return []*Node{loss, ce, correct(logits, labels), DivScalar(mseSum, float64(r))}
}

// maskedMSE is the mean squared error over the batch and the masked neurons (mask [1, N]).
func maskedMSE(pred, y, mask *Node) *Node {
	b := float64(pred.Shape().Dimensions[0])
	sq := Mul(Square(Sub(pred, y)), mask)
	return Div(ReduceAllSum(sq), MulScalar(ReduceAllSum(mask), b))
}

// oracleStep: view A (clean or corrupted), view B (always corrupted), labels → loss, CE, correct, consistency.
// Both views run through the shared block together (batch statistics over 2B images, as the authors concatenate
// them); the classification branch runs on view A only — the authors run it on both and discard view B's logits,
// which changes only the branch's batch statistics and costs twice the compute.
func (t *trainer) oracleStep(ctx *context.Context, in []*Node) []*Node {
	xa, xb, labels := in[0], in[1], in[2]
	g := xa.Graph()
	t.training(ctx, g)
	bsz := xa.Shape().Dimensions[0]
	rep := models.SharedBlock(ctx.In(models.ScopeShared), t.cfg.Model, Concatenate([]*Node{xa, xb}, 0))
	ra, rb := Slice(rep, AxisRange(0, bsz)), Slice(rep, AxisRange(bsz, 2*bsz))
	logits := models.ClassificationBranch(ctx.In(models.ScopeClassification), t.cfg.Model, ra)
	ce := models.CrossEntropy(logits, labels)
	consistency := models.Consistency(ra, rb, t.cfg.Oracle.Criterion)
	loss := Add(ce, MulScalar(consistency, t.cfg.Oracle.Lambda))
	t.freeze(ctx)
	t.cfg.SGD.UpdateGraph(ctx, g, loss)
	return []*Node{loss, ce, correct(logits, labels), consistency}
}

// neuralStep: images, responses [B, N], mask [1, N], scale √(N_session/B) → Poisson loss. The single-task predictor's
// objective (the authors' code; the paper: Section 2, Cadena et al. 2019): Poisson loss summed over the batch and the
// session's neurons × scale, plus γ·Σ|readout weights| of the session's neurons, plus Adam's weight decay written as
// ½·wd·Σp² (PyTorch adds wd·p to the gradient; GoMLX's Adam decays decoupled).
func (t *trainer) neuralStep(ctx *context.Context, in []*Node) []*Node {
	x, y, mask, scale := in[0], in[1], in[2], in[3]
	g := x.Graph()
	t.training(ctx, g)
	pred := models.Responses(ctx, t.cfg.Model, x, t.info.Neurons, t.bias)
	poisson := ReduceAllSum(Mul(models.PoissonLoss(pred, y), mask))
	loss := Mul(poisson, scale)
	features := ctx.In(models.ScopeReadout).InspectVariableInScope("features").ValueGraph(g) // [C, N]
	loss = Add(loss, MulScalar(ReduceAllSum(Mul(Abs(features), mask)), t.cfg.Adam.GammaReadout))
	t.freeze(ctx)
	if wd := t.cfg.Adam.WeightDecay; wd > 0 {
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
		loss = Add(loss, MulScalar(l2, 0.5*wd))
	}
	optimizers.Adam().LearningRate(t.cfg.Adam.LearningRate).Done().UpdateGraph(ctx, g, loss)
	return []*Node{loss, poisson}
}

// stepResult is what one training step reports (means over its batch).
type stepResult struct {
	loss, ce, correct float64 // the optimised objective, the cross-entropy, correct images of the batch
	consistency       float64 // oracle: conv3_1 MSE between the two corrupted views
	mse               float64 // multitask: mean MSE over the step's neural batches
	neuralBatches     int     // multitask: neural batches in the step
	images            int     // images through the network (both tasks and both views counted)
}

// epoch runs one epoch of training steps.
func (t *trainer) epoch(epoch int, bar *progress) (EpochMetrics, error) {
	var m EpochMetrics
	start := time.Now()
	if t.cfg.Objective == NeuralPrediction {
		return t.neuralEpoch(epoch, bar, start)
	}
	p := t.d.Images
	loader := data.Loader{Set: p.Train, BatchSize: t.cfg.Batch, Stats: p.Stats, Augment: true, Shuffle: true, Seed: t.cfg.Seed}
	var viewB data.Loader
	if t.cfg.Objective == CorruptionConsistency {
		loader.Transform = t.corruption(1, true)
		viewB = loader
		viewB.View, viewB.Transform = 1, t.corruption(2, false)
	}
	done := make(chan struct{})
	defer close(done)
	batches, err := loader.Epoch(epoch, done)
	if err != nil {
		return m, err
	}
	var batchesB <-chan data.Batch
	if t.cfg.Objective == CorruptionConsistency {
		if batchesB, err = viewB.Epoch(epoch, done); err != nil {
			return m, err
		}
	}
	steps := loader.NumBatches()
	bar.startEpoch(epoch, t.cfg.MaxEpochs, steps)
	var sum stepResult
	var seen float64
	for batch := range batches {
		var b2 data.Batch
		if batchesB != nil {
			b2 = <-batchesB
		}
		r, err := t.step(batch, b2)
		if err != nil {
			return m, err
		}
		if err := t.checkLoss(epoch, batch.Index+1, r.loss); err != nil {
			return m, err
		}
		sum.loss, sum.ce, sum.correct = sum.loss+r.loss, sum.ce+r.ce, sum.correct+r.correct
		sum.consistency += r.consistency
		sum.mse += float64(r.neuralBatches) * r.mse
		sum.neuralBatches += r.neuralBatches
		m.Images += r.images
		seen += float64(batch.B)
		bar.step(batch.Index+1, fmt.Sprintf("loss %.3f acc %.1f%% lr %.2g", sum.loss/float64(batch.Index+1),
			100*sum.correct/seen, t.state.Plateau.LR))
		if t.opt.Interrupt != nil && t.opt.Interrupt(epoch, batch.Index+1) {
			return m, ErrInterrupted
		}
	}
	n := float64(steps)
	m.Loss, m.CE, m.TrainAcc, m.Consistency = sum.loss/n, sum.ce/n, sum.correct/seen, sum.consistency/n
	if sum.neuralBatches > 0 {
		m.Neural = sum.mse / float64(sum.neuralBatches)
	}
	if t.cfg.Objective == MultiTask {
		m.LogVarC, m.LogVarN = t.scalar("/uncertainty", "log_var_classification"), t.scalar("/uncertainty", "log_var_neural")
	}
	m.ImagesPerS = float64(m.Images) / time.Since(start).Seconds()
	return m, nil
}

// step runs the training step of one batch (b2: the Oracle's second view).
func (t *trainer) step(batch, b2 data.Batch) (stepResult, error) {
	labels := tensors.FromValue(batch.Labels)
	x := tensors.FromFlatDataAndDimensions(batch.Images, batch.B, batch.H, batch.W, 1)
	r := stepResult{images: batch.B}
	run := func(name string, fn func(ctx *context.Context, in []*Node) []*Node, args ...any) ([]*tensors.Tensor, error) {
		e, err := t.exec(name, fn)
		if err != nil {
			return nil, err
		}
		out, err := e.Exec(args...)
		if err == nil {
			r.loss, r.ce, r.correct = scalarOf(out[0]), scalarOf(out[1]), scalarOf(out[2])
		}
		return out, err
	}
	switch t.cfg.Objective {
	case CorruptionConsistency:
		out, err := run("oracle", t.oracleStep, x, tensors.FromFlatDataAndDimensions(b2.Images, b2.B, b2.H, b2.W, 1), labels)
		if err != nil {
			return r, err
		}
		r.consistency, r.images = scalarOf(out[3]), 2*batch.B
	case MultiTask:
		k := t.cfg.Ratio.NeuralBatchesBefore(batch.Index)
		if k == 0 {
			_, err := run("classification", t.classStep, x, labels)
			return r, err
		}
		nx, ny, mask := t.neuralBatches(k)
		out, err := run("multitask", t.multiTaskStep, x, labels, nx, ny, mask)
		if err != nil {
			return r, err
		}
		r.mse, r.neuralBatches, r.images = scalarOf(out[3]), k, batch.B+k*t.cfg.Batch
	default:
		_, err := run("classification", t.classStep, x, labels)
		return r, err
	}
	return r, nil
}

func (t *trainer) scalar(scope, name string) float64 {
	v := t.ctx.GetVariableByScopeAndName(scope, name)
	if v == nil {
		return math.NaN()
	}
	val, err := v.Value()
	if err != nil {
		return math.NaN()
	}
	return float64(tensors.ToScalar[float32](val))
}

// neuralBatches draws r neural batches from the cycler.
func (t *trainer) neuralBatches(r int) (x, y, mask *tensors.Tensor) {
	rs := t.d.Neural
	bsz, hw, n := t.cfg.Batch, rs.H*rs.W, rs.Neurons
	images := make([]float32, r*bsz*hw)
	values := make([]float32, r*bsz*n)
	masks := make([]float32, r*n)
	for k := range r {
		s, trials := t.cyc.next()
		rs.fill(trials, t.info.Stats, images[k*bsz*hw:(k+1)*bsz*hw], values[k*bsz*n:(k+1)*bsz*n])
		copy(masks[k*n:(k+1)*n], rs.Mask(s))
	}
	return tensors.FromFlatDataAndDimensions(images, r, bsz, rs.H, rs.W, 1),
		tensors.FromFlatDataAndDimensions(values, r, bsz, n), tensors.FromFlatDataAndDimensions(masks, r, n)
}

// neuralEpoch is one pass of the predictor over every session's training trials, sessions in turn (the authors'
// LongCycler): as many batches as the sessions' batches together.
func (t *trainer) neuralEpoch(epoch int, bar *progress, start time.Time) (EpochMetrics, error) {
	var m EpochMetrics
	rs := t.d.Neural
	steps := 0
	for _, s := range rs.Sessions {
		steps += (len(s.Trials) + t.cfg.Batch - 1) / t.cfg.Batch
	}
	bar.startEpoch(epoch, t.cfg.MaxEpochs, steps)
	e, err := t.exec("neural", t.neuralStep)
	if err != nil {
		return m, err
	}
	var sum, poisson float64
	for step := 1; step <= steps; step++ {
		s, trials := t.cyc.next()
		images := make([]float32, len(trials)*rs.H*rs.W)
		values := make([]float32, len(trials)*rs.Neurons)
		rs.fill(trials, t.info.Stats, images, values)
		scale := float32(math.Sqrt(float64(len(rs.Sessions[s].Trials)) / float64(len(trials))))
		out, err := e.Exec(tensors.FromFlatDataAndDimensions(images, len(trials), rs.H, rs.W, 1),
			tensors.FromFlatDataAndDimensions(values, len(trials), rs.Neurons),
			tensors.FromFlatDataAndDimensions(rs.Mask(s), 1, rs.Neurons), scale)
		if err != nil {
			return m, err
		}
		loss := scalarOf(out[0])
		if err := t.checkLoss(epoch, step, loss); err != nil {
			return m, err
		}
		sum += loss
		poisson += scalarOf(out[1]) / float64(len(trials)*len(rs.Sessions[s].Neurons))
		m.Images += len(trials)
		bar.step(step, fmt.Sprintf("poisson %.4f lr %.2g", poisson/float64(step), t.state.Plateau.LR))
		if t.opt.Interrupt != nil && t.opt.Interrupt(epoch, step) {
			return m, ErrInterrupted
		}
	}
	m.Loss, m.Neural = sum/float64(steps), poisson/float64(steps)
	m.ImagesPerS = float64(m.Images) / time.Since(start).Seconds()
	return m, nil
}

// corruption returns the Oracle's corruption of one view: with mixed, half the images stay clean (the authors' code);
// else every image is corrupted, by a corruption and severity drawn per (seed, view, epoch, image).
func (t *trainer) corruption(view uint64, mixed bool) func(epoch, i int, img []uint8) {
	return CorruptionTransform(t.cfg.Oracle, t.cfg.Model.InputSize, t.cfg.Seed^view*0x94d049bb133111eb, mixed)
}

// CorruptionTransform is the Oracle's corruption augmentation of size×size grey images (the authors' Distort): with
// mixed, half the images stay clean; else every image is corrupted, by one of oc.Corruptions at a severity from 1
// to 5, drawn per (seed, epoch, image). The training images are already grey, so the corruption applies to the grey
// image; the paper corrupts Tiny ImageNet's RGB images before converting them (identical for Fashion-MNIST, which is
// grey; for Tiny ImageNet a small deviation).
func CorruptionTransform(oc OracleConfig, size int, seed uint64, mixed bool) func(epoch, i int, img []uint8) {
	return func(epoch, i int, img []uint8) {
		rng := rand.New(rand.NewPCG(seed, uint64(epoch)<<32|uint64(i)))
		if mixed && rng.IntN(2) == 0 {
			return
		}
		name := oc.Corruptions[rng.IntN(len(oc.Corruptions))]
		sev := 1 + rng.IntN(5)
		out, err := corrupt.Apply(corrupt.Image{H: size, W: size, C: 1, Pix: img}, name, sev, rng.Uint64(), oc.Preset)
		if err != nil {
			panic(fmt.Sprintf("oracle corruption %s severity %d: %v", name, sev, err)) // sizes are validated up front
		}
		copy(img, out.Pix)
	}
}

// validate returns the monitored metric: validation accuracy (on the 1:1 clean/corrupted mixture for the Oracle's
// first stage, as the authors' in-domain validation), or the mean correlation of predicted and recorded responses
// on the held-out trials for the predictor.
func (t *trainer) validate() (float64, error) {
	m := &Model{Info: t.info, backend: t.b, ctx: t.ctx, execs: t.execs}
	if t.cfg.Objective == NeuralPrediction {
		if t.d.NeuralVal == nil {
			return 0, fmt.Errorf("neural training needs validation trials")
		}
		return m.Correlation(t.d.NeuralVal)
	}
	var transform func(epoch, i int, img []uint8)
	if t.cfg.Objective == CorruptionConsistency {
		transform = t.corruption(3, true)
	}
	return m.Accuracy(t.d.Images.Validation, transform)
}

func scalarOf(t *tensors.Tensor) float64 { return float64(tensors.ToScalar[float32](t)) }
