package models

import (
	"fmt"
	"math"

	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/context/initializers"
	"github.com/gomlx/gomlx/pkg/ml/layers"
)

// The VGG-19-BN network in GoMLX (paper, Fig. 1 and Section 2), channels last: images [batch, height, width, 1].
//
// Deviations from PyTorch forced by GoMLX v0.26, none of which changes the function computed:
//   - batch norm is written here at graph level (Rsqrt has no gradient in v0.26: x/√(var+ε) instead) with PyTorch's
//     semantics: batch statistics in training, running statistics (momentum 0.1, unbiased variance) in evaluation;
//   - the head's 1×1 layers are 1×1 convolutions (as the authors'), which also keeps GoMLX v0.26's dense-matrix
//     gradient (an [M,K,N] product) out of the training graph.

// BNEpsilon and BNMomentum are PyTorch's BatchNorm2d defaults, which the authors use.
const (
	BNEpsilon  = 1e-5
	BNMomentum = 0.1
)

// ConvBNReLU is one VGG layer: 3×3 convolution (Kaiming-normal fan-out initialisation, zero bias), batch norm, ReLU.
// The kernel has the input's channels; see ConvBNReLURepeated for the grayscale input of conv1_1.
func ConvBNReLU(ctx *context.Context, x *Node, out int) *Node {
	return convBNReLU(ctx, x, x.Shape().Dimensions[3], out)
}

// ConvBNReLURepeated is conv1_1 on a one-channel image that the authors' forward repeats into in identical channels
// (the authors' code: the grayscale image expanded to 3 channels; conv1_1 keeps 3 input channels). Convolving in
// identical channels with a kernel K equals convolving the one channel with K summed over its input channels: the
// same function and, through the sum, the same gradient for each of the in channels of the same variable [3, 3, in,
// out] (its initialisation and parameter count unchanged), at a third of the cost and without materialising the
// repeated image. Only the order of floating-point sums differs from convolving the repeated image.
func ConvBNReLURepeated(ctx *context.Context, x *Node, in, out int) *Node {
	return convBNReLU(ctx, x, in, out)
}

func convBNReLU(ctx *context.Context, x *Node, in, out int) *Node {
	std := math.Sqrt(2 / float64(out*9)) // kaiming_normal_(mode="fan_out", nonlinearity="relu")
	kernel := ctx.WithInitializer(initializers.RandomNormalFn(ctx, std)).
		VariableWithShape("kernel", shapes.Make(x.DType(), 3, 3, in, out)).ValueGraph(x.Graph())
	if c := x.Shape().Dimensions[3]; c != in {
		if c != 1 {
			panic(fmt.Sprintf("conv: %d input channels for a kernel of %d", c, in))
		}
		kernel = ReduceSum(kernel, 2) // the image repeated into in channels: sum the kernel over them
		kernel = Reshape(kernel, 3, 3, 1, out)
	}
	bias := ctx.WithInitializer(initializers.Zero).VariableWithShape("bias", shapes.Make(x.DType(), out)).ValueGraph(x.Graph())
	y := Convolve(x, kernel).StridePerAxis(1, 1).PadSame().Done()
	y = Add(y, Reshape(bias, 1, 1, 1, out))
	return relu(BatchNorm(ctx.In("bn"), y))
}

func relu(x *Node) *Node { return Max(x, ZerosLike(x)) }

// BatchNorm normalises the last axis with batch statistics in training (updating the running statistics) and with
// the running statistics in evaluation, then scales and shifts (γ = 1, β = 0 at initialisation).
func BatchNorm(ctx *context.Context, x *Node) *Node {
	g := x.Graph()
	c := x.Shape().Dimensions[x.Rank()-1]
	dt := x.DType()
	perChannel := func(v *Node) *Node {
		dims := make([]int, x.Rank())
		for i := range dims {
			dims[i] = 1
		}
		dims[len(dims)-1] = c
		return Reshape(v, dims...)
	}
	gamma := ctx.WithInitializer(initializers.One).VariableWithShape("gamma", shapes.Make(dt, c)).ValueGraph(g)
	beta := ctx.WithInitializer(initializers.Zero).VariableWithShape("beta", shapes.Make(dt, c)).ValueGraph(g)
	runMean := ctx.WithInitializer(initializers.Zero).VariableWithShape("running_mean", shapes.Make(dt, c)).SetTrainable(false)
	runVar := ctx.WithInitializer(initializers.One).VariableWithShape("running_var", shapes.Make(dt, c)).SetTrainable(false)
	axes := make([]int, x.Rank()-1)
	for i := range axes {
		axes[i] = i
	}
	var mean, variance *Node
	if ctx.IsTraining(g) {
		mean = ReduceMean(x, axes...)
		variance = ReduceMean(Square(Sub(x, perChannel(mean))), axes...)
		n := float64(x.Shape().Size() / c)
		unbiased := MulScalar(StopGradient(variance), n/math.Max(n-1, 1))
		runMean.SetValueGraph(Add(MulScalar(runMean.ValueGraph(g), 1-BNMomentum), MulScalar(StopGradient(mean), BNMomentum)))
		runVar.SetValueGraph(Add(MulScalar(runVar.ValueGraph(g), 1-BNMomentum), MulScalar(unbiased, BNMomentum)))
	} else {
		mean, variance = runMean.ValueGraph(g), runVar.ValueGraph(g)
	}
	y := Div(Sub(x, perChannel(mean)), perChannel(Sqrt(AddScalar(variance, BNEpsilon))))
	return Add(Mul(y, perChannel(gamma)), perChannel(beta))
}

// SharedBlock runs the layers that both tasks share: conv1_1 … ReLU after BN of conv3_1 (paper, Section 2 and Fig.
// 1). A one-channel image counts as repeated into InChannels channels, as the authors' forward does
// (ConvBNReLURepeated).
func SharedBlock(ctx *context.Context, cfg VGGConfig, x *Node) *Node {
	return runLayers(ctx, cfg, x, 0, sharedEnd)
}

// ClassificationBranch runs conv3_2 … pool5 and the fully convolutional head on the shared block's output and
// returns the logits [batch, classes].
func ClassificationBranch(ctx *context.Context, cfg VGGConfig, x *Node) *Node {
	x = runLayers(ctx, cfg, x, sharedEnd, len(cfgE))
	hidden := cfg.Width(headHidden)
	x = relu(conv1x1(ctx.In("head_fc1"), x, hidden))
	x = dropout(ctx.In("head_fc1"), x)
	x = relu(conv1x1(ctx.In("head_fc2"), x, hidden))
	x = dropout(ctx.In("head_fc2"), x)
	x = conv1x1(ctx.In("head_logits"), x, cfg.NumClasses)
	return ReduceMax(x, 1, 2) // AdaptiveMaxPool2d(1) + Flatten
}

// Classifier is the whole classification network: images [batch, H, W, 1] → logits. Its variables live under the
// scopes ScopeShared and ScopeClassification, as in the multi-task network, so that a classifier's shared block can
// initialise or feed a readout (the Oracle's two stages, MTL-Oracle).
func Classifier(ctx *context.Context, cfg VGGConfig, images *Node) *Node {
	return ClassificationBranch(ctx.In(ScopeClassification), cfg, SharedBlock(ctx.In(ScopeShared), cfg, images))
}

// Responses is the neural branch of the multi-task network: the shared block followed by a Gaussian readout of
// neurons neurons (under ScopeReadout); images [batch, H, W, 1] → predicted responses [batch, neurons].
func Responses(ctx *context.Context, cfg VGGConfig, images *Node, neurons int, biasInit []float32) *Node {
	return GaussianReadout(ctx.In(ScopeReadout), SharedBlock(ctx.In(ScopeShared), cfg, images), neurons, biasInit)
}

// The scopes of the multi-task network's three parts (Fig. 1).
const (
	ScopeShared         = "shared"
	ScopeClassification = "classification"
	ScopeReadout        = "readout"
)

// convNames names cfgE's entries as torchvision's features do in the paper's terms: "conv<stage>_<n>" for a
// convolution, "" for a pooling layer.
var convNames = func() []string {
	names := make([]string, len(cfgE))
	stage, conv := 1, 1
	for i, v := range cfgE {
		if v == pool {
			stage++
			conv = 1
			continue
		}
		names[i] = fmt.Sprintf("conv%d_%d", stage, conv)
		conv++
	}
	return names
}()

// layerEnd is the index in cfgE just after the named convolution, or −1.
func layerEnd(layer string) int {
	for i, n := range convNames {
		if n != "" && n == layer {
			return i + 1
		}
	}
	return -1
}

// sharedEnd is the index in cfgE just after conv3_1.
var sharedEnd = layerEnd("conv3_1")

func runLayers(ctx *context.Context, cfg VGGConfig, x *Node, from, to int) *Node {
	for i, v := range cfgE[:to] {
		if v == pool {
			if i >= from {
				x = MaxPool(x).Window(2).Done()
			}
			continue
		}
		if i >= from {
			if i == 0 && cfg.FrontEnd.On() {
				x = frontEnd(ctx.In("frontend"), cfg.FrontEnd, x) // in place of conv1_1
			} else if i == 0 {
				x = ConvBNReLURepeated(ctx.In(convNames[i]), x, cfg.InChannels, cfg.Width(v))
			} else {
				x = ConvBNReLU(ctx.In(convNames[i]), x, cfg.Width(v))
			}
		}
	}
	return x
}

func conv1x1(ctx *context.Context, x *Node, out int) *Node {
	in := x.Shape().Dimensions[3]
	std := math.Sqrt(2 / float64(out)) // kaiming_normal_(fan_out, relu) for a 1×1 kernel
	kernel := ctx.WithInitializer(initializers.RandomNormalFn(ctx, std)).
		VariableWithShape("kernel", shapes.Make(x.DType(), 1, 1, in, out)).ValueGraph(x.Graph())
	bias := ctx.WithInitializer(initializers.Zero).VariableWithShape("bias", shapes.Make(x.DType(), out)).ValueGraph(x.Graph())
	return Add(Convolve(x, kernel).StridePerAxis(1, 1).NoPadding().Done(), Reshape(bias, 1, 1, 1, out))
}

// dropout is Dropout(p = 0.5) in training, the identity in evaluation.
func dropout(ctx *context.Context, x *Node) *Node {
	if !ctx.IsTraining(x.Graph()) {
		return x
	}
	return layers.DropoutStatic(ctx, x, 0.5)
}

// CrossEntropy is the mean categorical cross-entropy of logits [batch, classes] against integer labels [batch].
func CrossEntropy(logits, labels *Node) *Node {
	onehot := OneHot(labels, logits.Shape().Dimensions[1], logits.DType())
	return Neg(ReduceAllMean(ReduceSum(Mul(onehot, LogSoftmax(logits, -1)), -1)))
}

// Consistency is the Oracle's consistency loss between the representations a and b [batch, …] of two views of the
// same images: "euclidean", the mean over images of the Euclidean distance ‖a_i − b_i‖ between the flattened
// representations (the paper's words, Section 2: "penalizes the Euclidean distance between the outputs of layer
// conv-3-1"); "mse", the mean squared difference (the authors' code's nn.MSELoss); or "cosine", the mean over images
// of 1 − cos(a_i, b_i) (the authors' code's CosineEmbeddingLoss with target +1). A small ε keeps the Euclidean
// distance differentiable and all-zero representations finite.
func Consistency(a, b *Node, criterion string) *Node {
	n := a.Shape().Dimensions[0]
	switch criterion {
	case "mse":
		return ReduceAllMean(Square(Sub(a, b)))
	case "euclidean":
		d := Reshape(Sub(a, b), n, -1)
		return ReduceAllMean(Sqrt(AddScalar(ReduceSum(Square(d), -1), 1e-12)))
	}
	fa, fb := Reshape(a, n, -1), Reshape(b, n, -1)
	dot := ReduceSum(Mul(fa, fb), -1)
	norms := Sqrt(AddScalar(Mul(ReduceSum(Square(fa), -1), ReduceSum(Square(fb), -1)), 1e-16))
	return ReduceAllMean(OneMinus(Div(dot, norms)))
}

// ConsistencyCriteria are the forms of the Oracle's consistency loss (Consistency).
var ConsistencyCriteria = []string{"cosine", "euclidean", "mse"}

// IsLayer reports whether layer names a convolutional layer (LayerNames).
func IsLayer(layer string) bool { return layerEnd(layer) >= 0 }

// LayerNames lists the convolutional layers in order (conv1_1 … conv5_4): the layers a reconstruction can target.
func LayerNames() []string {
	var names []string
	for _, n := range convNames {
		if n != "" {
			names = append(names, n)
		}
	}
	return names
}

// Features runs the classifier's layers up to and including the named convolution (after its batch norm and ReLU),
// with the variables of Classifier: the shared block's under ScopeShared, later layers' under ScopeClassification.
// Section 4 reconstructs images from these activations (conv3_1, the shared block's output, by default).
func Features(ctx *context.Context, cfg VGGConfig, x *Node, layer string) (*Node, error) {
	end := layerEnd(layer)
	if end < 0 {
		return nil, fmt.Errorf("layer %q: want one of %v", layer, LayerNames())
	}
	x = runLayers(ctx.In(ScopeShared), cfg, x, 0, min(end, sharedEnd))
	if end > sharedEnd {
		x = runLayers(ctx.In(ScopeClassification), cfg, x, sharedEnd, end)
	}
	return x, nil
}
