package train

import (
	"math"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"

	"github.com/robustvision/cotrain/pkg/backend"
)

// Three steps of MomentumSGD on L = ½·Σ(p − t)² must follow PyTorch's recurrence exactly, and a learning-rate change
// between steps must take effect.
func TestMomentumSGDMatchesPyTorch(t *testing.T) {
	b, err := backend.New("cpu")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.New()
	opt := MomentumSGD{LearningRate: 0.1, Momentum: 0.75, WeightDecay: 0.05}
	target := []float64{1, -2, 3}
	exec := context.MustNewExec(b, ctx, func(ctx *context.Context, g *Graph) *Node {
		p := ctx.WithInitializer(func(g *Graph, s shapes.Shape) *Node { return Const(g, []float64{0.5, 0.5, 0.5}) }).
			VariableWithShape("p", shapes.Make(dtypes.Float64, 3)).ValueGraph(g)
		loss := MulScalar(ReduceAllSum(Square(Sub(p, Const(g, target)))), 0.5)
		opt.UpdateGraph(ctx, g, loss)
		return loss
	})
	p := []float64{0.5, 0.5, 0.5}
	buf := make([]float64, 3)
	lr := 0.1
	for step := range 4 {
		if step == 2 {
			lr = 0.03
			if err := SetLearningRate(ctx, lr); err != nil {
				t.Fatal(err)
			}
		}
		exec.MustExec()
		for i := range p {
			d := (p[i] - target[i]) + 0.05*p[i]
			buf[i] = 0.75*buf[i] + d
			p[i] -= lr * buf[i]
		}
		got := tensors.MustCopyFlatData[float64](must(ctx.InspectVariable("/", "p").Value()))
		for i := range p {
			if math.Abs(got[i]-p[i]) > 1e-12 {
				t.Fatalf("step %d: p = %v, want %v", step+1, got, p)
			}
		}
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestPlateau(t *testing.T) {
	p := PaperPlateau(0.1, 0.4, 400)
	p.Start(10)
	// Improve for 3 epochs, then stagnate: the 6th epoch without improvement restores the best and reduces the LR.
	metrics := []float64{20, 30, 40, 39, 39, 40, 38, 37, 36}
	var ds []Decision
	for e, m := range metrics {
		ds = append(ds, p.Step(e+1, m))
	}
	for e := 0; e < 3; e++ {
		if !ds[e].Improved {
			t.Errorf("epoch %d: expected an improvement", e+1)
		}
	}
	for e := 3; e < 8; e++ {
		if ds[e].RestoreBest || ds[e].Improved {
			t.Errorf("epoch %d: %+v, want nothing", e+1, ds[e])
		}
	}
	if !ds[8].RestoreBest || math.Abs(ds[8].NewLR-0.04) > 1e-12 || ds[8].Stop {
		t.Errorf("epoch 9 (6th without improvement): %+v, want restore and lr 0.04", ds[8])
	}
	if p.BestEpoch != 3 || p.Best != 40 {
		t.Errorf("best %v at epoch %d", p.Best, p.BestEpoch)
	}
	// 40·(1+1e-4) = 40.004: 40.003 is no improvement under the relative threshold.
	if d := p.Step(10, 40.003); d.Improved {
		t.Error("an improvement below the relative threshold counted")
	}
	// Four more stagnant periods: the 5th reduction stops training; the LR never goes below MinLR.
	epoch, stops := 10, 0
	for range 4 * 6 {
		epoch++
		if d := p.Step(epoch, 0); d.Stop {
			stops++
		}
	}
	if p.Reductions != 5 || stops != 1 || p.LR < p.MinLR || math.Abs(p.LR-math.Max(0.1*math.Pow(0.4, 5), 1e-4)) > 1e-12 {
		t.Errorf("after 5 reductions: %d reductions, %d stops, lr %v", p.Reductions, stops, p.LR)
	}
	q := PaperPlateau(0.1, 0.3, 3)
	if d := q.Step(3, 1); !d.Stop {
		t.Error("MaxEpochs must stop training")
	}
}

// For every ratio of the sweep, the schedule runs the right number of neural batches per classification batch.
func TestRatioSchedule(t *testing.T) {
	const batches = 2 * 3 * 4 * 5 * 7 // divisible by every period of the sweep
	for _, r := range Sweep {
		total := 0
		for i := range batches {
			total += r.NeuralBatchesBefore(i)
		}
		want := batches * r.Neural / r.Classification
		if total != want {
			t.Errorf("ratio %s: %d neural batches over %d classification batches, want %d", r, total, batches, want)
		}
		parsed, err := ParseRatio(r.String())
		if err != nil || parsed != r {
			t.Errorf("ParseRatio(%s) = %v, %v", r, parsed, err)
		}
	}
	// 1:15: the neural batch comes before the 15th, 30th … classification batch.
	r := Ratio{1, 15}
	if r.NeuralBatchesBefore(13) != 0 || r.NeuralBatchesBefore(14) != 1 || r.NeuralBatchesBefore(29) != 1 {
		t.Error("1:15 schedule misplaced")
	}
	for _, bad := range []string{"2:3", "0:1", "x:1", "1"} {
		if _, err := ParseRatio(bad); err == nil {
			t.Errorf("ParseRatio(%q) accepted", bad)
		}
	}
}

func TestUncertaintyWeighting(t *testing.T) {
	b, err := backend.New("cpu")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.New()
	exec := context.MustNewExec(b, ctx, func(ctx *context.Context, ce, mse *Node) (*Node, *Node) {
		return ClassificationTerm(ctx, ce), NeuralTerm(ctx, mse)
	})
	out := exec.MustExec(2.0, 3.0)
	// log σ² = 0 at initialisation: CE and MSE/2.
	if c, n := tensors.ToScalar[float64](out[0]), tensors.ToScalar[float64](out[1]); c != 2 || n != 1.5 {
		t.Errorf("terms at log σ² = 0: %v, %v; want 2, 1.5", c, n)
	}
	v := ctx.InspectVariable("/uncertainty", "log_var_classification")
	if err := v.SetValue(tensors.FromScalar(math.Log(4))); err != nil {
		t.Fatal(err)
	}
	out = exec.MustExec(2.0, 3.0)
	if c := tensors.ToScalar[float64](out[0]); math.Abs(c-(2.0/4+0.5*math.Log(4))) > 1e-12 {
		t.Errorf("CE/σ² + log σ at σ² = 4: %v", c)
	}
}
