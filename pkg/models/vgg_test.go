package models

import (
	"math"
	"slices"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/graph"
	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"

	"github.com/robustvision/cotrain/pkg/backend"
)

// Variable paths are part of every checkpoint in the cache: the shared block under /shared, the rest under
// /classification, each convolution named as the paper names it, and Features reads the same variables.
func TestVariablePathsAndFeatures(t *testing.T) {
	b, err := backend.New("cpu")
	if err != nil {
		t.Fatal(err)
	}
	cfg := VGGConfig{WidthDivisor: 32, InputSize: 32, InChannels: 3, NumClasses: 10}
	ctx := context.New().Checked(false)
	x := tensors.FromFlatDataAndDimensions(make([]float32, 32*32), 1, 32, 32, 1)
	context.MustNewExec(b, ctx, func(ctx *context.Context, x *Node) *Node { return Classifier(ctx, cfg, x) }).MustExec(x)
	var paths []string
	for v := range ctx.IterVariables() {
		paths = append(paths, v.ScopeAndName())
	}
	for _, want := range []string{"/shared/conv1_1/kernel", "/shared/conv3_1/bn/running_var", "/classification/conv3_2/kernel",
		"/classification/conv5_4/bn/gamma", "/classification/head_logits/kernel"} {
		if !slices.Contains(paths, want) {
			t.Errorf("no variable %s", want)
		}
	}
	n := len(paths)
	out := context.MustNewExec(b, ctx, func(ctx *context.Context, x *Node) *Node {
		f, err := Features(ctx, cfg, x, "conv4_2")
		if err != nil {
			t.Fatal(err)
		}
		return f
	}).MustExec(x)
	if len(slices.Collect(ctx.IterVariables())) != n {
		t.Error("Features created variables of its own")
	}
	if d := out[0].Shape().Dimensions; d[1] != 4 || d[3] != 512/32 {
		t.Errorf("conv4_2 features %v, want 4×4×16", d)
	}
	if names := LayerNames(); len(names) != 16 || names[4] != "conv3_1" || names[15] != "conv5_4" {
		t.Errorf("layer names %v", names)
	}
}

// conv1_1 on a grayscale image (the kernel summed over its 3 input channels) equals conv1_1 on the image repeated into
// 3 channels, as the authors' forward computes it: the same output and the same gradient for the 3-channel kernel and
// the image.
func TestRepeatedChannelsEqualConcatenation(t *testing.T) {
	b, err := backend.New("cpu")
	if err != nil {
		t.Fatal(err)
	}
	img := make([]float64, 2*8*8)
	for i := range img {
		img[i] = float64((i*37)%19)/9 - 1
	}
	x := tensors.FromFlatDataAndDimensions(img, 2, 8, 8, 1)
	run := func(repeat bool) []*tensors.Tensor {
		ctx := context.New()
		if err := ctx.SetRNGStateFromSeed(7); err != nil { // the same initial kernel in both
			t.Fatal(err)
		}
		return context.MustNewExec(b, ctx, func(ctx *context.Context, x *Node) []*Node {
			var y *Node
			if repeat {
				y = ConvBNReLURepeated(ctx.In("c"), x, 3, 4)
			} else {
				y = ConvBNReLU(ctx.In("c"), Concatenate([]*Node{x, x, x}, 3), 4)
			}
			loss := ReduceAllSum(Mul(y, Cos(Iota(x.Graph(), y.Shape(), -1))))
			kernel := ctx.In("c").GetVariable("kernel").ValueGraph(x.Graph())
			g := Gradient(loss, x, kernel)
			return []*Node{y, g[0], g[1]}
		}).MustExec(x)
	}
	want, got := run(false), run(true)
	for i, what := range []string{"output", "image gradient", "kernel gradient"} {
		a, w := tensors.MustCopyFlatData[float64](got[i]), tensors.MustCopyFlatData[float64](want[i])
		if len(a) != len(w) {
			t.Fatalf("%s: %d values, want %d", what, len(a), len(w))
		}
		for j := range a {
			if d := a[j] - w[j]; d > 1e-9 || d < -1e-9 {
				t.Fatalf("%s[%d] = %v with the summed kernel, %v with the repeated image", what, j, a[j], w[j])
			}
		}
	}
}

// The cosine consistency is 0 for proportional representations (shrinking them cannot lower it), 2 for opposite
// ones and 1 for orthogonal ones; the MSE form is what it was.
func TestConsistency(t *testing.T) {
	b, err := backend.New("cpu")
	if err != nil {
		t.Fatal(err)
	}
	a := [][]float32{{1, 2, 3, 4}, {1, 0, 0, 0}}
	for _, c := range []struct {
		criterion string
		b         [][]float32
		want      float64
	}{
		{"cosine", [][]float32{{0.1, 0.2, 0.3, 0.4}, {5, 0, 0, 0}}, 0},
		{"cosine", [][]float32{{-1, -2, -3, -4}, {0, 1, 0, 0}}, 1.5},
		{"mse", [][]float32{{1, 2, 3, 4}, {1, 0, 0, 2}}, 0.5},
	} {
		got := graph.MustExecOnce(b, func(x, y *graph.Node) *graph.Node { return Consistency(x, y, c.criterion) }, a, c.b)
		if v := tensors.ToScalar[float32](got); math.Abs(float64(v)-c.want) > 1e-5 {
			t.Errorf("%s consistency %v, want %v", c.criterion, v, c.want)
		}
	}
}
