package psi

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
	mrand "math/rand/v2"
)

// Cuckoo hashing for the KKRT receiver: each of its ids goes into one of
// cuckooHashes bins (or fails), one id a bin, no stash.
//
// Parameters: 3 hash functions and no stash, with
// ceil(e n') bins for n' = max(n, cuckooFloor) ids and
//
//	e = (lambda + log2 n' + 256) / 240, lambda = 40,
//
// the empirical fit of the failure probability that cryptoTools' (libOTe's)
// CuckooIndex gives for 3 hash functions without a stash, from experiments
// in the line of Pinkas, Schneider, Tkachenko and Yanai (EUROCRYPT 2019):
// n items in e n bins fail with probability 2^-(240 e - log2 n - 256).
// secretflow/psi's KKRT sizes its table the same way. That gives 1.283 n
// bins at n = 2^12, 1.316 n at 10^6 and 1.333 n at 2^24. cryptoTools uses
// the fit from n = 2^9 on (and steeper lines for smaller sets); Veil sizes
// every set below cuckooFloor = 2^12 ids as a table of 2^12 ids. A set that
// fits in a table still fits once ids are taken away (placement is a
// matching), so fewer ids in the same table fail no more often.
//
// Insertion is a random walk (evict one of the other two candidates of the
// id in hand) bounded by cuckooMaxKicks evictions per id; when the walk runs
// out the table refuses the whole set with ErrCuckoo. It never drops an id.
const (
	cuckooHashes     = 3
	cuckooMaxKicks   = 1 << 12
	kkrtStatSecurity = 40
)

// cuckooFloor is the smallest number of ids a table is sized for (a
// variable so that tests can build the tiny tables an adversary could
// overflow).
var cuckooFloor = 1 << 12

// ErrCuckoo means the KKRT receiver's ids did not fit in their cuckoo table:
// probability below 2^-40 for ids chosen independently of the session's
// hash key. Nothing is sent after it; retry with ECDH (or a new session).
var ErrCuckoo = errors.New("psi: cuckoo hashing failed")

// cuckooBins returns the number of bins for n ids.
func cuckooBins(n int) int {
	nn := max(n, cuckooFloor)
	e := (kkrtStatSecurity + math.Log2(float64(nn)) + 256) / 240
	return int(math.Ceil(e * float64(nn)))
}

// cuckooBin maps a uniform 64-bit word to [0, m) (multiply-shift: bias
// below m/2^64).
func cuckooBin(w uint64, m int) uint32 {
	hi, _ := bits.Mul64(w, uint64(m))
	return uint32(hi)
}

// A cuckooTable holds, for each bin, 1 + the index of the id placed in it
// (0: empty) and the hash function that put it there.
type cuckooTable struct {
	slot []int32
	fn   []uint8
}

// cuckooInsert places every id i (with candidate bins bins[i]) into a table
// of m bins. rnd picks the evictions.
func cuckooInsert(bins [][cuckooHashes]uint32, m int, rnd *mrand.Rand) (*cuckooTable, error) {
	t := &cuckooTable{slot: make([]int32, m), fn: make([]uint8, m)}
	for i := range bins {
		cur, last := int32(i), -1 // the id in hand; the bin it was evicted from
		placed := false
		for kick := 0; kick <= cuckooMaxKicks; kick++ {
			b := &bins[cur]
			for f := range cuckooHashes {
				if t.slot[b[f]] == 0 {
					t.slot[b[f]], t.fn[b[f]] = cur+1, uint8(f)
					placed = true
					break
				}
			}
			if placed {
				break
			}
			// Evict the occupant of a random candidate other than the bin
			// cur just left (if all three are that bin, it has nowhere else).
			f := rnd.IntN(cuckooHashes)
			for tries := 0; int(b[f]) == last && tries < cuckooHashes; tries++ {
				f = (f + 1) % cuckooHashes
			}
			at := b[f]
			next := t.slot[at] - 1
			t.slot[at], t.fn[at] = cur+1, uint8(f)
			cur, last = next, int(at)
		}
		if !placed {
			return nil, fmt.Errorf("%w: %d ids in %d bins (3 hash functions, no stash): no room for the id at row %d after %d evictions, inserting row %d",
				ErrCuckoo, len(bins), m, cur, cuckooMaxKicks, i)
		}
	}
	return t, nil
}
