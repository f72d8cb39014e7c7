package train_test

import (
	"fmt"
	"testing"

	"github.com/robustvision/cotrain/pkg/backend"
	"github.com/robustvision/cotrain/pkg/internal/golden"
	. "github.com/robustvision/cotrain/pkg/train"
)

// TestGolden pins the trainings — one epoch of classification, of the Oracle's corruption training and of
// multi-task training on a small problem — to Version (within a relative 1e-3: the last bits of a BLAS kernel's sums
// depend on the machine, and a few hundred steps carry them along).
func TestGolden(t *testing.T) {
	p := tiny(t)
	b, err := backend.New("cpu")
	if err != nil {
		t.Fatal(err)
	}
	values := map[string]float64{}
	for _, o := range []Objective{Classification, CorruptionConsistency, MultiTask} {
		cfg := Defaults(o, tinyModel, 1, 3)
		cfg.Batch = 16
		d := Data{Images: p}
		if o == MultiTask {
			d.Neural = randomTargets(t, p.Train)
		}
		m, metrics, err := Train(b, cfg, d, Options{})
		if err != nil {
			t.Fatal(err)
		}
		values[fmt.Sprintf("%s/loss", o)] = metrics[0].Loss
		values[fmt.Sprintf("%s/val", o)] = metrics[0].Val
		logits, err := m.Logits(p.Test.Pix[:p.Test.H*p.Test.W], 1)
		if err != nil {
			t.Fatal(err)
		}
		values[fmt.Sprintf("%s/logit0", o)] = float64(logits[0])
	}
	golden.Check(t, Version, values, 1e-3)
}
