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
	shadow backends.Op // the same value on the shadow builder
	shape  shapes.Shape
}

// recNode is one recorded operation.
type recNode struct {
	id      int
	name    string
	inputs  []*value // nil entries for nil Op arguments
	outputs []*value
	// replay builds the operation on another builder, given its inputs there.
	replay func(b backends.Builder, in []backends.Op) ([]backends.Op, error)
	param  int    // index of the computation's parameter, or -1
	kernel kernel // executed by this package instead of a segment, or nil
}

// kernel is an operation this package executes itself, on the pure-Go backend's buffers.
type kernel interface {
	execute(b backends.Backend, inputs []backends.Buffer) (backends.Buffer, error)
}

// recorder implements backends.Builder by recording (recorder_gen.go has one method per GoMLX operation).
type recorder struct {
	inner    backends.Backend
	shadow   backends.Builder
	name     string
	nodes    []*recNode
	params   []*recNode
	compiled bool
}

func newRecorder(inner backends.Backend, name string) *recorder {
	return &recorder{inner: inner, shadow: inner.Builder(name), name: name}
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
		v := &value{node: n, index: i, shadow: so, shape: shape}
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

// record records an operation that the pure-Go backend executes: replay builds it on any builder.
func (r *recorder) record(name string, ins []backends.Op,
	replay func(b backends.Builder, in []backends.Op) ([]backends.Op, error)) ([]backends.Op, error) {
	vals, shadowIns, err := r.inputs(name, ins)
	if err != nil {
		return nil, err
	}
	shadowOuts, err := replay(r.shadow, shadowIns)
	if err != nil {
		return nil, err
	}
	return r.add(&recNode{name: name, inputs: vals, replay: replay, param: -1}, shadowOuts)
}

// recordKernel records an operation that k executes; shadow builds an equivalent operation on the shadow builder
// (for its shape and checks).
func (r *recorder) recordKernel(name string, ins []backends.Op, k kernel,
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
	outs, err := r.record("Constant", nil, func(b backends.Builder, _ []backends.Op) ([]backends.Op, error) {
		op, err := b.Constant(flat, dims...)
		return []backends.Op{op}, err
	})
	if err != nil {
		return nil, err
	}
	return outs[0], nil
}

// step is one unit of execution: a pure-Go segment or a kernel.
type step struct {
	exec    backends.Executable // a segment, or nil
	kernel  kernel              // or a kernel
	inputs  []*value
	outputs []*value
}

// segmentedExecutable runs the steps of a recorded graph in order.
type segmentedExecutable struct {
	inner       backends.Backend
	steps       []*step
	params      []*value
	paramNames  []string
	outputs     []*value
	lastUse     map[*value]int // index of the last step that reads the value; len(steps) for graph outputs
	unusedParam []bool
}

// Compile implements backends.Builder: it cuts the recorded graph into segments and kernels.
func (r *recorder) Compile(outputs []backends.Op, shardings []*backends.ShardingSpec) (backends.Executable, error) {
	if len(shardings) != 0 {
		return nil, errors.New("cpu backend: sharding is not supported")
	}
	if r.compiled {
		return nil, fmt.Errorf("cpu backend: builder %q is already compiled", r.name)
	}
	// Every output must be a distinct value computed by a segment or a kernel: the caller owns (and finalizes) each
	// output buffer, so a parameter or a repeated value is copied first.
	outVals := make([]*value, len(outputs))
	seen := make(map[*value]bool)
	for i, op := range outputs {
		v, err := r.value(op)
		if err != nil || v == nil {
			return nil, fmt.Errorf("cpu backend: output %d: %v", i, err)
		}
		if v.node.param >= 0 || seen[v] {
			id, err := r.Identity(v)
			if err != nil {
				return nil, err
			}
			v = id.(*value)
		}
		seen[v] = true
		outVals[i] = v
	}
	r.compiled = true

	// Live nodes: those the outputs depend on.
	live := make([]bool, len(r.nodes))
	var mark func(n *recNode)
	mark = func(n *recNode) {
		if live[n.id] {
			return
		}
		live[n.id] = true
		for _, in := range n.inputs {
			if in != nil {
				mark(in.node)
			}
		}
	}
	for _, v := range outVals {
		mark(v.node)
	}

	// Nodes are recorded in a topological order: cut that order at every kernel.
	var groups [][]*recNode
	var current []*recNode
	for _, n := range r.nodes {
		if !live[n.id] || n.param >= 0 {
			continue
		}
		if n.kernel != nil {
			if len(current) > 0 {
				groups = append(groups, current)
				current = nil
			}
			groups = append(groups, []*recNode{n})
			continue
		}
		current = append(current, n)
	}
	if len(current) > 0 {
		groups = append(groups, current)
	}

	// Which step produces and which steps read each value.
	producer := make(map[*value]int)
	for gi, g := range groups {
		for _, n := range g {
			for _, v := range n.outputs {
				producer[v] = gi
			}
		}
	}
	isOutput := make(map[*value]bool)
	for _, v := range outVals {
		isOutput[v] = true
	}
	e := &segmentedExecutable{inner: r.inner, outputs: outVals, lastUse: make(map[*value]int)}
	usedOutside := make(map[*value]bool)
	for gi, g := range groups {
		for _, n := range g {
			for _, in := range n.inputs {
				if in == nil {
					continue
				}
				if p, ok := producer[in]; !ok || p != gi {
					usedOutside[in] = true
					e.lastUse[in] = max(e.lastUse[in], gi)
				}
			}
		}
	}
	for _, v := range outVals {
		e.lastUse[v] = len(groups)
	}

	for gi, g := range groups {
		st := &step{}
		inGroup := make(map[*value]bool)
		for _, n := range g {
			for _, v := range n.outputs {
				inGroup[v] = true
			}
		}
		added := make(map[*value]bool)
		for _, n := range g {
			for _, in := range n.inputs {
				if in != nil && !inGroup[in] && !added[in] {
					added[in] = true
					st.inputs = append(st.inputs, in)
				}
			}
			for _, v := range n.outputs {
				if usedOutside[v] || isOutput[v] {
					st.outputs = append(st.outputs, v)
				}
			}
		}
		if len(g) == 1 && g[0].kernel != nil {
			st.kernel = g[0].kernel
			st.inputs = g[0].inputs
		} else {
			exec, err := r.compileSegment(fmt.Sprintf("%s#%d", r.name, gi), g, st)
			if err != nil {
				return nil, err
			}
			st.exec = exec
		}
		e.steps = append(e.steps, st)
	}
	for _, p := range r.params {
		e.params = append(e.params, p.outputs[0])
		e.paramNames = append(e.paramNames, p.name)
		_, used := e.lastUse[p.outputs[0]]
		e.unusedParam = append(e.unusedParam, !used)
	}
	return e, nil
}

// compileSegment builds the nodes of one segment on a fresh pure-Go builder.
func (r *recorder) compileSegment(name string, nodes []*recNode, st *step) (backends.Executable, error) {
	b := r.inner.Builder(name)
	ops := make(map[*value]backends.Op)
	for i, v := range st.inputs {
		op, err := b.Parameter(fmt.Sprintf("in%d", i), v.shape, nil)
		if err != nil {
			return nil, fmt.Errorf("cpu backend: segment %s: %w", name, err)
		}
		ops[v] = op
	}
	for _, n := range nodes {
		in := make([]backends.Op, len(n.inputs))
		for i, v := range n.inputs {
			if v != nil {
				in[i] = ops[v]
			}
		}
		outs, err := n.replay(b, in)
		if err != nil {
			return nil, fmt.Errorf("cpu backend: segment %s, %s: %w", name, n.name, err)
		}
		for i, v := range n.outputs {
			ops[v] = outs[i]
		}
	}
	outs := make([]backends.Op, len(st.outputs))
	for i, v := range st.outputs {
		outs[i] = ops[v]
	}
	exec, err := b.Compile(outs, nil)
	if err != nil {
		return nil, fmt.Errorf("cpu backend: segment %s: %w", name, err)
	}
	return exec, nil
}

// Finalize implements backends.Executable.
func (e *segmentedExecutable) Finalize() {
	for _, st := range e.steps {
		if st.exec != nil {
			st.exec.Finalize()
		}
	}
	e.steps = nil
}

// Inputs implements backends.Executable.
func (e *segmentedExecutable) Inputs() (names []string, inputShapes []shapes.Shape) {
	for i, v := range e.params {
		names = append(names, e.paramNames[i])
		inputShapes = append(inputShapes, v.shape)
	}
	return names, inputShapes
}

// Outputs implements backends.Executable.
func (e *segmentedExecutable) Outputs() (outputShapes []shapes.Shape) {
	for _, v := range e.outputs {
		outputShapes = append(outputShapes, v.shape)
	}
	return outputShapes
}

// Execute implements backends.Executable.
func (e *segmentedExecutable) Execute(inputs []backends.Buffer, donate []bool, _ backends.DeviceNum) (
	results []backends.Buffer, err error) {
	if len(inputs) != len(e.params) {
		return nil, fmt.Errorf("cpu backend: %d inputs given, the computation takes %d", len(inputs), len(e.params))
	}
	bufs := make(map[*value]backends.Buffer, len(e.lastUse))
	owned := make(map[*value]bool, len(e.lastUse)) // buffers this execution may donate or finalize
	for i, v := range e.params {
		bufs[v] = inputs[i]
		mine := i < len(donate) && donate[i]
		if mine && e.unusedParam[i] {
			_ = e.inner.BufferFinalize(inputs[i])
			continue
		}
		owned[v] = mine
	}
	defer func() {
		if err == nil {
			return
		}
		for v, b := range bufs {
			if owned[v] {
				_ = e.inner.BufferFinalize(b)
			}
		}
	}()
	for si, st := range e.steps {
		in := make([]backends.Buffer, len(st.inputs))
		for i, v := range st.inputs {
			in[i] = bufs[v]
		}
		if st.kernel != nil {
			out, err := st.kernel.execute(e.inner, in)
			if err != nil {
				return nil, err
			}
			bufs[st.outputs[0]], owned[st.outputs[0]] = out, true
			for _, v := range st.inputs {
				if owned[v] && e.lastUse[v] == si {
					_ = e.inner.BufferFinalize(bufs[v])
					delete(bufs, v)
					delete(owned, v)
				}
			}
			continue
		}
		don := make([]bool, len(st.inputs))
		for i, v := range st.inputs {
			don[i] = owned[v] && e.lastUse[v] == si
		}
		outs, err := st.exec.Execute(in, don, 0)
		if err != nil {
			return nil, err
		}
		for i, v := range st.inputs {
			if don[i] {
				delete(bufs, v)
				delete(owned, v)
			}
		}
		for i, v := range st.outputs {
			bufs[v], owned[v] = outs[i], true
		}
	}
	results = make([]backends.Buffer, len(e.outputs))
	for i, v := range e.outputs {
		results[i] = bufs[v]
		delete(owned, v)
	}
	return results, nil
}
