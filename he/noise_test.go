package he

import (
	"math"
	"math/big"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/tuneinsight/lattigo/v5/ring"
)

// noiseLog2 measures the ciphertext noise that joint decryption must flood:
// v1 and v2 are the results of the same computation on two encryptions of
// the same input, so their decryptions (with both key shares and no flooding,
// possible only in a test, where both shares live in one process) differ
// exactly by the difference of their noises. It returns log2 of the largest
// coefficient of that difference, less half a bit for the two noises.
func noiseLog2(t *testing.T, a, b *Party, v1, v2 *Vector) float64 {
	t.Helper()
	require.Equal(t, len(v1.Cts), len(v2.Cts))
	worst := 0.0
	for i := range v1.Cts {
		c1, c2 := v1.Cts[i], v2.Cts[i]
		require.Equal(t, c1.Level(), c2.Level())
		rq := a.params.ckks.RingQ().AtLevel(c1.Level())
		dec := func(ct *ringPolys) ring.Poly {
			pt := rq.NewPoly()
			rq.MulCoeffsMontgomery(ct.c1, a.sk.Value.Q, pt)
			rq.MulCoeffsMontgomeryThenAdd(ct.c1, b.sk.Value.Q, pt)
			rq.Add(pt, ct.c0, pt)
			return pt
		}
		d := dec(&ringPolys{c1.Value[0], c1.Value[1]})
		rq.Sub(d, dec(&ringPolys{c2.Value[0], c2.Value[1]}), d)
		rq.INTT(d, d)
		coeffs := make([]*big.Int, rq.N())
		for i := range coeffs {
			coeffs[i] = new(big.Int)
		}
		rq.PolyToBigintCentered(d, 1, coeffs)
		for _, c := range coeffs {
			f, _ := new(big.Float).SetInt(c).Float64()
			worst = math.Max(worst, math.Abs(f))
		}
	}
	return math.Log2(worst) - 0.5
}

type ringPolys struct{ c0, c1 ring.Poly }
