package backend

import (
	"slices"
	"unsafe"
)

// The convolution kernel's fast paths (no input or kernel dilation, no negative padding: every convolution of the
// paper's networks and of their gradients).
//
// The input is read as a canonical array [outer, spatial…, inner] (copied into that order first only when its axes
// are in another order): along the last spatial axis the kernel's taps read one contiguous run of taps × channels
// elements, the part of a run that falls in the padding is zero-filled, and padding is never materialized. The
// patch matrix is never built whole: each core gathers a tile of rows small enough to stay in its cache and
// multiplies it at once.
//
//   - forward (and input-gradient) convolutions: row = output position (b, o…), columns = (k…, c), element
//     x[b, o·stride + k, c]; output rows = tile × kernel matrix [k…·Cin, Cout];
//   - kernel-gradient convolutions (GoMLX's VJP convolves the input with the output gradient as the "kernel": the
//     kernel's spatial extent is the image, the output's is the filter): row = (b, h, w), columns = (tap…, c),
//     element x[b, h + tap·stride, c]; the result [taps·Cin, Cout] = Σ tiles tileᵀ × gradient rows. The tiles are
//     split into four fixed lanes summed in order, so the result does not depend on the thread count.

// convRunPlan is what the fast paths need, computed once per kernel.
type convRunPlan struct {
	dual         bool
	outer, inner int   // the canonical input's outer and inner sizes (batch and channels; swapped in the dual)
	cdims        []int // canonical input [outer, S…, inner]
	lo           []int // low padding per spatial axis
	srcAxes      []int // input axes of outer, spatial…, inner
	canonical    bool  // the input's axes are already in canonical order (no copy)
	rowDims      []int // spatial positions that index the patch rows (after outer)
	tapDims      []int // spatial positions that index the patch columns (before inner)
	alpha, beta  []int // element = xp[a, row_d·alpha_d + tap_d·beta_d, c]
	rows, cols   int
	prefixes     [][]int // tap positions over all spatial axes but the last (tapPrefixes)
}

// runPlan returns the fast-path plan for c, or nil when the general path must run.
func (c *convKernel) runPlan() *convRunPlan {
	ax := c.axes
	rank := len(ax.InputSpatial)
	if rank == 0 {
		return nil
	}
	for d := range rank {
		if c.inputDilations[d] != 1 || c.kernelDilations[d] != 1 || c.paddings[d][0] < 0 || c.paddings[d][1] < 0 {
			return nil
		}
	}
	inDims, kDims := c.in.Dimensions, c.kern.Dimensions
	ksz, osz := make([]int, rank), make([]int, rank)
	numK, numO := 1, 1
	for d := range rank {
		ksz[d], osz[d] = kDims[ax.KernelSpatial[d]], c.out.Dimensions[ax.OutputSpatial[d]]
		numK *= ksz[d]
		numO *= osz[d]
	}
	p := &convRunPlan{lo: make([]int, rank)}
	for d := range rank {
		p.lo[d] = c.paddings[d][0]
	}
	seq := func(from, n int) []int {
		out := make([]int, n)
		for i := range out {
			out[i] = from + i
		}
		return out
	}
	if numK > numO {
		// The dual: it needs the layouts of GoMLX's kernel-gradient convolution (input [IC, S…, OB], kernel
		// [IC, K…, OC], output [O…, OB, OC]), so that the gradient and the result need no reordering.
		if ax.InputChannels != 0 || !slices.Equal(ax.InputSpatial, seq(1, rank)) || ax.InputBatch != rank+1 ||
			ax.KernelInputChannels != 0 || !slices.Equal(ax.KernelSpatial, seq(1, rank)) ||
			ax.KernelOutputChannels != rank+1 || !slices.Equal(ax.OutputSpatial, seq(0, rank)) ||
			ax.OutputBatch != rank || ax.OutputChannels != rank+1 {
			return nil
		}
		p.dual = true
		p.srcAxes = append(append([]int{ax.InputChannels}, ax.InputSpatial...), ax.InputBatch)
		p.rowDims, p.tapDims = ksz, osz
		p.alpha, p.beta = make([]int, rank), slices.Clone(c.strides)
		for d := range rank {
			p.alpha[d] = 1
		}
	} else {
		p.srcAxes = append(append([]int{ax.InputBatch}, ax.InputSpatial...), ax.InputChannels)
		p.rowDims, p.tapDims = osz, ksz
		p.alpha, p.beta = slices.Clone(c.strides), make([]int, rank)
		for d := range rank {
			p.beta[d] = 1
		}
	}
	p.outer, p.inner = inDims[p.srcAxes[0]], inDims[p.srcAxes[rank+1]]
	p.cdims = make([]int, rank+2)
	for i, a := range p.srcAxes {
		p.cdims[i] = inDims[a]
	}
	p.canonical = slices.Equal(p.srcAxes, seq(0, rank+2))
	numRow, numTap := 1, 1
	for d := range rank {
		numRow *= p.rowDims[d]
		numTap *= p.tapDims[d]
	}
	p.rows, p.cols = p.outer*numRow, numTap*p.inner
	p.prefixes = tapPrefixes(p)
	return p
}

// reorder copies x (dims inDims) into the canonical array dst (dims p.cdims).
func reorder[T float32 | float64](p *convRunPlan, dst, x []T, inDims []int) {
	transposeInto(dst, x, inDims, p.srcAxes)
}

// gatherRows fills the patch rows [r0, r1) into dst (row-major, p.cols columns) from the canonical input x: row r
// is (a, pos…), column (tap…, c), element x[a, pos_d·alpha_d + tap_d·beta_d − lo_d, c], zero outside the input.
func gatherRows[T float32 | float64](p *convRunPlan, dst, x []T, r0, r1 int, prefixes [][]int) {
	if len(p.rowDims) == 2 && p.beta[1] == 1 {
		gatherRows2D(p, dst, x, r0, r1)
		return
	}
	rank := len(p.rowDims)
	xs := rowMajorStrides(p.cdims)
	last := rank - 1
	runTaps, inLast := p.tapDims[last], p.cdims[rank]
	perRow := 1
	for _, d := range p.rowDims {
		perRow *= d
	}
	pos := make([]int, rank)
	for r := r0; r < r1; r++ {
		a, rest := r/perRow, r%perRow
		for d := last; d >= 0; d-- {
			pos[d], rest = rest%p.rowDims[d], rest/p.rowDims[d]
		}
		row := dst[(r-r0)*p.cols : (r-r0+1)*p.cols]
		q0 := pos[last]*p.alpha[last] - p.lo[last] // input position of tap 0 along the last axis
		at := 0
		for _, taps := range prefixes {
			seg := row[at : at+runTaps*p.inner]
			at += len(seg)
			off, inside := a*xs[0], true
			for d, t := range taps {
				q := pos[d]*p.alpha[d] + t*p.beta[d] - p.lo[d]
				if q < 0 || q >= p.cdims[d+1] {
					inside = false
					break
				}
				off += q * xs[d+1]
			}
			if !inside {
				clear(seg)
				continue
			}
			if p.beta[last] == 1 { // taps along the last axis are adjacent: one run, clipped to the input
				lo, hi := max(0, -q0), min(runTaps, inLast-q0)
				if hi <= lo {
					clear(seg)
					continue
				}
				clear(seg[:lo*p.inner])
				copyRun(seg[lo*p.inner:hi*p.inner], x[off+(q0+lo)*p.inner:off+(q0+hi)*p.inner])
				clear(seg[hi*p.inner:])
				continue
			}
			for t := range runTaps {
				cell := seg[t*p.inner : (t+1)*p.inner]
				if q := q0 + t*p.beta[last]; q >= 0 && q < inLast {
					copyRun(cell, x[off+q*p.inner:off+(q+1)*p.inner])
				} else {
					clear(cell)
				}
			}
		}
	}
}

// gatherRows2D is gatherRows for images (two spatial axes, taps adjacent along the second): it walks the patch rows
// along output rows, so that each (patch row, kernel row) is one bounds test and one run copy.
func gatherRows2D[T float32 | float64](p *convRunPlan, dst, x []T, r0, r1 int) {
	H, W := p.rowDims[0], p.rowDims[1]
	kH, kW := p.tapDims[0], p.tapDims[1]
	inH, inW, C := p.cdims[1], p.cdims[2], p.inner
	rowStride := inW * C
	imgStride := inH * rowStride
	run := kW * C
	for r := r0; r < r1; {
		a, rest := r/(H*W), r%(H*W)
		oh, ow := rest/W, rest%W
		n := min(W-ow, r1-r) // the patch rows left in this output row
		ih0 := oh*p.alpha[0] - p.lo[0]
		for i := range n {
			row := dst[(r-r0+i)*p.cols:][:p.cols]
			q0 := (ow+i)*p.alpha[1] - p.lo[1]
			interior := q0 >= 0 && q0+kW <= inW
			for kh := range kH {
				seg := row[kh*run:][:run]
				ih := ih0 + kh*p.beta[0]
				if ih < 0 || ih >= inH {
					clear(seg)
					continue
				}
				base := a*imgStride + ih*rowStride
				if interior {
					copyRun(seg, x[base+q0*C:][:run])
					continue
				}
				lo, hi := max(0, -q0), min(kW, inW-q0)
				if hi <= lo {
					clear(seg)
					continue
				}
				clear(seg[:lo*C])
				copyRun(seg[lo*C:hi*C], x[base+(q0+lo)*C:base+(q0+hi)*C])
				clear(seg[hi*C:])
			}
		}
		r += n
	}
}

// copyRun copies src into dst. The runs of a convolution's patches are short (taps × channels); the common lengths
// are copied as fixed-size blocks (a few vector moves), others element by element or, when long, by memmove.
func copyRun[T float32 | float64](dst, src []T) {
	n := len(dst)
	if n == 0 {
		return
	}
	src = src[:n]
	d, s := unsafe.Pointer(&dst[0]), unsafe.Pointer(&src[0])
	switch uintptr(n) * unsafe.Sizeof(dst[0]) {
	case 12:
		*(*[12]byte)(d) = *(*[12]byte)(s)
	case 24:
		*(*[24]byte)(d) = *(*[24]byte)(s)
	case 48:
		*(*[48]byte)(d) = *(*[48]byte)(s)
	case 96:
		*(*[96]byte)(d) = *(*[96]byte)(s)
	case 192:
		*(*[192]byte)(d) = *(*[192]byte)(s)
	case 384:
		*(*[384]byte)(d) = *(*[384]byte)(s)
	default:
		if n > 16 {
			copy(dst, src)
			return
		}
		for i := range dst {
			dst[i] = src[i]
		}
	}
}

// tapPrefixes lists the tap positions over all spatial axes but the last, in row-major order.
func tapPrefixes(p *convRunPlan) [][]int {
	rank := len(p.tapDims)
	out := [][]int{{}}
	for d := range rank - 1 {
		var next [][]int
		for _, pre := range out {
			for t := range p.tapDims[d] {
				next = append(next, append(slices.Clone(pre), t))
			}
		}
		out = next
	}
	return out
}

// convolveRuns runs a convolution on the fast path.
func convolveRuns[T float32 | float64](c *convKernel, p *convRunPlan, x, kern, out []T,
	gemm func(m, n, k int, a, b, c []T), gemmT func(m, n, k int, a, b []T, beta T, c []T)) {
	xp := x
	if !p.canonical {
		buf := getScratch[T](len(x))
		defer putScratch(buf)
		xp = *buf
		reorder(p, xp, x, c.in.Dimensions)
	}
	tapOff := p.prefixes
	es := 4
	var zero T
	if _, ok := any(zero).(float64); ok {
		es = 8
	}
	// Tiles of about 512 KiB of patches (at least 16 rows).
	tile := max(16, (512<<10)/(p.cols*es))
	tiles := (p.rows + tile - 1) / tile
	if p.dual {
		convolveDual(c, p, xp, kern, out, tapOff, tile, tiles, gemmT)
		return
	}
	cout := c.kern.Dimensions[c.axes.KernelOutputChannels]
	weights := convWeights(c, kern)
	defer putScratch(weights)
	direct := c.outputIsCanonical()
	parallelFor(tiles, 1, func(_, lo, hi int) {
		patches := getScratch[T](tile * p.cols)
		defer putScratch(patches)
		var product *[]T
		if !direct {
			product = getScratch[T](tile * cout)
			defer putScratch(product)
		}
		for t := lo; t < hi; t++ {
			r0, r1 := t*tile, min(p.rows, (t+1)*tile)
			a := (*patches)[:(r1-r0)*p.cols]
			if len(tapOff) == 1 && p.tapDims[len(p.tapDims)-1] == 1 && c.stridesAreOne() && c.unpadded() {
				a = xp[r0*p.cols : r1*p.cols] // a 1×1 convolution: the input rows are the patches
			} else {
				gatherRows(p, a, xp, r0, r1, tapOff)
			}
			if direct {
				gemm(r1-r0, cout, p.cols, a, *weights, out[r0*cout:r1*cout])
				continue
			}
			prod := (*product)[:(r1-r0)*cout]
			gemm(r1-r0, cout, p.cols, a, *weights, prod)
			scatterRows(c, out, prod, r0, r1, cout)
		}
	})
}

// dualLanes is the number of partial sums of the kernel-gradient convolution: fixed, so that the order of the sums
// does not depend on the thread count.
const dualLanes = 4

func convolveDual[T float32 | float64](c *convKernel, p *convRunPlan, xp, kern, out []T, tapOff [][]int, tile, tiles int,
	gemmT func(m, n, k int, a, b []T, beta T, c []T)) {
	cout := c.kern.Dimensions[c.axes.KernelOutputChannels]
	m := p.cols // taps × Cin: the result's rows
	partial := getScratch[T](dualLanes * m * cout)
	defer putScratch(partial)
	parallelFor(dualLanes, 1, func(_, lo, hi int) {
		patches := getScratch[T](tile * p.cols)
		defer putScratch(patches)
		for lane := lo; lane < hi; lane++ {
			acc := (*partial)[lane*m*cout : (lane+1)*m*cout]
			t0, t1 := tiles*lane/dualLanes, tiles*(lane+1)/dualLanes
			if t0 == t1 {
				clear(acc)
				continue
			}
			for t := t0; t < t1; t++ {
				r0, r1 := t*tile, min(p.rows, (t+1)*tile)
				a := (*patches)[:(r1-r0)*p.cols]
				gatherRows(p, a, xp, r0, r1, tapOff)
				var beta T
				if t > t0 {
					beta = 1
				}
				gemmT(m, cout, r1-r0, a, kern[r0*cout:r1*cout], beta, acc)
			}
		}
	})
	copy(out, (*partial)[:m*cout])
	for lane := 1; lane < dualLanes; lane++ {
		acc := (*partial)[lane*m*cout : (lane+1)*m*cout]
		for i := range out {
			out[i] += acc[i]
		}
	}
}

// convWeights returns the kernel as a [numK·Cin, Cout] matrix in the patches' (kernel position, channel) order.
func convWeights[T float32 | float64](c *convKernel, kern []T) *[]T {
	ax := c.axes
	rank := len(ax.InputSpatial)
	kDims := c.kern.Dimensions
	kStr := rowMajorStrides(kDims)
	cin, n := kDims[ax.KernelInputChannels], kDims[ax.KernelOutputChannels]
	numK := 1
	ksz := make([]int, rank)
	for d := range rank {
		ksz[d] = kDims[ax.KernelSpatial[d]]
		numK *= ksz[d]
	}
	wp := getScratch[T](numK * cin * n)
	weights := *wp
	kIdx := make([]int, rank)
	for kp := range numK {
		base := 0
		for d := range rank {
			base += kIdx[d] * kStr[ax.KernelSpatial[d]]
		}
		for ci := range cin {
			row := weights[(kp*cin+ci)*n : (kp*cin+ci+1)*n]
			at := base + ci*kStr[ax.KernelInputChannels]
			if kStr[ax.KernelOutputChannels] == 1 {
				copy(row, kern[at:at+n])
				continue
			}
			for co := range row {
				row[co] = kern[at+co*kStr[ax.KernelOutputChannels]]
			}
		}
		for d := rank - 1; d >= 0; d-- {
			if kIdx[d]++; kIdx[d] < ksz[d] {
				break
			}
			kIdx[d] = 0
		}
	}
	return wp
}

// outputIsCanonical reports whether the output is laid out [batch, spatial…, channels].
func (c *convKernel) outputIsCanonical() bool {
	ax := c.axes
	rank := len(ax.InputSpatial)
	direct := ax.OutputBatch == 0 && ax.OutputChannels == rank+1
	for d := range rank {
		direct = direct && ax.OutputSpatial[d] == d+1
	}
	return direct
}

func (c *convKernel) unpadded() bool {
	for _, pd := range c.paddings {
		if pd != [2]int{} {
			return false
		}
	}
	return true
}

func (c *convKernel) stridesAreOne() bool {
	for _, s := range c.strides {
		if s != 1 {
			return false
		}
	}
	return true
}

// scatterRows writes product rows [r0, r1) (each cout long, in (batch, output position) order) into an output of
// any layout.
func scatterRows[T float32 | float64](c *convKernel, out, product []T, r0, r1, cout int) {
	ax := c.axes
	rank := len(ax.InputSpatial)
	outDims := c.out.Dimensions
	outStr := rowMajorStrides(outDims)
	osz := make([]int, rank)
	numO := 1
	for d := range rank {
		osz[d] = outDims[ax.OutputSpatial[d]]
		numO *= osz[d]
	}
	oIdx := make([]int, rank)
	sOut := outStr[ax.OutputChannels]
	for row := r0; row < r1; row++ {
		b, rest := row/numO, row%numO
		base := b * outStr[ax.OutputBatch]
		for d := rank - 1; d >= 0; d-- {
			oIdx[d], rest = rest%osz[d], rest/osz[d]
			base += oIdx[d] * outStr[ax.OutputSpatial[d]]
		}
		src := product[(row-r0)*cout : (row-r0+1)*cout]
		for co, v := range src {
			out[base+co*sOut] = v
		}
	}
}
