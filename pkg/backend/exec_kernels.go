package backend

import (
	"math"
	"slices"
	"unsafe"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/shapes"

	"github.com/robustvision/cotrain/pkg/backend/internal/simd"
)

// The executor's direct kernels: reductions, max-pooling (ReduceWindow) and its gradient (SelectAndScatter),
// concatenation and iota. Each takes contiguous operands and writes its whole result.

// nativeKernelFor returns the kernel that runs node n, or nil when the executor does not run it itself. A kernel
// whose own idea of the result's size disagrees with the recorded shape is refused (the node then runs on the
// pure-Go backend): kernels write through raw pointers, so a mistake there must never reach memory.
func nativeKernelFor(n *recNode) nativeKernel {
	if len(n.outputs) != 1 {
		return nil
	}
	k, size := kernelFor(n)
	if k == nil || size != n.outputs[0].shape.Size() {
		return nil
	}
	return k
}

// kernelFor returns the kernel for node n and the number of elements it writes.
func kernelFor(n *recNode) (nativeKernel, int) {
	out := n.outputs[0].shape
	switch n.name {
	case "ReduceSum", "ReduceMax", "ReduceMin", "ReduceProduct":
		axes := n.args[0].([]int)
		if in := n.inputs[0].shape; len(axes) == 0 && out.Rank() == 0 && in.Rank() > 0 { // no axes: all of them
			for i := range in.Rank() {
				axes = append(axes, i)
			}
		}
		if k := newReduceKernel(reduceOps[n.name], n.inputs[0].shape, axes); k != nil {
			return k, k.k * k.c
		}
	case "ReduceWindow":
		if k := newPoolKernel(n.inputs[0].shape, n.args[0].(backends.ReduceOpType), n.args[1].([]int),
			n.args[2].([]int), n.args[3].([]int), n.args[4].([]int), n.args[5].([][2]int)); k != nil {
			return k, k.k * k.outH * k.outW * k.c
		}
	case "SelectAndScatterMax", "SelectAndScatterMin":
		k := newPoolKernel(n.inputs[0].shape, backends.ReduceOpMax, n.args[0].([]int), n.args[1].([]int), nil, nil,
			n.args[2].([][2]int))
		if k == nil || n.inputs[1].shape.Size() != k.k*k.outH*k.outW*k.c {
			return nil, 0
		}
		return &scatterKernel{pool: *k, isMax: n.name == "SelectAndScatterMax"}, k.k * k.h * k.w * k.c
	case "Concatenate":
		var ins []shapes.Shape
		for _, v := range n.inputs {
			ins = append(ins, v.shape)
		}
		return &concatKernel{axis: n.args[0].(int), ins: ins, out: out}, out.Size()
	case "Iota":
		if s := n.args[0].(shapes.Shape); isNumeric(s.DType) {
			return &iotaKernel{shape: s, axis: n.args[1].(int)}, s.Size()
		}
	}
	return nil, 0
}

func isNumeric(dt dtypes.DType) bool {
	return dt == dtypes.Float32 || dt == dtypes.Float64 || dt == dtypes.Int32 || dt == dtypes.Int64
}

func isFloat(dt dtypes.DType) bool { return dt == dtypes.Float32 || dt == dtypes.Float64 }

// reduceKernel reduces an operand seen as [K, R, C] over R: the reduced axes must be adjacent once axes of size 1
// are ignored (batch norm's statistics [B·H·W, C], a loss's sum over classes, a global pool).
type reduceKernel struct {
	op      backends.ReduceOpType
	dt      dtypes.DType
	k, r, c int
}

func newReduceKernel(op backends.ReduceOpType, in shapes.Shape, axes []int) *reduceKernel {
	if !isNumeric(in.DType) {
		return nil
	}
	k, r, c, phase := 1, 1, 1, 0 // phase 0: kept before, 1: reduced, 2: kept after
	for i, d := range in.Dimensions {
		if d == 1 {
			continue
		}
		reduced := slices.Contains(axes, i)
		switch {
		case reduced && phase <= 1:
			phase = 1
			r *= d
		case reduced:
			return nil // a second block of reduced axes
		case phase == 0:
			k *= d
		default:
			phase = 2
			c *= d
		}
	}
	return &reduceKernel{op: op, dt: in.DType, k: k, r: r, c: c}
}

func (k *reduceKernel) run(in []unsafe.Pointer, out unsafe.Pointer) {
	n := k.k * k.r * k.c
	switch k.dt {
	case dtypes.Float32:
		reduceRun(k, sl[float32](in[0], n), sl[float32](out, k.k*k.c), float32(math.Inf(-1)), float32(math.Inf(1)))
	case dtypes.Float64:
		reduceRun(k, sl[float64](in[0], n), sl[float64](out, k.k*k.c), math.Inf(-1), math.Inf(1))
	case dtypes.Int32:
		reduceRun(k, sl[int32](in[0], n), sl[int32](out, k.k*k.c), math.MinInt32, math.MaxInt32)
	case dtypes.Int64:
		reduceRun(k, sl[int64](in[0], n), sl[int64](out, k.k*k.c), math.MinInt64, math.MaxInt64)
	}
}

// reduceBlock is the number of elements one task reduces before its partial result is combined with the next.
const reduceBlock = 1 << 14

// reduceRun reduces x [K, R, C] over R into out [K, C]. Work is split by K when K is large, else R is cut into
// blocks of fixed size whose partial results are combined in order: the blocks depend on the shape only, so the
// result does not depend on the thread count.
func reduceRun[T numT](k *reduceKernel, x, out []T, lowest, highest T) {
	K, R, C := k.k, k.r, k.c
	var init T
	switch k.op {
	case backends.ReduceOpProduct:
		init = 1
	case backends.ReduceOpMax:
		init = lowest
	case backends.ReduceOpMin:
		init = highest
	}
	if K*R*C == 0 {
		for i := range out {
			out[i] = init
		}
		return
	}
	// Rows per block: about reduceBlock elements.
	rowsPerBlock := max(1, reduceBlock/C)
	blocks := (R + rowsPerBlock - 1) / rowsPerBlock
	if K >= 8 || blocks == 1 {
		parallelFor(K, max(1, reduceBlock/(R*C)), func(_, lo, hi int) {
			for kk := lo; kk < hi; kk++ {
				acc := out[kk*C : (kk+1)*C]
				for i := range acc {
					acc[i] = init
				}
				reduceRows(k.op, acc, x[kk*R*C:(kk+1)*R*C], C)
			}
		})
		return
	}
	partial := make([]T, K*blocks*C)
	parallelFor(K*blocks, 1, func(_, lo, hi int) {
		for t := lo; t < hi; t++ {
			kk, b := t/blocks, t%blocks
			r0, r1 := b*rowsPerBlock, min(R, (b+1)*rowsPerBlock)
			acc := partial[t*C : (t+1)*C]
			for i := range acc {
				acc[i] = init
			}
			reduceRows(k.op, acc, x[(kk*R+r0)*C:(kk*R+r1)*C], C)
		}
	})
	for kk := range K {
		acc := out[kk*C : (kk+1)*C]
		for i := range acc {
			acc[i] = init
		}
		reduceRows(k.op, acc, partial[kk*blocks*C:(kk+1)*blocks*C], C)
	}
}

// reduceRows folds the rows of x (each C long) into acc. Narrow rows (batch norm's statistics have a few channels
// per row) are first folded k at a time, as one wide row of k·C ≤ 256 lanes, so that the loops run long and on SIMD;
// the k partial results are then folded in order. The order depends on C and the number of rows only.
func reduceRows[T numT](op backends.ReduceOpType, acc, x []T, C int) {
	rows := len(x) / C
	if k := 256 / C; k > 1 && rows >= 2*k {
		var buf [256]T
		w := k * C
		wide := buf[:w]
		copy(wide, x[:w])
		full := rows / k
		for s := 1; s < full; s++ {
			combine(op, wide, x[s*w:(s+1)*w])
		}
		for j := range k {
			combine(op, acc, wide[j*C:(j+1)*C])
		}
		x = x[full*w:]
	}
	for r := 0; r+C <= len(x); r += C {
		combine(op, acc, x[r:r+C])
	}
}

// combine folds row into acc element by element (float32 sums, maxima and minima on SIMD).
func combine[T numT](op backends.ReduceOpType, acc, row []T) {
	row = row[:len(acc)]
	if a32, ok := any(acc).([]float32); ok {
		r32 := any(row).([]float32)
		switch op {
		case backends.ReduceOpSum:
			simd.Add(a32, a32, r32)
			return
		case backends.ReduceOpMax:
			simd.Max(a32, a32, r32)
			return
		case backends.ReduceOpMin:
			simd.Min(a32, a32, r32)
			return
		}
	}
	switch op {
	case backends.ReduceOpSum:
		for i := range acc {
			acc[i] += row[i]
		}
	case backends.ReduceOpProduct:
		for i := range acc {
			acc[i] *= row[i]
		}
	case backends.ReduceOpMax:
		for i := range acc {
			acc[i] = max(acc[i], row[i])
		}
	case backends.ReduceOpMin:
		for i := range acc {
			acc[i] = min(acc[i], row[i])
		}
	}
}

// poolKernel is a ReduceWindow whose windows tile the operand (strides equal to the window, no padding or
// dilation) and span at most two adjacent axes: the operand is seen as [K, H, W, C] with windows wh × ww over H and
// W (the 2×2 max-pooling of VGG, channels last or first).
type poolKernel struct {
	op         backends.ReduceOpType
	dt         dtypes.DType
	k, h, w, c int
	wh, ww     int
	outH, outW int
}

func newPoolKernel(in shapes.Shape, op backends.ReduceOpType, window, strides, baseDil, winDil []int,
	paddings [][2]int) *poolKernel {
	if !isFloat(in.DType) || len(window) != in.Rank() {
		return nil
	}
	for i := range window {
		st := window[i]
		if i < len(strides) {
			st = strides[i]
		}
		if st != window[i] || in.Dimensions[i]%window[i] != 0 ||
			(i < len(baseDil) && baseDil[i] > 1) || (i < len(winDil) && winDil[i] > 1) ||
			(i < len(paddings) && paddings[i] != [2]int{}) {
			return nil
		}
	}
	var axes []int
	for i, w := range window {
		if w > 1 {
			axes = append(axes, i)
		}
	}
	if len(axes) > 2 || (len(axes) == 2 && axes[1] != axes[0]+1) {
		return nil
	}
	first := in.Rank() // the first windowed axis (rank when none: a window of 1 everywhere)
	if len(axes) > 0 {
		first = axes[0]
	}
	k := &poolKernel{op: op, dt: in.DType, k: 1, h: 1, w: 1, c: 1, wh: 1, ww: 1}
	for i, d := range in.Dimensions {
		switch {
		case i < first:
			k.k *= d
		case len(axes) > 0 && i == axes[0]:
			k.h, k.wh = d, window[i]
		case len(axes) == 2 && i == axes[1]:
			k.w, k.ww = d, window[i]
		default:
			k.c *= d
		}
	}
	k.outH, k.outW = k.h/k.wh, k.w/k.ww
	return k
}

func (k *poolKernel) run(in []unsafe.Pointer, out unsafe.Pointer) {
	n, m := k.k*k.h*k.w*k.c, k.k*k.outH*k.outW*k.c
	switch k.dt {
	case dtypes.Float32:
		poolRun(k, sl[float32](in[0], n), sl[float32](out, m))
	case dtypes.Float64:
		poolRun(k, sl[float64](in[0], n), sl[float64](out, m))
	}
}

func poolRun[T floatT](k *poolKernel, x, out []T) {
	if k.wh == 2 && k.ww == 2 && k.op == backends.ReduceOpMax {
		pool2x2Max(k, x, out)
		return
	}
	C := k.c
	parallelFor(k.k*k.outH, max(1, reduceBlock/(k.outW*C*k.wh*k.ww)), func(_, lo, hi int) {
		for row := lo; row < hi; row++ {
			kk, i := row/k.outH, row%k.outH
			for j := range k.outW {
				acc := out[((kk*k.outH+i)*k.outW+j)*C:][:C]
				for a := range k.wh {
					for b := range k.ww {
						src := x[((kk*k.h+i*k.wh+a)*k.w+j*k.ww+b)*C:][:C]
						if a == 0 && b == 0 {
							copy(acc, src)
							continue
						}
						switch k.op {
						case backends.ReduceOpMax:
							for c := range acc {
								acc[c] = max(acc[c], src[c])
							}
						case backends.ReduceOpMin:
							for c := range acc {
								acc[c] = min(acc[c], src[c])
							}
						case backends.ReduceOpSum:
							for c := range acc {
								acc[c] += src[c]
							}
						case backends.ReduceOpProduct:
							for c := range acc {
								acc[c] *= src[c]
							}
						}
					}
				}
			}
		}
	})
}

// pool2x2Max is VGG's max-pooling: each output row is the element-wise maximum of two input rows, then of
// neighbouring pixels.
func pool2x2Max[T floatT](k *poolKernel, x, out []T) {
	C, W := k.c, k.w
	parallelFor(k.k*k.outH, max(1, reduceBlock/(2*W*C)), func(_, lo, hi int) {
		tmp := make([]T, W*C)
		for row := lo; row < hi; row++ {
			kk, i := row/k.outH, row%k.outH
			a := x[((kk*k.h+2*i)*W)*C:][:W*C]
			b := x[((kk*k.h+2*i+1)*W)*C:][:W*C]
			maxRows(tmp, a, b)
			o := out[((kk*k.outH+i)*k.outW)*C:][:k.outW*C]
			for j := range k.outW {
				maxRows(o[j*C:(j+1)*C], tmp[2*j*C:(2*j+1)*C], tmp[(2*j+1)*C:(2*j+2)*C])
			}
		}
	})
}

// maxRows sets d = max(a, b) element by element (float32 on SIMD).
func maxRows[T floatT](d, a, b []T) {
	if d32, ok := any(d).([]float32); ok {
		simd.Max(d32, any(a).([]float32), any(b).([]float32))
		return
	}
	a, b = a[:len(d)], b[:len(d)]
	for i := range d {
		d[i] = max(a[i], b[i])
	}
}

// scatterKernel is SelectAndScatterMax (Min) over tiling windows: the gradient of max-pooling. Each window's first
// maximum (minimum), in row-major order within the window as XLA specifies, receives the source value; every other
// element is zero.
type scatterKernel struct {
	pool  poolKernel
	isMax bool
}

func (s *scatterKernel) run(in []unsafe.Pointer, out unsafe.Pointer) {
	k := &s.pool
	n, m := k.k*k.h*k.w*k.c, k.k*k.outH*k.outW*k.c
	switch k.dt {
	case dtypes.Float32:
		scatterRun(s, sl[float32](in[0], n), sl[float32](in[1], m), sl[float32](out, n))
	case dtypes.Float64:
		scatterRun(s, sl[float64](in[0], n), sl[float64](in[1], m), sl[float64](out, n))
	}
}

func scatterRun[T floatT](s *scatterKernel, x, src, out []T) {
	k := &s.pool
	if k.wh == 2 && k.ww == 2 {
		scatter2x2(s, x, src, out)
		return
	}
	C, win := k.c, k.wh*k.ww
	parallelFor(k.k*k.outH, max(1, reduceBlock/(k.outW*C*win)), func(_, lo, hi int) {
		offs := make([]int, win)
		for row := lo; row < hi; row++ {
			kk, i := row/k.outH, row%k.outH
			for j := range k.outW {
				for a := range k.wh {
					for b := range k.ww {
						offs[a*k.ww+b] = ((kk*k.h+i*k.wh+a)*k.w + j*k.ww + b) * C
					}
				}
				srow := src[((kk*k.outH+i)*k.outW+j)*C:][:C]
				for c := range C {
					best, bi := x[offs[0]+c], 0
					for p := 1; p < win; p++ {
						v := x[offs[p]+c]
						if (s.isMax && v > best) || (!s.isMax && v < best) {
							best, bi = v, p
						}
					}
					for p := range win {
						out[offs[p]+c] = 0
					}
					out[offs[bi]+c] = srow[c]
				}
			}
		}
	})
}

// scatter2x2 is scatterRun for 2×2 windows: the four pixels of a window are four rows of C channels.
func scatter2x2[T floatT](s *scatterKernel, x, src, out []T) {
	if x32, ok := any(x).([]float32); ok {
		scatter2x2F32(s, x32, any(src).([]float32), any(out).([]float32))
		return
	}
	k := &s.pool
	C, W := k.c, k.w
	parallelFor(k.k*k.outH, max(1, reduceBlock/(4*k.outW*C)), func(_, lo, hi int) {
		for row := lo; row < hi; row++ {
			kk, i := row/k.outH, row%k.outH
			top, bottom := ((kk*k.h+2*i)*W)*C, ((kk*k.h+2*i+1)*W)*C
			for j := range k.outW {
				o := [4]int{top + 2*j*C, top + (2*j+1)*C, bottom + 2*j*C, bottom + (2*j+1)*C}
				x0, x1, x2, x3 := x[o[0]:o[0]+C], x[o[1]:o[1]+C], x[o[2]:o[2]+C], x[o[3]:o[3]+C]
				y0, y1, y2, y3 := out[o[0]:o[0]+C], out[o[1]:o[1]+C], out[o[2]:o[2]+C], out[o[3]:o[3]+C]
				g := src[((kk*k.outH+i)*k.outW+j)*C:][:C]
				for c := range g {
					// The first extreme in window order (XLA's rule): a later pixel wins only when strictly better.
					best, at := x0[c], 0
					if v := x1[c]; (s.isMax && v > best) || (!s.isMax && v < best) {
						best, at = v, 1
					}
					if v := x2[c]; (s.isMax && v > best) || (!s.isMax && v < best) {
						best, at = v, 2
					}
					if v := x3[c]; (s.isMax && v > best) || (!s.isMax && v < best) {
						at = 3
					}
					var v0, v1, v2, v3 T
					switch at {
					case 0:
						v0 = g[c]
					case 1:
						v1 = g[c]
					case 2:
						v2 = g[c]
					default:
						v3 = g[c]
					}
					y0[c], y1[c], y2[c], y3[c] = v0, v1, v2, v3
				}
			}
		}
	})
}

// scatter2x2F32 is scatter2x2 in float32, eight channels at a time (internal/simd).
func scatter2x2F32(s *scatterKernel, x, src, out []float32) {
	k := &s.pool
	C, W := k.c, k.w
	parallelFor(k.k*k.outH, max(1, reduceBlock/(4*k.outW*C)), func(_, lo, hi int) {
		for row := lo; row < hi; row++ {
			kk, i := row/k.outH, row%k.outH
			top, bottom := ((kk*k.h+2*i)*W)*C, ((kk*k.h+2*i+1)*W)*C
			for j := range k.outW {
				a, b, c, d := top+2*j*C, top+(2*j+1)*C, bottom+2*j*C, bottom+(2*j+1)*C
				simd.Scatter2x2(out[a:a+C], out[b:b+C], out[c:c+C], out[d:d+C], x[a:a+C], x[b:b+C], x[c:c+C],
					x[d:d+C], src[((kk*k.outH+i)*k.outW+j)*C:][:C], s.isMax)
			}
		}
	})
}

// concatKernel concatenates contiguous operands along an axis (any dtype: bytes are copied).
type concatKernel struct {
	axis int
	ins  []shapes.Shape
	out  shapes.Shape
}

func (k *concatKernel) run(in []unsafe.Pointer, out unsafe.Pointer) {
	outer := 1
	for _, d := range k.out.Dimensions[:k.axis] {
		outer *= d
	}
	es := k.out.DType.Size()
	rows := make([]int, len(k.ins)) // bytes each operand contributes per outer index
	total := 0
	for i, s := range k.ins {
		rows[i] = es
		for _, d := range s.Dimensions[k.axis:] {
			rows[i] *= d
		}
		total += rows[i]
	}
	if total == 0 {
		return
	}
	parallelFor(outer, max(1, (1<<16)/total), func(_, lo, hi int) {
		for o := lo; o < hi; o++ {
			at := o * total
			for i, n := range rows {
				if n > 0 {
					copy(unsafe.Slice((*byte)(unsafe.Add(out, at)), n), unsafe.Slice((*byte)(unsafe.Add(in[i], o*n)), n))
				}
				at += n
			}
		}
	})
}

// iotaKernel fills a numeric array with the index along one axis.
type iotaKernel struct {
	shape shapes.Shape
	axis  int
}

func (k *iotaKernel) run(_ []unsafe.Pointer, out unsafe.Pointer) {
	switch k.shape.DType {
	case dtypes.Float32:
		iotaRun(k, sl[float32](out, k.shape.Size()))
	case dtypes.Float64:
		iotaRun(k, sl[float64](out, k.shape.Size()))
	case dtypes.Int32:
		iotaRun(k, sl[int32](out, k.shape.Size()))
	case dtypes.Int64:
		iotaRun(k, sl[int64](out, k.shape.Size()))
	}
}

func iotaRun[T numT](k *iotaKernel, out []T) {
	inner := 1
	for _, d := range k.shape.Dimensions[k.axis+1:] {
		inner *= d
	}
	n := k.shape.Dimensions[k.axis]
	for i := range out {
		out[i] = T((i / inner) % n)
	}
}
