package train

import (
	"math"
	"path/filepath"
	"testing"

	"gonum.org/v1/gonum/stat"

	"github.com/robustvision/cotrain/pkg/backend"
	"github.com/robustvision/cotrain/pkg/study"
)

// The single-task predictor trains on the simulated V1 recordings (its Poisson loss falls) and is evaluated on the
// held-out test repeats (FEVe for every neuron). At the smoke budget (800 training trials, 2 epochs) it does not yet
// explain variance (FEVe ≤ 0): #7 calibrates the smoke protocol and budget for that.
func TestPredictorTrainsAndEvaluates(t *testing.T) {
	b, err := backend.New("cpu")
	if err != nil {
		t.Fatal(err)
	}
	d, _, err := study.VirtualMonkey(filepath.Join("..", ".."), study.Smoke)
	if err != nil {
		t.Fatal(err)
	}
	cfg := PaperPredictor(study.Smoke.Model, 2, 1)
	var losses []float64
	p, err := TrainPredictor(b, d, cfg, func(epoch int, loss float64) { losses = append(losses, loss) })
	if err != nil {
		t.Fatal(err)
	}
	if losses[len(losses)-1] >= losses[0] {
		t.Errorf("training loss did not fall: %v", losses)
	}
	feve, err := p.FEVe()
	if err != nil {
		t.Fatal(err)
	}
	var kept []float64
	k := 0
	for _, s := range d.Sessions {
		for j := range s.Neurons {
			if s.FEV(j) > 0.15 {
				kept = append(kept, feve[k])
			}
			k++
		}
	}
	m := stat.Mean(kept, nil)
	t.Logf("losses %v; mean FEVe %.3f over %d neurons with FEV > 0.15", losses, m, len(kept))
	if len(feve) != d.NumNeurons() || math.IsNaN(m) || math.IsInf(m, 0) {
		t.Errorf("FEVe for %d of %d neurons, mean %v", len(feve), d.NumNeurons(), m)
	}
}
