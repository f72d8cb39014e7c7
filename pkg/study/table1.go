package study

import (
	"github.com/robustvision/cotrain/pkg/scales"
)

// Available returns the largest scale whose Table 1 study has finished in the cache under root (paper, then mini,
// then smoke), so that notebooks show the best results at hand; smoke if none has.
func Available(root string) scales.Scale {
	for _, s := range []scales.Scale{scales.Paper, scales.Mini} {
		r := &Runner{Root: root, Scale: s}
		status, err := r.Status()
		if err != nil {
			continue
		}
		complete := true
		for _, st := range status {
			if !st.Sweep && st.State != Done {
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
