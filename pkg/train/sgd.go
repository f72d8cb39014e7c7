// Package train trains the models of Table 1: one trainer for the four objectives, with checkpoints, resume and
// metrics.
//
// The objectives are classification, multi-task with uncertainty weighting and batch ratios, the Oracle's corruption
// training with a consistency loss, and the single-task V1 predictor; per-epoch checkpoints let an interrupted run
// resume exactly.
package train

import (
	"fmt"

	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/context/initializers"
	"github.com/gomlx/gomlx/pkg/ml/train/optimizers"
)

// MomentumSGD is torch.optim.SGD(lr, momentum, weight_decay) with dampening 0 and no Nesterov term, which the
// authors use for every classification and multi-task training (momentum 0.75, weight decay 5e-4, lr 0.1):
//
//	d = ∇L + weight_decay·p;  buf = momentum·buf + d;  p = p − lr·buf
//
// (buf starts at 0, so the first step is buf = d, as PyTorch's.) Weight decay applies to every trainable variable,
// including the uncertainty weights' log-variances, as in the authors' single parameter group. The learning rate is
// GoMLX's learning-rate variable, which SetLearningRate changes between steps (reduce-on-plateau).
// GoMLX v0.26's own SGD has no momentum and divides the learning rate by √step.
type MomentumSGD struct {
	LearningRate, Momentum, WeightDecay float64
}

// PaperSGD is the authors' setting.
var PaperSGD = MomentumSGD{LearningRate: 0.1, Momentum: 0.75, WeightDecay: 5e-4}

const momentumScope = "momentum_sgd"

// UpdateGraph implements optimizers.Interface.
func (o MomentumSGD) UpdateGraph(ctx *context.Context, g *Graph, loss *Node) {
	if !loss.Shape().IsScalar() {
		panic(fmt.Sprintf("MomentumSGD: loss must be a scalar, got %s", loss.Shape()))
	}
	grads := ctx.BuildTrainableVariablesGradientsGraph(loss)
	lr := optimizers.LearningRateVar(ctx, loss.DType(), o.LearningRate).ValueGraph(g)
	i := 0
	for v := range ctx.IterVariables() {
		if !v.Trainable || !v.InUseByGraph(g) {
			continue
		}
		p := v.ValueGraph(g)
		d := grads[i]
		i++
		if o.WeightDecay != 0 {
			d = Add(d, MulScalar(p, o.WeightDecay))
		}
		buf := ctx.InAbsPath(context.RootScope+momentumScope+v.Scope()).WithInitializer(initializers.Zero).
			VariableWithShape(v.Name(), p.Shape()).SetTrainable(false)
		next := Add(MulScalar(buf.ValueGraph(g), o.Momentum), d)
		buf.SetValueGraph(next)
		v.SetValueGraph(Sub(p, Mul(ConvertDType(lr, p.DType()), next)))
	}
}

// Clear implements optimizers.Interface: the momentum buffers are kept (they are part of a resumable checkpoint).
func (o MomentumSGD) Clear(*context.Context) error { return nil }

// SetLearningRate sets the learning rate that MomentumSGD (and GoMLX's optimizers) read at the next step.
func SetLearningRate(ctx *context.Context, lr float64) error {
	v := ctx.InspectVariable(context.RootScope+optimizers.Scope, optimizers.ParamLearningRate)
	if v == nil {
		return fmt.Errorf("no learning-rate variable yet: build the training graph first")
	}
	old, err := v.Value()
	if err != nil {
		return err
	}
	switch old.Value().(type) {
	case float32:
		return v.SetValue(tensors.FromScalar(float32(lr)))
	default:
		return v.SetValue(tensors.FromScalar(lr))
	}
}
