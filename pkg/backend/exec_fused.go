package backend

import (
	"fmt"
	"unsafe"
)

// A fused group: element-wise operations over the same number of elements, run in one pass over memory.
//
// The pass walks the elements in chunks (a few thousand elements, so that a chunk of every operand and
// intermediate stays in the core's cache); for each chunk it runs every operation of the group in order, each as a
// tight loop over "registers", chunk-sized vectors. A register is one of
//
//   - an operand read straight from memory (contiguous in the group's order: the register just points there);
//   - an operand that is the same in every chunk (a scalar, or a per-channel vector broadcast over the leading axes,
//     as batch norm's statistics are): filled once per worker and execution;
//   - any other strided operand (a transposed or partly broadcast one): gathered per chunk;
//   - a result needed after the group (by a kernel, another group, or as a graph output): the register points into
//     that value's memory, so the operation writes it in place;
//   - an intermediate used only inside the group: scratch memory per worker, reused once its last reader has run.
//
// Intermediates never reach memory and broadcasts are never materialized; chunks are split among the cores. Each
// element is computed by the same operations whatever the split, so results do not depend on the thread count.

type loadKind int

const (
	loadContiguous loadKind = iota // the register points into the operand's memory
	loadInvariant                  // the same values in every chunk: filled once per worker
	loadGather                     // gathered per chunk
	loadUnused                     // no operation reads it (its readers recompute the value instead)
)

// fusedLoad is an operand of the group that lives outside it.
type fusedLoad struct {
	kind   loadKind
	lay    layout // strides over the reading operation's result dims (simplified for gathers)
	es     int    // element size in bytes
	period int    // for an invariant load: its values repeat every period elements, contiguous from lay.offset
}

// fusedInstr is one element-wise operation: registers dst = fn(src...). Registers [0, len(loads)) are the loads,
// the rest the group's members in order.
type fusedInstr struct {
	op  string // the operation's name, for String
	fn  kernelFn
	dst int
	src [3]int // −1 when unused
}

type fusedGroup struct {
	size  int // elements
	chunk int // elements per chunk
	loads []fusedLoad
	// members: the value id and element size of each member (register len(loads)+i), and whether it is stored.
	members []fusedMember
	instrs  []fusedInstr
	// slot of each register in the worker's scratch memory (−1: no scratch; it points into memory).
	slots        []int
	scratchSlots int
	loadKeys     map[string]int
	memberOf     map[int]int    // value id → member index
	cse          map[string]int // operation and operands → member index
}

type fusedMember struct {
	id     int
	es     int
	stored bool
}

func (g *fusedGroup) reg(member int) int { return len(g.loads) + member }

// addLoad returns the register of an outside operand read through l (deduplicated).
func (g *fusedGroup) addLoad(l layout, es int) int {
	key := fmt.Sprint(l.base, l.offset, l.dims, l.strides)
	if r, ok := g.loadKeys[key]; ok {
		return r
	}
	g.loads = append(g.loads, fusedLoad{lay: l, es: es})
	g.loadKeys[key] = len(g.loads) - 1
	return len(g.loads) - 1
}

// While a group is built its instructions name a load by its index and a member by memberRef(index): the members'
// registers follow the loads', whose number is known only at finalize.
const memberRefBase = 1 << 30

func memberRef(m int) int { return memberRefBase + m }

// finalize decides each load's kind, the chunk size and the registers' scratch slots; stored[i] says whether
// member i is needed after the group.
func (g *fusedGroup) finalize(stored []bool) {
	for i := range g.members {
		g.members[i].stored = stored[i]
	}
	g.chooseLoads()
	// Member references become registers now that the number of loads is known.
	for k := range g.instrs {
		in := &g.instrs[k]
		in.dst = g.reg(in.dst - memberRefBase)
		for j, r := range in.src {
			if r >= memberRefBase {
				in.src[j] = g.reg(r - memberRefBase)
			}
		}
	}
	g.assignSlots()
	g.memberOf, g.loadKeys, g.cse = nil, nil, nil
}

// chooseLoads decides each load's kind and the chunk size: a multiple of every periodic operand's period (so that it
// is the same in every chunk) when that stays small, else those operands are gathered.
func (g *fusedGroup) chooseLoads() {
	const target, limit = 2048, 16384
	chunk := 1
	used := g.usedLoads()
	for i := range g.loads {
		l := &g.loads[i]
		if !used[i] {
			l.kind = loadUnused
			continue
		}
		switch p := l.lay.period(); {
		case p == l.lay.size() && p == g.size && l.lay.contiguous():
			l.kind = loadContiguous
		case p > 0 && p <= limit && lcm(chunk, p) <= limit:
			l.kind = loadInvariant
			l.period = p
			chunk = lcm(chunk, p)
		default:
			l.kind = loadGather
		}
	}
	g.chunk = chunk * max(1, target/chunk)
	if g.chunk >= g.size {
		g.chunk = g.size
		// One chunk: an invariant operand is gathered once anyway.
	}
	for i := range g.loads {
		if l := &g.loads[i]; l.kind == loadGather {
			l.lay = l.lay.simplified()
		}
	}
}

// assignSlots gives the registers their scratch slots: gathered and invariant loads each have their own; unstored
// members share slots by liveness.
func (g *fusedGroup) assignSlots() {
	nregs := len(g.loads) + len(g.members)
	g.slots = make([]int, nregs)
	next := 0
	for i, l := range g.loads {
		g.slots[i] = -1
		if l.kind == loadInvariant || l.kind == loadGather {
			g.slots[i] = next
			next++
		}
	}
	lastUse := make([]int, nregs)
	for i := range lastUse {
		lastUse[i] = -1
	}
	for ii, in := range g.instrs {
		for _, s := range in.src {
			if s >= 0 {
				lastUse[s] = ii
			}
		}
	}
	released := make([]bool, nregs)
	var free []int
	for ii, in := range g.instrs {
		// Sources read for the last time free their slots first, and the result takes the slot of its first such
		// operand: the operation then runs in place (the SIMD loops have in-place forms; see exec_ops.go).
		reuse := -1
		var dying []int // slots of other sources read for the last time: free only after the result has its slot
		dstES := g.members[in.dst-len(g.loads)].es
		for _, s := range in.src {
			if s >= len(g.loads) && lastUse[s] == ii && !released[s] && !g.members[s-len(g.loads)].stored {
				if reuse < 0 && g.members[s-len(g.loads)].es == dstES { // in place only element for element
					reuse = g.slots[s]
				} else {
					dying = append(dying, g.slots[s])
				}
				released[s] = true
			}
		}
		if g.members[in.dst-len(g.loads)].stored {
			g.slots[in.dst] = -1
			if reuse >= 0 {
				free = append(free, reuse)
			}
			free = append(free, dying...)
			continue
		}
		switch n := len(free); {
		case reuse >= 0:
			g.slots[in.dst] = reuse
		case n > 0:
			g.slots[in.dst], free = free[n-1], free[:n-1]
		default:
			g.slots[in.dst] = next
			next++
		}
		if lastUse[in.dst] < 0 { // written, never read: its slot is free again at once
			free = append(free, g.slots[in.dst])
			released[in.dst] = true
		}
		free = append(free, dying...)
	}
	g.scratchSlots = next
}

// fillPeriodic fills n bytes at dst with the period bytes at src repeated: one copy, then doubling copies.
func fillPeriodic(dst, src unsafe.Pointer, period, n int) {
	d := unsafe.Slice((*byte)(dst), n)
	filled := copy(d, unsafe.Slice((*byte)(src), min(period, n)))
	for filled < n {
		filled += copy(d[filled:], d[:filled])
	}
}

func lcm(a, b int) int {
	x, y := a, b
	for y != 0 {
		x, y = y, x%y
	}
	return a / x * b
}

// scratchBytes is the scratch memory one worker needs.
func (g *fusedGroup) scratchBytes() int { return g.scratchSlots * g.chunk * 8 }

// run executes the group: st holds every value's memory.
func (g *fusedGroup) run(st *execState) {
	if g.size == 0 {
		return
	}
	chunks := (g.size + g.chunk - 1) / g.chunk
	// At least 16k elements per worker: below that, starting a goroutine costs more than it saves.
	minChunks := max(1, (1<<14)/g.chunk)
	parallelFor(chunks, minChunks, func(w, lo, hi int) {
		nregs := len(g.loads) + len(g.members)
		var regBuf [64]unsafe.Pointer
		regs := regBuf[:0]
		if nregs > len(regBuf) {
			regs = make([]unsafe.Pointer, nregs)
		}
		regs = regs[:nregs]
		scratch := st.scratchFor(w, g.scratchBytes())
		for r, s := range g.slots {
			if s >= 0 {
				regs[r] = unsafe.Pointer(&scratch[s*g.chunk])
			}
		}
		for i := range g.loads {
			if l := &g.loads[i]; l.kind == loadInvariant {
				fillPeriodic(regs[i], unsafe.Add(st.ptr[l.lay.base], l.lay.offset*l.es), l.period*l.es,
					min(g.chunk, g.size)*l.es)
			}
		}
		for c := lo; c < hi; c++ {
			f0 := c * g.chunk
			n := min(g.chunk, g.size-f0)
			for i := range g.loads {
				l := &g.loads[i]
				switch l.kind {
				case loadContiguous:
					regs[i] = unsafe.Add(st.ptr[l.lay.base], (l.lay.offset+f0)*l.es)
				case loadGather:
					gather(regs[i], st.ptr[l.lay.base], &l.lay, l.es, f0, n)
				}
			}
			for m := range g.members {
				if mb := &g.members[m]; mb.stored {
					regs[len(g.loads)+m] = unsafe.Add(st.ptr[mb.id], f0*mb.es)
				}
			}
			for k := range g.instrs {
				in := &g.instrs[k]
				var a, b, cc unsafe.Pointer
				if in.src[0] >= 0 {
					a = regs[in.src[0]]
				}
				if in.src[1] >= 0 {
					b = regs[in.src[1]]
				}
				if in.src[2] >= 0 {
					cc = regs[in.src[2]]
				}
				in.fn(regs[in.dst], a, b, cc, n)
			}
		}
	})
}
