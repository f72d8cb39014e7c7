package backend

import (
	"fmt"
	"slices"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/shapes"
)

// The CPU compatibility layer.
//
// GoMLX v0.26's pure-Go backend ("go", package simplego) lacks ops that training the paper's networks needs —
// Reverse (every convolution gradient), Pad (mean-pool and slice gradients), SelectAndScatterMax/Min (max-pool
// gradients) — and runs its convolutions as a naive single-threaded loop. cpuBackend wraps it: its builder embeds
// the recording builder (recorder.go; in the tests' reference the pure-Go builder itself), so every op the pure-Go
// backend has works unchanged, and adds
//
//   - Reverse, as slices along each reversed axis concatenated in reverse order;
//   - Pad with positive, negative and interior padding, from Slice, Concatenate, Reshape and a broadcast fill value;
//   - SelectAndScatterMax/Min for non-overlapping windows (window == stride, the 2×2 max-pools of VGG): the first
//     maximum (minimum) of each window receives the source value, as XLA specifies;
//   - ConvGeneral as a kernel of the executor (im2col and one BLAS product, kernel_conv.go); grouped convolutions
//     keep the pure-Go op.
//
// The executor (executor.go) then runs the recorded graph itself, with the composites above recognised as kernels.
// Batch normalisation needs no backend op: pkg/models writes it at graph level from reductions and element-wise ops.
// DynamicSlice/DynamicUpdateSlice and FFT stay unsupported: nothing in this project uses them.
type cpuBackend struct {
	backends.Backend
	exec   execMode // what the executor runs itself
	native bool     // the pure-Go backend's own convolution (the tests' reference), not the executor's kernels
}

// newCPU is the cpu backend whose executor runs exec: execFused, or, as the tests' reference, execSegments.
func newCPU(exec execMode) (*cpuBackend, error) {
	// Ops run one after another, each using every core: with ops run in parallel, the pure-Go backend's worker pool
	// deadlocks when several matrix products wait for workers held by other ops (seen with GoMLX v0.26).
	inner, err := backends.NewWithConfig("go:ops_sequential")
	if err != nil {
		return nil, err
	}
	return &cpuBackend{Backend: inner, exec: exec}, nil
}

func (b *cpuBackend) Name() string {
	switch {
	case b.native:
		return "cpu-nativeconv (the tests' reference: SimpleGo with its own convolution)"
	case b.exec == execSegments:
		return "cpu-segments (the tests' reference: SimpleGo between im2col + " + blasName + " convolution kernels)"
	}
	return "cpu (cotrain executor: fused element-wise passes, parallel kernels, im2col + " + blasName +
		" convolutions; SimpleGo for the rest)"
}

func (b *cpuBackend) String() string { return b.Name() }

func (b *cpuBackend) Description() string {
	return b.Backend.Description() + ", with Reverse/Pad/SelectAndScatter and im2col convolutions"
}

func (b *cpuBackend) Capabilities() backends.Capabilities {
	caps := b.Backend.Capabilities().Clone()
	for _, op := range []backends.OpType{backends.OpTypeReverse, backends.OpTypePad,
		backends.OpTypeSelectAndScatterMax, backends.OpTypeSelectAndScatterMin} {
		caps.Operations[op] = true
	}
	return caps
}

func (b *cpuBackend) Builder(name string) backends.Builder {
	if b.native {
		return &cpuBuilder{Builder: b.Backend.Builder(name), native: true}
	}
	return &cpuBuilder{Builder: newRecorder(b.Backend, name, b.exec)}
}

// cpuBuilder adds the missing operations on top of the recording builder (or, for the tests' reference and inside a
// composite's replay, the pure-Go builder).
type cpuBuilder struct {
	backends.Builder // a *recorder unless native
	native           bool
}

func (b *cpuBuilder) shape(op backends.Op) shapes.Shape {
	s, err := b.OpShape(op)
	if err != nil {
		panic(err)
	}
	return s
}

// fill returns the scalar value broadcast to dims.
func (b *cpuBuilder) fill(value backends.Op, dims []int) (backends.Op, error) {
	return b.BroadcastInDim(value, shapes.Make(b.shape(value).DType, dims...), nil)
}

func (b *cpuBuilder) zero(dtype dtypes.DType) (backends.Op, error) {
	return b.Constant(zeroOf(dtype))
}

func zeroOf(dtype dtypes.DType) any {
	switch dtype {
	case dtypes.Float32:
		return []float32{0}
	case dtypes.Float64:
		return []float64{0}
	case dtypes.Int32:
		return []int32{0}
	case dtypes.Int64:
		return []int64{0}
	default:
		panic(fmt.Sprintf("cpu backend: no zero constant for dtype %s", dtype))
	}
}

// slice1 slices x along one axis.
func (b *cpuBuilder) slice1(x backends.Op, axis, start, limit, stride int) (backends.Op, error) {
	s := b.shape(x)
	starts := make([]int, s.Rank())
	limits := slices.Clone(s.Dimensions)
	strides := make([]int, s.Rank())
	for i := range strides {
		strides[i] = 1
	}
	starts[axis], limits[axis], strides[axis] = start, limit, stride
	return b.Slice(x, starts, limits, strides)
}

// recordComposite records an operation that the pure-Go backend lacks as one node, so that the executor can run it
// itself (Reverse as a view, SelectAndScatter as a kernel); where it cannot, the node replays compose, which builds
// the operation from ones the pure-Go backend has.
func (b *cpuBuilder) recordComposite(name string, ins []backends.Op, args []any,
	compose func(c *cpuBuilder, in []backends.Op) (backends.Op, error)) (backends.Op, bool, error) {
	r, ok := b.Builder.(*recorder)
	if !ok {
		return nil, false, nil
	}
	outs, err := r.record(name, ins, args, func(bb backends.Builder, in []backends.Op) ([]backends.Op, error) {
		op, err := compose(&cpuBuilder{Builder: bb, native: true}, in)
		return []backends.Op{op}, err
	})
	if err != nil {
		return nil, true, err
	}
	return outs[0], true, nil
}

// Reverse reverses x along the given axes.
func (b *cpuBuilder) Reverse(x backends.Op, axes ...int) (backends.Op, error) {
	if op, ok, err := b.recordComposite("Reverse", []backends.Op{x}, []any{axes},
		func(c *cpuBuilder, in []backends.Op) (backends.Op, error) { return c.Reverse(in[0], axes...) }); ok {
		return op, err
	}
	var err error
	for _, axis := range axes {
		n := b.shape(x).Dimensions[axis]
		if n <= 1 {
			continue
		}
		parts := make([]backends.Op, n)
		for i := range n {
			if parts[i], err = b.slice1(x, axis, n-1-i, n-i, 1); err != nil {
				return nil, err
			}
		}
		if x, err = b.Concatenate(axis, parts...); err != nil {
			return nil, err
		}
	}
	if len(axes) == 0 {
		return b.Identity(x)
	}
	return x, nil
}

// Pad pads x: Start/End elements of fillValue before/after each axis (negative values cut), and Interior
// elements between neighbours.
func (b *cpuBuilder) Pad(x, fillValue backends.Op, axesConfig ...backends.PadAxis) (backends.Op, error) {
	var err error
	for axis, cfg := range axesConfig {
		if cfg.Interior > 0 {
			s := b.shape(x)
			n := s.Dimensions[axis]
			if n > 1 {
				// [.., n, ..] → [.., n, 1, ..] ++ fill [.., n, interior, ..] → [.., n·(1+interior), ..] → cut the tail.
				expanded := slices.Insert(slices.Clone(s.Dimensions), axis+1, 1)
				if x, err = b.Reshape(x, expanded...); err != nil {
					return nil, err
				}
				fillDims := slices.Clone(expanded)
				fillDims[axis+1] = cfg.Interior
				f, err := b.fill(fillValue, fillDims)
				if err != nil {
					return nil, err
				}
				if x, err = b.Concatenate(axis+1, x, f); err != nil {
					return nil, err
				}
				merged := slices.Clone(s.Dimensions)
				merged[axis] = n * (1 + cfg.Interior)
				if x, err = b.Reshape(x, merged...); err != nil {
					return nil, err
				}
				if x, err = b.slice1(x, axis, 0, n+(n-1)*cfg.Interior, 1); err != nil {
					return nil, err
				}
			}
		}
		n := b.shape(x).Dimensions[axis]
		if cfg.Start < 0 || cfg.End < 0 {
			lo, hi := max(0, -cfg.Start), n-max(0, -cfg.End)
			if hi < lo {
				return nil, fmt.Errorf("Pad: axis %d of size %d cut by %d and %d", axis, n, -cfg.Start, -cfg.End)
			}
			if x, err = b.slice1(x, axis, lo, hi, 1); err != nil {
				return nil, err
			}
		}
		parts := []backends.Op{x}
		for i, k := range []int{cfg.Start, cfg.End} {
			if k <= 0 {
				continue
			}
			dims := slices.Clone(b.shape(x).Dimensions)
			dims[axis] = k
			f, err := b.fill(fillValue, dims)
			if err != nil {
				return nil, err
			}
			if i == 0 {
				parts = append([]backends.Op{f}, parts...)
			} else {
				parts = append(parts, f)
			}
		}
		if len(parts) > 1 {
			if x, err = b.Concatenate(axis, parts...); err != nil {
				return nil, err
			}
		}
	}
	return x, nil
}

// SelectAndScatterMax scatters source onto the first maximum of each (non-overlapping) window of operand.
func (b *cpuBuilder) SelectAndScatterMax(operand, source backends.Op, windowDimensions, windowStrides []int, paddings [][2]int) (backends.Op, error) {
	return b.selectAndScatterOp("SelectAndScatterMax", operand, source, windowDimensions, windowStrides, paddings, true)
}

// SelectAndScatterMin scatters source onto the first minimum of each (non-overlapping) window of operand.
func (b *cpuBuilder) SelectAndScatterMin(operand, source backends.Op, windowDimensions, windowStrides []int, paddings [][2]int) (backends.Op, error) {
	return b.selectAndScatterOp("SelectAndScatterMin", operand, source, windowDimensions, windowStrides, paddings, false)
}

func (b *cpuBuilder) selectAndScatterOp(name string, operand, source backends.Op, window, strides []int,
	paddings [][2]int, isMax bool) (backends.Op, error) {
	if op, ok, err := b.recordComposite(name, []backends.Op{operand, source}, []any{window, strides, paddings},
		func(c *cpuBuilder, in []backends.Op) (backends.Op, error) {
			return c.selectAndScatter(in[0], in[1], window, strides, paddings, isMax)
		}); ok {
		return op, err
	}
	return b.selectAndScatter(operand, source, window, strides, paddings, isMax)
}

func (b *cpuBuilder) selectAndScatter(operand, source backends.Op, window, strides []int, paddings [][2]int, isMax bool) (backends.Op, error) {
	s := b.shape(operand)
	rank := s.Rank()
	if len(strides) == 0 {
		strides = window
	}
	for i := range rank {
		if window[i] != strides[i] || s.Dimensions[i]%window[i] != 0 || (len(paddings) > 0 && paddings[i] != [2]int{}) {
			return nil, fmt.Errorf("SelectAndScatter (cpu backend): only non-overlapping, unpadded windows that tile "+
				"the operand are supported; got operand %v, window %v, strides %v, paddings %v", s.Dimensions, window, strides, paddings)
		}
	}
	// operand [d0, d1, …] → [d0/w0, w0, d1/w1, w1, …] → [d0/w0, d1/w1, …, w0, w1, …] → [blocks…, k] with k = Πw.
	split := make([]int, 0, 2*rank)
	for i, d := range s.Dimensions {
		split = append(split, d/window[i], window[i])
	}
	perm := make([]int, 0, 2*rank)
	for i := range rank {
		perm = append(perm, 2*i)
	}
	for i := range rank {
		perm = append(perm, 2*i+1)
	}
	blocks := make([]int, rank)
	k := 1
	for i := range rank {
		blocks[i] = s.Dimensions[i] / window[i]
		k *= window[i]
	}
	x, err := b.Reshape(operand, split...)
	if err != nil {
		return nil, err
	}
	if x, err = b.Transpose(x, perm...); err != nil {
		return nil, err
	}
	if x, err = b.Reshape(x, append(slices.Clone(blocks), k)...); err != nil {
		return nil, err
	}
	parts, err := b.scatterToExtremes(x, source, s.DType, blocks, k, isMax)
	if err != nil {
		return nil, err
	}
	// Back to the operand's layout: [blocks…, k] → [blocks…, w…] → interleave → operand shape.
	y, err := b.Concatenate(rank, parts...)
	if err != nil {
		return nil, err
	}
	if y, err = b.Reshape(y, append(slices.Clone(blocks), window...)...); err != nil {
		return nil, err
	}
	inv := make([]int, 2*rank)
	for i, p := range perm {
		inv[p] = i
	}
	if y, err = b.Transpose(y, inv...); err != nil {
		return nil, err
	}
	return b.Reshape(y, s.Dimensions...)
}

// scatterToExtremes takes the windows x [blocks…, k] and returns, for each of the k window positions, source where
// that position is the window's first maximum (minimum) and zero elsewhere, as [blocks…, 1].
func (b *cpuBuilder) scatterToExtremes(x, source backends.Op, dtype dtypes.DType, blocks []int, k int, isMax bool) ([]backends.Op, error) {
	rank := len(blocks)
	var extreme backends.Op
	var err error
	if isMax {
		extreme, err = b.ReduceMax(x, rank)
	} else {
		extreme, err = b.ReduceMin(x, rank)
	}
	if err != nil {
		return nil, err
	}
	zero, err := b.zero(dtype)
	if err != nil {
		return nil, err
	}
	zeros, err := b.fill(zero, blocks)
	if err != nil {
		return nil, err
	}
	// Walk the k window positions; the first that equals the extreme takes the source value.
	var taken backends.Op
	parts := make([]backends.Op, k)
	for p := range k {
		xp, err := b.slice1(x, rank, p, p+1, 1)
		if err != nil {
			return nil, err
		}
		if xp, err = b.Reshape(xp, blocks...); err != nil {
			return nil, err
		}
		hit, err := b.Equal(xp, extreme)
		if err != nil {
			return nil, err
		}
		if taken != nil {
			notTaken, err := b.LogicalNot(taken)
			if err != nil {
				return nil, err
			}
			if hit, err = b.LogicalAnd(hit, notTaken); err != nil {
				return nil, err
			}
			if taken, err = b.LogicalOr(taken, hit); err != nil {
				return nil, err
			}
		} else {
			taken = hit
		}
		if parts[p], err = b.Where(hit, source, zeros); err != nil {
			return nil, err
		}
		if parts[p], err = b.Reshape(parts[p], append(slices.Clone(blocks), 1)...); err != nil {
			return nil, err
		}
	}
	return parts, nil
}

// ConvGeneral runs the convolution as a kernel of the executor (im2col and one BLAS product), or as the pure-Go
// backend's own convolution (grouped convolutions, other dtypes, and the tests' reference).
func (b *cpuBuilder) ConvGeneral(input, kernel backends.Op, axes backends.ConvolveAxesConfig, strides []int,
	paddings [][2]int, inputDilations, kernelDilations []int, channelGroupCount, batchGroupCount int) (backends.Op, error) {
	rank := len(axes.InputSpatial)
	strides, inputDilations, kernelDilations = onesFor(rank, strides), onesFor(rank, inputDilations), onesFor(rank, kernelDilations)
	if paddings == nil {
		paddings = make([][2]int, rank)
	}
	grouped := max(channelGroupCount, 1) > 1 || max(batchGroupCount, 1) > 1
	dtype := b.shape(input).DType
	if !b.native && !grouped && (dtype == dtypes.Float32 || dtype == dtypes.Float64) {
		return b.recordConv(input, kernel, axes, strides, paddings, inputDilations, kernelDilations)
	}
	return b.Builder.ConvGeneral(input, kernel, axes, strides, paddings, inputDilations, kernelDilations,
		channelGroupCount, batchGroupCount)
}

// recordConv records the convolution as one kernel of the executor (kernel_conv.go), with the pure-Go convolution
// as the fallback of the segment executor.
func (b *cpuBuilder) recordConv(input, kernel backends.Op, axes backends.ConvolveAxesConfig, strides []int,
	paddings [][2]int, inputDilations, kernelDilations []int) (backends.Op, error) {
	k := &convKernel{axes: axes.Clone(), strides: strides, paddings: slices.Clone(paddings),
		inputDilations: inputDilations, kernelDilations: kernelDilations, in: b.shape(input), kern: b.shape(kernel)}
	op, err := b.Builder.(*recorder).recordKernel("ConvGeneral", []backends.Op{input, kernel}, k,
		func(sb backends.Builder, in []backends.Op) (backends.Op, error) {
			return sb.ConvGeneral(in[0], in[1], axes, strides, paddings, inputDilations, kernelDilations, 1, 1)
		})
	if err != nil {
		return nil, err
	}
	k.out = b.shape(op)
	return op, nil
}

// onesFor is v with missing or non-positive entries set to 1, of length rank.
func onesFor(rank int, v []int) []int {
	out := make([]int, rank)
	for i := range out {
		out[i] = 1
		if i < len(v) && v[i] > 0 {
			out[i] = v[i]
		}
	}
	return out
}

func (b *cpuBuilder) transposeIfNeeded(x backends.Op, perm []int) (backends.Op, error) {
	for i, p := range perm {
		if i != p {
			return b.Transpose(x, perm...)
		}
	}
	return x, nil
}
