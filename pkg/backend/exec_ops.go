package backend

import (
	"math"
	"slices"
	"unsafe"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/dtypes"

	"github.com/robustvision/cotrain/pkg/backend/internal/simd"
)

// The executor's op coverage: every operation of a recorded graph that the executor runs itself, by class. Any
// other operation, or one of these with a dtype or configuration the executor does not take, runs on GoMLX's pure-Go
// backend in a segment of its own (executor.go), so every graph the pure-Go backend runs still runs.
//
//	class        operations                                              dtypes
//	element-wise Add Sub Mul Div Max Min                                 float32 float64 int32 int64
//	             Pow Rem                                                 float32 float64
//	             Neg Abs Sign Identity                                   float32 float64 int32 int64
//	             Exp Expm1 Log Log1p Sqrt Rsqrt Tanh Logistic Cos Sin    float32 float64
//	             Floor Ceil Round Erf
//	             IsFinite IsNaN (→ bool)                                 float32 float64
//	             Equal NotEqual GreaterThan GreaterOrEqual LessThan      float32 float64 int32 int64 (Equal and
//	             LessOrEqual (→ bool)                                    NotEqual also bool)
//	             LogicalAnd LogicalOr LogicalXor LogicalNot              bool
//	             Where Clamp                                             any of the above
//	             ConvertDType                                            between float32 float64 int32 int64 bool
//	view         Reshape Transpose BroadcastInDim Slice Reverse          any (no work: strided reads)
//	reduction    ReduceSum ReduceMax ReduceMin ReduceProduct             float32 float64 int32 int64
//	kernel       ConvGeneral (no groups)                                 float32 float64 (kernel_conv.go)
//	             ReduceWindow max/min/sum, windows that tile the input   float32 float64 (exec_kernels.go)
//	             SelectAndScatterMax/Min, windows that tile the operand  float32 float64
//	             Concatenate, Iota                                       any / numeric
//
// Float32 Add, Sub, Mul, Div, Max, Min, Sqrt, Neg and Sign run eight elements at a time on AVX2 (internal/simd),
// with the same results as the Go loops, bit for bit.
//
// Element-wise operations with implicit broadcasting (a scalar operand, or axes of size 1) read the broadcast operand
// through strides. Binary operations follow the pure-Go backend's arithmetic exactly (float32 in float32; the
// transcendental functions through float64, then rounded), so results agree to the last bit except where a fused
// chain or a reduction sums in another order.

// opClass says how the executor runs an operation.
type opClass int

const (
	classFallback    opClass = iota // a pure-Go segment
	classElementwise                // fused into a pass over memory (exec_fused.go)
	classView                       // a strided view of its operand: no work
	classReduce                     // a parallel reduction (exec_kernels.go)
	classKernel                     // a kernel of its own (exec_kernels.go, kernel_conv.go)
)

var viewOps = map[string]bool{"Reshape": true, "Transpose": true, "BroadcastInDim": true, "Slice": true, "Reverse": true}

var reduceOps = map[string]backends.ReduceOpType{"ReduceSum": backends.ReduceOpSum, "ReduceMax": backends.ReduceOpMax,
	"ReduceMin": backends.ReduceOpMin, "ReduceProduct": backends.ReduceOpProduct}

// kernelFn runs one element-wise operation over n elements: dst = op(a, b, c) (unused operands are nil).
type kernelFn func(dst, a, b, c unsafe.Pointer, n int)

func sl[T any](p unsafe.Pointer, n int) []T { return unsafe.Slice((*T)(p), n) }

type floatT interface{ ~float32 | ~float64 }
type intT interface{ ~int32 | ~int64 }
type numT interface{ floatT | intT }

func unary[T, U any](f func(d []U, a []T)) kernelFn {
	return func(d, a, _, _ unsafe.Pointer, n int) { f(sl[U](d, n), sl[T](a, n)) }
}

func binary[T, U any](f func(d []U, a, b []T)) kernelFn {
	return func(d, a, b, _ unsafe.Pointer, n int) { f(sl[U](d, n), sl[T](a, n), sl[T](b, n)) }
}

// elementwiseFn returns the kernel of element-wise operation name with operand dtypes in and result dtype out, or
// nil when the executor does not run it (the operation then runs on the pure-Go backend).
func elementwiseFn(name string, in []dtypes.DType, out dtypes.DType) kernelFn {
	if len(in) == 0 {
		return nil
	}
	dt := in[0]
	switch name {
	case "ConvertDType":
		return convertFn(dt, out)
	case "Where":
		if in[0] != dtypes.Bool || in[1] != in[2] {
			return nil
		}
		switch in[1].Size() {
		case 1:
			return whereFn[uint8]
		case 4:
			return whereFn[uint32]
		case 8:
			return whereFn[uint64]
		}
		return nil
	case "Clamp":
		if in[0] != in[1] || in[1] != in[2] {
			return nil
		}
		switch dt {
		case dtypes.Float32:
			return clampFn[float32]
		case dtypes.Float64:
			return clampFn[float64]
		case dtypes.Int32:
			return clampFn[int32]
		case dtypes.Int64:
			return clampFn[int64]
		}
		return nil
	case "LogicalAnd", "LogicalOr", "LogicalXor", "LogicalNot":
		if dt != dtypes.Bool {
			return nil
		}
		return logicalFns[name]
	case "Identity":
		switch dt.Size() {
		case 1:
			return unary(copyLoop[uint8])
		case 2:
			return unary(copyLoop[uint16])
		case 4:
			return unary(copyLoop[uint32])
		case 8:
			return unary(copyLoop[uint64])
		}
		return nil
	}
	if len(in) == 2 && in[0] != in[1] {
		return nil
	}
	if dt == dtypes.Bool {
		switch name {
		case "Equal":
			return binary(eqLoop[bool])
		case "NotEqual":
			return binary(neLoop[bool])
		}
		return nil
	}
	switch dt {
	case dtypes.Float32:
		return numericFn[float32](name, true)
	case dtypes.Float64:
		return numericFn[float64](name, true)
	case dtypes.Int32:
		return numericFn[int32](name, false)
	case dtypes.Int64:
		return numericFn[int64](name, false)
	}
	return nil
}

// simd32 are the float32 operations on AVX2 loops (internal/simd: the same results as the Go loops, bit for bit).
var simd32 = map[string]kernelFn{
	"Add":  binary(simd.Add),
	"Sub":  binary(simd.Sub),
	"Mul":  binary(simd.Mul),
	"Div":  binary(simd.Div),
	"Max":  binary(simd.Max),
	"Min":  binary(simd.Min),
	"Sqrt": unary(simd.Sqrt),
	"Neg":  unary(simd.Neg),
	"Sign": unary(simd.Sign),
}

// numericFn returns the kernel of a numeric operation on T (isFloat says whether T is a float type).
func numericFn[T numT](name string, isFloat bool) kernelFn {
	var zero T
	if _, ok := any(zero).(float32); ok {
		if f, ok := simd32[name]; ok {
			return f
		}
	}
	switch name {
	case "Add":
		return binary(addLoop[T])
	case "Sub":
		return binary(subLoop[T])
	case "Mul":
		return binary(mulLoop[T])
	case "Max":
		return binary(maxLoop[T])
	case "Min":
		return binary(minLoop[T])
	case "Neg":
		return unary(negLoop[T])
	case "Abs":
		return unary(absLoop[T])
	case "Sign":
		return unary(signLoop[T])
	case "Equal":
		return binary(eqLoop[T])
	case "NotEqual":
		return binary(neLoop[T])
	case "GreaterThan":
		return binary(gtLoop[T])
	case "GreaterOrEqual":
		return binary(geLoop[T])
	case "LessThan":
		return binary(ltLoop[T])
	case "LessOrEqual":
		return binary(leLoop[T])
	}
	if !isFloat { // integer division and remainder by zero panic in Go: leave them to the pure-Go backend
		return nil
	}
	if f, ok := floatFns[name]; ok {
		var zero T
		if _, is32 := any(zero).(float32); is32 {
			return f.f32
		}
		return f.f64
	}
	return nil
}

type floatPair struct{ f32, f64 kernelFn }

func pairOf(f func(float64) float64) floatPair {
	return floatPair{unary(mathLoop[float32](f)), unary(mathLoop[float64](f))}
}

// floatFns are the float-only operations; transcendental functions go through float64 as the pure-Go backend does.
var floatFns = map[string]floatPair{
	"Div":      {binary(divLoop[float32]), binary(divLoop[float64])},
	"Pow":      {binary(powLoop[float32]), binary(powLoop[float64])},
	"Rem":      {binary(remLoop[float32]), binary(remLoop[float64])},
	"Exp":      pairOf(math.Exp),
	"Expm1":    pairOf(math.Expm1),
	"Log":      pairOf(math.Log),
	"Log1p":    pairOf(math.Log1p),
	"Sqrt":     pairOf(math.Sqrt),
	"Rsqrt":    pairOf(func(x float64) float64 { return 1 / math.Sqrt(x) }),
	"Tanh":     pairOf(math.Tanh),
	"Cos":      pairOf(math.Cos),
	"Sin":      pairOf(math.Sin),
	"Floor":    pairOf(math.Floor),
	"Ceil":     pairOf(math.Ceil),
	"Round":    pairOf(math.Round),
	"Erf":      pairOf(math.Erf),
	"Logistic": pairOf(logistic),
	"IsFinite": {unary(isFiniteLoop[float32]), unary(isFiniteLoop[float64])},
	"IsNaN":    {unary(isNaNLoop[float32]), unary(isNaNLoop[float64])},
}

func logistic(x float64) float64 {
	if x >= 0 {
		return 1 / (1 + math.Exp(-x))
	}
	e := math.Exp(x)
	return e / (1 + e)
}

var logicalFns = map[string]kernelFn{
	"LogicalAnd": binary(func(d, a, b []bool) {
		a, b = a[:len(d)], b[:len(d)]
		for i := range d {
			d[i] = a[i] && b[i]
		}
	}),
	"LogicalOr": binary(func(d, a, b []bool) {
		a, b = a[:len(d)], b[:len(d)]
		for i := range d {
			d[i] = a[i] || b[i]
		}
	}),
	"LogicalXor": binary(func(d, a, b []bool) {
		a, b = a[:len(d)], b[:len(d)]
		for i := range d {
			d[i] = a[i] != b[i]
		}
	}),
	"LogicalNot": unary(func(d, a []bool) {
		a = a[:len(d)]
		for i := range d {
			d[i] = !a[i]
		}
	}),
}

func copyLoop[T any](d, a []T) { copy(d, a) }

func addLoop[T numT](d, a, b []T) {
	a, b = a[:len(d)], b[:len(d)]
	for i := range d {
		d[i] = a[i] + b[i]
	}
}

func subLoop[T numT](d, a, b []T) {
	a, b = a[:len(d)], b[:len(d)]
	for i := range d {
		d[i] = a[i] - b[i]
	}
}

func mulLoop[T numT](d, a, b []T) {
	a, b = a[:len(d)], b[:len(d)]
	for i := range d {
		d[i] = a[i] * b[i]
	}
}

func divLoop[T floatT](d, a, b []T) {
	a, b = a[:len(d)], b[:len(d)]
	for i := range d {
		d[i] = a[i] / b[i]
	}
}

func maxLoop[T numT](d, a, b []T) {
	a, b = a[:len(d)], b[:len(d)]
	for i := range d {
		d[i] = max(a[i], b[i])
	}
}

func minLoop[T numT](d, a, b []T) {
	a, b = a[:len(d)], b[:len(d)]
	for i := range d {
		d[i] = min(a[i], b[i])
	}
}

func powLoop[T floatT](d, a, b []T) {
	a, b = a[:len(d)], b[:len(d)]
	for i := range d {
		d[i] = T(math.Pow(float64(a[i]), float64(b[i])))
	}
}

func remLoop[T floatT](d, a, b []T) {
	a, b = a[:len(d)], b[:len(d)]
	for i := range d {
		d[i] = T(math.Mod(float64(a[i]), float64(b[i])))
	}
}

func negLoop[T numT](d, a []T) {
	a = a[:len(d)]
	for i := range d {
		d[i] = -a[i]
	}
}

func absLoop[T numT](d, a []T) {
	a = a[:len(d)]
	for i := range d {
		if x := a[i]; x < 0 {
			d[i] = -x
		} else {
			d[i] = x
		}
	}
}

func signLoop[T numT](d, a []T) {
	a = a[:len(d)]
	for i := range d {
		switch x := a[i]; {
		case x < 0:
			d[i] = -1
		case x > 0:
			d[i] = 1
		default:
			d[i] = 0
		}
	}
}

func mathLoop[T floatT](f func(float64) float64) func(d, a []T) {
	return func(d, a []T) {
		a = a[:len(d)]
		for i := range d {
			d[i] = T(f(float64(a[i])))
		}
	}
}

func isFiniteLoop[T floatT](d []bool, a []T) {
	a = a[:len(d)]
	for i := range d {
		x := float64(a[i])
		d[i] = !math.IsInf(x, 0) && !math.IsNaN(x)
	}
}

func isNaNLoop[T floatT](d []bool, a []T) {
	a = a[:len(d)]
	for i := range d {
		d[i] = a[i] != a[i]
	}
}

func eqLoop[T comparable](d []bool, a, b []T) {
	a, b = a[:len(d)], b[:len(d)]
	for i := range d {
		d[i] = a[i] == b[i]
	}
}

func neLoop[T comparable](d []bool, a, b []T) {
	a, b = a[:len(d)], b[:len(d)]
	for i := range d {
		d[i] = a[i] != b[i]
	}
}

func gtLoop[T numT](d []bool, a, b []T) {
	a, b = a[:len(d)], b[:len(d)]
	for i := range d {
		d[i] = a[i] > b[i]
	}
}

func geLoop[T numT](d []bool, a, b []T) {
	a, b = a[:len(d)], b[:len(d)]
	for i := range d {
		d[i] = a[i] >= b[i]
	}
}

func ltLoop[T numT](d []bool, a, b []T) {
	a, b = a[:len(d)], b[:len(d)]
	for i := range d {
		d[i] = a[i] < b[i]
	}
}

func leLoop[T numT](d []bool, a, b []T) {
	a, b = a[:len(d)], b[:len(d)]
	for i := range d {
		d[i] = a[i] <= b[i]
	}
}

// whereFn selects by a bool condition between two operands of one element size (the bits are copied).
func whereFn[T uint8 | uint32 | uint64](dst, cond, a, b unsafe.Pointer, n int) {
	d, c, x, y := sl[T](dst, n), sl[bool](cond, n), sl[T](a, n), sl[T](b, n)
	for i := range d {
		if c[i] {
			d[i] = x[i]
		} else {
			d[i] = y[i]
		}
	}
}

// clampFn is Clamp(min, x, max).
func clampFn[T numT](dst, lo, x, hi unsafe.Pointer, n int) {
	d, l, v, h := sl[T](dst, n), sl[T](lo, n), sl[T](x, n), sl[T](hi, n)
	for i := range d {
		d[i] = min(max(v[i], l[i]), h[i])
	}
}

// convertFn converts between float32, float64, int32, int64 and bool as the pure-Go backend does (Go conversions;
// a number is true when it is not zero, true is 1).
func convertFn(from, to dtypes.DType) kernelFn {
	type conv struct{ from, to dtypes.DType }
	table := map[conv]kernelFn{
		{dtypes.Float32, dtypes.Float64}: unary(convertLoop[float32, float64]),
		{dtypes.Float32, dtypes.Int32}:   unary(convertLoop[float32, int32]),
		{dtypes.Float32, dtypes.Int64}:   unary(convertLoop[float32, int64]),
		{dtypes.Float64, dtypes.Float32}: unary(convertLoop[float64, float32]),
		{dtypes.Float64, dtypes.Int32}:   unary(convertLoop[float64, int32]),
		{dtypes.Float64, dtypes.Int64}:   unary(convertLoop[float64, int64]),
		{dtypes.Int32, dtypes.Float32}:   unary(convertLoop[int32, float32]),
		{dtypes.Int32, dtypes.Float64}:   unary(convertLoop[int32, float64]),
		{dtypes.Int32, dtypes.Int64}:     unary(convertLoop[int32, int64]),
		{dtypes.Int64, dtypes.Float32}:   unary(convertLoop[int64, float32]),
		{dtypes.Int64, dtypes.Float64}:   unary(convertLoop[int64, float64]),
		{dtypes.Int64, dtypes.Int32}:     unary(convertLoop[int64, int32]),
		{dtypes.Float32, dtypes.Bool}:    unary(toBoolLoop[float32]),
		{dtypes.Float64, dtypes.Bool}:    unary(toBoolLoop[float64]),
		{dtypes.Int32, dtypes.Bool}:      unary(toBoolLoop[int32]),
		{dtypes.Int64, dtypes.Bool}:      unary(toBoolLoop[int64]),
		{dtypes.Bool, dtypes.Float32}:    unary(fromBoolLoop[float32]),
		{dtypes.Bool, dtypes.Float64}:    unary(fromBoolLoop[float64]),
		{dtypes.Bool, dtypes.Int32}:      unary(fromBoolLoop[int32]),
		{dtypes.Bool, dtypes.Int64}:      unary(fromBoolLoop[int64]),
	}
	if from == to {
		return elementwiseFn("Identity", []dtypes.DType{from}, to)
	}
	return table[conv{from, to}]
}

func convertLoop[T, U numT](d []U, a []T) {
	a = a[:len(d)]
	for i := range d {
		d[i] = U(a[i])
	}
}

func toBoolLoop[T numT](d []bool, a []T) {
	a = a[:len(d)]
	for i := range d {
		d[i] = a[i] != 0
	}
}

func fromBoolLoop[U numT](d []U, a []bool) {
	a = a[:len(d)]
	for i := range d {
		if a[i] {
			d[i] = 1
		} else {
			d[i] = 0
		}
	}
}

// isElementwiseName reports whether name is an element-wise operation of the table (whatever its dtypes).
func isElementwiseName(name string) bool {
	return slices.Contains(elementwiseNames, name)
}

var elementwiseNames = []string{"Add", "Sub", "Mul", "Div", "Max", "Min", "Pow", "Rem", "Neg", "Abs", "Sign",
	"Identity", "Exp", "Expm1", "Log", "Log1p", "Sqrt", "Rsqrt", "Tanh", "Logistic", "Cos", "Sin", "Floor", "Ceil",
	"Round", "Erf", "IsFinite", "IsNaN", "Equal", "NotEqual", "GreaterThan", "GreaterOrEqual", "LessThan",
	"LessOrEqual", "LogicalAnd", "LogicalOr", "LogicalXor", "LogicalNot", "Where", "Clamp", "ConvertDType"}
