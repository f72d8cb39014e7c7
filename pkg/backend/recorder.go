package backend

//go:generate go run ./internal/genrecorder recorder_gen.go

import (
	"errors"
	"fmt"
	"reflect"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/shapes"
)

// The recording builder and the segmented executable.
//
// GoMLX v0.26's pure-Go backend executes a graph with its own op implementations and has no way to plug in another
// one. Its matrix products reach 2–4 GFLOP/s on this project's machines, OpenBLAS 15–54 GFLOP/s, and a training step
// of the paper's network is mostly convolutions. So the cpu backend does not hand the graph to the pure-Go backend
// directly: its builder records every operation (and builds it on a "shadow" pure-Go builder, which checks it and
// infers its shape). At Compile, the recorded graph is cut at the operations this package executes itself
// ("kernels": the convolutions, as im2col + one BLAS matrix product, kernel_conv.go); every stretch between two
// kernels becomes one pure-Go executable (a "segment"). Executing runs the segments and kernels in order, passing
// buffers between them without copies (the pure-Go backend's buffers are plain Go slices) and donating each buffer
// to its last user.

// value is one result of a recorded operation: what the recording builder hands out as a backends.Op.
type value struct {
	node   *recNode
	index  int         // which of the node's results
	id     int         // position among all values of the builder
	shadow backends.Op // the same value on the shadow builder
	shape  shapes.Shape
}

// recNode is one recorded operation.
type recNode struct {
	id      int
	name    string
	inputs  []*value // nil entries for nil Op arguments
	args    []any    // the operation's other arguments, in the order of its Builder method
	outputs []*value
	// replay builds the operation on another builder, given its inputs there.
	replay func(b backends.Builder, in []backends.Op) ([]backends.Op, error)
	param  int          // index of the computation's parameter, or -1
	kernel nativeKernel // a convolution that this package always executes itself, or nil
}

// recorder implements backends.Builder by recording (recorder_gen.go has one method per GoMLX operation).
var _ backends.Builder = (*recorder)(nil)

// recorder records a graph to be planned and executed (see executor.go).
type recorder struct {
	inner    backends.Backend
	shadow   backends.Builder
	name     string
	nodes    []*recNode
	params   []*recNode
	nvalues  int
	compiled bool
	mode     execMode // which operations the executor runs itself
}

func newRecorder(inner backends.Backend, name string, mode execMode) *recorder {
	return &recorder{inner: inner, shadow: inner.Builder(name), name: name, mode: mode}
}

// Name implements backends.Builder.
func (r *recorder) Name() string { return r.name }

// value returns the recorded value behind op.
func (r *recorder) value(op backends.Op) (*value, error) {
	if op == nil {
		return nil, nil
	}
	v, ok := op.(*value)
	if !ok || v.node.id >= len(r.nodes) || r.nodes[v.node.id] != v.node {
		return nil, fmt.Errorf("cpu backend: op %v (%T) was not built by builder %q", op, op, r.name)
	}
	return v, nil
}

// OpShape implements backends.Builder.
func (r *recorder) OpShape(op backends.Op) (shapes.Shape, error) {
	v, err := r.value(op)
	if err != nil {
		return shapes.Shape{}, err
	}
	if v == nil {
		return shapes.Shape{}, errors.New("cpu backend: OpShape of a nil op")
	}
	return v.shape, nil
}

// DistributedSPMD implements backends.Builder (one device only, as the pure-Go backend).
func (r *recorder) DistributedSPMD(numDevices int) error { return r.shadow.DistributedSPMD(numDevices) }

// DistributedAutoSharding implements backends.Builder (one device only, as the pure-Go backend).
func (r *recorder) DistributedAutoSharding(meshes ...backends.Mesh) error {
	return r.shadow.DistributedAutoSharding(meshes...)
}

// DeviceAssignment implements backends.Builder (one device only, as the pure-Go backend).
func (r *recorder) DeviceAssignment(devices ...backends.DeviceNum) error {
	return r.shadow.DeviceAssignment(devices...)
}

// add appends a node whose results on the shadow builder are shadowOuts.
func (r *recorder) add(n *recNode, shadowOuts []backends.Op) ([]backends.Op, error) {
	if r.compiled {
		return nil, fmt.Errorf("cpu backend: builder %q is already compiled", r.name)
	}
	n.id = len(r.nodes)
	outs := make([]backends.Op, len(shadowOuts))
	for i, so := range shadowOuts {
		shape, err := r.shadow.OpShape(so)
		if err != nil {
			return nil, fmt.Errorf("cpu backend: %s: %w", n.name, err)
		}
		v := &value{node: n, index: i, id: r.nvalues, shadow: so, shape: shape}
		r.nvalues++
		n.outputs = append(n.outputs, v)
		outs[i] = v
	}
	r.nodes = append(r.nodes, n)
	return outs, nil
}

// inputs resolves recorded operands and their shadow counterparts.
func (r *recorder) inputs(name string, ins []backends.Op) ([]*value, []backends.Op, error) {
	vals := make([]*value, len(ins))
	shadowIns := make([]backends.Op, len(ins))
	for i, op := range ins {
		v, err := r.value(op)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", name, err)
		}
		vals[i] = v
		if v != nil {
			shadowIns[i] = v.shadow
		}
	}
	return vals, shadowIns, nil
}

// record records an operation with its operands ins and its other arguments args: replay builds it on any builder
// (the shadow builder now, a pure-Go segment at Compile when the executor does not run it itself).
func (r *recorder) record(name string, ins []backends.Op, args []any,
	replay func(b backends.Builder, in []backends.Op) ([]backends.Op, error)) ([]backends.Op, error) {
	vals, shadowIns, err := r.inputs(name, ins)
	if err != nil {
		return nil, err
	}
	shadowOuts, err := replay(r.shadow, shadowIns)
	if err != nil {
		return nil, err
	}
	return r.add(&recNode{name: name, inputs: vals, args: args, replay: replay, param: -1}, shadowOuts)
}

// recordKernel records an operation that k executes; shadow builds an equivalent operation on the shadow builder
// (for its shape and checks).
func (r *recorder) recordKernel(name string, ins []backends.Op, k nativeKernel,
	shadow func(b backends.Builder, in []backends.Op) (backends.Op, error)) (backends.Op, error) {
	vals, shadowIns, err := r.inputs(name, ins)
	if err != nil {
		return nil, err
	}
	so, err := shadow(r.shadow, shadowIns)
	if err != nil {
		return nil, err
	}
	outs, err := r.add(&recNode{name: name, inputs: vals, param: -1, kernel: k}, []backends.Op{so})
	if err != nil {
		return nil, err
	}
	return outs[0], nil
}

// Parameter implements backends.Builder.
func (r *recorder) Parameter(name string, shape shapes.Shape, sharding *backends.ShardingSpec) (backends.Op, error) {
	so, err := r.shadow.Parameter(name, shape, sharding)
	if err != nil {
		return nil, err
	}
	n := &recNode{name: "Parameter " + name, param: len(r.params)}
	outs, err := r.add(n, []backends.Op{so})
	if err != nil {
		return nil, err
	}
	r.params = append(r.params, n)
	return outs[0], nil
}

// Constant implements backends.Builder. The flat values are copied, as the interface promises.
func (r *recorder) Constant(flat any, dims ...int) (backends.Op, error) {
	if fv := reflect.ValueOf(flat); fv.Kind() == reflect.Slice {
		clone := reflect.MakeSlice(fv.Type(), fv.Len(), fv.Len())
		reflect.Copy(clone, fv)
		flat = clone.Interface()
	}
	dims = append([]int(nil), dims...)
	outs, err := r.record("Constant", nil, []any{flat, dims}, func(b backends.Builder, _ []backends.Op) ([]backends.Op, error) {
		op, err := b.Constant(flat, dims...)
		return []backends.Op{op}, err
	})
	if err != nil {
		return nil, err
	}
	return outs[0], nil
}
