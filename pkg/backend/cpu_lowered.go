package backend

import (
	"fmt"
	"slices"

	"github.com/gomlx/gomlx/backends"
)

// The cpu:lowered benchmark mode: ConvGeneral as matrix products inside the pure-Go graph (im2col). The input is
// transposed to [batch, spatial…, channels], padded and dilated with Pad, and either the k kernel positions are cut
// out as k strided slices and concatenated into patches [batch·outputs, k·channels] (forward and input-gradient
// convolutions), or — when the output has fewer positions than the kernel, as in the kernel-gradient convolution
// where the "kernel" is a whole feature map — each output position is one window slice and one product. Both become
// DotGeneral calls, which the pure-Go backend runs multi-threaded.

// loweredConv is one convolution in canonical layout: x [B, S…, Cin] padded and dilated, kmat [numK·Cin, Cout].
type loweredConv struct {
	x, kmat                  backends.Op
	xdims, ksize, osize      []int
	strides, kernelDilations []int
	batch, cin, cout         int
	numK, numO               int
}

// lowerConv is ConvGeneral lowered to im2col and DotGeneral.
func (b *cpuBuilder) lowerConv(input, kernel backends.Op, axes backends.ConvolveAxesConfig, strides []int,
	paddings [][2]int, inputDilations, kernelDilations []int) (backends.Op, error) {
	c, err := b.canonicalConv(input, kernel, axes, strides, paddings, inputDilations, kernelDilations)
	if err != nil {
		return nil, err
	}
	var out backends.Op
	if c.numK <= c.numO {
		out, err = b.im2colProduct(c)
	} else {
		out, err = b.windowProduct(c)
	}
	if err != nil {
		return nil, err
	}
	if out, err = b.Reshape(out, append(append([]int{c.batch}, c.osize...), c.cout)...); err != nil {
		return nil, err
	}
	// Canonical output [B, O…, Cout] → the requested output axes.
	rank := len(c.osize)
	canon := append(append([]int{axes.OutputBatch}, axes.OutputSpatial...), axes.OutputChannels)
	inv := make([]int, rank+2)
	for i, a := range canon {
		inv[a] = i
	}
	return b.transposeIfNeeded(out, inv)
}

// canonicalConv transposes, pads and dilates the input and reshapes the kernel into a matrix.
func (b *cpuBuilder) canonicalConv(input, kernel backends.Op, axes backends.ConvolveAxesConfig, strides []int,
	paddings [][2]int, inputDilations, kernelDilations []int) (*loweredConv, error) {
	rank := len(axes.InputSpatial)
	inShape, kShape := b.shape(input), b.shape(kernel)
	// Canonical layouts: input [B, S…, C], kernel [K…, Cin, Cout].
	inPerm := append(append([]int{axes.InputBatch}, axes.InputSpatial...), axes.InputChannels)
	x, err := b.transposeIfNeeded(input, inPerm)
	if err != nil {
		return nil, err
	}
	kPerm := append(slices.Clone(axes.KernelSpatial), axes.KernelInputChannels, axes.KernelOutputChannels)
	kc, err := b.transposeIfNeeded(kernel, kPerm)
	if err != nil {
		return nil, err
	}
	batch, cin := inShape.Dimensions[axes.InputBatch], inShape.Dimensions[axes.InputChannels]
	cout := kShape.Dimensions[axes.KernelOutputChannels]
	// Padding and input dilation.
	pad := make([]backends.PadAxis, rank+2)
	needPad := false
	for i := range rank {
		pad[i+1] = backends.PadAxis{Start: paddings[i][0], End: paddings[i][1], Interior: inputDilations[i] - 1}
		needPad = needPad || pad[i+1] != backends.PadAxis{}
	}
	if needPad {
		zero, err := b.zero(inShape.DType)
		if err != nil {
			return nil, err
		}
		if x, err = b.Pad(x, zero, pad...); err != nil {
			return nil, err
		}
	}
	xs := b.shape(x)
	ksize, osize := make([]int, rank), make([]int, rank)
	numK, numO := 1, 1
	for i := range rank {
		ksize[i] = kShape.Dimensions[axes.KernelSpatial[i]]
		span := (ksize[i]-1)*kernelDilations[i] + 1
		osize[i] = (xs.Dimensions[i+1]-span)/strides[i] + 1
		if osize[i] <= 0 {
			return nil, fmt.Errorf("ConvGeneral: empty output (padded input %v, kernel %v)", xs.Dimensions, ksize)
		}
		numK *= ksize[i]
		numO *= osize[i]
	}
	kmat, err := b.Reshape(kc, numK*cin, cout)
	if err != nil {
		return nil, err
	}
	return &loweredConv{x: x, kmat: kmat, xdims: xs.Dimensions, ksize: ksize, osize: osize, strides: strides,
		kernelDilations: kernelDilations, batch: batch, cin: cin, cout: cout, numK: numK, numO: numO}, nil
}

// im2colProduct cuts the numK kernel positions out as strided slices, concatenates them into patches
// [B·numO, numK·Cin] and multiplies by the kernel matrix: [B·numO, Cout].
func (b *cpuBuilder) im2colProduct(c *loweredConv) (backends.Op, error) {
	rank := len(c.osize)
	cols := make([]backends.Op, 0, c.numK)
	for _, kpos := range positions(c.ksize) {
		// Kernel position k sees the inputs k·dilation + o·stride for every output position o.
		col, err := b.strided(c.x, c.xdims, kpos, c.kernelDilations, c.osize, c.strides)
		if err != nil {
			return nil, err
		}
		cols = append(cols, col)
	}
	patches := cols[0]
	var err error
	if len(cols) > 1 {
		if patches, err = b.Concatenate(rank+1, cols...); err != nil {
			return nil, err
		}
	}
	if patches, err = b.Reshape(patches, c.batch*c.numO, c.numK*c.cin); err != nil {
		return nil, err
	}
	return b.DotGeneral(patches, []int{1}, nil, c.kmat, []int{0}, nil)
}

// windowProduct stacks one window per output position, [numO, B, K…, Cin] → [numO·B, numK·Cin], multiplies by the
// kernel matrix (a single product: the im2col matrix built the other way round) and returns [B, numO, Cout].
func (b *cpuBuilder) windowProduct(c *loweredConv) (backends.Op, error) {
	wins := make([]backends.Op, 0, c.numO)
	for _, opos := range positions(c.osize) {
		// Output position o sees the inputs o·stride + k·dilation for every kernel position k.
		win, err := b.strided(c.x, c.xdims, opos, c.strides, c.ksize, c.kernelDilations)
		if err != nil {
			return nil, err
		}
		if win, err = b.Reshape(win, 1, c.batch*c.numK*c.cin); err != nil {
			return nil, err
		}
		wins = append(wins, win)
	}
	stacked := wins[0]
	var err error
	if len(wins) > 1 {
		if stacked, err = b.Concatenate(0, wins...); err != nil {
			return nil, err
		}
	}
	if stacked, err = b.Reshape(stacked, c.numO*c.batch, c.numK*c.cin); err != nil {
		return nil, err
	}
	out, err := b.DotGeneral(stacked, []int{1}, nil, c.kmat, []int{0}, nil)
	if err != nil {
		return nil, err
	}
	// [numO·B, Cout] → [numO, B, Cout] → [B, numO, Cout]
	if out, err = b.Reshape(out, c.numO, c.batch, c.cout); err != nil {
		return nil, err
	}
	return b.Transpose(out, 1, 0, 2)
}

// strided slices the spatial axes of x [B, S…, C]: along spatial axis i, count[i] elements from pos[i]·scale[i]
// in steps of step[i].
func (b *cpuBuilder) strided(x backends.Op, dims, pos, scale, count, step []int) (backends.Op, error) {
	rank := len(pos)
	starts, limits, st := make([]int, rank+2), slices.Clone(dims), make([]int, rank+2)
	st[0], st[rank+1] = 1, 1
	for i := range rank {
		starts[i+1] = pos[i] * scale[i]
		limits[i+1] = starts[i+1] + (count[i]-1)*step[i] + 1
		st[i+1] = step[i]
	}
	return b.Slice(x, starts, limits, st)
}

// positions enumerates every multi-index of the given sizes in row-major order.
func positions(sizes []int) [][]int {
	n := 1
	for _, s := range sizes {
		n *= s
	}
	out := make([][]int, 0, n)
	idx := make([]int, len(sizes))
	for range n {
		out = append(out, slices.Clone(idx))
		for i := len(idx) - 1; i >= 0; i-- {
			idx[i]++
			if idx[i] < sizes[i] {
				break
			}
			idx[i] = 0
		}
	}
	return out
}
