package eval

import (
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/robustvision/cotrain/pkg/corrupt"
	"github.com/robustvision/cotrain/pkg/data"
	"github.com/robustvision/cotrain/pkg/provenance"
)

// Section 3's evaluation of one classifier: clean accuracy on every test image with bootstrap error bars, and
// accuracy on the corrupted test set — the 15 corruptions × 5 severities of a subset of the test images, corrupted
// on the fly with a seed per (image, corruption, severity), so that every model sees the same images. The prepared
// test images are grey, so they are corrupted as grey images (exact for Fashion-MNIST; the paper corrupts Tiny
// ImageNet's RGB images before the grey conversion).

// Seed seeds the corrupted test set and the bootstrap of every scale.
const Seed = 2021

// BootstrapResamples is the paper's number of bootstrap repetitions.
const BootstrapResamples = 250

// Classifier is what Evaluate needs of a model: its predicted class for every image of a set.
type Classifier interface {
	Predictions(set *data.Set, transform func(epoch, i int, img []uint8)) ([]int, error)
}

// Run names an evaluated training run: its model, seed, and batch ratio ("" outside the sweep).
type Run struct {
	Model string
	Seed  uint64
	Ratio string
}

// Clean is the per-image result of one run (clean.json of an evaluation stage): the clean test set with its
// bootstrap error bar, and every corrupted version of the corrupted subset, so that models can be compared paired by
// image (PairedBootstrap).
type Clean struct {
	Accuracy    float64         `json:"accuracy"`
	BootstrapSD float64         `json:"bootstrap_sd"`
	Resamples   int             `json:"resamples"`
	Images      int             `json:"images"`
	Correct     Bits            `json:"correct"`             // per test image, in the test set's order
	Corrupted   map[string]Bits `json:"corrupted,omitempty"` // "corruption/severity" → per image of the subset
}

// Bits are per-image outcomes, written in JSON as a string of 0s and 1s.
type Bits []bool

// MarshalJSON writes the bits as a string of 0s and 1s.
func (b Bits) MarshalJSON() ([]byte, error) {
	s := make([]byte, len(b))
	for i, v := range b {
		s[i] = '0'
		if v {
			s[i] = '1'
		}
	}
	return json.Marshal(string(s))
}

// UnmarshalJSON reads a string of 0s and 1s (or a JSON array of booleans).
func (b *Bits) UnmarshalJSON(data []byte) error {
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		var bools []bool
		if err := json.Unmarshal(data, &bools); err != nil {
			return fmt.Errorf("per-image outcomes: want a string of 0s and 1s")
		}
		*b = bools
		return nil
	}
	out := make(Bits, len(s))
	for i, c := range s {
		if c != '0' && c != '1' {
			return fmt.Errorf("per-image outcomes: %q at %d, want 0 or 1", c, i)
		}
		out[i] = c == '1'
	}
	*b = out
	return nil
}

// VersionKey names a corrupted version in Clean.Corrupted.
func VersionKey(corruption string, severity int) string {
	return fmt.Sprintf("%s/%d", corruption, severity)
}

// Evaluate measures a classifier on the clean test set and on every corruption and severity of subset (a subset of
// the test images), corrupted with preset's severities. The records are labelled with run; severity 0 is clean.
func Evaluate(c Classifier, run Run, test, subset *data.Set, preset corrupt.Preset) (*Clean, []Accuracy, error) {
	pred, err := c.Predictions(test, nil)
	if err != nil {
		return nil, nil, err
	}
	clean := &Clean{Resamples: BootstrapResamples, Images: test.N}
	for i, p := range pred {
		clean.Correct = append(clean.Correct, p == test.Labels[i])
	}
	clean.Accuracy, clean.BootstrapSD = Bootstrap(clean.Correct, BootstrapResamples, Seed)
	// All corrupted versions in one batch of inference.
	type version struct {
		name, category string
		severity       int
	}
	var versions []version
	var pix []uint8
	for _, cr := range corrupt.All() {
		for sev := 1; sev <= 5; sev++ {
			versions = append(versions, version{cr.Name, string(cr.Category), sev})
			for i := range subset.N {
				out, err := CorruptImage(subset.Image(i), subset.H, subset.W, i, cr.Name, sev, Seed, preset)
				if err != nil {
					return nil, nil, err
				}
				pix = append(pix, out...)
			}
		}
	}
	big := &data.Set{Name: subset.Name + " corrupted", N: len(versions) * subset.N, H: subset.H, W: subset.W, C: 1, Pix: pix}
	for range versions {
		big.Labels = append(big.Labels, subset.Labels...)
	}
	cpred, err := c.Predictions(big, nil)
	if err != nil {
		return nil, nil, err
	}
	accs := []Accuracy{{Model: run.Model, Seed: run.Seed, Ratio: run.Ratio, Corruption: "clean", Category: "clean",
		Images: test.N, Accuracy: clean.Accuracy}}
	clean.Corrupted = map[string]Bits{}
	for v, ver := range versions {
		right := 0
		bits := make(Bits, subset.N)
		for i := range subset.N {
			if cpred[v*subset.N+i] == subset.Labels[i] {
				right++
				bits[i] = true
			}
		}
		clean.Corrupted[VersionKey(ver.name, ver.severity)] = bits
		accs = append(accs, Accuracy{Model: run.Model, Seed: run.Seed, Ratio: run.Ratio, Corruption: ver.name,
			Category: ver.category, Severity: ver.severity, Images: subset.N, Accuracy: float64(right) / float64(subset.N)})
	}
	return clean, accs, nil
}

// PaperCorruptedAccuracy is the mean accuracy over the paper's 14 corruptions (glass blur excluded) and 5 severities.
func PaperCorruptedAccuracy(accs []Accuracy) float64 {
	var sum float64
	n := 0
	for _, a := range accs {
		if a.Severity > 0 && a.Corruption != "glass_blur" {
			sum += a.Accuracy
			n++
		}
	}
	return sum / float64(max(n, 1))
}

// AccuracyHeader is the header of accuracies.csv: one row per model, seed, (ratio,) corruption and severity;
// severity 0 is the clean test set.
var AccuracyHeader = []string{"model", "seed", "ratio", "corruption", "category", "severity", "images", "accuracy"}

// WriteAccuracies writes accuracy records as CSV, atomically.
func WriteAccuracies(file string, accs []Accuracy) error {
	rows := make([][]string, len(accs))
	for i, a := range accs {
		rows[i] = []string{a.Model, strconv.FormatUint(a.Seed, 10), a.Ratio, a.Corruption, a.Category,
			strconv.Itoa(a.Severity), strconv.Itoa(a.Images), strconv.FormatFloat(a.Accuracy, 'g', 8, 64)}
	}
	return provenance.WriteCSV(file, AccuracyHeader, rows)
}

// ReadAccuracies reads a file written by WriteAccuracies; an impossible record (an accuracy outside [0, 1], an
// unknown corruption …) is an error naming the file and row.
func ReadAccuracies(file string) ([]Accuracy, error) {
	rows, err := provenance.ReadCSV(file, AccuracyHeader)
	if err != nil {
		return nil, err
	}
	var out []Accuracy
	for i, r := range rows {
		seed, err1 := strconv.ParseUint(r[1], 10, 64)
		sev, err2 := strconv.Atoi(r[5])
		n, err3 := strconv.Atoi(r[6])
		acc, err4 := strconv.ParseFloat(r[7], 64)
		if err1 != nil || err2 != nil || err3 != nil || err4 != nil {
			return nil, fmt.Errorf("%s, row %d: malformed", file, i+2)
		}
		a := Accuracy{Model: r[0], Seed: seed, Ratio: r[2], Corruption: r[3], Category: r[4], Severity: sev,
			Images: n, Accuracy: acc}
		if err := checkAccuracy(a); err != nil {
			return nil, fmt.Errorf("%s, row %d: %w", file, i+2, err)
		}
		out = append(out, a)
	}
	return out, nil
}
