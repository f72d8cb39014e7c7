// Package record is a stage's stage.json: what a finished stage was made from, what it wrote (with SHA-256 sums) and
// what it measured.
//
// A record is read only if its results are plausible, and its files verify only if none was truncated, damaged or
// replaced: a cache whose files changed cannot pass for done.
package record

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/robustvision/cotrain/pkg/provenance"
)

// FileName is the record's file in a stage's folder.
const FileName = "stage.json"

// Stage is one stage's record.
type Stage struct {
	ID           string             `json:"id"`
	Model        string             `json:"model"`
	Key          string             `json:"key"`
	Inputs       map[string]string  `json:"inputs,omitempty"`        // dependency ID → its key when this stage ran
	InputDigests map[string]string  `json:"input_digests,omitempty"` // dependency ID → the digest of its files then
	Files        Files              `json:"files"`                   // the stage's outputs, with sizes and sums
	Digest       string             `json:"digest"`                  // Files.Digest()
	Results      map[string]float64 `json:"results,omitempty"`
	Provenance   *provenance.Record `json:"provenance"`
}

// Read reads the record in dir and checks that its results are plausible: finite, accuracies in [0, 1]. A missing
// record is an error that wraps fs.ErrNotExist.
func Read(dir string) (*Stage, error) {
	file := filepath.Join(dir, FileName)
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	return Parse(b, file)
}

// Parse decodes and checks the bytes of a record (file names it in errors).
func Parse(b []byte, file string) (*Stage, error) {
	var rec Stage
	if err := json.Unmarshal(b, &rec); err != nil {
		return nil, fmt.Errorf("%s: %w (the stage is recomputed)", file, err)
	}
	for p, f := range rec.Files {
		if f.Size < 0 || len(f.SHA256) != 64 || strings.Contains(p, "..") || filepath.IsAbs(p) {
			return nil, fmt.Errorf("%s: file entry %q %+v is impossible (the stage is recomputed)", file, p, f)
		}
	}
	for k, v := range rec.Results {
		accuracy := strings.Contains(k, "acc")
		if math.IsNaN(v) || math.IsInf(v, 0) || accuracy && (v > 1 || v < 0) {
			return nil, fmt.Errorf("%s: result %s = %v is impossible (the stage is recomputed)", file, k, v)
		}
	}
	return &rec, nil
}

// Write lists the files in dir (but the transient ones) into the record, with their digest, leaves out results
// that are not finite (returned, so that the caller can say so), and writes the record into dir atomically.
func (s *Stage) Write(dir string) (dropped []string, err error) {
	for k, v := range s.Results {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			dropped = append(dropped, fmt.Sprintf("%s = %v", k, v))
			delete(s.Results, k)
		}
	}
	slices.Sort(dropped)
	if s.Files, err = List(dir, Transient); err != nil {
		return dropped, err
	}
	s.Digest = s.Files.Digest()
	return dropped, provenance.WriteJSON(filepath.Join(dir, FileName), s)
}
