package ot

import (
	"runtime"
	"sync"
)

// parallel runs f over [0, n) in contiguous ranges on GOMAXPROCS goroutines.
func parallel(n int, f func(lo, hi int)) { parallelAligned(n, 1, f) }

// parallelAligned is parallel with every range but the last a multiple of
// align long, for callers whose ranges write bit-packed output.
func parallelAligned(n, align int, f func(lo, hi int)) {
	g := runtime.GOMAXPROCS(0)
	chunk := (n + g - 1) / g
	chunk = (chunk + align - 1) / align * align
	if g == 1 || n <= align {
		f(0, n)
		return
	}
	var wg sync.WaitGroup
	for lo := 0; lo < n; lo += chunk {
		wg.Add(1)
		go func(lo, hi int) {
			defer wg.Done()
			f(lo, hi)
		}(lo, min(lo+chunk, n))
	}
	wg.Wait()
}
