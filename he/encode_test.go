package he

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/tuneinsight/lattigo/v5/core/rlwe"
	"github.com/tuneinsight/lattigo/v5/schemes/ckks"
)

func TestFastEncodeMatchesLattigo(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 8))
	for _, s := range ParamSets {
		p := MustParams(s)
		a, _ := pairFor(t, s, KeySpec{})
		w := a.worker()
		for _, scale := range []float64{math.Exp2(40), float64(p.ckks.Q()[p.MaxLevel()]), math.Exp2(70)} {
			vals := make([]complex128, p.Slots()-3)
			re := make([]float64, p.N()-5)
			for i := range vals {
				vals[i] = complex(r.NormFloat64()*100, r.NormFloat64())
			}
			for i := range re {
				re[i] = r.NormFloat64() * 1e3
			}
			want := ckks.NewPlaintext(p.ckks, p.MaxLevel())
			want.Scale = rlwe.NewScale(scale)
			require.NoError(t, a.encoder.Encode(vals, want))
			got := ckks.NewPlaintext(p.ckks, p.MaxLevel())
			require.NoError(t, w.encodeSlots(p, nil, nil, vals, scale, got))
			require.True(t, want.Value.Equal(&got.Value), "%s slots at scale 2^%.0f", s.ID, math.Log2(scale))

			want.IsBatched = false
			require.NoError(t, a.encoder.Encode(re, want))
			require.NoError(t, w.encodeCoeffs(p, re, scale, got))
			require.True(t, want.Value.Equal(&got.Value), "%s coefficients at scale 2^%.0f", s.ID, math.Log2(scale))
		}
	}
}

func TestFastDecodeMatchesLattigo(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	for _, s := range ParamSets {
		p := MustParams(s)
		a, _ := pairFor(t, s, KeySpec{})
		w := a.worker()
		for level := 0; level <= min(2, p.MaxLevel()); level++ {
			for _, mag := range []float64{1e-3, 10, 1e5} {
				vals := make([]complex128, p.Slots())
				for i := range vals {
					vals[i] = complex(r.NormFloat64()*mag, r.NormFloat64()*mag)
				}
				pt := ckks.NewPlaintext(p.ckks, level)
				pt.Scale = rlwe.NewScale(math.Exp2(40))
				require.NoError(t, a.encoder.Encode(vals, pt))
				want := make([]complex128, p.Slots())
				require.NoError(t, a.encoder.Decode(pt, want))
				got := make([]complex128, p.Slots())
				require.NoError(t, decodeSlots(p, w.enc, pt, got))
				for i := range want {
					require.InDelta(t, real(want[i]), real(got[i]), 1e-9*mag, "%s level %d slot %d", s.ID, level, i)
					require.InDelta(t, imag(want[i]), imag(got[i]), 1e-9*mag, "%s level %d slot %d", s.ID, level, i)
				}
			}
		}
	}
}
