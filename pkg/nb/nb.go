// Package nb is what the notebooks share: the best scale the cache holds, and the display of figures and tables in
// GoNB, so that each notebook cell states one step and calls one function.
package nb

import (
	"github.com/robustvision/cotrain/pkg/scales"
	"github.com/robustvision/cotrain/pkg/study"
)

// Scale returns the largest scale whose study has finished in the cache under root (paper, then mini, then smoke),
// so that notebooks show the best results at hand; smoke if none has. The sweep's runs are not required, and the
// virtual monkey's recording, which the committed cache leaves out because it is regenerated bit for bit from its
// seed in seconds, is made when it is the only thing missing.
func Scale(root string) scales.Scale {
	for _, s := range []scales.Scale{scales.Paper, scales.Mini} {
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
	return scales.Smoke
}
