package study

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gomlx/gomlx/backends"

	"github.com/robustvision/cotrain/pkg/backend"
	"github.com/robustvision/cotrain/pkg/data"
	"github.com/robustvision/cotrain/pkg/neural"
	"github.com/robustvision/cotrain/pkg/provenance"
	"github.com/robustvision/cotrain/pkg/train"
	"github.com/robustvision/cotrain/pkg/v1sim"
)

// The cache of a scale, data/cache/<scale>/ (README "Cache layout"):
//
//	stats.json                       normalisation of the classification training split
//	v1sim/                           the virtual monkey's recording (neural format: meta.json + .npy)
//	<model>/seed<N>/                 one training run: model.ckpt (weights + description), metrics.csv (per epoch),
//	                                 stage.json (key, inputs, provenance, results); while running also last.ckpt
//	                                 and best.ckpt, from which an interrupted run resumes
//	<model>/ratio<a:b>/seed<N>/      a run of the batch-ratio sweep
//	targets/<name>/                  MTL targets: responses.npy [training images × neurons] + stage.json
const (
	stageFile     = "stage.json"
	modelFile     = "model.ckpt"
	responsesFile = "responses.npy"
)

// StageRecord is stage.json: what a finished stage was made from and what it measured.
type StageRecord struct {
	ID         string             `json:"id"`
	Model      string             `json:"model"`
	Key        string             `json:"key"`
	Inputs     map[string]string  `json:"inputs,omitempty"` // dependency ID → its key when this stage ran
	Results    map[string]float64 `json:"results,omitempty"`
	Provenance *provenance.Record `json:"provenance"`
}

// State is how a stage's cached output stands.
type State string

// The states of a stage.
const (
	Done    State = "done"    // output present and up to date
	Stale   State = "stale"   // output present but made from other settings or inputs
	Partial State = "partial" // a training run interrupted: resumes from its last checkpoint
	Missing State = "missing"
)

// Runner runs a scale's study stages into the cache under Root.
type Runner struct {
	Root    string // the repository root; the cache is Root/data/cache/<scale>
	Scale   Scale
	Backend backends.Backend
	Log     io.Writer // progress and one line per stage; nil is silent
	// Jobs > 1 runs that many independent stages at once, each on its own backend made from BackendName (the
	// pure-Go backend runs a small network's operations on about one core; two stages use both).
	Jobs        int
	BackendName string
	logMu       *sync.Mutex // serialises the log of parallel stages

	images  *data.Prepared
	monkey  *neural.Dataset
	neurons []v1sim.Neuron
}

// Dir is the folder of a stage's outputs.
func (r *Runner) Dir(id string) string {
	return filepath.Join(r.Root, CacheDir(r.Scale), filepath.FromSlash(id))
}

// StageStatus is one line of `cotrain status`.
type StageStatus struct {
	Stage
	State  State
	Key    string       // the key the stage would have now
	Record *StageRecord // the cached record, if any
}

// Status reports every stage of the study.
func (r *Runner) Status() ([]StageStatus, error) {
	stages := Stages(r.Scale)
	keys := map[string]string{}
	var out []StageStatus
	for _, st := range stages {
		key := st.Key(r.Scale, keys)
		keys[st.ID] = key
		ss := StageStatus{Stage: st, Key: key, State: Missing}
		rec, err := r.readRecord(st.ID)
		switch {
		case err == nil:
			ss.Record = rec
			ss.State = Done
			if rec.Key != key {
				ss.State = Stale
			}
		case errors.Is(err, fs.ErrNotExist):
			if _, err := os.Stat(filepath.Join(r.Dir(st.ID), "last.ckpt")); err == nil {
				ss.State = Partial
			}
		default:
			return nil, err
		}
		out = append(out, ss)
	}
	return out, nil
}

func (r *Runner) readRecord(id string) (*StageRecord, error) {
	file := filepath.Join(r.Dir(id), stageFile)
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var rec StageRecord
	if err := json.Unmarshal(b, &rec); err != nil {
		return nil, fmt.Errorf("%s: %w (delete it to recompute the stage)", file, err)
	}
	return &rec, nil
}

// Reproduce runs, in dependency order, the selected stages (all when only is empty; else those whose IDs start with
// one of only, with what they need) whose outputs are missing, stale or partial. Done stages are skipped.
//
// Two processes never run a scale's stages at once: Reproduce holds an exclusive lock on the scale's cache folder
// (data/cache/<scale>/.lock) and the second waits, then finds the stages done.
func (r *Runner) Reproduce(only []string) error {
	unlock, err := r.lock()
	if err != nil {
		return err
	}
	defer unlock()
	status, err := r.Status()
	if err != nil {
		return err
	}
	var stages []Stage
	for _, s := range status {
		stages = append(stages, s.Stage)
	}
	selected, err := Select(stages, only)
	if err != nil {
		return err
	}
	want := map[string]bool{}
	for _, st := range selected {
		want[st.ID] = true
	}
	// Keys come from settings and the inputs' keys, so all of them are known before anything runs.
	keys := map[string]string{}
	var todo []StageStatus
	for _, s := range status {
		key := s.Stage.Key(r.Scale, keys)
		keys[s.ID] = key
		if want[s.ID] && !(s.State == Done && key == s.Record.Key) {
			todo = append(todo, s)
		}
	}
	r.logf("%s scale: %d of %d selected stages to run\n", r.Scale.Name, len(todo), len(selected))
	if len(todo) == 0 {
		return nil
	}
	jobs := r.Jobs
	if jobs < 1 || r.BackendName == "" {
		jobs = 1
	}
	if jobs > 1 { // shared read-only by the workers
		r.logMu = &sync.Mutex{}
		defer func() { r.logMu = nil }()
		if _, err := r.Images(); err != nil {
			return err
		}
		if _, _, err := r.Monkey(); err != nil {
			return err
		}
	}
	pending := map[string]bool{}
	for _, s := range todo {
		pending[s.ID] = true
	}
	type result struct {
		id  string
		err error
	}
	results := make(chan result)
	running, started, finished := map[string]bool{}, 0, 0
	var firstErr error
	ready := func(st Stage) bool {
		for _, d := range st.Deps {
			if pending[d] {
				return false
			}
		}
		return true
	}
	for finished < len(todo) {
		for firstErr == nil && len(running) < jobs {
			var next *StageStatus
			for i := range todo {
				if pending[todo[i].ID] && !running[todo[i].ID] && ready(todo[i].Stage) {
					next = &todo[i]
					break
				}
			}
			if next == nil {
				break
			}
			started++
			running[next.ID] = true
			r.logf("[%d/%d] %s (%s)\n", started, len(todo), next.ID, next.State)
			go func(s StageStatus) {
				results <- result{s.ID, r.runStage(s, keys, jobs > 1)}
			}(*next)
		}
		if len(running) == 0 {
			break // an error stopped new stages and the running ones have finished
		}
		res := <-results
		delete(running, res.id)
		finished++
		if res.err != nil {
			if firstErr == nil {
				firstErr = fmt.Errorf("stage %s: %w", res.id, res.err)
			}
			continue
		}
		delete(pending, res.id)
	}
	return firstErr
}

// runStage runs one stage (in its own backend when stages run in parallel) and records it.
func (r *Runner) runStage(s StageStatus, keys map[string]string, parallel bool) error {
	if s.State == Stale || s.State == Done {
		if err := os.RemoveAll(r.Dir(s.ID)); err != nil {
			return err
		}
	}
	sr := r
	if parallel {
		b, err := backend.New(r.BackendName)
		if err != nil {
			return err
		}
		copied := *r
		copied.Backend = b
		copied.Log = &prefixWriter{w: r.Log, prefix: s.ID + ": ", mu: r.logMu}
		copied.logMu = nil // the prefix writer serialises
		sr = &copied
	}
	start := time.Now()
	rec, err := sr.run(s.Stage)
	if err != nil {
		return err
	}
	rec.ID, rec.Model, rec.Key = s.ID, s.Model, keys[s.ID]
	rec.Inputs = map[string]string{}
	for _, d := range s.Deps {
		rec.Inputs[d] = keys[d]
	}
	if err := provenance.WriteJSON(filepath.Join(r.Dir(s.ID), stageFile), rec); err != nil {
		return err
	}
	for _, f := range []string{"last.ckpt", "best.ckpt"} {
		os.Remove(filepath.Join(r.Dir(s.ID), f))
	}
	r.logf("    %s done in %s %s\n", s.ID, time.Since(start).Round(time.Second), formatResults(rec.Results))
	return nil
}

// prefixWriter prefixes every line with the stage it comes from, one whole line at a time (stages running in
// parallel share the log).
type prefixWriter struct {
	w      io.Writer
	prefix string
	mu     *sync.Mutex
	buf    []byte
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	if p.w == nil {
		return len(b), nil
	}
	p.buf = append(p.buf, b...)
	for {
		i := bytes.IndexByte(p.buf, '\n')
		if i < 0 {
			return len(b), nil
		}
		p.mu.Lock()
		_, err := fmt.Fprintf(p.w, "%s%s\n", p.prefix, p.buf[:i])
		p.mu.Unlock()
		p.buf = p.buf[i+1:]
		if err != nil {
			return len(b), err
		}
	}
}

// lock takes the scale's cache lock (flock, released when the process dies).
func (r *Runner) lock() (func(), error) {
	dir := filepath.Join(r.Root, CacheDir(r.Scale))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(filepath.Join(dir, ".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		r.logf("waiting for another process that runs the %s study (%s)\n", r.Scale.Name, f.Name())
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
			f.Close()
			return nil, fmt.Errorf("locking %s: %w", f.Name(), err)
		}
	}
	return func() {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}

func formatResults(res map[string]float64) string {
	var parts []string
	for _, k := range []string{"test_acc", "feve", "feve_reliable", "epochs"} {
		if v, ok := res[k]; ok {
			parts = append(parts, fmt.Sprintf("%s %.4g", k, v))
		}
	}
	return strings.Join(parts, ", ")
}

func (r *Runner) logf(format string, args ...any) {
	if r.Log == nil {
		return
	}
	if r.logMu != nil {
		r.logMu.Lock()
		defer r.logMu.Unlock()
	}
	fmt.Fprintf(r.Log, format, args...)
}

// Images returns the scale's classification data (read once).
func (r *Runner) Images() (*data.Prepared, error) {
	if r.images == nil {
		c := r.Scale.Data
		if c.Dataset == "fmnist" && c.Dir == "" {
			c.Dir = data.FashionMNISTDir
		}
		p, err := data.Load(c, filepath.Join(r.Root, CacheDir(r.Scale), "stats.json"))
		if err != nil {
			return nil, err
		}
		r.images = p
	}
	return r.images, nil
}

// Monkey returns the scale's (virtual) recording and the simulated neurons.
func (r *Runner) Monkey() (*neural.Dataset, []v1sim.Neuron, error) {
	if r.monkey == nil {
		d, n, err := VirtualMonkey(r.Root, r.Scale)
		if err != nil {
			return nil, nil, err
		}
		r.monkey, r.neurons = d, n
	}
	return r.monkey, r.neurons, nil
}

// LoadModel reads the trained model of a stage.
func (r *Runner) LoadModel(id string) (*train.Model, error) {
	return train.LoadModel(r.Backend, filepath.Join(r.Dir(id), modelFile))
}

// TrainConfig is the training configuration of a stage at this scale.
func (r *Runner) TrainConfig(st Stage) (train.Config, error) {
	s := r.Scale
	var cfg train.Config
	switch st.Model {
	case Baseline:
		cfg = train.Defaults(train.Classification, s.Model, s.Epochs, st.Seed)
	case OracleStage1:
		cfg = train.Defaults(train.CorruptionConsistency, s.Model, s.Epochs, st.Seed)
	case Oracle:
		cfg = train.Defaults(train.Classification, s.Model, s.Epochs, st.Seed)
		cfg.Frozen, cfg.Initial = []string{"/shared"}, []string{"/shared"}
	case Predictor:
		cfg = train.Defaults(train.NeuralPrediction, s.Model, s.PredictorEpochs, st.Seed)
	case OracleReadout:
		cfg = train.Defaults(train.NeuralPrediction, s.Model, s.OracleReadoutEpochs, st.Seed)
		cfg.Frozen, cfg.Initial = []string{"/shared"}, []string{"/shared"}
	case MTLMonkey, MTLOracle, MTLShuffled, MTLRecorded, MTLNoiseFree:
		cfg = train.Defaults(train.MultiTask, s.Model, s.Epochs, st.Seed)
		cfg.Ratio = st.Ratio
	default:
		return cfg, fmt.Errorf("stage %s: %q is not a trained model", st.ID, st.Model)
	}
	if s.Batch > 0 {
		cfg.Batch = s.Batch
	}
	switch {
	case cfg.Objective == train.NeuralPrediction && s.PredictorLearningRate > 0:
		cfg.Adam.LearningRate = s.PredictorLearningRate
	case cfg.Objective != train.NeuralPrediction && s.LearningRate > 0:
		cfg.SGD.LearningRate = s.LearningRate
	}
	return cfg, nil
}

// run executes one stage and returns its record (without ID and key, which Reproduce fills in).
func (r *Runner) run(st Stage) (*StageRecord, error) {
	rec := &StageRecord{Provenance: provenance.New(), Results: map[string]float64{}}
	seed := int64(st.Seed)
	rec.Provenance.Seed = &seed
	rec.Provenance.Backend = fmt.Sprint(r.Backend.Name())
	rec.Provenance.Device = r.Backend.Description()
	dir := r.Dir(st.ID)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	switch st.Model {
	case "targets", "analysis", "eval", "robustness":
		run := map[string]func(Stage, *StageRecord) error{"targets": r.targets, "analysis": r.reconAnalysis,
			"eval": r.evaluateStage, "robustness": r.robustnessStage}[st.Model]
		if err := run(st, rec); err != nil {
			return nil, err
		}
		rec.Provenance.Finish()
		return rec, nil
	}
	cfg, err := r.TrainConfig(st)
	if err != nil {
		return nil, err
	}
	d, err := r.trainData(st)
	if err != nil {
		return nil, err
	}
	m, metrics, err := train.Train(r.Backend, cfg, d, train.Options{Dir: dir, Progress: r.Log})
	if err != nil {
		return nil, err
	}
	rec.Results["epochs"] = float64(len(metrics))
	if err := r.evaluate(m, rec); err != nil {
		return nil, err
	}
	rec.Provenance.Finish()
	m.Info.Provenance = rec.Provenance
	if err := m.Save(filepath.Join(dir, modelFile)); err != nil {
		return nil, err
	}
	return rec, nil
}

// trainData assembles what a stage trains on.
func (r *Runner) trainData(st Stage) (train.Data, error) {
	var d train.Data
	needsImages := st.Model != Predictor && st.Model != OracleReadout
	if needsImages {
		p, err := r.Images()
		if err != nil {
			return d, err
		}
		d.Images = p
	}
	switch st.Model {
	case Predictor, OracleReadout:
		monkey, _, err := r.Monkey()
		if err != nil {
			return d, err
		}
		if d, err = train.NeuralData(monkey, 0.1, st.Seed); err != nil {
			return d, err
		}
	case MTLRecorded:
		monkey, _, err := r.Monkey()
		if err != nil {
			return d, err
		}
		d.Neural, _ = train.Recorded(monkey, 0, st.Seed)
	case MTLMonkey, MTLShuffled:
		t, err := r.loadTargets("targets/monkey")
		if err != nil {
			return d, err
		}
		if st.Model == MTLShuffled {
			t = t.Shuffled(st.Seed)
		}
		d.Neural = t
	case MTLOracle:
		t, err := r.loadTargets("targets/oracle")
		if err != nil {
			return d, err
		}
		d.Neural = t
	case MTLNoiseFree:
		t, err := r.loadTargets("targets/noisefree")
		if err != nil {
			return d, err
		}
		d.Neural = t
	}
	if st.Model == Oracle || st.Model == OracleReadout {
		stage1, err := r.LoadModel(st.Deps[0])
		if err != nil {
			return d, err
		}
		if d.Init, err = stage1.Weights(); err != nil {
			return d, err
		}
	}
	return d, nil
}

// evaluate records a trained model's clean test accuracy and, for a model with a readout, its FEVe on the
// recording's held-out test repeats (mean over all neurons, and over neurons with FEV > 0.15 as the paper's
// reliable neurons). Section 3's evaluation (bootstrap, corruptions) is a later stage.
func (r *Runner) evaluate(m *train.Model, rec *StageRecord) error {
	if m.Info.Objective != train.NeuralPrediction {
		p, err := r.Images()
		if err != nil {
			return err
		}
		acc, err := m.Accuracy(p.Test, nil)
		if err != nil {
			return err
		}
		rec.Results["test_acc"] = acc
		rec.Results["chance"] = 1 / float64(len(p.Test.Classes))
	}
	if m.Info.Neurons == 0 {
		return nil
	}
	monkey, _, err := r.Monkey()
	if err != nil {
		return err
	}
	if m.Info.Neurons != monkey.NumNeurons() {
		return nil
	}
	feve, err := m.FEVe(monkey)
	if err != nil {
		return err
	}
	var all, reliable []float64
	k := 0
	for _, s := range monkey.Sessions {
		for j := range s.Neurons {
			all = append(all, feve[k])
			if s.FEV(j) > neural.FEVThreshold {
				reliable = append(reliable, feve[k])
			}
			k++
		}
	}
	rec.Results["feve"] = mean(all)
	if len(reliable) > 0 {
		rec.Results["feve_reliable"] = mean(reliable)
	}
	return nil
}

func mean(v []float64) float64 {
	var s float64
	for _, x := range v {
		s += x
	}
	if len(v) == 0 {
		return math.NaN()
	}
	return s / float64(len(v))
}

// targets computes MTL targets on the classification training images: a model's predictions, or the simulator's
// noise-free responses.
func (r *Runner) targets(st Stage, rec *StageRecord) error {
	p, err := r.Images()
	if err != nil {
		return err
	}
	set := p.Train
	var values []float32
	var neurons int
	switch st.ID {
	case "targets/noisefree":
		monkey, pop, err := r.Monkey()
		if err != nil {
			return err
		}
		var order []int
		for _, s := range monkey.Sessions {
			order = append(order, s.Neurons...)
		}
		if values, err = v1sim.ExpectedCounts(pop, order, v1sim.DefaultPopulation, r.Scale.V1, set.Pix, set.N); err != nil {
			return err
		}
		neurons = len(order)
	default:
		m, err := r.LoadModel(st.Deps[0])
		if err != nil {
			return err
		}
		if values, err = m.Responses(set.Pix, set.N); err != nil {
			return err
		}
		neurons = m.Info.Neurons
	}
	var sum float64
	for _, v := range values {
		sum += float64(v)
	}
	rec.Results["images"] = float64(set.N)
	rec.Results["neurons"] = float64(neurons)
	rec.Results["mean_response"] = sum / float64(len(values))
	return neural.WriteResponsesNPY(filepath.Join(r.Dir(st.ID), responsesFile), set.N, neurons, values)
}

// targetSources names what each set of targets is, wherever it appears.
var targetSources = map[string]string{
	"targets/monkey":    "responses predicted by the Monkey Predictor (trained on SIMULATED V1)",
	"targets/oracle":    "responses predicted by a readout on the frozen Oracle block (trained on SIMULATED V1)",
	"targets/noisefree": "noise-free responses of the SIMULATED V1 population",
}

func (r *Runner) loadTargets(id string) (*train.Responses, error) {
	p, err := r.Images()
	if err != nil {
		return nil, err
	}
	file := filepath.Join(r.Dir(id), responsesFile)
	values, rows, cols, err := neural.ReadResponsesNPY(file)
	if err != nil {
		return nil, err
	}
	if rows != p.Train.N {
		return nil, fmt.Errorf("%s: %d rows for %d training images (recompute the stage)", file, rows, p.Train.N)
	}
	return train.OnImages(targetSources[id], p.Train, values, cols)
}
