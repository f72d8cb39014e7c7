// Package study holds the reproduction as data: the study as stages over a resumable cache, at each scale.
//
// The stages are the models of Table 1 (Section 2), their evaluation and the robustness analysis (Section 3), and
// the reconstruction and saliency analysis (Section 4), each with the stages it needs, run in dependency order over
// a cache that makes every stage resumable and recomputes exactly what is out of date. The analyses themselves live
// in the packages of their sections (train, eval, analysis); study decides what runs and where its outputs go.
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
	"github.com/robustvision/cotrain/pkg/record"
	"github.com/robustvision/cotrain/pkg/scales"
	"github.com/robustvision/cotrain/pkg/train"
	"github.com/robustvision/cotrain/pkg/v1sim"
)

// Files of a stage beside its stage.json, in data/cache/<scale>/<stage ID>/ (README, "Cache layout").
const (
	modelFile     = "model.ckpt"
	responsesFile = "responses.npy"
)

// State is how a stage's cached output stands.
type State string

// The states of a stage.
const (
	Done    State = "done"    // output present and up to date
	Stale   State = "stale"   // output present but made from other settings or inputs, or damaged (see Problem)
	Partial State = "partial" // a training run interrupted: resumes from its last checkpoint
	Missing State = "missing"
	// OnDemand: a stage that the committed cache does not keep (the recording, the MTL targets) and that is remade
	// when a stage that needs it runs; not a missing result.
	OnDemand State = "on demand"
)

// Runner runs a scale's study stages into the cache under Root.
type Runner struct {
	Root    string // the repository root; the cache is Root/data/cache/<scale>
	Scale   scales.Scale
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
	return filepath.Join(r.Root, scales.CacheDir(r.Scale), filepath.FromSlash(id))
}

// StageStatus is one line of `cotrain status`.
type StageStatus struct {
	Stage
	State   State
	Key     string        // the key the stage would have now
	Record  *record.Stage // the cached record, if readable
	Problem string        // why a stage is stale
	// Remake: a done stage that runs again because a stage to run needs its checkpoint and the cache does not keep
	// it (Runner.remakes).
	Remake bool
}

// Status reports every stage of the study. A stage is done only if its record is readable and plausible, its key
// matches the settings, every file it recorded is there with its recorded size and SHA-256, its outputs are all
// there and plausible (verifyOutputs), and its inputs are done and still hold the files it was made from; a missing
// or changed input makes every stage made from it stale, but for the stages remade on demand (onDemand), whose
// absence leaves what was made from them done. A damaged stage affects only itself and what was made from it.
func (r *Runner) Status() ([]StageStatus, error) {
	keys, err := r.Keys()
	if err != nil {
		return nil, err
	}
	byID := map[string]StageStatus{}
	var out []StageStatus
	for _, st := range Stages(r.Scale) {
		ss := r.check(st, keys[st.ID], byID)
		byID[st.ID] = ss
		out = append(out, ss)
	}
	return out, nil
}

// statusByID is Status by stage ID.
func (r *Runner) statusByID() (map[string]StageStatus, error) {
	status, err := r.Status()
	if err != nil {
		return nil, err
	}
	byID := make(map[string]StageStatus, len(status))
	for _, s := range status {
		byID[s.ID] = s
	}
	return byID, nil
}

// check is one stage's status; inputs holds the status of the stages before it.
func (r *Runner) check(st Stage, key string, inputs map[string]StageStatus) StageStatus {
	ss := StageStatus{Stage: st, Key: key, State: Missing}
	rec, err := r.readRecord(st.ID)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if exists(filepath.Join(r.Dir(st.ID), "last.ckpt")) {
			ss.State = Partial
		} else if st.onDemand() {
			ss.State = OnDemand
		}
		return ss
	case err != nil:
		ss.State, ss.Problem = Stale, err.Error()
		return ss
	}
	ss.Record, ss.State = rec, Stale
	switch {
	case rec.Key != key:
		ss.Problem = "made from other settings, inputs or code"
	case rec.Files == nil:
		ss.Problem = "recorded without checksums (by an older version)"
	default:
		ss.Problem = r.inputProblem(st, rec, inputs)
		if ss.Problem == "" {
			if err := rec.Files.Verify(r.Dir(st.ID), r.keptElsewhere); err != nil {
				ss.Problem = err.Error()
			} else if err := r.verifyOutputs(st, rec); err != nil {
				ss.Problem = err.Error()
			}
		}
	}
	if ss.Problem == "" {
		ss.State = Done
	}
	return ss
}

// keptElsewhere reports whether a stage's file may be missing from the cache: a checkpoint at a scale whose cache keeps
// results only (Scale.ResultsOnly).
func (r *Runner) keptElsewhere(rel string) bool {
	return r.Scale.ResultsOnly && strings.HasSuffix(rel, ".ckpt")
}

// inputProblem says why a stage's inputs no longer hold what it was made from ("" if they do): an input that is not
// done (but one remade on demand and not there), or one whose files have changed since.
func (r *Runner) inputProblem(st Stage, rec *record.Stage, inputs map[string]StageStatus) string {
	for _, d := range st.Deps {
		in, ok := inputs[d]
		switch {
		case !ok:
			return fmt.Sprintf("its input %s is unknown", d)
		case in.State == OnDemand:
			continue
		case in.State != Done:
			return fmt.Sprintf("its input %s is %s", d, in.State)
		case in.Record.Digest != rec.InputDigests[d]:
			return fmt.Sprintf("its input %s has changed since", d)
		}
	}
	return ""
}

// readRecord reads a stage's record (record.Read).
func (r *Runner) readRecord(id string) (*record.Stage, error) { return record.Read(r.Dir(id)) }

// Reproduce runs, in dependency order, the selected stages (all when only is empty; else those whose IDs start with
// one of only, with what they need) whose outputs are missing, stale or partial. Done stages are skipped; a done
// stage made from a stage that runs again is checked again once its input is done, and runs only if the input's
// files changed.
//
// Processes may run a scale's stages at once, on one machine or on several that share the cache (RunStage, under a
// cluster's scheduler): every stage is run under its own lock, and a process that finds a stage locked waits, then
// finds it done. When nothing is to be done, nothing is locked or written (a read-only cache can be checked).
func (r *Runner) Reproduce(only []string) error {
	todo, selected, err := r.plan(only)
	if err != nil || len(todo) == 0 {
		if err == nil {
			r.logf("%s scale: all %d selected stages are done\n", r.Scale.Name, selected)
		}
		return err
	}
	r.logf("%s scale: %d of %d selected stages to run or to check again\n", r.Scale.Name, len(todo), selected)
	workers := r.Jobs
	if workers < 1 || r.BackendName == "" {
		workers = 1
	}
	if workers > 1 && len(todo) > 0 { // shared read-only by the workers
		r.logMu = &sync.Mutex{}
		defer func() { r.logMu = nil }()
		if _, err := r.Images(); err != nil {
			return err
		}
	}
	var graph []jobs.Job
	for _, s := range todo {
		graph = append(graph, jobs.Job{ID: s.ID, Deps: s.Deps})
	}
	return jobs.Run(graph, workers, func(i, k int) error {
		s := todo[i]
		r.logf("[%d/%d] %s\n", k, len(todo), s.ID)
		if err := r.runStage(s, workers > 1); err != nil {
			return fmt.Errorf("stage %s: %w", s.ID, err)
		}
		return nil
	})
}

// plan lists the selected stages that are not done, and the done ones made from them (to check again), in dependency
// order; selected counts the selected stages. A stage remade on demand is in the plan only if a stage in it needs
// it, or it was selected by name.
func (r *Runner) plan(only []string) (todo []StageStatus, selected int, err error) {
	status, err := r.Status()
	if err != nil {
		return nil, 0, err
	}
	var stages []Stage
	for _, s := range status {
		stages = append(stages, s.Stage)
	}
	sel, err := Select(stages, only)
	if err != nil {
		return nil, 0, err
	}
	want, affected := map[string]bool{}, map[string]bool{}
	for _, st := range sel {
		want[st.ID] = true
	}
	remake := r.remakes(status, want)
	named := func(id string) bool {
		for _, o := range only {
			if o == id {
				return true
			}
		}
		return false
	}
	for _, s := range status {
		for _, d := range s.Deps {
			affected[s.ID] = affected[s.ID] || affected[d]
		}
		if remake[s.ID] || want[s.ID] && (s.State != Done && s.State != OnDemand || affected[s.ID] || s.State == OnDemand && named(s.ID)) {
			if remake[s.ID] {
				s.Remake = true
				s.Problem = "its checkpoint is not kept in this results-only cache, and a stage to run needs it"
			}
			todo = append(todo, s)
			affected[s.ID] = true
		}
	}
	// The stages remade on demand that the plan's stages need.
	needed := map[string]bool{}
	for i := len(todo) - 1; i >= 0; i-- {
		for _, d := range todo[i].Deps {
			needed[d] = true
		}
	}
	byID := map[string]StageStatus{}
	for _, s := range status {
		byID[s.ID] = s
	}
	var out []StageStatus
	inPlan := map[string]StageStatus{}
	for _, s := range todo {
		inPlan[s.ID] = s
	}
	for _, s := range status {
		planned, ok := inPlan[s.ID]
		switch {
		case ok:
			out = append(out, planned)
		case s.State == OnDemand && needed[s.ID]:
			out = append(out, s)
			for _, d := range s.Deps { // what it is made from, if that is remade on demand too
				if _, ok := inPlan[d]; byID[d].State == OnDemand && !ok {
					needed[d] = true
				}
			}
		}
	}
	return out, len(sel), nil
}

// remakes are the done stages whose checkpoints a results-only cache does not keep (Scale.ResultsOnly: the gpu
// scale's, whose checkpoints stay on the lent machine) and that a stage to run needs: a training stage done in one
// grant whose evaluation was cut off by the grant's end is trained again in the next, its dependants then checked
// again as after any stage that ran again (unchanged files leave them done).
func (r *Runner) remakes(status []StageStatus, want map[string]bool) map[string]bool {
	remake := map[string]bool{}
	if !r.Scale.ResultsOnly {
		return remake
	}
	byID := map[string]StageStatus{}
	for _, s := range status {
		byID[s.ID] = s
	}
	remadeOnDemand := map[string]bool{}     // the stages remade on demand (the MTL targets) for a stage that runs
	for i := len(status) - 1; i >= 0; i-- { // dependants come after their inputs
		s := status[i]
		if !remake[s.ID] && !remadeOnDemand[s.ID] && !(want[s.ID] && s.State != Done && s.State != OnDemand) {
			continue
		}
		for _, d := range s.Deps {
			switch in := byID[d]; {
			case in.State == Done && r.checkpointAway(in):
				remake[d] = true
			case in.State == OnDemand:
				remadeOnDemand[d] = true
			}
		}
	}
	return remake
}

// checkpointAway reports whether a done stage recorded a checkpoint that this cache does not hold (keptElsewhere).
func (r *Runner) checkpointAway(s StageStatus) bool {
	if s.Record == nil {
		return false
	}
	for rel := range s.Record.Files {
		if r.keptElsewhere(rel) && !exists(filepath.Join(r.Dir(s.ID), filepath.FromSlash(rel))) {
			return true
		}
	}
	return false
}

// recheck is the status of one stage now, its inputs' statuses read afresh.
func (r *Runner) recheck(st Stage) StageStatus {
	byID, err := r.statusByID()
	if err != nil {
		return StageStatus{Stage: st, State: Stale, Problem: err.Error()}
	}
	return byID[st.ID]
}

// runStage runs one stage (in its own backend when stages run in parallel) and records it: its key, its inputs'
// keys and digests, and its files with their sums. It holds the stage's lock (<stage folder>.lock: safe between
// processes and machines that share the cache) and looks at the stage again once it holds it: another process may
// have made it meanwhile, and a stage made from one that ran again is still done if that one's files are the same.
func (r *Runner) runStage(s StageStatus, parallel bool) error {
	unlock, err := r.lockStage(s.ID)
	if err != nil {
		return err
	}
	defer unlock()
	remake := s.Remake
	if s = r.recheck(s.Stage); s.State == Done && !(remake && r.checkpointAway(s)) {
		r.logf("    %s: done (by another process, or its inputs are unchanged)\n", s.ID)
		return nil
	}
	if s.State == Done { // and to be remade
		r.logf("    %s runs again: its checkpoint is not kept in this results-only cache, and a stage to run needs it\n", s.ID)
	} else if s.Problem != "" {
		r.logf("    %s is stale: %s\n", s.ID, s.Problem)
	}
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
	rec, err := sr.run(s.Stage, s.Key)
	if err != nil {
		return err
	}
	rec.ID, rec.Model = s.ID, s.label()
	rec.Inputs, rec.InputDigests = map[string]string{}, map[string]string{}
	for _, d := range s.Deps {
		dep, err := r.readRecord(d)
		if err != nil {
			return fmt.Errorf("input %s: %w", d, err)
		}
		rec.Inputs[d], rec.InputDigests[d] = dep.Key, dep.Digest
	}
	for _, f := range []string{"last.ckpt", "best.ckpt"} {
		os.Remove(filepath.Join(r.Dir(s.ID), f))
	}
	dropped, err := rec.Write(r.Dir(s.ID))
	if err != nil {
		return err
	}
	if len(dropped) > 0 {
		r.logf("    %s: not recorded, not finite: %s\n", s.ID, strings.Join(dropped, ", "))
	}
	r.logf("    %s done in %s %s\n", s.ID, time.Since(start).Round(time.Second), formatResults(rec.Results))
	return nil
}

// lockStage takes the lock of one stage (jobs.Lock on <stage folder>.lock).
func (r *Runner) lockStage(id string) (func(), error) {
	file := r.Dir(id) + ".lock"
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return nil, err
	}
	return jobs.Lock(file, func(holder string) { r.logf("    %s: waiting for the lock (%s)\n", id, holder) })
}

func formatResults(res map[string]float64) string {
	var parts []string
	for _, k := range []string{"test_acc", "feve_reliable", "epochs"} {
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

// kindRuns are the run functions of the kinds of stages.
var kindRuns = [...]func(*Runner, Stage, *record.Stage) error{Training: (*Runner).trainStage, Targets: (*Runner).targets,
	Evaluation: (*Runner).evaluationStage, Robustness: (*Runner).robustnessStage, Analysis: (*Runner).analysisStage,
	Recording: (*Runner).recordingStage}

// run executes one stage whose key is key and returns its record (without ID, which Reproduce fills in).
func (r *Runner) run(st Stage, key string) (*record.Stage, error) {
	rec := &record.Stage{Key: key, Provenance: provenance.New(), Results: map[string]float64{}}
	seed := int64(st.Seed)
	rec.Provenance.Seed = &seed
	rec.Provenance.Backend = fmt.Sprint(r.Backend.Name())
	rec.Provenance.Device = r.Backend.Description()
	if err := os.MkdirAll(r.Dir(st.ID), 0o755); err != nil {
		return nil, err
	}
	if err := kindRuns[st.Kind](r, st, rec); err != nil {
		return nil, err
	}
	rec.Provenance.Finish()
	return rec, nil
}

// Images returns the scale's classification data (read once).
func (r *Runner) Images() (*data.Prepared, error) {
	if r.images == nil {
		c := r.Scale.Data // Dir "" for fmnist: $COTRAIN_FASHION_MNIST, else Debian's package (data.LoadFashionMNIST)
		p, err := data.Load(c, filepath.Join(r.Root, scales.CacheDir(r.Scale), "stats.json"))
		if err != nil {
			return nil, err
		}
		r.images = p
	}
	return r.images, nil
}

// LoadModel reads the trained model of a stage, and checks that it is the stage's own (written by the stage with
// its present key, for the scale's network and the condition's objective). The runner needs a backend to run it.
func (r *Runner) LoadModel(id string) (*train.Model, error) {
	if r.Backend == nil {
		return nil, fmt.Errorf("load %s: this runner has no backend (set Runner.Backend, e.g. to backend.New(\"cpu\"), "+
			"or make it with nb.NewRunner)", id)
	}
	st, err := r.stageOf(id)
	if err != nil {
		return nil, err
	}
	rec, err := r.readRecord(id)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", id, err)
	}
	file := filepath.Join(r.Dir(id), modelFile)
	m, err := train.LoadModel(r.Backend, file)
	if err != nil {
		return nil, err
	}
	if err := r.checkModel(st, rec.Key, m.Info); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return m, nil
}

// RunStage runs one stage (cotrain reproduce -stage, one job of a cluster's scheduler), under its lock. Its inputs
// must be done: with wait, RunStage polls until they are; without, it is an error that names the ones that are not.
func (r *Runner) RunStage(id string, wait bool) error {
	for {
		byID, err := r.statusByID()
		if err != nil {
			return err
		}
		s, ok := byID[id]
		if !ok {
			_, err := Select(Stages(r.Scale), []string{id + "\x00"}) // the error lists the stages
			return fmt.Errorf("no stage %q: %w", id, err)
		}
		var missing []string
		for _, d := range s.Deps {
			if st := byID[d]; st.State != Done {
				missing = append(missing, fmt.Sprintf("%s (%s)", d, st.State))
			}
		}
		switch {
		case len(missing) == 0:
			return r.runStage(s, false)
		case !wait:
			return fmt.Errorf("stage %s needs %s: run them first", id, strings.Join(missing, ", "))
		}
		r.logf("    %s: waiting for %s\n", id, strings.Join(missing, ", "))
		time.Sleep(jobs.PollInterval * 15)
	}
}
