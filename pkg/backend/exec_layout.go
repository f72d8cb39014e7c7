package backend

import (
	"slices"
	"unsafe"

	"github.com/gomlx/gomlx/pkg/core/shapes"
)

// layout says where the elements of an array lie in the flat data of a materialized value: element (i₀, i₁, …) is
// at offset + Σ iₖ·strides[k]. Reshape, Transpose, BroadcastInDim, Slice and Reverse only change a layout (a
// broadcast axis has stride 0, a reversed one a negative stride), so the executor never copies for them unless a
// kernel needs its operand contiguous.
type layout struct {
	base    int // value id of the materialized value
	offset  int
	dims    []int
	strides []int
}

func rowMajor(base int, dims []int) layout {
	return layout{base: base, dims: slices.Clone(dims), strides: rowMajorStrides(dims)}
}

func (l layout) size() int {
	n := 1
	for _, d := range l.dims {
		n *= d
	}
	return n
}

// contiguous reports whether the layout is the row-major order of its dimensions: its elements are the flat data
// from offset on.
func (l layout) contiguous() bool {
	acc := 1
	for i := len(l.dims) - 1; i >= 0; i-- {
		if l.dims[i] != 1 && l.strides[i] != acc {
			return false
		}
		acc *= l.dims[i]
	}
	return true
}

// transpose permutes the axes: axis i of the result is axis perm[i].
func (l layout) transpose(perm []int) layout {
	out := layout{base: l.base, offset: l.offset, dims: make([]int, len(perm)), strides: make([]int, len(perm))}
	for i, p := range perm {
		out.dims[i], out.strides[i] = l.dims[p], l.strides[p]
	}
	return out
}

// broadcastTo maps axis i to axis axes[i] of dims (the other axes, and size-1 axes that grow, get stride 0).
func (l layout) broadcastTo(dims, axes []int) layout {
	out := layout{base: l.base, offset: l.offset, dims: slices.Clone(dims), strides: make([]int, len(dims))}
	for i, a := range axes {
		if l.dims[i] == dims[a] {
			out.strides[a] = l.strides[i]
		}
	}
	return out
}

// implicitBroadcast is the layout an element-wise operation with result dims reads: a scalar is broadcast to every
// axis, an axis of size 1 to the result's size.
func (l layout) implicitBroadcast(dims []int) layout {
	if len(l.dims) == 0 {
		return layout{base: l.base, offset: l.offset, dims: slices.Clone(dims), strides: make([]int, len(dims))}
	}
	axes := make([]int, len(dims))
	for i := range axes {
		axes[i] = i
	}
	return l.broadcastTo(dims, axes)
}

// slice keeps [starts[i], limits[i]) in steps of steps[i] along each axis.
func (l layout) slice(starts, limits, steps []int) layout {
	out := layout{base: l.base, offset: l.offset, dims: make([]int, len(l.dims)), strides: make([]int, len(l.dims))}
	for i := range l.dims {
		st := 1
		if i < len(steps) && steps[i] > 0 {
			st = steps[i]
		}
		out.offset += starts[i] * l.strides[i]
		out.dims[i] = (limits[i] - starts[i] + st - 1) / st
		out.strides[i] = l.strides[i] * st
	}
	return out
}

// reverse reverses the given axes.
func (l layout) reverse(axes []int) layout {
	out := layout{base: l.base, offset: l.offset, dims: slices.Clone(l.dims), strides: slices.Clone(l.strides)}
	for _, a := range axes {
		if out.dims[a] > 0 {
			out.offset += (out.dims[a] - 1) * out.strides[a]
		}
		out.strides[a] = -out.strides[a]
	}
	return out
}

// reshape returns the layout with new dimensions when the elements, in row-major order, can be reached by strides
// (NumPy's no-copy reshape: groups of axes whose product matches are merged and split); ok is false when a copy is
// needed.
func (l layout) reshape(dims []int) (layout, bool) {
	if l.contiguous() {
		return layout{base: l.base, offset: l.offset, dims: slices.Clone(dims), strides: rowMajorStrides(dims)}, true
	}
	// Drop size-1 axes, then walk both shapes in groups of equal products.
	var od, os []int
	for i, d := range l.dims {
		if d != 1 {
			od, os = append(od, d), append(os, l.strides[i])
		}
	}
	out := layout{base: l.base, offset: l.offset, dims: slices.Clone(dims), strides: make([]int, len(dims))}
	oi, ni := 0, 0
	for ni < len(dims) || oi < len(od) {
		if ni < len(dims) && dims[ni] == 1 {
			out.strides[ni] = 0
			ni++
			continue
		}
		if ni >= len(dims) || oi >= len(od) {
			return layout{}, false
		}
		// One group: old axes [oi, oj) and new axes [ni, nj) with equal products.
		op, np := od[oi], dims[ni]
		oj, nj := oi+1, ni+1
		for op != np {
			if op < np {
				if oj >= len(od) {
					return layout{}, false
				}
				op *= od[oj]
				oj++
			} else {
				if nj >= len(dims) {
					return layout{}, false
				}
				np *= dims[nj]
				nj++
			}
		}
		// The old axes of the group must be contiguous among themselves.
		for k := oi; k < oj-1; k++ {
			if os[k] != os[k+1]*od[k+1] {
				return layout{}, false
			}
		}
		// Split the group's innermost stride over the new axes.
		s := os[oj-1]
		for k := nj - 1; k >= ni; k-- {
			out.strides[k] = s
			s *= dims[k]
		}
		oi, ni = oj, nj
	}
	return out, true
}

// simplified merges axes that are contiguous with each other and drops size-1 axes: the same elements in the same
// order, visited with fewer loops.
func (l layout) simplified() layout {
	out := layout{base: l.base, offset: l.offset}
	for i, d := range l.dims {
		if d == 1 {
			continue
		}
		if n := len(out.dims); n > 0 && out.strides[n-1] == l.strides[i]*d {
			out.dims[n-1] *= d
			out.strides[n-1] = l.strides[i]
			continue
		}
		out.dims = append(out.dims, d)
		out.strides = append(out.strides, l.strides[i])
	}
	if len(out.dims) == 0 {
		out.dims, out.strides = []int{1}, []int{0}
	}
	return out
}

// period returns P when the layout, read in row-major order, repeats every P elements from offset (the trailing
// axes contiguous, all others broadcast): then every chunk of the iteration that starts at a multiple of P reads the
// same values. It returns 0 otherwise.
func (l layout) period() int {
	acc := 1
	i := len(l.dims) - 1
	for ; i >= 0; i-- {
		if l.dims[i] != 1 && l.strides[i] != acc {
			break
		}
		acc *= l.dims[i]
	}
	for ; i >= 0; i-- {
		if l.dims[i] != 1 && l.strides[i] != 0 {
			return 0
		}
	}
	return acc
}

// viewLayout applies the view operation n (one of viewOps) to the layout of its operand; ok is false when the
// result needs a copy (a reshape that strides cannot express).
func viewLayout(n *recNode, in layout, out shapes.Shape) (layout, bool) {
	switch n.name {
	case "Reshape":
		return in.reshape(out.Dimensions)
	case "Transpose":
		return in.transpose(n.args[0].([]int)), true
	case "BroadcastInDim":
		return in.broadcastTo(out.Dimensions, n.args[1].([]int)), true
	case "Slice":
		return in.slice(n.args[0].([]int), n.args[1].([]int), n.args[2].([]int)), true
	case "Reverse":
		return in.reverse(n.args[0].([]int)), true
	}
	return layout{}, false
}

// gather copies the n elements of the row-major order of l (element size es bytes) that start at flat index f0 into
// dst, reading from base (the materialized value's data).
func gather(dst, base unsafe.Pointer, l *layout, es, f0, n int) {
	switch es {
	case 1:
		gatherT[uint8](dst, base, l, f0, n)
	case 2:
		gatherT[uint16](dst, base, l, f0, n)
	case 4:
		gatherT[uint32](dst, base, l, f0, n)
	default:
		gatherT[uint64](dst, base, l, f0, n)
	}
}

func gatherT[T any](dst, base unsafe.Pointer, l *layout, f0, n int) {
	rank := len(l.dims)
	var idxBuf [8]int
	idx := idxBuf[:0]
	if rank > len(idxBuf) {
		idx = make([]int, 0, rank)
	}
	idx = idx[:rank]
	rest := f0
	for i := rank - 1; i >= 0; i-- {
		idx[i], rest = rest%l.dims[i], rest/l.dims[i]
	}
	out := sl[T](dst, n)
	inner, innerStride := l.dims[rank-1], l.strides[rank-1]
	done := 0
	for done < n {
		off := l.offset
		for i := range rank {
			off += idx[i] * l.strides[i]
		}
		m := min(inner-idx[rank-1], n-done)
		row := out[done : done+m]
		switch innerStride {
		case 0:
			v := *(*T)(unsafe.Add(base, off*int(unsafe.Sizeof(row[0]))))
			for i := range row {
				row[i] = v
			}
		case 1:
			copy(row, unsafe.Slice((*T)(unsafe.Add(base, off*int(unsafe.Sizeof(row[0])))), m))
		default:
			es := int(unsafe.Sizeof(row[0]))
			for i := range row {
				row[i] = *(*T)(unsafe.Add(base, (off+i*innerStride)*es))
			}
		}
		done += m
		idx[rank-1] += m
		for i := rank - 1; i > 0 && idx[i] >= l.dims[i]; i-- {
			idx[i] = 0
			idx[i-1]++
		}
	}
}
