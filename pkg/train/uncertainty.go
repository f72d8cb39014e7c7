package train

import (
	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/context/initializers"
)

// Learned uncertainty weighting (Kendall, Gal & Cipolla 2018) as the authors' loss wrappers (paper, Section 2,
// "Multi-task learning"): each task has a scalar log-variance log σ², a trainable variable initialised to 0.

// ClassificationTerm is exp(−log σc²)·CE + ½·log σc² = CE/σc² + log σc.
func ClassificationTerm(ctx *context.Context, ce *Node) *Node {
	logVar := logVariance(ctx.In("uncertainty"), "log_var_classification", ce)
	return Add(Mul(Exp(Neg(logVar)), ce), MulScalar(logVar, 0.5))
}

// NeuralTerm is ½·exp(−log σn²)·MSE + ½·log σn² = MSE/(2σn²) + log σn.
func NeuralTerm(ctx *context.Context, mse *Node) *Node {
	logVar := logVariance(ctx.In("uncertainty"), "log_var_neural", mse)
	return Add(MulScalar(Mul(Exp(Neg(logVar)), mse), 0.5), MulScalar(logVar, 0.5))
}

func logVariance(ctx *context.Context, name string, like *Node) *Node {
	return ctx.WithInitializer(initializers.Zero).VariableWithShape(name, like.Shape()).ValueGraph(like.Graph())
}
