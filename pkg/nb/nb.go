// Package nb is what the notebooks share: the best scale the cache holds, a runner that reads it and can run its
// models, and the display of figures and tables in GoNB, so that each notebook cell states one step and calls one
// function.
package nb

import (
	"fmt"
	"strings"

	"github.com/robustvision/cotrain/pkg/backend"
	"github.com/robustvision/cotrain/pkg/scales"
	"github.com/robustvision/cotrain/pkg/study"
)

// Choice is the scale the notebooks show, and why.
type Choice struct {
	Scale scales.Scale
	Why   string // one sentence for the reader
}

// Choose returns the largest scale whose study is complete in the cache under root (paper, then mini), so that
// notebooks show the best results at hand, or smoke if none is, and says why. Complete means every stage but the
// sweep's is done, or remade on demand: the committed cache leaves out the virtual monkey's recording (made again
// here, bit for bit from its seed, in seconds) and the MTL targets, which no notebook reads.
func Choose(root string) Choice {
	return choose(root, []scales.Scale{scales.Paper, scales.Mini}, scales.Smoke)
}

// Scale is Choose(root).Scale.
func Scale(root string) scales.Scale { return Choose(root).Scale }

// choose is Choose over the given candidates, best first, with the scale to fall back on.
func choose(root string, candidates []scales.Scale, fallback scales.Scale) Choice {
	var passed []string
	for _, s := range candidates {
		complete, why := completeStudy(root, s)
		if complete {
			return Choice{Scale: s, Why: fmt.Sprintf("results of the %s scale (%s): %s", s.Name, why, s.Description)}
		}
		passed = append(passed, fmt.Sprintf("%s: %s", s.Name, why))
	}
	return Choice{Scale: fallback, Why: fmt.Sprintf("results of the %s scale, the only one left (%s; cotrain status -scale "+
		"NAME says more): %s", fallback.Name, strings.Join(passed, "; "), fallback.Description)}
}

// completeStudy reports whether a scale's study is complete in the cache, and says how it stands.
func completeStudy(root string, s scales.Scale) (bool, string) {
	r := &study.Runner{Root: root, Scale: s}
	status, err := r.Status()
	if err != nil {
		return false, err.Error()
	}
	done, recording := 0, false
	var first string
	for _, st := range status {
		switch {
		case st.State == study.Done:
			done++
		case st.State == study.OnDemand:
			recording = recording || st.Kind == study.Recording
		case st.Sweep:
		case first == "":
			first = fmt.Sprintf("%s is %s", st.ID, st.State)
		}
	}
	if first != "" {
		return false, fmt.Sprintf("%d of %d stages done; %s", done, len(status), first)
	}
	if recording {
		if _, _, err := study.VirtualMonkey(root, s); err != nil {
			return false, fmt.Sprintf("the recording could not be made again: %v", err)
		}
	}
	return true, fmt.Sprintf("its study complete in the cache: %d stages, the recording and the MTL targets among them "+
		"remade on demand", len(status))
}

// NewRunner is a runner of the scale's study under root with the pure-Go CPU backend, so that it can load and run
// the cache's models (a reconstruction, a re-evaluation) as well as read their results.
func NewRunner(root string, s scales.Scale) (*study.Runner, error) {
	b, err := backend.New("cpu")
	if err != nil {
		return nil, err
	}
	return &study.Runner{Root: root, Scale: s, Backend: b}, nil
}
