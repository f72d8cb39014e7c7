package backend

import "sync/atomic"

// Rematerialization: recomputing instead of remembering.
//
// Back-propagation reads forward values long after they are computed: batch norm's normalized input and output, for
// one, are read again only in the backward pass, and a graph keeps them in memory all that time. When such a value
// comes from a short chain of element-wise operations whose own operands are kept anyway (x − mean, which the
// backward pass also reads) or are small (per-channel statistics), the group of the later reader computes the chain
// again from them: a few operations per element, in a pass that runs anyway, instead of a full-size array kept
// across most of the step. Only operands that are already in memory when the reader runs are used, so no lifetime
// grows but those of small arrays.

// The thresholds (variables so that tests can make every value a candidate).
var (
	rematMinElements = 1 << 16 // smaller values are cheap to keep
	rematMaxOps      = 12      // the longest chain recomputed for one value
	rematMinDistance = 3       // steps between the producer and the reader
)

// rematerialized counts the values recomputed (for tests).
var rematerialized atomic.Int64

// rematerialize recomputes, in each fused group, the in-order operands that earlier groups computed, where it can.
func (p *program) rematerialize() {
	lastUse := make(map[int]int)
	for si, st := range p.steps {
		for _, id := range p.stepReads(st) {
			lastUse[id] = max(lastUse[id], si)
		}
	}
	for _, id := range p.outputs {
		lastUse[id] = len(p.steps)
	}
	for gi, st := range p.steps {
		if st.kind != stepFused {
			continue
		}
		g := st.group
		for li := range g.loads {
			l := g.loads[li].lay
			vi := p.vals[l.base]
			if vi.step < 0 || gi-vi.step < rematMinDistance || vi.shape.Size() < rematMinElements ||
				l.offset != 0 || l.size() != g.size || !l.contiguous() || p.steps[vi.step].kind != stepFused {
				continue
			}
			r := rematerializer{p: p, from: p.steps[vi.step].group, into: g, at: gi, lastUse: lastUse,
				done: make(map[int]int)}
			ref, ok := r.recompute(l.base)
			if !ok {
				continue
			}
			// The chain runs first in the group (it reads only loads and itself), then the readers use its result.
			g.instrs = append(r.instrs, g.instrs...)
			for k := range g.instrs[len(r.instrs):] {
				in := &g.instrs[len(r.instrs)+k]
				for j, s := range in.src {
					if s == li {
						in.src[j] = ref
					}
				}
			}
			for _, id := range r.loaded {
				lastUse[id] = max(lastUse[id], gi)
			}
			rematerialized.Add(1)
		}
	}
}

// stepReads lists the materialized values a step reads (for a fused group, from the loads its operations use).
func (p *program) stepReads(st *execStep) []int {
	if st.kind != stepFused {
		return st.reads
	}
	used := st.group.usedLoads()
	var out []int
	for i, l := range st.group.loads {
		if used[i] {
			out = append(out, l.lay.base)
		}
	}
	return out
}

// usedLoads marks the loads that some operation of the group reads.
func (g *fusedGroup) usedLoads() []bool {
	used := make([]bool, len(g.loads))
	for _, in := range g.instrs {
		for _, s := range in.src {
			if s >= 0 && s < memberRefBase {
				used[s] = true
			}
		}
	}
	return used
}

type rematerializer struct {
	p       *program
	from    *fusedGroup // where the value was computed
	into    *fusedGroup // where it is recomputed
	at      int         // the index of into
	lastUse map[int]int
	done    map[int]int // value id → its member reference in into
	instrs  []fusedInstr
	loaded  []int
}

// recompute returns the member reference, in into, of value id recomputed from what into can read.
func (r *rematerializer) recompute(id int) (int, bool) {
	if ref, ok := r.done[id]; ok {
		return ref, true
	}
	m, ok := r.from.memberOf[id]
	if !ok || len(r.instrs) >= rematMaxOps {
		return 0, false
	}
	var src fusedInstr
	for _, in := range r.from.instrs {
		if in.dst == memberRef(m) {
			src = in
		}
	}
	if src.fn == nil {
		return 0, false
	}
	refs := [3]int{-1, -1, -1}
	for j, s := range src.src {
		switch {
		case s < 0:
		case s >= memberRefBase:
			ref, ok := r.recompute(r.from.members[s-memberRefBase].id)
			if !ok {
				return 0, false
			}
			refs[j] = ref
		default:
			l := r.from.loads[s]
			b := l.lay.base
			vb := r.p.vals[b]
			if vb.step >= 0 && vb.shape.Size() >= rematMinElements && r.lastUse[b] < r.at {
				return 0, false // a large operand that would have to be kept longer
			}
			refs[j] = r.into.addLoad(l.lay, l.es)
			r.loaded = append(r.loaded, b)
		}
	}
	// A synthetic value for the recomputed result: a member of into that is never stored.
	c := len(r.p.vals)
	r.p.vals = append(r.p.vals, &vinfo{shape: r.p.vals[id].shape, es: r.p.vals[id].es, step: r.at, output: -1})
	k := len(r.into.members)
	r.into.members = append(r.into.members, fusedMember{id: c, es: r.p.vals[id].es})
	r.into.memberOf[c] = k
	r.instrs = append(r.instrs, fusedInstr{op: src.op, fn: src.fn, dst: memberRef(k), src: refs})
	r.done[id] = memberRef(k)
	return memberRef(k), true
}
