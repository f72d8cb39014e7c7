package models

import (
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint
	"github.com/gomlx/gomlx/pkg/core/shapes"
)

// BilinearSample samples a feature map at continuous positions, as PyTorch's grid_sample(mode="bilinear",
// padding_mode="zeros", align_corners=True) that the Gaussian readout uses (Lurz et al. 2021, as in the authors'
// code).
//
// features is [batch, height, width, channels]; positions is [batch, n, 2] holding (x, y) in [−1, 1], where −1 and
// +1 are the centres of the first and last pixels (x along the width, y along the height). The result is
// [batch, n, channels]. It is built from Gather (whose gradient is a scatter-add) and element-wise ops, so it is
// differentiable with respect to both the features and the positions, and it never forms a dense
// [n, height·width] interpolation matrix.
func BilinearSample(features, positions *Node) *Node {
	g := features.Graph()
	fs := features.Shape()
	batch, h, w := fs.Dimensions[0], fs.Dimensions[1], fs.Dimensions[2]
	n := positions.Shape().Dimensions[1]
	dt := features.DType()
	positions = ConvertDType(positions, dt)
	px := MulScalar(AddScalar(Slice(positions, AxisRange(), AxisRange(), AxisElem(0)), 1), float64(w-1)/2) // [B, n, 1]
	py := MulScalar(AddScalar(Slice(positions, AxisRange(), AxisRange(), AxisElem(1)), 1), float64(h-1)/2)
	x0, y0 := StopGradient(Floor(px)), StopGradient(Floor(py)) // (Floor has no gradient in GoMLX v0.26)
	fx, fy := Sub(px, x0), Sub(py, y0)                         // fractional parts: where the gradient w.r.t. positions flows
	one := ScalarOne(g, dt)
	batchIdx := Iota(g, shapes.Make(dtypes.Int32, batch, n, 1), 0)
	var corners, weights []*Node
	for _, c := range [4][2]int{{0, 0}, {0, 1}, {1, 0}, {1, 1}} {
		cy, cx := AddScalar(y0, float64(c[0])), AddScalar(x0, float64(c[1]))
		wy, wx := Sub(one, fy), Sub(one, fx)
		if c[0] == 1 {
			wy = fy
		}
		if c[1] == 1 {
			wx = fx
		}
		inside := LogicalAnd(
			LogicalAnd(GreaterOrEqual(cx, ScalarZero(g, dt)), LessOrEqual(cx, Scalar(g, dt, w-1))),
			LogicalAnd(GreaterOrEqual(cy, ScalarZero(g, dt)), LessOrEqual(cy, Scalar(g, dt, h-1))))
		weight := Where(inside, Mul(wy, wx), ZerosLike(wx)) // zero padding outside the map
		iy := ConvertDType(ClipScalar(cy, 0, float64(h-1)), dtypes.Int32)
		ix := ConvertDType(ClipScalar(cx, 0, float64(w-1)), dtypes.Int32)
		corners = append(corners, Concatenate([]*Node{batchIdx, iy, ix}, -1)) // [B, n, 3]
		weights = append(weights, weight)                                     // [B, n, 1]
	}
	idx := Stack(corners, 2)                       // [B, n, 4, 3]
	sampled := Gather(features, StopGradient(idx)) // [B, n, 4, C]
	wts := Stack(weights, 2)                       // [B, n, 4, 1]
	_ = n
	return ReduceSum(Mul(sampled, wts), 2) // [B, n, C]
}
