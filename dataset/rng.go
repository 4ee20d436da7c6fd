package dataset

import (
	"math"
	"math/bits"
	"math/rand/v2"
)

// rng derives every random quantity the package needs from the bits of a PCG
// stream. PCG's output is fixed by its specification, and the conversions below
// are ours, so a seed gives the same numbers under every Go release (math/rand/v2
// only promises that for the raw source).
type rng struct {
	src rand.PCG
}

func newRNG(seed int64, stream uint64) *rng {
	r := &rng{}
	r.src.Seed(uint64(seed), stream)
	return r
}

func (r *rng) uint64() uint64 { return r.src.Uint64() }

// float64 returns a uniform value in [0, 1).
func (r *rng) float64() float64 { return float64(r.src.Uint64()>>11) * 0x1p-53 }

// intn returns a uniform value in [0, n) by Lemire's multiply-and-reject method.
func (r *rng) intn(n int) int {
	if n <= 0 {
		panic("dataset: intn of non-positive bound")
	}
	bound := uint64(n)
	hi, lo := bits.Mul64(r.src.Uint64(), bound)
	if lo < bound {
		thresh := -bound % bound
		for lo < thresh {
			hi, lo = bits.Mul64(r.src.Uint64(), bound)
		}
	}
	return int(hi)
}

// bernoulli reports true with probability p.
func (r *rng) bernoulli(p float64) bool { return r.float64() < p }

// norm returns a standard normal value (Box-Muller, one value per call so that
// the stream position never depends on earlier calls).
func (r *rng) norm() float64 {
	u := 1 - r.float64() // (0, 1]: keeps the logarithm finite
	v := r.float64()
	return math.Sqrt(-2*math.Log(u)) * math.Cos(2*math.Pi*v)
}

// poisson returns a Poisson variate; Knuth's product method below 30, a rounded
// normal approximation above (only used for large head counts).
func (r *rng) poisson(lambda float64) int {
	if lambda <= 0 {
		return 0
	}
	if lambda >= 30 {
		k := math.Round(lambda + math.Sqrt(lambda)*r.norm())
		return int(math.Max(k, 0))
	}
	limit := math.Exp(-lambda)
	k, p := 0, r.float64()
	for p > limit {
		k++
		p *= r.float64()
	}
	return k
}

// shuffle permutes idx in place (Fisher-Yates).
func (r *rng) shuffle(idx []int) {
	for i := len(idx) - 1; i > 0; i-- {
		j := r.intn(i + 1)
		idx[i], idx[j] = idx[j], idx[i]
	}
}
