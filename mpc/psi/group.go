package psi

import (
	"context"
	"crypto"
	_ "crypto/sha512" // for expander's crypto.SHA512
	"errors"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/cloudflare/circl/expander"
	"github.com/gtank/ristretto255"
)

// hashDST is the RFC 9380 domain separation tag of the hash to the group.
const hashDST = "VEIL-PSI-V01-CS01-with-ristretto255_XMD:SHA-512_R255MAP_RO_"

var xmd = expander.NewExpanderMD(crypto.SHA512, []byte(hashDST))

// hashToElement sets e to hash_to_ristretto255(id) (RFC 9380, Appendix B).
func hashToElement(e *ristretto255.Element, id string) {
	e.FromUniformBytes(xmd.Expand([]byte(id), 64))
}

var errIdentity = errors.New("identity element")

// decodePoint sets e to the point encoded in b. Besides what
// ristretto255 rejects (non-canonical or invalid encodings) it rejects the
// identity, which an honest peer never sends.
func decodePoint(e *ristretto255.Element, b []byte) error {
	if isZero(b) {
		return errIdentity
	}
	return e.Decode(b)
}

func isZero(b []byte) bool {
	var acc byte
	for _, c := range b {
		acc |= c
	}
	return acc == 0
}

// scratch is one goroutine's working memory.
type scratch struct {
	a, b ristretto255.Element
}

// chunkSize is the number of points a goroutine takes at a time: small enough
// to balance the load, large enough that taking it costs nothing.
const chunkSize = 256

// parallel calls work(s, lo, hi) over [0, n) in chunks on up to
// runtime.GOMAXPROCS goroutines, each with its own scratch s. It stops at the
// first error (reporting the one of the lowest chunk among those seen) or when
// ctx is done.
func parallel(ctx context.Context, n int, work func(s *scratch, lo, hi int) error) error {
	workers := min(runtime.GOMAXPROCS(0), (n+chunkSize-1)/chunkSize)
	var (
		next  atomic.Int64
		stop  atomic.Bool
		mu    sync.Mutex
		errLo = n
		first error
		wg    sync.WaitGroup
	)
	fail := func(lo int, err error) {
		stop.Store(true)
		mu.Lock()
		defer mu.Unlock()
		if lo < errLo || first == nil {
			errLo, first = lo, err
		}
	}
	for range workers {
		wg.Go(func() {
			s := new(scratch)
			for !stop.Load() {
				lo := int(next.Add(chunkSize)) - chunkSize
				if lo >= n {
					return
				}
				if err := ctx.Err(); err != nil {
					fail(lo, err)
					return
				}
				if err := work(s, lo, min(lo+chunkSize, n)); err != nil {
					fail(lo, err)
					return
				}
			}
		})
	}
	wg.Wait()
	return first
}
