package he

import (
	"math/bits"

	"github.com/tuneinsight/lattigo/v5/core/rlwe"
)

// Fused sums of plaintext products. lattigo multiplies and reduces one
// (ciphertext, plaintext) product at a time; a sum of K products reduces K
// times per coefficient. dotInto accumulates the K full 128-bit products of
// each coefficient and reduces once (two Montgomery reductions: the sum
// times 2^-64, then times 2^128 mod q times 2^-64), which is what the
// matrix products' inner sums are. TestDotMatchesLattigo checks it against
// lattigo's MulThenAdd value for value.

// maxDotTerms bounds the terms added between reductions of the high word:
// every product is below 2^123 (residues below 2q < 2^62, plaintexts below
// q < 2^61), and a high word reduced below q adds 2^125, so 16 products on
// top stay below 2^128.
const maxDotTerms = 16

// dotAcc is one worker's accumulator of a sum of products at a level.
type dotAcc struct {
	hi, lo [2][]uint64 // per component, prime-major: [i*N + j]
}

func newDotAcc(n, primes int) *dotAcc {
	a := &dotAcc{}
	for c := range 2 {
		a.hi[c] = make([]uint64, n*primes)
		a.lo[c] = make([]uint64, n*primes)
	}
	return a
}

// redc returns h*2^64 + l times 2^-64 mod q, for h*2^64 + l < q*2^64.
func redc(h, l, q, qinv uint64) uint64 {
	m := l * qinv
	mh, ml := bits.Mul64(m, q)
	_, carry := bits.Add64(l, ml, 0)
	r := h + mh + carry
	if r >= q {
		r -= q
	}
	return r
}

// montInv returns -q^-1 mod 2^64 (q odd).
func montInv(q uint64) uint64 {
	x := q // q*q = 1 mod 8: three bits; Newton doubles them
	for range 5 {
		x *= 2 - q*x
	}
	return -x
}

// dotInto sets out = sum_k cts[k] * pts[k] at out's level (every input at
// or above it), in the NTT domain. Terms with a nil plaintext are skipped.
// out's metadata is the first term's product's (scales multiply; the terms
// must share their scales, as a matrix's diagonals and its input's rotations
// do). It reports whether any term was present.
func dotInto(p Params, acc *dotAcc, out *rlwe.Ciphertext, cts []*rlwe.Ciphertext, pts []*rlwe.Plaintext) bool {
	level := out.Level()
	rq := p.ckks.RingQ().AtLevel(level)
	n := rq.N()
	for c := range 2 {
		clear(acc.hi[c][:n*(level+1)])
		clear(acc.lo[c][:n*(level+1)])
	}
	// Tiles of coefficients, all terms summed over one tile before the
	// next: the tile's accumulators stay in cache while each term's
	// residues stream through once.
	const tile = 512
	first := -1
	for k := range cts {
		if pts[k] != nil {
			first = k
			break
		}
	}
	if first < 0 {
		for c := range 2 {
			for i := 0; i <= level; i++ {
				clear(out.Value[c].Coeffs[i])
			}
		}
		return false
	}
	*out.MetaData = *cts[first].MetaData
	out.Scale = cts[first].Scale.Mul(pts[first].Scale)
	for i := 0; i <= level; i++ {
		q := rq.SubRings[i].Modulus
		for j0 := 0; j0 < n; j0 += tile {
			for c := range 2 {
				hi := acc.hi[c][i*n+j0 : i*n+j0+tile]
				lo := acc.lo[c][i*n+j0 : i*n+j0+tile]
				terms := 0
				for k, ct := range cts {
					pt := pts[k]
					if pt == nil {
						continue
					}
					if terms > 0 && terms%maxDotTerms == 0 {
						// Reducing the high word modulo q changes the sum by
						// a multiple of q*2^64, which the Montgomery
						// reduction maps to a multiple of q.
						for j := range hi {
							if hi[j] >= q {
								hi[j] %= q
							}
						}
					}
					terms++
					a := ct.Value[c].Coeffs[i][j0 : j0+tile]
					b := pt.Value.Coeffs[i][j0 : j0+tile]
					for j := range a {
						h, l := bits.Mul64(a[j], b[j])
						var carry uint64
						lo[j], carry = bits.Add64(lo[j], l, 0)
						hi[j] += h + carry
					}
				}
			}
		}
	}
	for i := 0; i <= level; i++ {
		q := rq.SubRings[i].Modulus
		qinv := montInv(q)
		r2 := pow2mod(128, q)
		for c := range 2 {
			hi, lo := acc.hi[c][i*n:(i+1)*n], acc.lo[c][i*n:(i+1)*n]
			dst := out.Value[c].Coeffs[i][:n]
			for j := range dst {
				h := hi[j]
				if h >= q {
					h %= q
				}
				x := redc(h, lo[j], q, qinv) // sum * 2^-64
				hh, ll := bits.Mul64(x, r2)
				dst[j] = redc(hh, ll, q, qinv) // * 2^128 * 2^-64
			}
		}
	}
	return true
}
