package he

import (
	"runtime"
	"sync"
)

// parallelFor splits [0, n) into one contiguous range per worker goroutine and
// waits for all of them. Each worker must use its own lattigo objects.
func parallelFor(n int, body func(lo, hi int)) {
	parallelWorkers(n, runtime.GOMAXPROCS(0), func(_, lo, hi int) { body(lo, hi) })
}

// parallelWorkers is parallelFor over at most workers goroutines, telling
// each body its worker index w < workers, for state kept per worker across
// calls; a single range runs on the caller's goroutine.
func parallelWorkers(n, workers int, body func(w, lo, hi int)) {
	workers = min(workers, n)
	if workers <= 1 {
		if n > 0 {
			body(0, 0, n)
		}
		return
	}
	var wg sync.WaitGroup
	for w := range workers {
		lo, hi := w*n/workers, (w+1)*n/workers
		wg.Add(1)
		go func() {
			defer wg.Done()
			body(w, lo, hi)
		}()
	}
	wg.Wait()
}

// joinErrs returns the first non-nil error, or nil.
func joinErrs(errs []error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
