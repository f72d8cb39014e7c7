package study

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/gomlx/gomlx/backends"

	"github.com/robustvision/cotrain/pkg/backend"
	"github.com/robustvision/cotrain/pkg/data"
	"github.com/robustvision/cotrain/pkg/jobs"
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
	var rec StageRecord
	if err := provenance.ReadJSON(filepath.Join(r.Dir(id), stageFile), &rec); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		return nil, fmt.Errorf("%w (delete it to recompute the stage)", err)
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
		keys[s.ID] = s.Key
		if want[s.ID] && s.State != Done {
			todo = append(todo, s)
		}
	}
	r.logf("%s scale: %d of %d selected stages to run\n", r.Scale.Name, len(todo), len(selected))
	if len(todo) == 0 {
		return nil
	}
	workers := r.Jobs
	if workers < 1 || r.BackendName == "" {
		workers = 1
	}
	if workers > 1 { // shared read-only by the workers
		r.logMu = &sync.Mutex{}
		defer func() { r.logMu = nil }()
		if _, err := r.Images(); err != nil {
			return err
		}
		if _, _, err := r.Monkey(); err != nil {
			return err
		}
	}
	var graph []jobs.Job
	for _, s := range todo {
		graph = append(graph, jobs.Job{ID: s.ID, Deps: s.Deps})
	}
	return jobs.Run(graph, workers, func(i, k int) error {
		r.logf("[%d/%d] %s (%s)\n", k, len(todo), todo[i].ID, todo[i].State)
		if err := r.runStage(todo[i], keys, workers > 1); err != nil {
			return fmt.Errorf("stage %s: %w", todo[i].ID, err)
		}
		return nil
	})
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
		copied.Log = &jobs.PrefixWriter{W: r.Log, Prefix: s.ID + ": ", Mu: r.logMu}
		copied.logMu = nil // the prefix writer serialises
		sr = &copied
	}
	start := time.Now()
	rec, err := sr.run(s.Stage)
	if err != nil {
		return err
	}
	rec.ID, rec.Model, rec.Key = s.ID, s.label(), keys[s.ID]
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

// lock takes the scale's cache lock (data/cache/<scale>/.lock).
func (r *Runner) lock() (func(), error) {
	dir := filepath.Join(r.Root, CacheDir(r.Scale))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	file := filepath.Join(dir, ".lock")
	return jobs.Lock(file, func() { r.logf("waiting for another process that runs the %s study (%s)\n", r.Scale.Name, file) })
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

// run executes one stage and returns its record (without ID and key, which Reproduce fills in).
func (r *Runner) run(st Stage) (*StageRecord, error) {
	rec := &StageRecord{Provenance: provenance.New(), Results: map[string]float64{}}
	seed := int64(st.Seed)
	rec.Provenance.Seed = &seed
	rec.Provenance.Backend = fmt.Sprint(r.Backend.Name())
	rec.Provenance.Device = r.Backend.Description()
	if err := os.MkdirAll(r.Dir(st.ID), 0o755); err != nil {
		return nil, err
	}
	var err error
	switch st.Kind {
	case Training:
		err = r.trainStage(st, rec)
	case Targets:
		err = r.targets(st, rec)
	case Evaluation:
		err = r.evaluationStage(st, rec)
	case Robustness:
		err = r.robustnessStage(st, rec)
	case Analysis:
		err = r.analysisStage(st, rec)
	default:
		err = fmt.Errorf("stage %s: unknown kind %d", st.ID, st.Kind)
	}
	if err != nil {
		return nil, err
	}
	rec.Provenance.Finish()
	return rec, nil
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
