package backend

import (
	"runtime"
	"sync"
	"unsafe"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/shapes"

	"github.com/robustvision/cotrain/pkg/backend/internal/simd"
)

// convKernel executes one ConvGeneral (no feature or batch groups) as im2col + one BLAS matrix product.
//
// It serves the forward convolutions and both convolutions of their gradients, so it handles any axes layout,
// strides, paddings (negative too), input dilations and kernel dilations: output position o and kernel position k
// read the dilated, padded input at o·stride + k·kernelDilation − paddingLow, which is an input element when it falls
// on a multiple of the input dilation inside the input, and zero otherwise. The patches [batch·outputs, kernel·Cin]
// are gathered in parallel (contiguous copies when channels are the input's last axis), multiplied by the kernel as a
// [kernel·Cin, Cout] matrix, and the product is written straight into the output when the output is laid out
// [batch, spatial…, channels] (scattered otherwise).
type convKernel struct {
	axes            backends.ConvolveAxesConfig
	strides         []int
	paddings        [][2]int
	inputDilations  []int
	kernelDilations []int
	in, kern, out   shapes.Shape

	planOnce sync.Once
	plan     *convRunPlan // the fast path (kernel_conv_runs.go), or nil
}

func (c *convKernel) run(in []unsafe.Pointer, out unsafe.Pointer) {
	c.planOnce.Do(func() {
		if !convGeneralOnly {
			c.plan = c.runPlan()
		}
	})
	nx, nk, no := c.in.Size(), c.kern.Size(), c.out.Size()
	switch c.in.DType {
	case dtypes.Float32:
		x, k, o := sl[float32](in[0], nx), sl[float32](in[1], nk), sl[float32](out, no)
		if c.plan != nil {
			convolveRuns(c, c.plan, x, k, o, narrowOrBLAS, sgemmT)
		} else {
			convolveGeneral(c, x, k, o, gemm32)
		}
	case dtypes.Float64:
		x, k, o := sl[float64](in[0], nx), sl[float64](in[1], nk), sl[float64](out, no)
		if c.plan != nil {
			convolveRuns(c, c.plan, x, k, o, dgemm, dgemmT)
		} else {
			convolveGeneral(c, x, k, o, gemm64)
		}
	}
}

// narrowOrBLAS multiplies on internal/simd's narrow products when the product has 4, 8 or 16 columns (the
// convolutions with few output channels, where BLAS is slowest) and on BLAS otherwise.
func narrowOrBLAS(m, n, k int, a, b, c []float32) {
	if !simd.NarrowProduct(m, n, k, a, b, c) {
		sgemm(m, n, k, a, b, c)
	}
}

// convGeneralOnly turns the fast paths off (tests compare both paths).
var convGeneralOnly = false

// rowMajorStrides returns the element strides of each axis of a row-major array.
func rowMajorStrides(dims []int) []int {
	s := make([]int, len(dims))
	acc := 1
	for i := len(dims) - 1; i >= 0; i-- {
		s[i] = acc
		acc *= dims[i]
	}
	return s
}

// scratch recycles the patch and product matrices between executions.
var scratch32, scratch64 sync.Pool

func getScratch[T float32 | float64](n int) *[]T {
	var p any
	var zero T
	if _, ok := any(zero).(float32); ok {
		p = scratch32.Get()
	} else {
		p = scratch64.Get()
	}
	if s, ok := p.(*[]T); ok && cap(*s) >= n {
		*s = (*s)[:n]
		return s
	}
	s := make([]T, n)
	return &s
}

func putScratch[T float32 | float64](s *[]T) {
	var zero T
	if _, ok := any(zero).(float32); ok {
		scratch32.Put(s)
	} else {
		scratch64.Put(s)
	}
}

// convolveGeneral is the general im2col path: any dilation or padding, the patches gathered element-run by element-run
// and multiplied in one product.
func convolveGeneral[T float32 | float64](c *convKernel, x, kern, out []T, gemm func(m, n, k int, a, b, c []T)) {
	ax := c.axes
	rank := len(ax.InputSpatial)
	g := c.generalGeometry()
	// An input whose channels are not contiguous (the kernel-gradient convolutions, whose "channels" are the batch) is
	// first copied to [batch, spatial…, channels], so that every patch row is gathered with contiguous copies.
	if g.sC != 1 && g.cin > 1 {
		perm := append(append([]int{ax.InputBatch}, ax.InputSpatial...), ax.InputChannels)
		tp := getScratch[T](len(x))
		defer putScratch(tp)
		transposeInto(*tp, x, c.in.Dimensions, perm)
		x = *tp
		permDims := make([]int, len(perm))
		for i, a := range perm {
			permDims[i] = c.in.Dimensions[a]
		}
		ps := rowMajorStrides(permDims)
		g.sB, g.sC = ps[0], 1
		copy(g.spatialStr, ps[1:rank+1])
	}
	g.offsets = c.inputOffsets(g.spatialStr)
	m, kk, n := g.batch*g.numO, g.numK*g.cin, g.cout
	patchesP := getScratch[T](m * kk)
	defer putScratch(patchesP)
	var wg sync.WaitGroup
	gatherPatches(g, x, *patchesP, &wg)
	weightsP := getScratch[T](kk * n)
	defer putScratch(weightsP)
	kernelMatrix(c, g, kern, *weightsP)
	wg.Wait()

	// Output laid out [batch, spatial…, channels] in that order: the product is the output.
	direct := ax.OutputBatch == 0 && ax.OutputChannels == rank+1
	for d := range rank {
		direct = direct && ax.OutputSpatial[d] == d+1
	}
	if direct {
		gemm(m, n, kk, *patchesP, *weightsP, out)
		return
	}
	productP := getScratch[T](m * n)
	defer putScratch(productP)
	gemm(m, n, kk, *patchesP, *weightsP, *productP)
	scatterOutput(c, g, *productP, out)
}

// generalGeometry is the shape of one general convolution: sizes, element strides, and which input offset each
// (output, kernel) position pair reads.
type generalGeometry struct {
	batch, cin, cout int
	ksz, osz         []int
	numK, numO       int
	sB, sC           int   // the input's batch and channel strides
	spatialStr       []int // the input's spatial strides
	offsets          [][]int
}

func (c *convKernel) generalGeometry() *generalGeometry {
	ax := c.axes
	rank := len(ax.InputSpatial)
	inDims, kDims, outDims := c.in.Dimensions, c.kern.Dimensions, c.out.Dimensions
	inStr := rowMajorStrides(inDims)
	g := &generalGeometry{batch: inDims[ax.InputBatch], cin: inDims[ax.InputChannels], cout: kDims[ax.KernelOutputChannels],
		ksz: make([]int, rank), osz: make([]int, rank), numK: 1, numO: 1, sB: inStr[ax.InputBatch],
		sC: inStr[ax.InputChannels], spatialStr: make([]int, rank)}
	for d := range rank {
		g.ksz[d], g.osz[d] = kDims[ax.KernelSpatial[d]], outDims[ax.OutputSpatial[d]]
		g.numK *= g.ksz[d]
		g.numO *= g.osz[d]
		g.spatialStr[d] = inStr[ax.InputSpatial[d]]
	}
	return g
}

// inputOffsets[d][o·ksz[d]+k] is the input offset along spatial axis d read by output o and kernel position k, or −1
// where it falls in the padding or between dilated inputs.
func (c *convKernel) inputOffsets(spatialStr []int) [][]int {
	ax := c.axes
	rank := len(ax.InputSpatial)
	offsets := make([][]int, rank)
	for d := range rank {
		ksz, osz := c.kern.Dimensions[ax.KernelSpatial[d]], c.out.Dimensions[ax.OutputSpatial[d]]
		offsets[d] = make([]int, osz*ksz)
		for o := range osz {
			for k := range ksz {
				pos := o*c.strides[d] + k*c.kernelDilations[d] - c.paddings[d][0]
				off := -1
				if pos >= 0 && pos%c.inputDilations[d] == 0 {
					if p := pos / c.inputDilations[d]; p < c.in.Dimensions[ax.InputSpatial[d]] {
						off = p * spatialStr[d]
					}
				}
				offsets[d][o*ksz+k] = off
			}
		}
	}
	return offsets
}

// gatherPatches fills patches [batch·numO, numK·cin] from x, rows split among the cores; wg says when it is done.
func gatherPatches[T float32 | float64](g *generalGeometry, x, patches []T, wg *sync.WaitGroup) {
	rank := len(g.ksz)
	m, kk := g.batch*g.numO, g.numK*g.cin
	workers := min(runtime.GOMAXPROCS(0), max(1, m/64))
	for w := range workers {
		lo, hi := m*w/workers, m*(w+1)/workers
		wg.Add(1)
		go func() {
			defer wg.Done()
			oIdx, kIdx := make([]int, rank), make([]int, rank)
			for row := lo; row < hi; row++ {
				b, rest := row/g.numO, row%g.numO
				for d := rank - 1; d >= 0; d-- {
					oIdx[d], rest = rest%g.osz[d], rest/g.osz[d]
				}
				dst := patches[row*kk : (row+1)*kk]
				clear(kIdx)
				for kp := range g.numK {
					off, ok := b*g.sB, true
					for d := range rank {
						t := g.offsets[d][oIdx[d]*g.ksz[d]+kIdx[d]]
						if t < 0 {
							ok = false
							break
						}
						off += t
					}
					seg := dst[kp*g.cin : (kp+1)*g.cin]
					switch {
					case !ok:
						clear(seg)
					case g.sC == 1:
						copy(seg, x[off:off+g.cin])
					default:
						for ci := range seg {
							seg[ci] = x[off+ci*g.sC]
						}
					}
					nextIndex(kIdx, g.ksz)
				}
			}
		}()
	}
}

// nextIndex advances a row-major multi-index over sizes.
func nextIndex(idx, sizes []int) {
	for d := len(idx) - 1; d >= 0; d-- {
		if idx[d]++; idx[d] < sizes[d] {
			return
		}
		idx[d] = 0
	}
}

// kernelMatrix writes the kernel as a [numK·cin, cout] matrix, in the patches' (kernel position, channel) order.
func kernelMatrix[T float32 | float64](c *convKernel, g *generalGeometry, kern, weights []T) {
	ax := c.axes
	kStr := rowMajorStrides(c.kern.Dimensions)
	n := g.cout
	kIdx := make([]int, len(g.ksz))
	for kp := range g.numK {
		base := 0
		for d := range kIdx {
			base += kIdx[d] * kStr[ax.KernelSpatial[d]]
		}
		for ci := range g.cin {
			row := weights[(kp*g.cin+ci)*n : (kp*g.cin+ci+1)*n]
			at := base + ci*kStr[ax.KernelInputChannels]
			for co := range row {
				row[co] = kern[at+co*kStr[ax.KernelOutputChannels]]
			}
		}
		nextIndex(kIdx, g.ksz)
	}
}

// scatterOutput moves the product [batch·numO, cout] into the output's own axis order.
func scatterOutput[T float32 | float64](c *convKernel, g *generalGeometry, product, out []T) {
	ax := c.axes
	rank := len(g.osz)
	outStr := rowMajorStrides(c.out.Dimensions)
	n := g.cout
	oIdx := make([]int, rank)
	for row := range g.batch * g.numO {
		b, rest := row/g.numO, row%g.numO
		base := b * outStr[ax.OutputBatch]
		for d := rank - 1; d >= 0; d-- {
			oIdx[d], rest = rest%g.osz[d], rest/g.osz[d]
			base += oIdx[d] * outStr[ax.OutputSpatial[d]]
		}
		src := product[row*n : (row+1)*n]
		sOut := outStr[ax.OutputChannels]
		for co, v := range src {
			out[base+co*sOut] = v
		}
	}
}

// gemm32 sets c = a × b for row-major a [m, k], b [k, n], c [m, n].
func gemm32(m, n, k int, a, b, c []float32) { parallelGemm(m, n, k, a, b, c, sgemm) }

// gemm64 sets c = a × b for row-major a [m, k], b [k, n], c [m, n].
func gemm64(m, n, k int, a, b, c []float64) { parallelGemm(m, n, k, a, b, c, dgemm) }

// parallelGemm sets c = a × b (row-major a [m, k], b [k, n], c [m, n]) in fixed blocks of gemmRows rows (or, for
// few rows, gemmCols columns), the blocks spread over the cores. The blocks do not depend on the number of cores:
// OpenBLAS computes an element of a block with a kernel chosen by the element's place in the block, so blocks cut
// by the core count would change the results in their last bits with GOMAXPROCS (measured; TestDeterministicAcrossThreads).
func parallelGemm[T float32 | float64](m, n, k int, a, b, c []T, gemm func(m, n, k int, a, b, c []T)) {
	switch {
	case m == 0 || n == 0:
		return
	case k == 0:
		clear(c[:m*n])
		return
	case m*n*k < 1<<16:
		gemm(m, n, k, a, b, c)
		return
	}
	const gemmRows, gemmCols = 64, 64
	if m >= 2*gemmRows {
		blocks := (m + gemmRows - 1) / gemmRows
		parallelFor(blocks, 1, func(_, lo, hi int) {
			for blk := lo; blk < hi; blk++ {
				r0, r1 := blk*gemmRows, min(m, (blk+1)*gemmRows)
				gemm(r1-r0, n, k, a[r0*k:r1*k], b, c[r0*n:r1*n])
			}
		})
		return
	}
	// Few rows (the kernel-gradient convolutions): bands of columns; each band is a strided view of b and c, so it
	// goes through a contiguous copy.
	if n < 2*gemmCols {
		gemm(m, n, k, a, b, c)
		return
	}
	bands := (n + gemmCols - 1) / gemmCols
	parallelFor(bands, 1, func(_, lo, hi int) {
		for band := lo; band < hi; band++ {
			c0, c1 := band*gemmCols, min(n, (band+1)*gemmCols)
			nb := c1 - c0
			bb, cc := make([]T, k*nb), make([]T, m*nb)
			for i := range k {
				copy(bb[i*nb:(i+1)*nb], b[i*n+c0:i*n+c1])
			}
			gemm(m, nb, k, a, bb, cc)
			for i := range m {
				copy(c[i*n+c0:i*n+c1], cc[i*nb:(i+1)*nb])
			}
		}
	})
}

// transposeInto writes x (row-major with dimensions dims) into dst with its axes permuted: dst's axis i is x's axis
// perm[i].
func transposeInto[T float32 | float64](dst, x []T, dims, perm []int) {
	rank := len(dims)
	str := rowMajorStrides(dims)
	pDims, pStr := make([]int, rank), make([]int, rank)
	for i, a := range perm {
		pDims[i], pStr[i] = dims[a], str[a]
	}
	inner := pDims[rank-1]
	outer := len(x) / max(inner, 1)
	idx := make([]int, rank-1)
	for row := range outer {
		base := 0
		for d := range rank - 1 {
			base += idx[d] * pStr[d]
		}
		out := dst[row*inner : (row+1)*inner]
		step := pStr[rank-1]
		for i := range out {
			out[i] = x[base+i*step]
		}
		for d := rank - 2; d >= 0; d-- {
			if idx[d]++; idx[d] < pDims[d] {
				break
			}
			idx[d] = 0
		}
	}
}
