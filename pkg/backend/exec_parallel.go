package backend

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// parallelFor runs fn over [0, n) split into contiguous ranges, one per worker (at most GOMAXPROCS workers, each
// with at least minPer indices); worker 0 runs on the calling goroutine. The split depends on the thread count, so
// callers make the result of every index independent of it.
//
// A training step runs a few hundred parallel regions of a fraction of a millisecond each; starting a goroutine for
// each would wake a parked thread every time (measured: a tenth of a step in the scheduler). The helpers are
// persistent instead: after a region each one spins for a few microseconds, yielding to any other goroutine, before
// it parks, so the next region usually finds it awake.
func parallelFor(n, minPer int, fn func(worker, lo, hi int)) {
	if n <= 0 {
		return
	}
	workers := min(runtime.GOMAXPROCS(0), (n+max(minPer, 1)-1)/max(minPer, 1))
	if workers <= 1 {
		fn(0, 0, n)
		return
	}
	pool := helperPool(workers - 1)
	if pool == nil { // every helper busy (nested or concurrent regions): plain goroutines
		var wg sync.WaitGroup
		for w := 1; w < workers; w++ {
			wg.Go(func() { fn(w, n*w/workers, n*(w+1)/workers) })
		}
		fn(0, 0, n/workers)
		wg.Wait()
		return
	}
	var pending atomic.Int32
	pending.Store(int32(workers - 1))
	for w := 1; w < workers; w++ {
		pool[w-1].start(&task{fn: fn, worker: w, lo: n * w / workers, hi: n * (w + 1) / workers, pending: &pending})
	}
	fn(0, 0, n/workers)
	for pending.Load() > 0 {
		runtime.Gosched()
	}
	releaseHelpers(pool)
}

type task struct {
	fn      func(worker, lo, hi int)
	worker  int
	lo, hi  int
	pending *atomic.Int32
}

// helper is a persistent worker goroutine.
type helper struct {
	work   atomic.Pointer[task]
	parked atomic.Bool
	wake   chan struct{}
	busy   atomic.Bool // claimed by a region
}

var (
	helpersMu sync.Mutex
	helpers   []*helper
)

// helperPool claims k idle helpers (starting them as needed), or returns nil when they are all claimed.
func helperPool(k int) []*helper {
	helpersMu.Lock()
	defer helpersMu.Unlock()
	var out []*helper
	for _, h := range helpers {
		if len(out) == k {
			break
		}
		if h.busy.CompareAndSwap(false, true) {
			out = append(out, h)
		}
	}
	for len(out) < k && len(helpers) < 4*runtime.NumCPU() {
		h := &helper{wake: make(chan struct{}, 1)}
		h.busy.Store(true)
		helpers = append(helpers, h)
		go h.loop()
		out = append(out, h)
	}
	if len(out) < k {
		releaseHelpers(out)
		return nil
	}
	return out
}

func releaseHelpers(hs []*helper) {
	for _, h := range hs {
		h.busy.Store(false)
	}
}

func (h *helper) start(t *task) {
	h.work.Store(t)
	if h.parked.Load() {
		select {
		case h.wake <- struct{}{}:
		default:
		}
	}
}

// spinYields is how many times a helper yields, looking for work, before it parks (a few microseconds).
const spinYields = 200

func (h *helper) loop() {
	for {
		t := h.work.Swap(nil)
		for i := 0; t == nil && i < spinYields; i++ {
			runtime.Gosched()
			t = h.work.Swap(nil)
		}
		if t == nil {
			h.parked.Store(true)
			if t = h.work.Swap(nil); t == nil {
				<-h.wake
				h.parked.Store(false)
				continue
			}
			h.parked.Store(false)
		}
		t.fn(t.worker, t.lo, t.hi)
		t.pending.Add(-1)
	}
}
