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
