// Package nb is what the notebooks share: the best scale the cache holds, and the display of figures and tables in
// GoNB, so that each notebook cell states one step and calls one function.
package nb

import (
	"github.com/robustvision/cotrain/pkg/scales"
	"github.com/robustvision/cotrain/pkg/study"
)

// Scale returns the largest scale whose study has finished in the cache under root (paper, then mini, then smoke),
// so that notebooks show the best results at hand; smoke if none has. The committed cache leaves out two kinds of
// derived data: the virtual monkey's recording, regenerated bit for bit from its seed in seconds (made here when it
// is missing), and the MTL targets (tens of MB each), which no notebook reads; the multi-task runs made from them stay
// done (`cotrain reproduce` remakes the targets and checks that they match). The sweep's runs are not required.
func Scale(root string) scales.Scale {
	return bestScale(root, []scales.Scale{scales.Paper, scales.Mini}, scales.Smoke)
}

// bestScale is Scale over the given candidates, best first, with the scale to fall back on.
func bestScale(root string, candidates []scales.Scale, fallback scales.Scale) scales.Scale {
	for _, s := range candidates {
		r := &study.Runner{Root: root, Scale: s}
		status, err := r.Status()
		if err != nil {
			continue
		}
		complete, recording := true, false
		for _, st := range status {
			switch {
			case st.Sweep || st.State == study.Done:
			case st.Kind == study.Recording && st.State == study.Missing:
				recording = true
			case st.Kind == study.Targets && st.State == study.Missing:
			default:
				complete = false
			}
		}
		if complete && recording {
			_, _, err := study.VirtualMonkey(root, s)
			complete = err == nil
		}
		if complete {
			return s
		}
	}
	return fallback
}
