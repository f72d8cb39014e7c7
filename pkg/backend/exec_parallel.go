package backend

import (
	"runtime"
	"sync"
)

// parallelFor runs fn over [0, n) split into contiguous ranges, one per worker (at most GOMAXPROCS workers, each
// with at least minPer indices); worker 0 runs on the calling goroutine. The split depends on the thread count, so
// callers make the result of every index independent of it.
func parallelFor(n, minPer int, fn func(worker, lo, hi int)) {
	if n <= 0 {
		return
	}
	workers := min(runtime.GOMAXPROCS(0), (n+max(minPer, 1)-1)/max(minPer, 1))
	if workers <= 1 {
		fn(0, 0, n)
		return
	}
	var wg sync.WaitGroup
	for w := 1; w < workers; w++ {
		wg.Go(func() { fn(w, n*w/workers, n*(w+1)/workers) })
	}
	fn(0, 0, n/workers)
	wg.Wait()
}
