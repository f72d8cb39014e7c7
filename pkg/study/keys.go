package study

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"

	"github.com/robustvision/cotrain/pkg/analysis"
	"github.com/robustvision/cotrain/pkg/condition"
	"github.com/robustvision/cotrain/pkg/corrupt"
	"github.com/robustvision/cotrain/pkg/data"
	"github.com/robustvision/cotrain/pkg/eval"
	"github.com/robustvision/cotrain/pkg/models"
	"github.com/robustvision/cotrain/pkg/recon"
	"github.com/robustvision/cotrain/pkg/saliency"
	"github.com/robustvision/cotrain/pkg/train"
	"github.com/robustvision/cotrain/pkg/v1sim"
)

// A stage's key is the SHA-256 of its fully resolved configuration (Config) and of the keys of the stages it reads.
// A cached stage whose recorded key differs was made from other settings, other inputs or other code, and is stale.
// Code enters the key through the Version of each package that computes the stage's numbers: each package keeps
// its Version beside its code, and its golden test fails when its numbers change while Version does not.

// Config is everything a stage's outputs depend on but its inputs: one section per kind of stage, and the Version
// of every package whose code computes them.
type Config struct {
	ID   string `json:"id"`
	Kind string `json:"kind"`
	// Training stages.
	Train   *train.Config        `json:"train,omitempty"`
	Images  *data.Classification `json:"images,omitempty"` // the classification data (and the recording's stimuli)
	Neural  *NeuralConfig        `json:"neural,omitempty"`
	Targets *TargetsConfig       `json:"targets,omitempty"`
	// Section 3 and 4.
	Eval       *EvalConfig       `json:"eval,omitempty"`
	Robustness *RobustnessConfig `json:"robustness,omitempty"`
	Recon      *ReconConfig      `json:"recon,omitempty"`
	// The virtual monkey.
	Recording *RecordingConfig  `json:"recording,omitempty"`
	Versions  map[string]string `json:"versions"`
}

// NeuralConfig is what a stage that reads the recording reads of it.
type NeuralConfig struct {
	Protocol      v1sim.Protocol `json:"protocol"` // the recording as simulated (its key is an input too)
	PPD           float64        `json:"ppd,omitempty"`
	Targets       string         `json:"targets,omitempty"` // multi-task: Targets name
	Shuffle       bool           `json:"shuffle,omitempty"`
	Holdout       float64        `json:"holdout"`                  // fraction of trials held out for validation
	ReadoutTrials int            `json:"readout_trials,omitempty"` // a readout stage's trials
}

// TargetsConfig is a targets stage's source.
type TargetsConfig struct {
	Source string `json:"source"`
	From   string `json:"from,omitempty"`
}

// EvalConfig is Section 3's evaluation of one run.
type EvalConfig struct {
	PerClass    int            `json:"per_class"` // corrupted test images per class (0: all)
	Preset      corrupt.Preset `json:"preset"`
	Corruptions []string       `json:"corruptions"`
	Severities  []int          `json:"severities"`
	Seed        uint64         `json:"seed"`
	Bootstrap   int            `json:"bootstrap"`
}

// RobustnessConfig is Section 3's analysis of every evaluation.
type RobustnessConfig struct {
	Baseline    string      `json:"baseline"`
	Pairs       [][2]string `json:"pairs"`
	Sweep       []string    `json:"sweep"`
	Corruptions []string    `json:"corruptions"` // those the scores average (the paper's 14)
	Replicates  int         `json:"replicates"`
	Seeds       int         `json:"seeds"`
}

// ReconConfig is Section 4's analysis.
type ReconConfig struct {
	Models             []string       `json:"models"`
	SaliencyModels     []string       `json:"saliency_models"`
	Source             string         `json:"source"`
	Settings           []recon.Config `json:"settings"` // per model
	Images             int            `json:"images"`
	Norms              []float64      `json:"norms"`
	SpectralOf         string         `json:"spectral_of"`
	SaliencyMaps       string         `json:"saliency_maps,omitempty"`
	SaliencyLogDensity bool           `json:"saliency_log_density,omitempty"`
	Size               int            `json:"size"`
}

// RecordingConfig is the virtual monkey's recording.
type RecordingConfig struct {
	Protocol   v1sim.Protocol         `json:"protocol"`
	Population v1sim.PopulationConfig `json:"population"`
	Seed       uint64                 `json:"seed"`
}

// versions are the Versions of the packages whose code computes a kind of stage's numbers.
func versions(kind Kind, c condition.Condition) map[string]string {
	v := map[string]string{"data": data.Version}
	switch kind {
	case Training:
		v["models"], v["train"] = models.Version, train.Version
		if c.Objective == train.CorruptionConsistency {
			v["corrupt"] = corrupt.Version
		}
	case Targets:
		v["models"], v["train"], v["v1sim"] = models.Version, train.Version, v1sim.Version
	case Evaluation:
		v["models"], v["train"], v["corrupt"], v["eval"] = models.Version, train.Version, corrupt.Version, eval.Version
	case Robustness:
		v["eval-analysis"] = eval.AnalysisVersion
	case Analysis:
		v["models"], v["train"], v["corrupt"] = models.Version, train.Version, corrupt.Version
		v["recon"], v["saliency"], v["analysis"] = recon.Version, saliency.Version, analysis.Version
	case Recording:
		v["v1sim"] = v1sim.Version
	}
	return v
}

// Config resolves a stage's configuration at the runner's scale.
func (r *Runner) Config(st Stage) (Config, error) {
	s := r.Scale
	c, _ := condition.ByName(st.Model)
	cfg := Config{ID: st.ID, Kind: st.Kind.String(), Versions: versions(st.Kind, c)}
	images := s.Data
	cfg.Images = &images
	switch st.Kind {
	case Training:
		tc, err := r.TrainConfig(st)
		if err != nil {
			return cfg, err
		}
		cfg.Train = &tc
		if c.Recording {
			n := &NeuralConfig{Protocol: s.V1, PPD: st.PPD, Targets: c.Targets, Shuffle: c.Shuffle, Holdout: 0.1}
			if c.InitReadout {
				of := condition.Must(st.Of)
				n.Targets, n.Shuffle, n.ReadoutTrials = of.Targets, of.Shuffle, s.ReadoutTrials
			}
			cfg.Neural = n
		}
	case Targets:
		for _, t := range condition.TargetSources {
			if t.Stage() == st.ID {
				cfg.Targets = &TargetsConfig{Source: t.Name, From: t.From}
			}
		}
		if cfg.Targets == nil {
			return cfg, fmt.Errorf("stage %s: no such targets", st.ID)
		}
		cfg.Neural = &NeuralConfig{Protocol: s.V1}
	case Evaluation:
		cfg.Eval = &EvalConfig{PerClass: s.EvalPerClass, Preset: s.CorruptionPreset, Corruptions: corrupt.Names(),
			Severities: []int{1, 2, 3, 4, 5}, Seed: eval.Seed, Bootstrap: eval.BootstrapResamples}
	case Robustness:
		var swept []string
		for _, sc := range condition.Where(func(c condition.Condition) bool { return c.Swept }) {
			swept = append(swept, sc.Name)
		}
		cfg.Robustness = &RobustnessConfig{Baseline: condition.Baseline, Pairs: condition.Pairs(), Sweep: swept,
			Corruptions: corrupt.PaperNames(), Replicates: eval.PairedReplicates, Seeds: len(s.Seeds)}
	case Analysis:
		rc := &ReconConfig{Images: s.ReconImages, Norms: s.ReconNorms, SpectralOf: condition.MTLMonkey,
			SaliencyModels: SaliencyModels(s), Source: s.ReconSource,
			SaliencyMaps: s.SaliencyMaps, SaliencyLogDensity: s.SaliencyLogDensity, Size: s.Model.InputSize}
		for _, name := range ReconModels(s) {
			rc.Models, rc.Settings = append(rc.Models, name), append(rc.Settings, r.ReconSetting(name))
		}
		cfg.Recon = rc
	case Recording:
		cfg.Recording = &RecordingConfig{Protocol: s.V1, Population: v1sim.DefaultPopulation, Seed: st.Seed}
	}
	return cfg, nil
}

// Key is the key of a stage with configuration cfg whose inputs have the keys in deps.
func Key(cfg Config, deps []string, keys map[string]string) (string, error) {
	b, err := json.Marshal(cfg)
	if err != nil {
		return "", fmt.Errorf("stage %s: configuration: %w", cfg.ID, err)
	}
	h := sha256.New()
	h.Write(b)
	sorted := append([]string(nil), deps...)
	sort.Strings(sorted)
	for _, d := range sorted {
		fmt.Fprintf(h, "\n%s=%s", d, keys[d])
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

// Keys are the keys of every stage of the study at the runner's scale, by stage ID.
func (r *Runner) Keys() (map[string]string, error) {
	keys := map[string]string{}
	for _, st := range Stages(r.Scale) {
		cfg, err := r.Config(st)
		if err != nil {
			return nil, err
		}
		if keys[st.ID], err = Key(cfg, st.Deps, keys); err != nil {
			return nil, err
		}
	}
	return keys, nil
}
