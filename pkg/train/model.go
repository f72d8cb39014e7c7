package train

import (
	"fmt"
	"math"
	"strconv"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"gonum.org/v1/gonum/stat"

	"github.com/robustvision/cotrain/pkg/data"
	"github.com/robustvision/cotrain/pkg/models"
	"github.com/robustvision/cotrain/pkg/neural"
	"github.com/robustvision/cotrain/pkg/provenance"
)

// ModelInfo describes a trained network: enough to rebuild its graph and feed it.
type ModelInfo struct {
	Model         models.VGGConfig   `json:"model"`
	Objective     Objective          `json:"objective"`
	Stats         data.Stats         `json:"stats"`                    // input normalisation
	Neurons       int                `json:"neurons,omitempty"`        // size of the readout (0: none)
	NeuronsSource string             `json:"neurons_source,omitempty"` // what the readout was trained on
	Provenance    *provenance.Record `json:"provenance,omitempty"`
	// Stage is the study's stage that wrote the model (nil for a model trained outside the study): a stage that
	// loads it checks that it is its own (pkg/study).
	Stage *StageStamp `json:"stage,omitempty"`
}

// StageStamp names the stage of the study that trained a model: its ID, scale, condition, seed and key.
type StageStamp struct {
	ID        string `json:"id"`
	Scale     string `json:"scale"`
	Condition string `json:"condition"`
	Seed      uint64 `json:"seed"`
	Key       string `json:"key"`
}

// ReadModelInfo reads the description of the model in a checkpoint written by Save (its variables are checked
// but not kept).
func ReadModelInfo(file string) (ModelInfo, error) {
	var info ModelInfo
	_, err := ReadCheckpoint(file, &info)
	return info, err
}

// Model is a trained network in evaluation mode (batch norm with running statistics, the readout at μ, no dropout).
type Model struct {
	Info    ModelInfo
	backend backends.Backend
	ctx     *context.Context
	execs   *execCache
}

// evalBatch is the batch size of evaluation passes.
const evalBatch = 128

// Save writes the model's weights (no optimizer state) and its description to file, atomically.
func (m *Model) Save(file string) error {
	s, err := Take(m.ctx, modelState)
	if err != nil {
		return err
	}
	return WriteCheckpoint(file, s, m.Info)
}

// LoadModel reads a model written by Save (or by Train into its directory as model.ckpt).
func LoadModel(b backends.Backend, file string) (*Model, error) {
	var info ModelInfo
	s, err := ReadCheckpoint(file, &info)
	if err != nil {
		return nil, err
	}
	if err := info.Model.Validate(); err != nil {
		return nil, fmt.Errorf("model %s: %w", file, err)
	}
	if err := checkShapes(b, info, s); err != nil {
		return nil, fmt.Errorf("model %s: %w", file, err)
	}
	ctx := context.New().Checked(false)
	if err := s.Restore(ctx, nil); err != nil {
		return nil, fmt.Errorf("model %s: %w", file, err)
	}
	return &Model{Info: info, backend: b, ctx: ctx, execs: newExecCache(b, ctx)}, nil
}

// checkShapes builds the model's graphs (nothing is compiled or run) and checks that the snapshot holds every
// variable they declare, with the declared dtype and shape.
func checkShapes(b backends.Backend, info ModelInfo, s Snapshot) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("the model description %+v does not build: %v", info.Model, p)
		}
	}()
	ctx := context.New().Checked(false)
	g := NewGraph(b, "shapes")
	x := Parameter(g, "x", shapes.Make(dtypes.Float32, 1, info.Model.InputSize, info.Model.InputSize, 1))
	ctx.SetTraining(g, false)
	if info.Objective != NeuralPrediction {
		models.Classifier(ctx, info.Model, x)
	}
	if info.Neurons > 0 {
		models.Responses(ctx.Reuse().Checked(false), info.Model, x, info.Neurons, nil)
	}
	for v := range ctx.IterVariables() {
		path := v.ScopeAndName()
		t, ok := s[path]
		switch {
		case !ok:
			return fmt.Errorf("variable %s (%s) is missing", path, v.Shape())
		case !t.Shape().Equal(v.Shape()):
			return fmt.Errorf("variable %s has shape %s, the model %s", path, t.Shape(), v.Shape())
		}
	}
	return nil
}

// Weights returns a copy of the model's variables (to initialise another run from, e.g. the Oracle's second stage).
func (m *Model) Weights() (Snapshot, error) { return Take(m.ctx, nil) }

func (m *Model) exec(name string, fn func(ctx *context.Context, x *Node) *Node) (*context.Exec, error) {
	return getExec(m.execs, name, fn)
}

// execCache compiles each named graph of one context once (GoMLX's Exec then caches per input shape): the trainer
// fills it, and the model it returns keeps using it.
type execCache struct {
	b     backends.Backend
	ctx   *context.Context
	execs map[string]*context.Exec
}

func newExecCache(b backends.Backend, ctx *context.Context) *execCache {
	return &execCache{b: b, ctx: ctx, execs: map[string]*context.Exec{}}
}

// getExec returns the Exec of graph name, built from fn the first time.
func getExec[F context.ExecGraphFn](c *execCache, name string, fn F) (*context.Exec, error) {
	if e, ok := c.execs[name]; ok {
		return e, nil
	}
	e, err := context.NewExec(c.b, c.ctx, fn)
	if err != nil {
		return nil, err
	}
	c.execs[name] = e
	return e, nil
}

// normalise converts 8-bit images to the model's normalised float input.
func (m *Model) normalise(pix []uint8) []float32 {
	out := make([]float32, len(pix))
	mean, inv := float32(m.Info.Stats.Mean), float32(1/m.Info.Stats.Std)
	for i, v := range pix {
		out[i] = (float32(v)/255 - mean) * inv
	}
	return out
}

// Logits returns the classification logits [n × classes] of n grayscale images of the model's input size.
func (m *Model) Logits(pix []uint8, n int) ([]float32, error) {
	e, err := m.exec("logits", func(ctx *context.Context, x *Node) *Node {
		ctx.SetTraining(x.Graph(), false)
		return models.Classifier(ctx, m.Info.Model, x)
	})
	if err != nil {
		return nil, err
	}
	return m.run(e, pix, n)
}

// Responses returns the readout's predicted responses [n × neurons] of n grayscale images of the model's input size.
func (m *Model) Responses(pix []uint8, n int) ([]float32, error) {
	if m.Info.Neurons == 0 {
		return nil, fmt.Errorf("the %s model has no readout", m.Info.Objective)
	}
	e, err := m.exec("responses", func(ctx *context.Context, x *Node) *Node {
		ctx.SetTraining(x.Graph(), false)
		return models.Responses(ctx, m.Info.Model, x, m.Info.Neurons, nil)
	})
	if err != nil {
		return nil, err
	}
	return m.run(e, pix, n)
}

func (m *Model) run(e *context.Exec, pix []uint8, n int) ([]float32, error) {
	size := m.Info.Model.InputSize
	hw := size * size
	if len(pix) != n*hw {
		return nil, fmt.Errorf("%d pixels for %d images of %d×%d", len(pix), n, size, size)
	}
	var out []float32
	for lo := 0; lo < n; lo += evalBatch {
		hi := min(lo+evalBatch, n)
		res, err := e.Exec(tensors.FromFlatDataAndDimensions(m.normalise(pix[lo*hw:hi*hw]), hi-lo, size, size, 1))
		if err != nil {
			return nil, err
		}
		out = append(out, tensors.MustCopyFlatData[float32](res[0])...)
	}
	return out, nil
}

// Predictions returns the predicted class of every image of set, after transform (nil: the clean images).
func (m *Model) Predictions(set *data.Set, transform func(epoch, i int, img []uint8)) ([]int, error) {
	logits, classes, err := m.setLogits(set, transform)
	if err != nil {
		return nil, err
	}
	pred := make([]int, set.N)
	for i := range pred {
		pred[i] = argmax(logits[i*classes : (i+1)*classes])
	}
	return pred, nil
}

// Accuracy is the fraction of set's images classified correctly (after transform, if not nil).
func (m *Model) Accuracy(set *data.Set, transform func(epoch, i int, img []uint8)) (float64, error) {
	pred, err := m.Predictions(set, transform)
	if err != nil {
		return 0, err
	}
	right := 0
	for i, p := range pred {
		if p == set.Labels[i] {
			right++
		}
	}
	return float64(right) / float64(max(set.N, 1)), nil
}

// Evaluation is a classifier's accuracy and cross-entropy on a set of images.
type Evaluation struct {
	Accuracy     float64 `json:"accuracy"`
	CrossEntropy float64 `json:"cross_entropy"` // mean over images of −log softmax(logits)[label], in nats
}

// Evaluate classifies every image of set (after transform, if not nil) and returns its accuracy and mean
// cross-entropy: the training loss of Table 1's classifiers, measured on held-out images.
func (m *Model) Evaluate(set *data.Set, transform func(epoch, i int, img []uint8)) (Evaluation, error) {
	logits, classes, err := m.setLogits(set, transform)
	if err != nil {
		return Evaluation{}, err
	}
	var ev Evaluation
	for i := range set.N {
		row := logits[i*classes : (i+1)*classes]
		label := set.Labels[i]
		if label < 0 || label >= classes {
			return Evaluation{}, fmt.Errorf("%s: image %d has label %d, the model has %d classes", set.Name, i,
				label, classes)
		}
		if argmax(row) == label {
			ev.Accuracy++
		}
		ev.CrossEntropy += logSumExp(row) - float64(row[label])
	}
	n := float64(max(set.N, 1))
	ev.Accuracy /= n
	ev.CrossEntropy /= n
	return ev, nil
}

// setLogits returns the logits of every image of set after transform, and the number of classes.
func (m *Model) setLogits(set *data.Set, transform func(epoch, i int, img []uint8)) ([]float32, int, error) {
	if set.C != 1 || set.H != m.Info.Model.InputSize || set.W != set.H {
		return nil, 0, fmt.Errorf("%s: %d×%d×%d images, the model takes %d×%d grayscale", set.Name, set.W, set.H,
			set.C, m.Info.Model.InputSize, m.Info.Model.InputSize)
	}
	if transform != nil {
		set = set.Transformed(set.Name, transform)
	}
	logits, err := m.Logits(set.Pix, set.N)
	if err != nil {
		return nil, 0, err
	}
	return logits, len(logits) / max(set.N, 1), nil
}

// argmax is the index of the largest value (the first of equals).
func argmax(row []float32) int {
	best := 0
	for c, v := range row {
		if v > row[best] {
			best = c
		}
	}
	return best
}

// logSumExp is log Σ exp(row), computed stably in float64.
func logSumExp(row []float32) float64 {
	hi := math.Inf(-1)
	for _, v := range row {
		hi = math.Max(hi, float64(v))
	}
	sum := 0.0
	for _, v := range row {
		sum += math.Exp(float64(v) - hi)
	}
	return hi + math.Log(sum)
}

// Correlation is the mean over neurons of the correlation between predicted and recorded responses on the trials
// of r (each neuron on its session's trials): the predictor's validation metric (the authors' "val corr").
func (m *Model) Correlation(r *Responses) (float64, error) {
	if m.Info.Neurons != r.Neurons {
		return 0, fmt.Errorf("the readout has %d neurons, the responses %d", m.Info.Neurons, r.Neurons)
	}
	// Only the images the trials show (an MTL run's bank holds every classification training image).
	hw := r.H * r.W
	row := map[int]int{}
	var pix []uint8
	for _, img := range r.Trial {
		if _, ok := row[img]; !ok {
			row[img] = len(row)
			pix = append(pix, r.Images[img*hw:(img+1)*hw]...)
		}
	}
	pred, err := m.Responses(pix, len(row))
	if err != nil {
		return 0, err
	}
	var sum float64
	var count int
	for _, s := range r.Sessions {
		for _, j := range s.Neurons {
			p := make([]float64, len(s.Trials))
			y := make([]float64, len(s.Trials))
			for k, t := range s.Trials {
				p[k] = float64(pred[row[r.Trial[t]]*r.Neurons+j])
				y[k] = float64(r.Values[t*r.Neurons+j])
			}
			c := stat.Correlation(p, y, nil)
			if math.IsNaN(c) {
				c = 0 // a constant prediction or response explains nothing
			}
			sum += c
			count++
		}
	}
	return sum / float64(max(count, 1)), nil
}

// FEVe returns every neuron's fraction of explainable variance explained on a recording's held-out test repeats (the
// fraction of explainable variance explained, Cadena et al. 2019, as the paper), in the data set's neuron order; the
// readout must cover the data set's neurons in that order.
func (m *Model) FEVe(d *neural.Dataset) ([]float64, error) {
	if m.Info.Neurons != d.NumNeurons() {
		return nil, fmt.Errorf("the readout has %d neurons, the recording %d", m.Info.Neurons, d.NumNeurons())
	}
	pred, err := m.Responses(d.Images, d.N)
	if err != nil {
		return nil, err
	}
	var out []float64
	first := 0
	for _, sess := range d.Sessions {
		for k := range sess.Neurons {
			j := first + k
			out = append(out, sess.FEVe(k, func(id int64) float64 { return float64(pred[int(id)*m.Info.Neurons+j]) }))
		}
		first += len(sess.Neurons)
	}
	return out, nil
}

// Scores are a trained model's held-out results, by name: "test_acc" and "chance" on test, for a model that
// classifies (test may be nil otherwise), and, for a model whose readout covers monkey's neurons, "feve_reliable"
// (the mean FEVe over neurons with FEV > 0.15, the paper's measure; absent if there are none); neurons whose FEVe is
// undefined are left out and counted in "feve_skipped_neurons". monkey may be nil.
func (m *Model) Scores(test *data.Set, monkey *neural.Dataset) (map[string]float64, error) {
	scores := map[string]float64{}
	if m.Info.Objective != NeuralPrediction {
		if test == nil {
			return nil, fmt.Errorf("scores of a classifier: no test set")
		}
		acc, err := m.Accuracy(test, nil)
		if err != nil {
			return nil, err
		}
		scores["test_acc"], scores["chance"] = acc, 1/float64(len(test.Classes))
	}
	if m.Info.Neurons == 0 || monkey == nil || m.Info.Neurons != monkey.NumNeurons() {
		return scores, nil
	}
	feve, err := m.FEVe(monkey)
	if err != nil {
		return nil, err
	}
	reliable, skipped, err := monkey.MeanFEVe(feve)
	if err != nil {
		return nil, err
	}
	if skipped > 0 {
		scores["feve_skipped_neurons"] = float64(skipped)
	}
	if !math.IsNaN(reliable) {
		scores["feve_reliable"] = reliable
	}
	return scores, nil
}

// metricsHeader is the header of metrics.csv: one row per epoch.
var metricsHeader = []string{"epoch", "lr", "loss", "ce", "train_acc", "neural", "consistency", "val", "log_var_c",
	"log_var_n", "seconds", "improved", "restored", "images", "images_per_s"}

// writeMetricsCSV writes the per-epoch metrics atomically.
func writeMetricsCSV(file string, ms []EpochMetrics) error {
	g := func(v float64) string { return strconv.FormatFloat(v, 'g', 6, 64) }
	rows := make([][]string, len(ms))
	for i, m := range ms {
		rows[i] = []string{strconv.Itoa(m.Epoch), g(m.LR), g(m.Loss), g(m.CE), g(m.TrainAcc), g(m.Neural),
			g(m.Consistency), g(m.Val), g(m.LogVarC), g(m.LogVarN), g(m.Seconds), strconv.FormatBool(m.Improved),
			strconv.FormatBool(m.Restored), strconv.Itoa(m.Images), g(m.ImagesPerS)}
	}
	return provenance.WriteCSV(file, metricsHeader, rows)
}

// ReadMetricsCSV reads a metrics.csv written by a training run (for training-curve figures).
func ReadMetricsCSV(file string) ([]EpochMetrics, error) {
	rows, err := provenance.ReadCSV(file, metricsHeader)
	if err != nil {
		return nil, err
	}
	var out []EpochMetrics
	for i, r := range rows {
		var m EpochMetrics
		fs := make([]float64, 15)
		for k, v := range r {
			if k == 11 || k == 12 {
				continue
			}
			x, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return nil, fmt.Errorf("%s, row %d, column %s: %w", file, i+2, metricsHeader[k], err)
			}
			fs[k] = x
		}
		m.Epoch, m.LR, m.Loss, m.CE, m.TrainAcc = int(fs[0]), fs[1], fs[2], fs[3], fs[4]
		m.Neural, m.Consistency, m.Val, m.LogVarC, m.LogVarN, m.Seconds = fs[5], fs[6], fs[7], fs[8], fs[9], fs[10]
		m.Improved, m.Restored = r[11] == "true", r[12] == "true"
		m.Images, m.ImagesPerS = int(fs[13]), fs[14]
		out = append(out, m)
	}
	return out, nil
}

// NewModel returns an untrained model with freshly initialised weights (seeded): for tests and for the
// reconstruction of Section 4 on a random network.
func NewModel(b backends.Backend, info ModelInfo, seed uint64) (*Model, error) {
	if err := info.Model.Validate(); err != nil {
		return nil, err
	}
	if info.Stats.Std <= 0 {
		info.Stats = data.Stats{Mean: 0, Std: 1}
	}
	ctx := context.New().Checked(false)
	if err := ctx.SetRNGStateFromSeed(int64(seed)); err != nil {
		return nil, err
	}
	m := &Model{Info: info, backend: b, ctx: ctx, execs: newExecCache(b, ctx)}
	size := info.Model.InputSize
	if _, err := m.Logits(make([]uint8, size*size), 1); err != nil {
		return nil, err
	}
	if info.Neurons > 0 {
		if _, err := m.Responses(make([]uint8, size*size), 1); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// Context is the model's GoMLX context (its variables), for graphs built elsewhere (pkg/recon).
func (m *Model) Context() *context.Context { return m.ctx }

// Backend is the backend the model runs on.
func (m *Model) Backend() backends.Backend { return m.backend }

// Normalise converts 8-bit grey pixels to the model's input units.
func (m *Model) Normalise(pix []uint8) []float32 { return m.normalise(pix) }
