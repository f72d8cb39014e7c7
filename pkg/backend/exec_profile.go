package backend

import (
	"fmt"
	"os"
	"sort"
	"sync"
	"time"
)

var profileExec = os.Getenv("COTRAIN_PROFILE_EXEC") != ""

var profMu sync.Mutex
var profTimes = map[string]time.Duration{}
var profCounts = map[string]int{}
var profElemOps, profElems int64
var profLoads = map[loadKind]int64{}

func profileAdd(p *program, si int, s *execStep, d time.Duration) {
	key := s.name
	switch s.kind {
	case stepFused:
		key = "fused"
		profMu.Lock()
		profElemOps += int64(s.group.size * len(s.group.instrs))
		profElems += int64(s.group.size)
		for _, l := range s.group.loads {
			profLoads[l.kind] += int64(s.group.size)
		}
		profMu.Unlock()
	case stepKernel:
		if c, ok := s.kern.(*convKernel); ok {
			key = fmt.Sprintf("conv in%v k%v out%v", c.in.Dimensions, c.kern.Dimensions, c.out.Dimensions)
		}
	}
	profMu.Lock()
	profTimes[key] += d
	profCounts[key]++
	profMu.Unlock()
}

// ProfileReport prints the time per step kind (COTRAIN_PROFILE_EXEC=1).
func ProfileReport() {
	profMu.Lock()
	defer profMu.Unlock()
	var keys []string
	var total time.Duration
	for k, d := range profTimes {
		keys = append(keys, k)
		total += d
	}
	fmt.Fprintf(os.Stderr, "fused: %d element-ops over %d elements (%.1f ops per element); loads by kind %v; %.2f ns per element-op\n",
		profElemOps, profElems, float64(profElemOps)/float64(profElems), profLoads, profTimes["fused"].Seconds()*1e9/float64(profElemOps))
	sort.Slice(keys, func(i, j int) bool { return profTimes[keys[i]] > profTimes[keys[j]] })
	for _, k := range keys {
		fmt.Fprintf(os.Stderr, "%8.1f ms %5.1f%% %6d  %s\n", profTimes[k].Seconds()*1000, 100*profTimes[k].Seconds()/total.Seconds(), profCounts[k], k)
	}
}

// memoryReport prints, for COTRAIN_DEBUG_MEM=1, what is live at the arena's peak.
func memoryReport(p *program) {
	if os.Getenv("COTRAIN_DEBUG_MEM") == "" || len(p.steps) < 50 {
		return
	}
	live := make([]int64, len(p.steps)+1)
	for _, vi := range p.vals {
		if vi == nil || vi.store != storeArena {
			continue
		}
		for s := vi.step; s <= max(vi.lastUse, vi.step); s++ {
			live[s] += int64(vi.shape.Memory())
		}
	}
	peak := 0
	for s := range live {
		if live[s] > live[peak] {
			peak = s
		}
	}
	fmt.Fprintf(os.Stderr, "arena %d MiB; peak live %d MiB at step %d of %d (%s)\n", p.arenaBytes>>20, live[peak]>>20, peak, len(p.steps), p.steps[peak].name)
	type item struct {
		id, size, from, to int
		prod               string
	}
	var items []item
	for id, vi := range p.vals {
		if vi != nil && vi.store == storeArena && vi.step <= peak && max(vi.lastUse, vi.step) >= peak {
			prod := p.steps[vi.step].name
			if st := p.steps[vi.step]; st.kind == stepFused {
				for _, in := range st.group.instrs {
					if in.dst-len(st.group.loads) >= 0 && st.group.members[in.dst-len(st.group.loads)].id == id {
						prod = "fused " + in.op
					}
				}
			}
			items = append(items, item{id, int(vi.shape.Memory()), vi.step, vi.lastUse, prod + " " + vi.shape.String()})
		}
	}
	sort.Slice(items, func(i, j int) bool { return items[i].size > items[j].size })
	for _, it := range items[:min(40, len(items))] {
		fmt.Fprintf(os.Stderr, "  v%-6d %6.1f MiB steps %d–%d %s\n", it.id, float64(it.size)/(1<<20), it.from, it.to, it.prod)
	}
}
