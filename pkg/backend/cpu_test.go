package backend

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/core/tensors/images"
	"github.com/gomlx/gomlx/pkg/ml/context"

	"github.com/robustvision/cotrain/pkg/models"
)

func cpu(t testing.TB) backends.Backend {
	t.Helper()
	b, err := New("cpu")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func randTensor(rng *rand.Rand, dims ...int) *tensors.Tensor {
	n := 1
	for _, d := range dims {
		n *= d
	}
	v := make([]float64, n)
	for i := range v {
		v[i] = rng.NormFloat64()
	}
	return tensors.FromFlatDataAndDimensions(v, dims...)
}

// gradCheck compares the gradient of a scalar function of the inputs, computed by GoMLX's autodiff on the cpu
// backend, with central finite differences (float64). It checks up to maxChecks elements per input.
func gradCheck(t *testing.T, name string, b backends.Backend, fn func(inputs []*Node) *Node, inputs []*tensors.Tensor) {
	t.Helper()
	ctxGradCheck(t, name, b, context.New(), func(_ *context.Context, in []*Node) *Node { return fn(in) }, inputs)
}

// ctxGradCheck is gradCheck for a function that keeps variables in ctx (the models' layers); the variables are
// held fixed.
func ctxGradCheck(t *testing.T, name string, b backends.Backend, ctx *context.Context,
	fn func(ctx *context.Context, inputs []*Node) *Node, inputs []*tensors.Tensor) {
	t.Helper()
	loss := context.MustNewExec(b, ctx.Checked(false), func(ctx *context.Context, in []*Node) *Node { return fn(ctx, in) })
	grad := context.MustNewExec(b, ctx.Checked(false), func(ctx *context.Context, in []*Node) []*Node {
		return Gradient(fn(ctx, in), in...)
	})
	args := make([]any, len(inputs))
	for i, x := range inputs {
		args[i] = x
	}
	grads := grad.MustExec(args...)
	const h, maxChecks = 1e-5, 12
	rng := rand.New(rand.NewPCG(7, 7))
	for k, x := range inputs {
		flat := tensors.MustCopyFlatData[float64](x)
		g := tensors.MustCopyFlatData[float64](grads[k])
		for c := range min(maxChecks, len(flat)) {
			i := c
			if len(flat) > maxChecks {
				i = rng.IntN(len(flat))
			}
			at := func(delta float64) float64 {
				p := append([]float64(nil), flat...)
				p[i] += delta
				a := append([]any(nil), args...)
				a[k] = tensors.FromFlatDataAndDimensions(p, x.Shape().Dimensions...)
				return tensors.MustCopyFlatData[float64](loss.MustExec(a...)[0])[0]
			}
			fd := (at(h) - at(-h)) / (2 * h)
			if math.Abs(fd-g[i]) > 1e-6*math.Max(1, math.Abs(fd)) {
				t.Errorf("%s: d/d input%d[%d]: autodiff %.9g, finite differences %.9g", name, k, i, g[i], fd)
			}
		}
	}
}

// weighted turns a tensor into a scalar with fixed pseudo-random weights, so every output element matters.
func weighted(y *Node) *Node {
	n := y.Shape().Size()
	w := make([]float64, n)
	for i := range w {
		w[i] = math.Sin(float64(i)*1.3) + 0.5
	}
	return ReduceAllSum(Mul(y, Reshape(Const(y.Graph(), w), y.Shape().Dimensions...)))
}

func TestConvolutionGradients(t *testing.T) {
	b := cpu(t)
	rng := rand.New(rand.NewPCG(1, 2))
	for _, c := range []struct {
		name          string
		h, k, stride  int
		same, noStrid bool
	}{
		{"3x3 stride 1 same", 7, 3, 1, true, false},
		{"3x3 stride 2 same", 8, 3, 2, true, false},
		{"3x3 stride 1 valid", 7, 3, 1, false, false},
		{"3x3 stride 2 valid", 9, 3, 2, false, false},
		{"1x1", 5, 1, 1, true, false},
		{"3x3 nil strides", 6, 3, 1, true, true},
	} {
		x, k := randTensor(rng, 2, c.h, c.h, 3), randTensor(rng, c.k, c.k, 3, 4)
		gradCheck(t, c.name, b, func(in []*Node) *Node {
			conv := Convolve(in[0], in[1])
			if !c.noStrid {
				conv = conv.StridePerAxis(c.stride, c.stride)
			}
			if c.same {
				conv = conv.PadSame()
			} else {
				conv = conv.NoPadding()
			}
			return weighted(conv.Done())
		}, []*tensors.Tensor{x, k})
	}
}

func TestMaxPoolGradient(t *testing.T) {
	b := cpu(t)
	rng := rand.New(rand.NewPCG(3, 4))
	x := randTensor(rng, 2, 6, 6, 3)
	gradCheck(t, "2x2 max-pool", b, func(in []*Node) *Node {
		return weighted(MaxPool(in[0]).Window(2).Done())
	}, []*tensors.Tensor{x})
	// Ties (as after a ReLU): exactly one element of each window receives the gradient.
	zeros := tensors.FromFlatDataAndDimensions(make([]float64, 1*4*4*1), 1, 4, 4, 1)
	g := MustNewExec(b, func(x *Node) *Node { return Gradient(ReduceAllSum(MaxPool(x).Window(2).Done()), x)[0] }).MustExec(zeros)[0]
	flat := tensors.MustCopyFlatData[float64](g)
	var sum float64
	for _, v := range flat {
		sum += v
	}
	if sum != 4 || flat[0] != 1 {
		t.Errorf("gradient of a max-pool over ties: %v (want 1 on the first element of each of the 4 windows)", flat)
	}
}

// Batch norm in training mode (models.BatchNorm): statistics over batch and space, per channel, then γ and β (set
// to non-trivial values): the gradient with respect to the input runs through the batch statistics.
func TestBatchNormTrainingGradient(t *testing.T) {
	b := cpu(t)
	rng := rand.New(rand.NewPCG(5, 6))
	ctx := context.New()
	bn := ctx.In("bn")
	bn.VariableWithValue("gamma", tensors.FromFlatDataAndDimensions([]float64{0.7, -1.3}, 2))
	bn.VariableWithValue("beta", tensors.FromFlatDataAndDimensions([]float64{0.2, 0.5}, 2))
	ctxGradCheck(t, "batch norm (training)", b, ctx, func(ctx *context.Context, in []*Node) *Node {
		ctx.SetTraining(in[0].Graph(), true)
		return weighted(models.BatchNorm(ctx.In("bn"), in[0]))
	}, []*tensors.Tensor{randTensor(rng, 4, 3, 3, 2)})
}

// Bilinear sampling of a feature map at learned positions (the Gaussian readout's grid_sample, aligned corners,
// zero outside): gradients with respect to the features and to the positions.
func TestBilinearSamplingGradient(t *testing.T) {
	b := cpu(t)
	rng := rand.New(rand.NewPCG(7, 8))
	feats := randTensor(rng, 2, 5, 5, 3)
	pos := make([]float64, 2*4*2)
	for i := range pos {
		pos[i] = rng.Float64()*1.6 - 0.8 // inside (−1, 1), away from pixel centres with high probability
	}
	gradCheck(t, "bilinear sampling", b, func(in []*Node) *Node {
		return weighted(models.BilinearSample(in[0], in[1]))
	}, []*tensors.Tensor{feats, tensors.FromFlatDataAndDimensions(pos, 2, 4, 2)})
}

// The readout's nonlinearity, the predictor's Poisson loss and the classifier's cross-entropy, as pkg/models
// writes them.
func TestActivationAndLossGradients(t *testing.T) {
	b := cpu(t)
	rng := rand.New(rand.NewPCG(9, 10))
	y := randTensor(rng, 3, 5)
	gradCheck(t, "ELU(y−1)+1", b, func(in []*Node) *Node {
		return weighted(models.PositiveResponse(in[0]))
	}, []*tensors.Tensor{y})
	counts := tensors.FromFlatDataAndDimensions([]float64{0, 1, 3, 2, 0, 5, 1, 1, 0, 2, 4, 0, 1, 0, 3}, 3, 5)
	gradCheck(t, "Poisson loss", b, func(in []*Node) *Node {
		pred := AddScalar(Exp(in[0]), 0.1) // positive predictions
		return ReduceAllSum(models.PoissonLoss(pred, in[1]))
	}, []*tensors.Tensor{y, counts})
	labels := []int32{1, 4, 0}
	gradCheck(t, "cross-entropy", b, func(in []*Node) *Node {
		return models.CrossEntropy(in[0], Const(in[0].Graph(), labels))
	}, []*tensors.Tensor{y})
}

// The convolution kernels equal the pure-Go backend's own convolution on random shapes, strides,
// paddings, dilations and both channel layouts, forward and both gradients (which run the transposed and the
// kernel-gradient convolutions), in float64 and float32.
func TestConvolutionModesMatchNative(t *testing.T) {
	modes := map[string]backends.Backend{"kernels": cpu(t)}
	nb, err := newCPU(execFused)
	if err != nil {
		t.Fatal(err)
	}
	nb.native = true
	native := backends.Backend(nb)
	rng := rand.New(rand.NewPCG(11, 12))
	compared := map[int]int{} // trials compared, by number of outputs (1: forward only, 3: with gradients)
	for trial := range 24 {
		h := 4 + rng.IntN(8)
		k := 1 + rng.IntN(3)
		cin, cout, batch := 1+rng.IntN(4), 1+rng.IntN(4), 1+rng.IntN(3)
		stride, dil, inDil := 1+rng.IntN(2), 1+rng.IntN(2), 1+rng.IntN(2)
		if stride > 1 {
			dil = 1 // GoMLX accepts strides or kernel dilations, not both
		}
		pad := [2]int{rng.IntN(3), rng.IntN(3)}
		if (h-1)*inDil+1+pad[0]+pad[1] < (k-1)*dil+1 {
			continue
		}
		channelsFirst := trial%3 == 2
		xDims, kDims := []int{batch, h, h + 1, cin}, []int{k, k, cin, cout}
		if channelsFirst { // kernel [Cout, Cin, k, k] in GoMLX's channels-first layout
			xDims, kDims = []int{batch, cin, h, h + 1}, []int{cout, cin, k, k}
		}
		x, kern := randTensor(rng, xDims...), randTensor(rng, kDims...)
		for _, f32 := range []bool{false, true} {
			conv := func(x, kern *Node) *Node {
				if f32 {
					x, kern = ConvertDType(x, dtypes.Float32), ConvertDType(kern, dtypes.Float32)
				}
				c := Convolve(x, kern).StridePerAxis(stride, stride).PaddingPerDim([][2]int{pad, pad}).
					DilationPerAxis(dil, dil)
				if inDil > 1 { // GoMLX differentiates no convolution that has input dilations set
					c = c.InputDilationPerAxis(inDil, inDil)
				}
				if channelsFirst {
					c = c.ChannelsAxis(images.ChannelsFirst)
				}
				return ConvertDType(c.Done(), dtypes.Float64)
			}
			// Forward output, and the gradients of a random projection of it.
			build := func(x, kern *Node) []*Node {
				y := conv(x, kern)
				if inDil > 1 || dil > 1 || pad[0] >= k || pad[1] >= k { // outside what GoMLX differentiates
					return []*Node{y}
				}
				w := Iota(y.Graph(), y.Shape(), -1)
				loss := ReduceAllSum(Mul(y, Cos(w)))
				g := Gradient(loss, x, kern)
				return []*Node{y, g[0], g[1]}
			}
			clone := func(t *tensors.Tensor) *tensors.Tensor { // a tensor belongs to one backend instance
				return tensors.FromFlatDataAndDimensions(tensors.MustCopyFlatData[float64](t), t.Shape().Dimensions...)
			}
			want := MustNewExec(native, build).MustExec(clone(x), clone(kern))
			tol := 1e-10
			if f32 {
				tol = 1e-4
			}
			compared[len(want)]++
			for name, b := range modes {
				got := MustNewExec(b, build).MustExec(clone(x), clone(kern))
				for j, what := range []string{"output", "input gradient", "kernel gradient"}[:len(want)] {
					a := tensors.MustCopyFlatData[float64](got[j])
					bb := tensors.MustCopyFlatData[float64](want[j])
					if len(a) != len(bb) {
						t.Fatalf("trial %d %s %s: sizes %d vs %d", trial, name, what, len(a), len(bb))
					}
					for i := range a {
						if math.Abs(a[i]-bb[i]) > tol*math.Max(1, math.Abs(bb[i])) {
							t.Fatalf("trial %d %s %s (h %d k %d stride %d dil %d inDil %d pad %v channels-first %v float32 %v): element %d: %v, native %v",
								trial, name, what, h, k, stride, dil, inDil, pad, channelsFirst, f32, i, a[i], bb[i])
						}
					}
				}
			}
		}
	}
	if compared[1] < 4 || compared[3] < 8 {
		t.Errorf("too few cases compared: %v", compared)
	}
	t.Logf("compared (by outputs): %v", compared)
}

func TestPadAndReverse(t *testing.T) {
	b := cpu(t)
	x := tensors.FromFlatDataAndDimensions([]float64{1, 2, 3, 4, 5, 6}, 2, 3)
	got := MustNewExec(b, func(x *Node) *Node { return Reverse(x, 1) }).MustExec(x)[0]
	if fmt.Sprint(tensors.MustCopyFlatData[float64](got)) != "[3 2 1 6 5 4]" {
		t.Errorf("Reverse: %v", got)
	}
	got = MustNewExec(b, func(x *Node) *Node {
		return Pad(x, Scalar(x.Graph(), x.DType(), 9), PadAxis{Start: 1, End: -1}, PadAxis{Start: -1, End: 1, Interior: 1})
	}).MustExec(x)[0]
	// Rows: one row of 9 before, the last row cut. Columns: interior 1 → 1 9 2 9 3, first cut, one 9 appended.
	if fmt.Sprint(tensors.MustCopyFlatData[float64](got)) != "[9 9 9 9 9 9 2 9 3 9]" {
		t.Errorf("Pad: %v", tensors.MustCopyFlatData[float64](got))
	}
}

func must(b backends.Backend, err error) backends.Backend {
	if err != nil {
		panic(err)
	}
	return b
}

// One compiled training-style graph (convolutions and their gradients, so kernels and segments) executed from several
// goroutines at once gives each the same result as a lone execution: the kernels' scratch pools and the segmented
// executable keep no shared state between executions.
func TestConcurrentExecutions(t *testing.T) {
	b := cpu(t)
	rng := rand.New(rand.NewPCG(3, 4))
	x, kern := randTensor(rng, 4, 9, 9, 3), randTensor(rng, 3, 3, 3, 5)
	exec := MustNewExec(b, func(x, kern *Node) []*Node {
		y := Convolve(x, kern).StridePerAxis(1, 1).PadSame().Done()
		loss := ReduceAllSum(Mul(y, y))
		return append([]*Node{y}, Gradient(loss, x, kern)...)
	})
	want := exec.MustExec(x, kern)
	const workers = 4
	errs := make(chan error, workers)
	for range workers {
		go func() {
			for range 5 {
				got := exec.MustExec(x, kern)
				for i := range want {
					a, w := tensors.MustCopyFlatData[float64](got[i]), tensors.MustCopyFlatData[float64](want[i])
					for j := range a {
						if a[j] != w[j] {
							errs <- fmt.Errorf("output %d element %d: %v, alone %v", i, j, a[j], w[j])
							return
						}
					}
				}
			}
			errs <- nil
		}()
	}
	for range workers {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}
