package he

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/tuneinsight/lattigo/v5/core/rlwe"
	"github.com/tuneinsight/lattigo/v5/schemes/ckks"
)

// TestDotMatchesLattigo: the fused sum of plaintext products equals
// lattigo's product-by-product MulThenAdd, residue for residue, for sums
// longer than one reduction period and with skipped terms.
func TestDotMatchesLattigo(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 9))
	for _, s := range []ParamSet{Shared15, Linear14} {
		a, _ := pairFor(t, s, KeySpec{})
		p := a.Params()
		w := a.worker()
		level := p.set.DecryptLevel + 1
		var cts []*rlwe.Ciphertext
		var pts []*rlwe.Plaintext
		for k := 0; k < 37; k++ {
			v, err := a.EncryptAt(randVec(r, p.Slots(), 3), level)
			require.NoError(t, err)
			cts = append(cts, v.Cts[0])
			var pt *rlwe.Plaintext
			if k%5 != 3 {
				pt = ckks.NewPlaintext(p.ckks, level)
				buf := make([]complex128, p.Slots())
				for i := range buf {
					buf[i] = complex(r.NormFloat64(), r.NormFloat64())
				}
				require.NoError(t, w.encodeSlots(p, nil, nil, buf, float64(p.ckks.Q()[level]), pt))
			}
			pts = append(pts, pt)
		}
		var want *rlwe.Ciphertext
		for k := range cts {
			if pts[k] == nil {
				continue
			}
			var err error
			if want == nil {
				want, err = w.eval.MulNew(cts[k], pts[k])
			} else {
				err = w.eval.MulThenAdd(cts[k], pts[k], want)
			}
			require.NoError(t, err)
		}
		got := ckks.NewCiphertext(p.ckks, 1, level)
		dotInto(p, newDotAcc(p.N(), level+1), got, cts, pts)
		rq := p.ckks.RingQ().AtLevel(level)
		for c := range 2 {
			rq.Reduce(want.Value[c], want.Value[c])
			require.True(t, want.Value[c].Equal(&got.Value[c]), "%s component %d", s.ID, c)
		}
	}
}
