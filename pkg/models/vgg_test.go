package models

import (
	"slices"
	"testing"

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
