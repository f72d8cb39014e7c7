// Package models describes the networks of Section 2: the architecture as data, and the VGG-19-BN graph with the
// Gaussian readout in GoMLX.
//
// The networks are those of Fig. 1 and Table 1: the VGG-19-BN classifier with its fully convolutional head, the
// shared block that ends after batch norm and ReLU of conv3_1, and the Gaussian readout that predicts V1 responses
// from that block.
//
// This file holds the architecture as plain data (layer names, channel counts, spatial sizes, parameter counts), so
// that figures, summaries and tests can use it without building a GoMLX graph.
package models

import "fmt"

// pool marks a 2×2 max-pooling layer in a VGG configuration list.
const pool = -1

// cfgE is torchvision's VGG configuration "E" (VGG-19): the output channels of each 3×3 convolution, with pool
// marking 2×2 max-pooling layers (VGG-19, configuration E).
var cfgE = []int{64, 64, pool, 128, 128, pool, 256, 256, 256, 256, pool, 512, 512, 512, 512, pool, 512, 512, 512, 512, pool}

// headHidden is the width of the two hidden 1×1 convolutions of the fully convolutional head (the authors' code).
const headHidden = 4096

// VGGConfig sizes the VGG-19-BN network. The paper's network is VGGConfig{WidthDivisor: 1, InputSize: 64,
// InChannels: 3, NumClasses: 200}; the smaller scales of this project divide every width by WidthDivisor and keep the
// topology (all 16 convolutions, 5 pools, the 3-layer head).
type VGGConfig struct {
	WidthDivisor int // every channel count (convolutions and head) is divided by this
	InputSize    int // height = width of the input image, in pixels (a multiple of 32)
	InChannels   int // 3 as the authors (a grayscale image repeated into 3 channels), or 1
	NumClasses   int // outputs of the classification head
	// FrontEnd, if on, replaces conv1_1 by the virtual monkey's fixed receptive fields (beyond the paper).
	FrontEnd FrontEndConfig `json:",omitzero"`
}

// PaperVGG is the configuration of the paper's classifier on Tiny ImageNet.
var PaperVGG = VGGConfig{WidthDivisor: 1, InputSize: 64, InChannels: 3, NumClasses: 200}

// Block says which part of the multi-task network a layer belongs to (Fig. 1 of the paper).
type Block string

// The three parts of the multi-task network.
const (
	Shared         Block = "shared"         // conv1_1 … ReLU after conv3_1: trained by both tasks
	Classification Block = "classification" // conv3_2 … pool5 and the head: trained by classification only
	Readout        Block = "readout"        // the Gaussian readout: trained by neural prediction only
)

// Layer is one layer of the architecture, as a summary table or a diagram shows it.
type Layer struct {
	Name        string // e.g. "conv3_1", "pool2", "head_fc1"
	Kind        string // "conv3x3+bn+relu", "maxpool2x2", "conv1x1+relu+dropout", "conv1x1+globalmaxpool", "gaussian-readout"
	InChannels  int
	OutChannels int
	Size        int // spatial height = width of the output
	Params      int // trainable parameters (BN running statistics are not parameters)
	Block       Block
}

// Validate reports whether the configuration can be built.
func (c VGGConfig) Validate() error {
	switch {
	case c.WidthDivisor < 1 || 64%c.WidthDivisor != 0:
		return fmt.Errorf("width divisor %d: want a divisor of 64 (1, 2, 4, 8, 16, 32 or 64)", c.WidthDivisor)
	case c.InputSize < 32 || c.InputSize%32 != 0:
		return fmt.Errorf("input size %d: want a multiple of 32 (five 2×2 poolings)", c.InputSize)
	case c.InChannels != 1 && c.InChannels != 3:
		return fmt.Errorf("input channels %d: want 1 or 3", c.InChannels)
	case c.NumClasses < 2:
		return fmt.Errorf("number of classes %d: want at least 2", c.NumClasses)
	case c.FrontEnd.On() && (c.FrontEnd.Kernel < 3 || c.FrontEnd.Kernel%2 == 0 || c.FrontEnd.Kernel > c.InputSize ||
		!(c.FrontEnd.PPD > 0) || c.FrontEnd.Channels > 4096):
		return fmt.Errorf("front end %+v: want an odd kernel of 3 to %d pixels, a resolution > 0 and at most 4096 channels",
			c.FrontEnd, c.InputSize)
	}
	return nil
}

// Width returns the channel count of a layer whose paper width is w.
func (c VGGConfig) Width(w int) int { return w / c.WidthDivisor }

// Layers returns the classification network's layers in order, followed by the Gaussian readout for neurons
// neurons (omitted when neurons is 0). The readout reads the output of the shared block (ReLU after conv3_1).
func (c VGGConfig) Layers(neurons int) []Layer {
	var layers []Layer
	in, size, stage, conv, pools := c.InChannels, c.InputSize, 1, 1, 0
	block := Shared
	var sharedOut Layer
	for _, v := range cfgE {
		if v == pool {
			pools++
			size /= 2
			layers = append(layers, Layer{Name: fmt.Sprintf("pool%d", pools), Kind: "maxpool2x2",
				InChannels: in, OutChannels: in, Size: size, Block: block})
			stage++
			conv = 1
			continue
		}
		out := c.Width(v)
		l := Layer{Name: fmt.Sprintf("conv%d_%d", stage, conv), Kind: "conv3x3+bn+relu", InChannels: in,
			OutChannels: out, Size: size, Params: in*out*9 + out + 2*out, Block: block}
		if stage == 1 && conv == 1 && c.FrontEnd.On() {
			out = c.FrontEnd.Channels
			l = Layer{Name: "frontend", Kind: fmt.Sprintf("fixed V1 front end %d×%d", c.FrontEnd.Kernel, c.FrontEnd.Kernel),
				InChannels: in, OutChannels: out, Size: size, Block: block}
		}
		layers = append(layers, l)
		if l.Name == "conv3_1" {
			sharedOut = l
			block = Classification
		}
		in = out
		conv++
	}
	hidden := c.Width(headHidden)
	layers = append(layers,
		Layer{Name: "head_fc1", Kind: "conv1x1+relu+dropout", InChannels: in, OutChannels: hidden, Size: size,
			Params: in*hidden + hidden, Block: Classification},
		Layer{Name: "head_fc2", Kind: "conv1x1+relu+dropout", InChannels: hidden, OutChannels: hidden, Size: size,
			Params: hidden*hidden + hidden, Block: Classification},
		Layer{Name: "head_logits", Kind: "conv1x1+globalmaxpool", InChannels: hidden, OutChannels: c.NumClasses,
			Size: 1, Params: hidden*c.NumClasses + c.NumClasses, Block: Classification},
	)
	if neurons > 0 {
		layers = append(layers, Layer{Name: "readout", Kind: "gaussian-readout", InChannels: sharedOut.OutChannels,
			OutChannels: neurons, Size: 1, Params: ReadoutParams(sharedOut.OutChannels, neurons), Block: Readout})
	}
	return layers
}

// ReadoutParams is the parameter count of one Gaussian readout (paper, Section 2; Lurz et al. 2021): per neuron a
// position μ (2), a standard deviation σ (2), one weight per channel and a bias.
func ReadoutParams(channels, neurons int) int { return neurons * (2 + 2 + channels + 1) }

// ClassifierParams is the number of trainable parameters of the classification network (no readout).
func (c VGGConfig) ClassifierParams() int {
	total := 0
	for _, l := range c.Layers(0) {
		total += l.Params
	}
	return total
}
