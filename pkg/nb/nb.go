// Package nb is what the notebooks share: the best scale the cache holds, and the display of figures and tables in
// GoNB, so that each notebook cell states one step and calls one function.
package nb

import (
	"github.com/robustvision/cotrain/pkg/scales"
	"github.com/robustvision/cotrain/pkg/study"
)

// Scale returns the largest scale whose Table 1 study has finished in the cache under root (paper, then mini, then
// smoke), so that notebooks show the best results at hand; smoke if none has.
func Scale(root string) scales.Scale {
	for _, s := range []scales.Scale{scales.Paper, scales.Mini} {
		status, err := (&study.Runner{Root: root, Scale: s}).Status()
		if err != nil {
			continue
		}
		complete := true
		for _, st := range status {
			if !st.Sweep && st.State != study.Done {
				complete = false
				break
			}
		}
		if complete {
			return s
		}
	}
	return scales.Smoke
}
