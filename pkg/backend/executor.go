package backend

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/shapes"
)

// The executor: how the cpu backend runs a recorded graph.
//
// GoMLX v0.26's pure-Go backend runs a graph one operation at a time, each on one core, each writing a fresh buffer:
// a training step of the paper's VGG-19-BN then spends most of its time outside the convolutions, in batch norm's
// chains of element-wise operations and their broadcasts, in reductions and in max-pooling. The executor compiles
// the recorded graph (recorder.go) into a short program of steps that do the same work with less memory traffic,
// on every core:
//
//   - views: Reshape, Transpose, BroadcastInDim, Slice and Reverse change no data; they become strided layouts of
//     their operand (exec_layout.go), read in place by whoever consumes them;
//   - fused groups: chains of element-wise operations over the same number of elements run in one pass over memory
//     (exec_fused.go), chunk by chunk, with intermediates in cache-sized scratch registers and broadcast operands
//     read through strides, split across the cores;
//   - kernels: convolutions as im2col + BLAS (kernel_conv.go); reductions, max-pooling and its gradient
//     (SelectAndScatter), concatenation and iota as direct parallel kernels (exec_kernels.go);
//   - segments: any operation outside the op table (exec_ops.go) — or with a dtype or configuration the table does
//     not take — runs on the pure-Go backend itself, consecutive ones in one compiled segment, so every graph the
//     pure-Go backend runs still runs.
//
// A node joins a fused group (or a segment) when each of its operands is computed in that group or by an earlier
// step; otherwise it starts a new one. Memory is planned once per compiled graph: every value that must be
// materialized gets an offset in one arena by liveness (values whose lives do not overlap share memory), the arena
// is reused across executions, and nothing is zeroed that is overwritten anyway; graph outputs are written straight
// into the buffers handed to the caller. Results equal the pure-Go backend's up to the order of floating-point sums
// (reductions and convolutions), and are bit-identical from run to run at a fixed thread count.

// debugPrograms prints every compiled program (COTRAIN_DEBUG_EXEC=1); debugPlan lets tests see them.
var (
	debugPrograms = os.Getenv("COTRAIN_DEBUG_EXEC") != ""
	debugPlan     func(*program)
)

// execMode says which operations the executor runs itself.
type execMode int

const (
	// execFused: everything in the op table (the default).
	execFused execMode = iota
	// execSegments: only the convolutions; everything else in pure-Go segments (the design before the executor, the
	// reference its tests compare it with).
	execSegments
)

// storage says where a value's elements are during an execution.
type storage int

const (
	storeNone   storage = iota // a view of another value, or an intermediate inside a fused group
	storeParam                 // the caller's input buffer
	storeConst                 // the constant's data, kept by the program
	storeArena                 // the execution's arena
	storeOutput                // a pure-Go buffer handed to the caller
	storeBuffer                // a pure-Go buffer made by a segment
)

// vinfo is what the program knows about one value.
type vinfo struct {
	shape   shapes.Shape
	es      int     // element size in bytes
	lay     *layout // for a view: where its elements are
	store   storage
	step    int // the producing step; −1 for parameters and constants
	offset  int // in the arena, bytes
	lastUse int // the last step that reads its memory
	output  int // index among the graph's outputs, or −1
	konst   any // a constant's flat data
	read    bool
}

type stepKind int

const (
	stepFused stepKind = iota
	stepKernel
	stepSegment
)

// nativeKernel is an operation the executor runs itself, on contiguous operands.
type nativeKernel interface {
	run(in []unsafe.Pointer, out unsafe.Pointer)
}

type execStep struct {
	kind  stepKind
	name  string
	group *fusedGroup
	kern  nativeKernel
	ins   []int // kernel and segment operands (value ids)
	outs  []int // kernel: its result; segment: the results needed after it
	reads []int // materialized values whose memory the step reads
	// segments
	nodes []*recNode
	subst map[int]int // an operand copied before the segment (a strided view) → its copy
	exec  backends.Executable
}

// program is a compiled recorded graph.
type program struct {
	inner        backends.Backend
	name         string
	vals         []*vinfo // by value id; synthetic copies follow the recorded values
	params       []int
	paramNames   []string
	outputs      []int
	steps        []*execStep
	index        map[*execStep]int   // position of each step
	groupsBySize map[int][]*execStep // fused groups by number of elements, in order
	pending      map[int]*pendingOp  // element-wise operations waiting for a consumer, by result
	computed     map[string]int      // element-wise operation and operand layouts → the value that holds its result
	arenaBytes   int
	scratchBytes int
	// releaseAfter lists, per step, the segments' results whose last reader it is (returned to the pure-Go
	// backend's pool after the step).
	releaseAfter [][]int
	states       sync.Pool
}

// Compile implements backends.Builder: it plans the recorded graph into steps.
func (r *recorder) Compile(outputs []backends.Op, shardings []*backends.ShardingSpec) (backends.Executable, error) {
	if len(shardings) != 0 {
		return nil, errors.New("cpu backend: sharding is not supported")
	}
	if r.compiled {
		return nil, fmt.Errorf("cpu backend: builder %q is already compiled", r.name)
	}
	// Every output must be a distinct value computed by a step: the caller owns (and finalizes) each output buffer,
	// so a parameter, a repeated value or a view is copied first.
	outVals := make([]*value, len(outputs))
	seen := make(map[*value]bool)
	for i, op := range outputs {
		v, err := r.value(op)
		if err != nil || v == nil {
			return nil, fmt.Errorf("cpu backend: output %d: %v", i, err)
		}
		if v.node.param >= 0 || seen[v] || v.node.name == "Constant" || (r.mode == execFused && viewOps[v.node.name]) {
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
	return r.plan(outVals)
}

func (r *recorder) plan(outVals []*value) (*program, error) {
	p := &program{inner: r.inner, name: r.name, vals: make([]*vinfo, r.nvalues), index: make(map[*execStep]int),
		groupsBySize: make(map[int][]*execStep), pending: make(map[int]*pendingOp), computed: make(map[string]int)}
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
	for _, n := range r.nodes {
		for _, v := range n.outputs {
			p.vals[v.id] = &vinfo{shape: v.shape, es: v.shape.DType.Size(), step: -1, output: -1}
		}
	}
	for i, v := range outVals {
		p.outputs = append(p.outputs, v.id)
		p.vals[v.id].output = i
	}
	for _, n := range r.nodes {
		if n.param >= 0 {
			p.vals[n.outputs[0].id].store = storeParam
			p.params = append(p.params, n.outputs[0].id)
			p.paramNames = append(p.paramNames, n.name)
			continue
		}
		if !live[n.id] {
			continue
		}
		if err := p.addNode(r.mode, n); err != nil {
			return nil, fmt.Errorf("cpu backend: %s: %w", n.name, err)
		}
	}
	for _, id := range p.outputs {
		p.demand(id)
	}
	if len(p.pending) > 0 {
		return nil, fmt.Errorf("cpu backend: %d element-wise operations were never placed", len(p.pending))
	}
	p.rematerialize()
	for _, st := range p.steps {
		if st.kind == stepFused {
			st.reads = p.stepReads(st)
		}
	}
	if err := p.finish(); err != nil {
		return nil, err
	}
	if debugPrograms {
		fmt.Print(p)
	}
	if debugPlan != nil {
		debugPlan(p)
	}
	memoryReport(p)
	return p, nil
}

func ids(vs []*value) []int {
	out := make([]int, len(vs))
	for i, v := range vs {
		out[i] = -1
		if v != nil {
			out[i] = v.id
		}
	}
	return out
}

func (p *program) addNode(mode execMode, n *recNode) error {
	out := n.outputs[0]
	ins := ids(n.inputs)
	if mode == execFused {
		switch {
		case n.name == "Constant":
			vi := p.vals[out.id]
			vi.store, vi.konst = storeConst, n.args[0]
			return nil
		case viewOps[n.name]:
			p.addView(n)
			return nil
		case isElementwiseName(n.name) && len(n.outputs) == 1:
			dts := make([]dtypes.DType, len(ins))
			for i, v := range n.inputs {
				dts[i] = v.shape.DType
			}
			if fn := elementwiseFn(n.name, dts, out.shape.DType); fn != nil {
				p.addElementwise(out.id, n.name, fn, ins)
				return nil
			}
		}
		if k := nativeKernelFor(n); k != nil {
			p.addKernel(n.name, k, ins, out.id)
			return nil
		}
	}
	if n.kernel != nil {
		p.addKernel(n.name, n.kernel, ins, out.id)
		return nil
	}
	p.addFallback(n, ins)
	return nil
}

// layoutOf returns where the elements of value id are.
func (p *program) layoutOf(id int) layout {
	if l := p.vals[id].lay; l != nil {
		out := *l
		// A view taken while its base was waiting may find that base turned into an alias of an identical operation
		// since (join: the alias reads the same elements in the same order): look through it.
		for p.vals[out.base].lay != nil {
			alias := p.vals[out.base].lay
			out.base, out.offset = alias.base, out.offset+alias.offset
		}
		return out
	}
	return rowMajor(id, p.vals[id].shape.Dimensions)
}

// baseOf returns the materialized value whose memory holds value id.
func (p *program) baseOf(id int) int {
	for p.vals[id].lay != nil {
		id = p.vals[id].lay.base
	}
	return id
}

// prodStep is the step that computes the memory of value id (−1 for parameters and constants).
func (p *program) prodStep(id int) int {
	return p.vals[p.baseOf(id)].step
}

func (p *program) newStep(st *execStep) int {
	p.steps = append(p.steps, st)
	p.index[st] = len(p.steps) - 1
	return len(p.steps) - 1
}

// insertStep puts a step at position at, before the steps that follow: kernels run as soon as their operands allow
// (so that operations needing their results may still join the fused groups that follow), and groups of operations
// that a later group needs are placed just before it.
func (p *program) insertStep(at int, st *execStep) int {
	p.steps = slices.Insert(p.steps, at, st)
	for _, vi := range p.vals {
		if vi != nil && vi.step >= at {
			vi.step++
		}
	}
	for i, s := range p.steps {
		p.index[s] = i
	}
	return at
}

func (p *program) addView(n *recNode) {
	in, out := n.inputs[0].id, n.outputs[0]
	l, ok := viewLayout(n, p.layoutOf(in), out.shape)
	if !ok { // a reshape that strides cannot express: copy the operand first, then it is contiguous
		l, _ = viewLayout(n, rowMajor(p.materialize(in), p.vals[in].shape.Dimensions), out.shape)
	}
	p.vals[out.id].lay = &l
}

// materialize returns a new value holding a contiguous copy of value id (a view).
func (p *program) materialize(id int) int {
	src := p.vals[id]
	c := len(p.vals)
	p.vals = append(p.vals, &vinfo{shape: src.shape, es: src.es, step: -1, output: -1})
	p.addElementwise(c, "Identity", elementwiseFn("Identity", []dtypes.DType{src.shape.DType}, src.shape.DType), []int{id})
	return c
}

// memberAlias returns the member of group g whose register holds value id: id itself, or a view of a member that
// reads it in the same order (a reshape).
func (p *program) memberAlias(g *fusedGroup, id int) (int, bool) {
	if m, ok := g.memberOf[id]; ok {
		return m, true
	}
	if p.vals[id].lay != nil {
		if m, ok := g.memberOf[p.layoutOf(id).base]; ok && p.inOrder(id, g.size) {
			return m, true
		}
	}
	return 0, false
}

// inOrder reports whether value id (a view) reads its base's first size elements in order: then a fused group that
// computes the base can hand its register over.
func (p *program) inOrder(id, size int) bool {
	if p.vals[id].lay == nil {
		return true
	}
	l := p.layoutOf(id)
	return l.offset == 0 && l.size() == size && l.contiguous()
}

// Element-wise operations are placed in fused groups on demand. An operation waits (pendingOp) until something needs
// its result: a kernel, a segment, a graph output, or an element-wise operation being placed. It is then placed in
// the group of that consumer when it can be (so that its result never reaches memory), else in the newest group of
// its size that its operands allow, or a new group. Placing at the first use keeps, for instance, the ReLU masks
// that back-propagation computes from the forward activations out of the forward pass's groups, where they would be
// stored until the backward pass reads them.
type pendingOp struct {
	out int
	op  string
	fn  kernelFn
	ins []int
}

// addElementwise records "value out = fn(ins)": it is placed when something needs it. An operation already recorded
// on the same operands (GoMLX's graphs repeat some, batch norm's x − mean for one) is not recorded twice: out becomes
// a view of the first one's result.
func (p *program) addElementwise(out int, op string, fn kernelFn, ins []int) {
	key := fmt.Sprint(op, " ", p.vals[out].shape.DType)
	for _, u := range ins {
		if u < 0 {
			key += " -"
			continue
		}
		l := p.layoutOf(u)
		key += fmt.Sprint(" ", l.base, l.offset, l.dims, l.strides)
	}
	if first, ok := p.computed[key]; ok && p.vals[out].output < 0 && p.vals[first].shape.Size() == p.vals[out].shape.Size() {
		l := rowMajor(first, p.vals[out].shape.Dimensions)
		p.vals[out].lay = &l
		return
	}
	p.computed[key] = out
	p.pending[out] = &pendingOp{out: out, op: op, fn: fn, ins: slices.Clone(ins)}
}

// demand places the waiting operation that computes the memory of value id, if any.
func (p *program) demand(id int) {
	if id < 0 {
		return
	}
	if pe, ok := p.pending[p.baseOf(id)]; ok {
		gi := p.chooseGroup(pe, len(p.steps))
		if gi < 0 {
			gi = p.newGroup(len(p.steps), p.vals[pe.out].shape.Size())
		}
		p.place(pe, gi)
	}
}

// earliest returns the last step that an operand of pe (or of a waiting operation it needs) comes from.
func (p *program) earliest(pe *pendingOp, memo map[*pendingOp]int) int {
	if e, ok := memo[pe]; ok {
		return e
	}
	e := -1
	for _, u := range pe.ins {
		if u < 0 {
			continue
		}
		if q, ok := p.pending[p.baseOf(u)]; ok {
			e = max(e, p.earliest(q, memo))
		} else {
			e = max(e, p.prodStep(u))
		}
	}
	memo[pe] = e
	return e
}

// chooseGroup returns the newest fused group before step `before` with pe's number of elements that pe can join
// (every operand computed earlier, in that group, or waiting and placeable there), or −1.
func (p *program) chooseGroup(pe *pendingOp, before int) int {
	size := p.vals[pe.out].shape.Size()
	memo := make(map[*pendingOp]int)
	cands := p.groupsBySize[size]
	tried := 0
	for i := len(cands) - 1; i >= 0 && tried < 4; i-- {
		gi := p.index[cands[i]]
		if gi >= before {
			continue
		}
		tried++
		g := cands[i].group
		ok := true
		for _, u := range pe.ins {
			if u < 0 {
				continue
			}
			if _, alias := p.memberAlias(g, u); alias {
				continue
			}
			if q, waiting := p.pending[p.baseOf(u)]; waiting {
				ok = p.earliest(q, memo) < gi
			} else {
				ok = p.prodStep(u) < gi
			}
			if !ok {
				break
			}
		}
		if ok {
			return gi
		}
	}
	return -1
}

// newGroup inserts an empty fused group at position at and returns its index.
func (p *program) newGroup(at, size int) int {
	st := &execStep{kind: stepFused, name: "fused", group: &fusedGroup{size: size, loadKeys: make(map[string]int),
		memberOf: make(map[int]int), cse: make(map[string]int)}}
	at = p.insertStep(at, st)
	if debugPrograms {
		fmt.Printf("new group at %d (size %d)\n", at, size)
	}
	list := p.groupsBySize[size]
	i, _ := slices.BinarySearchFunc(list, at, func(s *execStep, at int) int { return p.index[s] - at })
	p.groupsBySize[size] = slices.Insert(list, i, st)
	return at
}

// place puts pe into group gi with the waiting operations it needs: those of its number of elements that it reads
// in order join the group too (recursively), so that their results stay in registers; everything else they need —
// read through a strided view, of another size, or needed by such an operation — is placed in groups before gi first.
func (p *program) place(pe *pendingOp, gi int) {
	st := p.steps[gi]
	size := st.group.size
	waiting := func(u int) *pendingOp {
		if u < 0 {
			return nil
		}
		return p.pending[p.baseOf(u)]
	}
	inOrder := func(u int) bool { return p.vals[waiting(u).out].shape.Size() == size && p.inOrder(u, size) }
	joins := map[*pendingOp]bool{}
	var collect func(q *pendingOp)
	collect = func(q *pendingOp) {
		if joins[q] {
			return
		}
		joins[q] = true
		for _, u := range q.ins {
			if w := waiting(u); w != nil && inOrder(u) {
				collect(w)
			}
		}
	}
	collect(pe)
	before := map[*pendingOp]bool{}
	var mark func(q *pendingOp)
	mark = func(q *pendingOp) {
		if before[q] {
			return
		}
		before[q] = true
		for _, u := range q.ins {
			if w := waiting(u); w != nil {
				mark(w)
			}
		}
	}
	for q := range joins {
		for _, u := range q.ins {
			if w := waiting(u); w != nil && !inOrder(u) {
				mark(w)
			}
		}
	}
	// In recording order, so that the plan does not depend on map order.
	var first []*pendingOp
	for q := range before {
		first = append(first, q)
	}
	slices.SortFunc(first, func(a, b *pendingOp) int { return a.out - b.out })
	for _, q := range first {
		if p.pending[q.out] != q {
			continue // placed already, with an operation that needs it
		}
		at := p.index[st]
		qi := p.chooseGroup(q, at)
		if qi < 0 {
			qi = p.newGroup(at, p.vals[q.out].shape.Size())
		}
		p.place(q, qi)
	}
	var placeIn func(q *pendingOp)
	placeIn = func(q *pendingOp) {
		if p.pending[q.out] != q {
			return
		}
		delete(p.pending, q.out)
		for _, u := range q.ins {
			if w := waiting(u); w != nil && joins[w] {
				placeIn(w)
			}
		}
		if debugPrograms {
			fmt.Printf("place v%d = %s%v in step %d\n", q.out, q.op, q.ins, p.index[st])
		}
		p.join(p.index[st], q)
	}
	placeIn(pe)
}

// join appends pe to group gi (its waiting operands are placed). An operation that the group already computes from
// the same operands is not computed twice: its result becomes a view of the first (GoMLX's gradients repeat some).
func (p *program) join(gi int, pe *pendingOp) {
	st := p.steps[gi]
	g := st.group
	out := pe.out
	src := [3]int{-1, -1, -1}
	dims := p.vals[out].shape.Dimensions
	var newReads []int
	for j, u := range pe.ins {
		if m, ok := p.memberAlias(g, u); ok {
			src[j] = memberRef(m)
			continue
		}
		l := p.layoutOf(u).implicitBroadcast(dims)
		src[j] = g.addLoad(l, p.vals[u].es)
		newReads = append(newReads, l.base)
	}
	key := fmt.Sprint(pe.op, p.vals[out].shape.DType, src)
	if m, ok := g.cse[key]; ok && p.vals[out].output < 0 {
		l := rowMajor(g.members[m].id, dims)
		p.vals[out].lay = &l
		return
	}
	st.reads = append(st.reads, newReads...)
	m := len(g.members)
	g.members = append(g.members, fusedMember{id: out, es: p.vals[out].es})
	g.memberOf[out] = m
	g.cse[key] = m
	g.instrs = append(g.instrs, fusedInstr{op: pe.op, fn: pe.fn, dst: memberRef(m), src: src})
	p.vals[out].step = gi
}

// addKernel adds a kernel step; operands that are strided views are copied first (kernels read contiguous memory).
func (p *program) addKernel(name string, k nativeKernel, ins []int, out int) {
	for j, u := range ins {
		if l := p.vals[u].lay; l != nil && !l.contiguous() {
			ins[j] = p.materialize(u)
		}
		p.demand(ins[j])
	}
	st := &execStep{kind: stepKernel, name: name, kern: k, ins: ins, outs: []int{out}}
	at := 0
	for _, u := range ins {
		st.reads = append(st.reads, p.baseOf(u))
		at = max(at, p.prodStep(u)+1)
	}
	// Run it as early as its operands allow, but never before a segment (whose order matters for merging).
	for i := at; i < len(p.steps); i++ {
		if p.steps[i].kind != stepFused {
			at = i + 1
		}
	}
	p.vals[out].step = p.insertStep(at, st)
}

// addFallback adds a node that the pure-Go backend runs: to the last step if it is a segment whose results or
// earlier steps provide every operand, else to a new segment.
func (p *program) addFallback(n *recNode, ins []int) {
	subst := make(map[int]int)
	for j, u := range ins {
		if u >= 0 {
			if l := p.vals[u].lay; l != nil && !l.contiguous() {
				ins[j] = p.materialize(u)
				subst[u] = ins[j]
			}
			p.demand(ins[j])
		}
	}
	gi := len(p.steps) - 1
	join := gi >= 0 && p.steps[gi].kind == stepSegment
	if join {
		for _, u := range ins {
			if u >= 0 && !(p.vals[u].step == gi && p.vals[u].lay == nil) && p.prodStep(u) >= gi {
				join = false
				break
			}
		}
	}
	if !join {
		gi = p.newStep(&execStep{kind: stepSegment, name: "segment"})
	}
	st := p.steps[gi]
	st.nodes = append(st.nodes, n)
	if len(subst) > 0 && st.subst == nil {
		st.subst = make(map[int]int)
	}
	for u, c := range subst {
		st.subst[u] = c
	}
	for _, u := range ins {
		if u >= 0 && !(p.vals[u].step == gi && p.vals[u].lay == nil) && !slices.Contains(st.ins, u) {
			st.ins = append(st.ins, u)
			st.reads = append(st.reads, p.baseOf(u))
		}
	}
	for _, v := range n.outputs {
		p.vals[v.id].step = gi
	}
}

// finish decides what is stored where, compiles the segments and plans the arena.
func (p *program) finish() error {
	for si, st := range p.steps {
		for _, id := range st.reads {
			if p.vals[id].step >= si && !(st.kind == stepSegment && p.vals[id].step == si) {
				return fmt.Errorf("cpu backend: internal error planning %s: step %d (%s) reads v%d, which step %d computes",
					p.name, si, st.name, id, p.vals[id].step)
			}
		}
	}
	for si, st := range p.steps {
		for _, id := range st.reads {
			vi := p.vals[id]
			vi.read = vi.read || vi.step != si
			vi.lastUse = max(vi.lastUse, si)
		}
	}
	for _, id := range p.outputs {
		p.vals[id].lastUse = len(p.steps)
	}
	needed := func(id int) bool { return p.vals[id].read || p.vals[id].output >= 0 }
	for si, st := range p.steps {
		switch st.kind {
		case stepFused:
			stored := make([]bool, len(st.group.members))
			for m, mb := range st.group.members {
				stored[m] = needed(mb.id)
				p.vals[mb.id].store = storeNone
				if stored[m] {
					p.vals[mb.id].store = storeArena
					if p.vals[mb.id].output >= 0 {
						p.vals[mb.id].store = storeOutput
					}
				}
			}
			st.group.finalize(stored)
			p.scratchBytes = max(p.scratchBytes, st.group.scratchBytes())
		case stepKernel:
			vi := p.vals[st.outs[0]]
			vi.store = storeArena
			if vi.output >= 0 {
				vi.store = storeOutput
			}
		case stepSegment:
			for _, n := range st.nodes {
				for _, v := range n.outputs {
					if needed(v.id) {
						st.outs = append(st.outs, v.id)
						p.vals[v.id].store = storeBuffer
					}
				}
			}
			exec, err := p.compileSegment(fmt.Sprintf("%s#%d", p.name, si), st)
			if err != nil {
				return err
			}
			st.exec = exec
		}
	}
	p.planArena()
	p.releaseAfter = make([][]int, len(p.steps))
	for id, vi := range p.vals {
		if vi != nil && vi.store == storeBuffer && vi.output < 0 {
			last := max(vi.lastUse, vi.step)
			p.releaseAfter[last] = append(p.releaseAfter[last], id)
		}
	}
	return nil
}

// compileSegment builds a segment's nodes on a fresh pure-Go builder.
func (p *program) compileSegment(name string, st *execStep) (backends.Executable, error) {
	b := p.inner.Builder(name)
	ops := make(map[int]backends.Op)
	for i, id := range st.ins {
		op, err := b.Parameter(fmt.Sprintf("in%d", i), p.vals[id].shape, nil)
		if err != nil {
			return nil, fmt.Errorf("cpu backend: segment %s: %w", name, err)
		}
		ops[id] = op
	}
	for _, n := range st.nodes {
		in := make([]backends.Op, len(n.inputs))
		for i, v := range n.inputs {
			if v != nil {
				id := v.id
				if c, ok := st.subst[id]; ok {
					id = c
				}
				in[i] = ops[id]
			}
		}
		outs, err := n.replay(b, in)
		if err != nil {
			return nil, fmt.Errorf("cpu backend: segment %s, %s: %w", name, n.name, err)
		}
		for i, v := range n.outputs {
			ops[v.id] = outs[i]
		}
	}
	outs := make([]backends.Op, len(st.outs))
	for i, id := range st.outs {
		outs[i] = ops[id]
	}
	exec, err := b.Compile(outs, nil)
	if err != nil {
		return nil, fmt.Errorf("cpu backend: segment %s: %w", name, err)
	}
	return exec, nil
}

// planArena gives every arena value an offset: first fit among the gaps left by values whose last reader has run.
func (p *program) planArena() {
	type span struct{ off, size int }
	var free []span // sorted by offset
	end := 0
	alloc := func(size int) int {
		size = (size + 63) &^ 63
		for i, s := range free {
			if s.size >= size {
				off := s.off
				if s.size == size {
					free = slices.Delete(free, i, i+1)
				} else {
					free[i] = span{s.off + size, s.size - size}
				}
				return off
			}
		}
		off := end
		end += size
		return off
	}
	release := func(off, size int) {
		size = (size + 63) &^ 63
		i, _ := slices.BinarySearchFunc(free, off, func(s span, o int) int { return s.off - o })
		free = slices.Insert(free, i, span{off, size})
		// Coalesce with the neighbours.
		if i+1 < len(free) && free[i].off+free[i].size == free[i+1].off {
			free[i].size += free[i+1].size
			free = slices.Delete(free, i+1, i+2)
		}
		if i > 0 && free[i-1].off+free[i-1].size == free[i].off {
			free[i-1].size += free[i].size
			free = slices.Delete(free, i, i+1)
		}
	}
	produced := make([][]int, len(p.steps))
	dying := make([][]int, len(p.steps))
	for id, vi := range p.vals {
		if vi == nil || vi.store != storeArena {
			continue
		}
		produced[vi.step] = append(produced[vi.step], id)
		last := max(vi.lastUse, vi.step)
		dying[last] = append(dying[last], id)
	}
	for si := range p.steps {
		for _, id := range produced[si] {
			vi := p.vals[id]
			vi.offset = alloc(int(vi.shape.Memory()))
		}
		for _, id := range dying[si] {
			vi := p.vals[id]
			release(vi.offset, int(vi.shape.Memory()))
		}
	}
	p.arenaBytes = end
}

// execState is one execution's memory: pooled, so concurrent executions each have their own.
type execState struct {
	ptr     []unsafe.Pointer  // by value id: its materialized data
	buf     []backends.Buffer // by value id: the pure-Go buffer holding it, if any
	arena   []uint64
	scratch [][]uint64 // per worker
}

// scratchFor returns worker's scratch memory of at least bytes bytes. Workers run concurrently: each touches only its
// own entry, and the list is sized when the state is made.
func (st *execState) scratchFor(worker, bytes int) []uint64 {
	n := (bytes + 7) / 8
	if worker >= len(st.scratch) { // GOMAXPROCS raised since: a buffer of its own
		return make([]uint64, n)
	}
	if len(st.scratch[worker]) < n {
		st.scratch[worker] = make([]uint64, n)
	}
	return st.scratch[worker]
}

// dataPointer returns the address of a flat slice's first element (nil when empty).
func dataPointer(flat any) unsafe.Pointer {
	v := reflect.ValueOf(flat)
	if v.Kind() != reflect.Slice || v.Len() == 0 {
		return nil
	}
	return v.UnsafePointer()
}

// ptrOf returns the address of value id's first element (for a view, its first element in the base's memory).
func (p *program) ptrOf(st *execState, id int) unsafe.Pointer {
	if p.vals[id].lay != nil {
		l := p.layoutOf(id)
		base := st.ptr[l.base]
		if base == nil {
			return nil
		}
		return unsafe.Add(base, l.offset*p.vals[id].es)
	}
	return st.ptr[id]
}

// Finalize implements backends.Executable.
func (p *program) Finalize() {
	for _, st := range p.steps {
		if st.exec != nil {
			st.exec.Finalize()
		}
	}
	p.steps = nil
}

// Inputs implements backends.Executable.
func (p *program) Inputs() (names []string, inputShapes []shapes.Shape) {
	for i, id := range p.params {
		names = append(names, p.paramNames[i])
		inputShapes = append(inputShapes, p.vals[id].shape)
	}
	return names, inputShapes
}

// Outputs implements backends.Executable.
func (p *program) Outputs() (outputShapes []shapes.Shape) {
	for _, id := range p.outputs {
		outputShapes = append(outputShapes, p.vals[id].shape)
	}
	return outputShapes
}

// Execute implements backends.Executable.
func (p *program) Execute(inputs []backends.Buffer, donate []bool, _ backends.DeviceNum) (results []backends.Buffer, err error) {
	if len(inputs) != len(p.params) {
		return nil, fmt.Errorf("cpu backend: %d inputs given, the computation takes %d", len(inputs), len(p.params))
	}
	defer func() { // an internal error: keep where it happened (GoMLX reports the panic without its stack)
		if r := recover(); r != nil {
			err = fmt.Errorf("cpu backend: executing %s: %v\n%s", p.name, r, debug.Stack())
		}
	}()
	if p.steps == nil && len(p.outputs) > 0 {
		return nil, errors.New("cpu backend: executable already finalized")
	}
	st, _ := p.states.Get().(*execState)
	if st == nil {
		st = &execState{ptr: make([]unsafe.Pointer, len(p.vals)), buf: make([]backends.Buffer, len(p.vals)),
			arena: make([]uint64, (p.arenaBytes+7)/8), scratch: make([][]uint64, runtime.GOMAXPROCS(0))}
		arena := unsafe.Pointer(unsafe.SliceData(st.arena))
		for id, vi := range p.vals {
			switch {
			case vi == nil:
			case vi.store == storeArena:
				st.ptr[id] = unsafe.Add(arena, vi.offset)
			case vi.store == storeConst:
				st.ptr[id] = dataPointer(vi.konst)
			}
		}
	}
	// On error, the buffers this execution made are finalized; donated inputs are finalized in any case.
	defer func() {
		for id, b := range st.buf {
			if b == nil {
				continue
			}
			if err != nil && p.vals[id].store != storeParam {
				_ = p.inner.BufferFinalize(b)
			}
			st.buf[id], st.ptr[id] = nil, nil
		}
		for i := range p.params {
			if i < len(donate) && donate[i] {
				_ = p.inner.BufferFinalize(inputs[i])
			}
		}
		p.states.Put(st)
	}()
	for i, id := range p.params {
		flat, err := p.inner.BufferData(inputs[i])
		if err != nil {
			return nil, fmt.Errorf("cpu backend: input %d: %w", i, err)
		}
		st.ptr[id], st.buf[id] = dataPointer(flat), inputs[i]
	}
	for _, id := range p.outputs {
		if p.vals[id].store != storeOutput {
			continue
		}
		buf, flat, err := p.inner.NewSharedBuffer(0, p.vals[id].shape)
		if err != nil {
			return nil, err
		}
		st.buf[id], st.ptr[id] = buf, dataPointer(flat)
	}
	for si, s := range p.steps {
		var t0 time.Time
		if profileExec {
			t0 = time.Now()
		}
		switch s.kind {
		case stepFused:
			s.group.run(st)
		case stepKernel:
			var inBuf [4]unsafe.Pointer
			in := inBuf[:0]
			for _, id := range s.ins {
				in = append(in, p.ptrOf(st, id))
			}
			s.kern.run(in, st.ptr[s.outs[0]])
		case stepSegment:
			if err := p.runSegment(st, si, s); err != nil {
				return nil, err
			}
		}
		if profileExec {
			profileAdd(p, si, s, time.Since(t0))
		}
		for _, id := range p.releaseAfter[si] {
			if st.buf[id] != nil {
				_ = p.inner.BufferFinalize(st.buf[id])
				st.buf[id], st.ptr[id] = nil, nil
			}
		}
	}
	results = make([]backends.Buffer, len(p.outputs))
	for i, id := range p.outputs {
		results[i] = st.buf[id]
		st.buf[id], st.ptr[id] = nil, nil // the caller's now
	}
	return results, nil
}

// runSegment executes a pure-Go segment: operands that are not pure-Go buffers are copied into new ones.
func (p *program) runSegment(st *execState, si int, s *execStep) error {
	in := make([]backends.Buffer, len(s.ins))
	don := make([]bool, len(s.ins))
	for i, id := range s.ins {
		vi := p.vals[id]
		if vi.lay == nil && (vi.store == storeParam || vi.store == storeBuffer) {
			in[i] = st.buf[id]
			// A segment's result is donated to its last reader unless the caller gets it.
			don[i] = vi.store == storeBuffer && vi.lastUse == si && vi.output < 0
			continue
		}
		buf, flat, err := p.inner.NewSharedBuffer(0, vi.shape)
		if err != nil {
			return err
		}
		if n := vi.shape.Memory(); n > 0 {
			copy(unsafe.Slice((*byte)(dataPointer(flat)), n), unsafe.Slice((*byte)(p.ptrOf(st, id)), n))
		}
		in[i], don[i] = buf, true
	}
	outs, err := s.exec.Execute(in, don, 0)
	if err != nil {
		for i := range in {
			if don[i] && p.vals[s.ins[i]].store != storeBuffer {
				_ = p.inner.BufferFinalize(in[i])
			}
		}
		return err
	}
	for i, id := range s.ins {
		if don[i] && p.vals[id].store == storeBuffer {
			st.buf[id], st.ptr[id] = nil, nil
		}
	}
	for i, id := range s.outs {
		flat, err := p.inner.BufferData(outs[i])
		if err != nil {
			return err
		}
		st.buf[id], st.ptr[id] = outs[i], dataPointer(flat)
	}
	return nil
}

// String lists the program's steps (for debugging and tests).
func (p *program) String() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "program %s: %d steps, arena %d bytes, scratch %d bytes per worker\n", p.name, len(p.steps),
		p.arenaBytes, p.scratchBytes)
	for si, st := range p.steps {
		switch st.kind {
		case stepFused:
			g := st.group
			fmt.Fprintf(&sb, "%3d fused: %d elements, chunk %d, %d ops, loads", si, g.size, g.chunk, len(g.instrs))
			for _, l := range g.loads {
				fmt.Fprintf(&sb, " v%d%v/%v(%d)", l.lay.base, l.lay.dims, l.lay.strides, l.kind)
			}
			sb.WriteString(", stores")
			for _, m := range g.members {
				if m.stored {
					fmt.Fprintf(&sb, " v%d", m.id)
				}
			}
			if debugPrograms {
				for _, in := range g.instrs {
					fmt.Fprintf(&sb, "\n      r%d(slot %d) = %s", in.dst, g.slots[in.dst], in.op)
					for _, s := range in.src {
						if s >= 0 {
							fmt.Fprintf(&sb, " r%d(slot %d)", s, g.slots[s])
						}
					}
				}
			}
		case stepKernel:
			fmt.Fprintf(&sb, "%3d %s v%v → v%v", si, st.name, st.ins, st.outs)
		case stepSegment:
			var names []string
			for _, n := range st.nodes {
				names = append(names, n.name)
			}
			fmt.Fprintf(&sb, "%3d segment %v: v%v → v%v", si, names, st.ins, st.outs)
		}
		sb.WriteString("\n")
	}
	return sb.String()
}
