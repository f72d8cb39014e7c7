package backend

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/robustvision/cotrain/pkg/models"
)

// randomGraph builds a random computation over inputs of shape dims: element-wise chains with implicit broadcasts
// (scalars, size-1 axes, BroadcastInDim), strided views (Transpose, Slice, Reverse, Reshape), reductions over
// random axes broadcast back, comparisons, Where, dtype conversions and concatenations. It returns several of the
// intermediate nodes, so that values stored from inside fused groups are compared too.
func randomGraph(seed uint64, dims []int) func(in []*Node) []*Node {
	return func(in []*Node) []*Node {
		rng := rand.New(rand.NewPCG(seed, seed*7+1))
		rank := len(dims)
		pool := []*Node{in[0], in[1]}
		scalar, vec := in[2], in[3] // [] and [1, …, 1, last]
		pick := func() *Node { return pool[rng.IntN(len(pool))] }
		for range 14 + rng.IntN(10) {
			x := pick()
			var y *Node
			switch rng.IntN(16) {
			case 0:
				y = Add(x, pick())
			case 1:
				y = Sub(x, scalar)
			case 2:
				y = Mul(x, vec)
			case 3:
				y = Div(x, AddScalar(Abs(pick()), 1))
			case 4:
				y = Max(x, pick())
			case 5:
				y = Min(Neg(x), scalar)
			case 6:
				y = Sign(x)
			case 7:
				y = Add(Tanh(x), Logistic(pick()))
			case 8:
				y = Sqrt(AddScalar(Abs(x), 0.5))
			case 9:
				y = Where(GreaterThan(x, pick()), x, Exp(Min(pick(), OnesLike(x))))
			case 10: // a reduction over random axes, broadcast back against x
				var axes []int
				for a := range rank {
					if rng.IntN(2) == 0 {
						axes = append(axes, a)
					}
				}
				if len(axes) == 0 {
					axes = []int{rng.IntN(rank)}
				}
				r := ReduceSum(x, axes...)
				if rng.IntN(2) == 0 {
					r = ReduceMax(x, axes...)
				}
				keep := slices.Clone(dims)
				for _, a := range axes {
					keep[a] = 1
				}
				y = Sub(x, Reshape(r, keep...))
			case 11: // a transposed view combined with another, transposed back
				perm := rng.Perm(rank)
				inv := make([]int, rank)
				for i, p := range perm {
					inv[p] = i
				}
				y = TransposeAllDims(Mul(TransposeAllDims(x, perm...), TransposeAllDims(pick(), perm...)), inv...)
			case 12: // a reversed view
				y = Add(Reverse(x, rng.IntN(rank)), pick())
			case 13: // a broadcast of a slice along one axis
				a := rng.IntN(rank)
				starts, limits := make([]int, rank), slices.Clone(dims)
				starts[a] = rng.IntN(dims[a])
				limits[a] = starts[a] + 1
				y = Add(x, BroadcastToDims(sliceRange(pick(), starts, limits), dims...))
			case 14: // a dtype round trip and a comparison turned into numbers
				y = Add(ConvertDType(ConvertDType(x, dtypes.Int32), x.DType()),
					ConvertDType(LessThan(x, pick()), x.DType()))
			case 15: // a reshape that splits and merges, and back
				flat := Reshape(x, -1)
				y = Reshape(Mul(flat, Reshape(pick(), -1)), dims...)
			}
			pool = append(pool, y)
		}
		outs := pool[len(pool)-4:]
		outs = append(outs, pool[2+rng.IntN(len(pool)-2)])
		outs = append(outs, Concatenate([]*Node{pool[len(pool)-1], pool[len(pool)-2]}, rng.IntN(rank)))
		// A sum over everything, and the sum of magnitudes that bounds its rounding error (last two outputs).
		outs = append(outs, ReduceAllSum(pool[len(pool)-1]), ReduceAllSum(Abs(pool[len(pool)-1])))
		return outs
	}
}

func sliceRange(x *Node, starts, limits []int) *Node {
	specs := make([]SliceAxisSpec, len(starts))
	for i := range starts {
		specs[i] = AxisRange(starts[i], limits[i])
	}
	return Slice(x, specs...)
}

// compareOutputs compares element by element, relative to max(1, |want|). With sums, the last two outputs are the
// sum of n elements and the sum of their magnitudes S: two summation orders may differ by up to n·ε·S (the classic
// bound for recursive summation, ε the unit roundoff of the dtype), which tol·max(1, S) stands in for when larger.
func compareOutputs(t *testing.T, what string, got, want []*tensors.Tensor, tol float64, sums int) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d outputs, want %d", what, len(got), len(want))
	}
	for i := range want {
		if !got[i].Shape().Equal(want[i].Shape()) {
			t.Fatalf("%s: output %d shape %s, want %s", what, i, got[i].Shape(), want[i].Shape())
		}
		a, b := toFloats(got[i]), toFloats(want[i])
		scale := func(j int) float64 { return math.Max(1, math.Abs(b[j])) }
		if sums > 0 && i >= len(want)-2 {
			eps := math.Pow(2, -53)
			if want[i].DType() == dtypes.Float32 {
				eps = math.Pow(2, -24)
			}
			s := math.Max(1, toFloats(want[len(want)-1])[0])
			scale = func(int) float64 { return math.Max(s, float64(sums)*eps*s/tol) }
		}
		for j := range b {
			same := a[j] == b[j] || (math.IsNaN(a[j]) && math.IsNaN(b[j]))
			if !same && math.Abs(a[j]-b[j]) > tol*scale(j) {
				t.Fatalf("%s: output %d (%s) element %d: executor %v, pure Go %v", what, i, want[i].Shape(), j, a[j], b[j])
			}
		}
	}
}

func toFloats(t *tensors.Tensor) []float64 {
	var out []float64
	t.ConstFlatData(func(flat any) {
		switch f := flat.(type) {
		case []float32:
			for _, v := range f {
				out = append(out, float64(v))
			}
		case []float64:
			out = append(out, f...)
		case []int32:
			for _, v := range f {
				out = append(out, float64(v))
			}
		case []int64:
			for _, v := range f {
				out = append(out, float64(v))
			}
		case []bool:
			for _, v := range f {
				if v {
					out = append(out, 1)
				} else {
					out = append(out, 0)
				}
			}
		default:
			panic(fmt.Sprintf("toFloats: %T", flat))
		}
	})
	return out
}

// The executor against the pure-Go backend (reference runs every operation but the convolutions op by op on
// GoMLX's pure-Go backend), on random graphs over random shapes, in float32 and float64; a second time with every
// value a candidate for rematerialization (exec_remat.go), which otherwise needs large graphs.
func TestExecutorMatchesPureGo(t *testing.T) {
	t.Run("default", testExecutorMatchesPureGo)
	minElements, minDistance := rematMinElements, rematMinDistance
	rematMinElements, rematMinDistance = 1, 1
	defer func() { rematMinElements, rematMinDistance = minElements, minDistance }()
	before := rematerialized.Load()
	t.Run("rematerializing", testExecutorMatchesPureGo)
	if n := rematerialized.Load() - before; n < 20 {
		t.Errorf("%d values rematerialized, want many", n)
	} else {
		t.Logf("%d values rematerialized", n)
	}
}

func testExecutorMatchesPureGo(t *testing.T) {
	fused, pure := cpu(t), reference(t)
	rng := rand.New(rand.NewPCG(21, 22))
	for trial := range 100 {
		rank := 1 + rng.IntN(4)
		dims := make([]int, rank)
		for i := range dims {
			dims[i] = 1 + rng.IntN(7)
		}
		if trial%5 == 0 { // large enough for several chunks and workers
			dims[rank-1] = 64 + rng.IntN(200)
			dims[0] = 16 + rng.IntN(40)
		}
		vecDims := make([]int, rank)
		for i := range vecDims {
			vecDims[i] = 1
		}
		vecDims[rank-1] = dims[rank-1]
		for _, dt := range []dtypes.DType{dtypes.Float32, dtypes.Float64} {
			// COTRAIN_TRIAL=n runs trial n alone and prints its programs (with COTRAIN_DEBUG_EXEC=1, their
			// instructions).
			if only := os.Getenv("COTRAIN_TRIAL"); only != "" && only != fmt.Sprint(trial) {
				continue
			}
			inputs := func() []any {
				mk := func(d ...int) *tensors.Tensor {
					t := randTensor(rng, d...)
					if dt == dtypes.Float32 {
						t = tensors.FromFlatDataAndDimensions(toF32(tensors.MustCopyFlatData[float64](t)), d...)
					}
					return t
				}
				return []any{mk(dims...), mk(dims...), mk(), mk(vecDims...)}
			}()
			build := randomGraph(uint64(trial), dims)
			tol := 1e-12
			if dt == dtypes.Float32 {
				tol = 2e-5
			}
			want := MustNewExec(pure, build).MustExec(cloneAll(inputs)...)
			got := MustNewExec(fused, build).MustExec(cloneAll(inputs)...)
			n := 1
			for _, d := range dims {
				n *= d
			}
			compareOutputs(t, fmt.Sprintf("trial %d %v %s", trial, dims, dt), got, want, tol, n)
		}
	}
}

// cloneTensor copies a tensor (a tensor belongs to one backend instance).
func cloneTensor(t *tensors.Tensor) *tensors.Tensor {
	c, err := t.LocalClone()
	if err != nil {
		panic(err)
	}
	return c
}

func toF32(x []float64) []float32 {
	out := make([]float32, len(x))
	for i, v := range x {
		out[i] = float32(v)
	}
	return out
}

func cloneAll(in []any) []any {
	out := make([]any, len(in))
	for i, v := range in {
		out[i] = cloneTensor(v.(*tensors.Tensor))
	}
	return out
}

// Max-pooling, its gradient (SelectAndScatterMax, with ties: the first maximum of a window takes the gradient) and
// the reductions of batch norm on the kernels against the pure-Go backend.
func TestExecutorPoolingAndReductions(t *testing.T) {
	fused, pure := cpu(t), reference(t)
	rng := rand.New(rand.NewPCG(5, 6))
	for _, dims := range [][]int{{2, 4, 6, 3}, {3, 8, 8, 16}, {1, 2, 2, 1}, {4, 16, 12, 5}} {
		x := randTensor(rng, dims...)
		// Ties: round to a coarse grid so that windows often hold equal maxima.
		x = MustExecOnce(pure, func(x *Node) *Node { return Round(MulScalar(x, 2)) }, x)
		build := func(x *Node) []*Node {
			p := MaxPool(x).Window(2).Done()
			loss := ReduceAllSum(Mul(p, Cos(Iota(x.Graph(), p.Shape(), -1))))
			mean := ReduceMean(x, 0, 1, 2)
			return []*Node{p, Gradient(loss, x)[0], mean, ReduceMax(x, 3), ReduceSum(x, 1, 2)}
		}
		want := MustNewExec(pure, build).MustExec(cloneTensor(x))
		got := MustNewExec(fused, build).MustExec(cloneTensor(x))
		compareOutputs(t, fmt.Sprint(dims), got, want, 1e-12, 0)
	}
}

// What the executor makes of a training step: views cost nothing, element-wise chains fuse, and a graph with an
// operation outside the op table still runs (in a pure-Go segment).
func TestExecutorPlan(t *testing.T) {
	b := cpu(t)
	var plan string
	debugPlan = func(p *program) { plan = p.String() }
	defer func() { debugPlan = nil }()
	x := tensors.FromFlatDataAndDimensions(make([]float32, 2*3*4), 2, 3, 4)
	MustExecOnce(b, func(x *Node) *Node {
		y := Add(Mul(x, x), Reshape(ReduceSum(x, 0, 1), 1, 1, 4)) // one reduction, one fused group
		return Sub(TransposeAllDims(y, 1, 0, 2), OnesLike(TransposeAllDims(y, 1, 0, 2)))
	}, x)
	if n := strings.Count(plan, "fused"); n > 2 || !strings.Contains(plan, "ReduceSum") || strings.Contains(plan, "segment") {
		t.Errorf("plan:\n%s\nwant one reduction, at most two fused groups and no segment", plan)
	}
	// ArgMinMax is outside the op table: it runs in a segment, and the results still agree.
	MustExecOnce(b, func(x *Node) *Node { return ArgMax(Add(x, x), -1) }, x)
	if !strings.Contains(plan, "segment") {
		t.Errorf("plan:\n%s\nwant a segment for ArgMinMax", plan)
	}
	var _ backends.Backend = b
}

// The results do not depend on the number of threads: the gradients of a training step of the classifier and of
// the readout (batch norm, convolutions, pooling, the Gaussian readout) are the same bits with GOMAXPROCS 1, 2 and 3
// (a cluster job given one core computes what a two-core run does).
func TestDeterministicAcrossThreads(t *testing.T) {
	b := cpu(t)
	cfg := models.VGGConfig{WidthDivisor: 16, InputSize: 32, InChannels: 3, NumClasses: 10}
	rng := rand.New(rand.NewPCG(1, 2))
	const batch = 24
	x := make([]float32, batch*32*32)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	labels := make([]int32, batch)
	for i := range labels {
		labels[i] = int32(i % 10)
	}
	run := func(procs int) [][]float32 {
		old := runtime.GOMAXPROCS(procs)
		defer runtime.GOMAXPROCS(old)
		ctx := context.New()
		if err := ctx.SetRNGStateFromSeed(42); err != nil {
			t.Fatal(err)
		}
		e := context.MustNewExec(b, ctx.Checked(false), func(ctx *context.Context, xs, ys *Node) []*Node {
			ctx.SetTraining(xs.Graph(), true)
			loss := models.CrossEntropy(models.Classifier(ctx, cfg, xs), ys)
			loss = Add(loss, ReduceAllMean(models.Responses(ctx, cfg, xs, 7, nil)))
			var vars []*Node
			for v := range ctx.IterVariables() {
				if v.Trainable {
					vars = append(vars, v.ValueGraph(xs.Graph()))
				}
			}
			return append([]*Node{loss}, Gradient(loss, vars...)...)
		})
		var res [][]float32
		for _, o := range e.MustExec(tensors.FromFlatDataAndDimensions(x, batch, 32, 32, 1), tensors.FromValue(labels)) {
			res = append(res, tensors.MustCopyFlatData[float32](o))
		}
		return res
	}
	one := run(1)
	for _, procs := range []int{2, 3} {
		other := run(procs)
		for i := range one {
			if !slices.EqualFunc(one[i], other[i], func(a, b float32) bool { return math.Float32bits(a) == math.Float32bits(b) }) {
				t.Errorf("GOMAXPROCS %d: output %d of %d differs from GOMAXPROCS 1", procs, i, len(one))
			}
		}
	}
}

// reference is the cpu backend with every operation but the convolutions run op by op on GoMLX's pure-Go backend.
func reference(t *testing.T) backends.Backend {
	t.Helper()
	b, err := newCPU(execSegments)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
