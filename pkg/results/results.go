// Package results holds the study's results as plain values: what the figures draw (pkg/figures) and the
// notebooks show. It reads nothing: the cache's one reader is pkg/study, which hands out only results of stages
// that its status calls done (and pkg/calibrate, for the calibration runs beside the stages).
package results

import (
	"errors"
	"fmt"

	"github.com/robustvision/cotrain/pkg/condition"
	"github.com/robustvision/cotrain/pkg/provenance"
	"github.com/robustvision/cotrain/pkg/train"
)

// ModelResult summarises a model's finished seeds (the first seeds' runs of the main table, not the sweep).
type ModelResult struct {
	Model              string // a condition of the table (pkg/condition)
	Seeds              int
	TestAcc, TestAccSD float64 // clean test accuracy over seeds (NaN when the model has no classifier)
	FEVeReliable       float64 // mean over seeds of the readout's FEVe on neurons with FEV > 0.15 (NaN: no readout)
	// FEVeCoTrained is, for an MTL model whose readout a later stage trained on (pkg/study RunFEVe), the mean FEVe of
	// the readout as co-training left it (NaN otherwise).
	FEVeCoTrained          float64
	Epochs                 float64 // mean number of epochs trained
	Curves                 []train.EpochMetrics
	CurveStage, Scale, Use string
}

// ResolutionPoint is one resolution of the appendix's search (Fig. 12): the predictor trained on the recording shown
// at PPD pixels per degree, its FEVe on the reliable neurons, and the test accuracy of a classifier trained on its
// frozen block (to conv3_1).
type ResolutionPoint struct {
	PPD, FEVe, Accuracy, Chance float64
	TestImages                  int    // the classifier's test images
	Predictor, Classifier       string // the two runs' stage IDs
}

// SameStepPoint is one model's held-out evaluation at the end of one epoch.
type SameStepPoint struct {
	Model     string           `json:"model"` // the Baseline, or the Oracle's first stage
	Epoch     int              `json:"epoch"`
	Step      int              `json:"step"`      // optimizer steps so far
	Clean     train.Evaluation `json:"clean"`     // the scale's clean test images
	Mixture   train.Evaluation `json:"mixture"`   // the same images, about half corrupted (the Oracle's in-domain test)
	Corrupted train.Evaluation `json:"corrupted"` // every image corrupted (one of the 14 corruptions, severity 1–5)
}

// SameStepRun is one seed's comparison.
type SameStepRun struct {
	Seed uint64 `json:"seed"`
	// Criterion is the Oracle's form of the consistency loss; Variant: not the scale's (the run's Oracle is then not
	// the cache's, and its files are named seed<N>-<criterion>).
	Criterion string          `json:"criterion,omitempty"`
	Variant   bool            `json:"variant,omitempty"`
	Points    []SameStepPoint `json:"points"` // the Baseline's epochs, then the Oracle's first stage's
	// Reproduces says, per stage, whether the retrained model's final (best validation) weights are bit-identical
	// to the committed checkpoint's, so that the curves are those of the cached models; absent where the cache has
	// no model of the stage.
	Reproduces map[string]bool    `json:"reproduces_cache"`
	Provenance *provenance.Record `json:"provenance"`
}

// ErrNotInStudy is wrapped by the error of a result whose experiment the scale's study does not run (e.g. the gpu
// scale's resolution search) or that was never made for this cache (a calibration run): not a missing result.
var ErrNotInStudy = errors.New("not part of this scale's study")

// ErrMissing is wrapped by the error of a result that the cache should hold but does not (or holds stale).
var ErrMissing = errors.New("missing from the cache")

// MissingError says which result a figure needed and why the cache cannot give it.
type MissingError struct {
	Result string // what was needed, e.g. "Section 3's robustness analysis"
	Err    error  // why it is missing: a stage that is not done, a file that is not there
}

func (e *MissingError) Error() string { return fmt.Sprintf("%s: %v", e.Result, e.Err) }

// Unwrap gives both the reason and ErrMissing (or ErrNotInStudy, when the reason is that).
func (e *MissingError) Unwrap() []error {
	if errors.Is(e.Err, ErrNotInStudy) {
		return []error{e.Err}
	}
	return []error{e.Err, ErrMissing}
}

// Summary says, for one seed, how the two models compare at the same steps.
type Summary struct {
	Seed  uint64
	Steps int // the last step both models reached
	// At the last common epoch: the Baseline's and the Oracle's first stage's evaluations.
	CleanBaseline, CleanOracle, MixtureBaseline, MixtureOracle train.Evaluation
	// The first epoch from which the Oracle's held-out cross-entropy stays below the Baseline's to the last common
	// epoch (0: not at the last common epoch).
	MixtureBelowFrom, CleanBelowFrom int
}

// Summarise compares the two curves epoch by epoch.
func (run *SameStepRun) Summarise() (Summary, error) {
	by := map[string]map[int]SameStepPoint{condition.Baseline: {}, condition.OracleStage1: {}}
	for _, p := range run.Points {
		if by[p.Model] == nil {
			return Summary{}, fmt.Errorf("seed %d: unknown model %q", run.Seed, p.Model)
		}
		by[p.Model][p.Epoch] = p
	}
	s := Summary{Seed: run.Seed}
	last := 0
	for e := range by[condition.Baseline] {
		if _, ok := by[condition.OracleStage1][e]; ok && e > last {
			last = e
		}
	}
	if last == 0 {
		return s, fmt.Errorf("seed %d: no epoch of both models", run.Seed)
	}
	b, o := by[condition.Baseline][last], by[condition.OracleStage1][last]
	s.Steps = o.Step
	s.CleanBaseline, s.CleanOracle = b.Clean, o.Clean
	s.MixtureBaseline, s.MixtureOracle = b.Mixture, o.Mixture
	// belowFrom is the first epoch of the run of epochs, ending at the last common one, in which the Oracle's
	// cross-entropy (by ce) is below the Baseline's; 0 if it is not below at the last.
	belowFrom := func(ce func(SameStepPoint) float64) int {
		from := 0
		for e := last; e >= 1; e-- {
			b, okB := by[condition.Baseline][e]
			o, okO := by[condition.OracleStage1][e]
			if !okB || !okO || ce(o) >= ce(b) {
				break
			}
			from = e
		}
		return from
	}
	s.MixtureBelowFrom = belowFrom(func(p SameStepPoint) float64 { return p.Mixture.CrossEntropy })
	s.CleanBelowFrom = belowFrom(func(p SameStepPoint) float64 { return p.Clean.CrossEntropy })
	return s, nil
}
