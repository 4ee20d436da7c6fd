package he

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

func bigOf(x limb4) *big.Int {
	a, neg := x.abs()
	v := new(big.Int)
	for i := 3; i >= 0; i-- {
		v.Lsh(v, 64)
		v.Or(v, new(big.Int).SetUint64(a[i]))
	}
	if neg {
		v.Neg(v)
	}
	return v
}

func requireBig(t *testing.T, want, got *big.Int, msg ...any) {
	t.Helper()
	require.Zero(t, want.Cmp(got), append([]any{"want %v, got %v", want, got}, msg...)...)
}

func randLimbs(r *rand.Rand, bits uint) limb4 {
	var seed [32]byte
	for i := range seed {
		seed[i] = byte(r.Uint32())
	}
	return randomLimbs(rand.NewChaCha8(seed), bits)
}

// TestShareArithmeticMatchesBig checks every limb operation against math/big.
func TestShareArithmeticMatchesBig(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for it := 0; it < 2000; it++ {
		nb := uint(1 + r.IntN(240))
		a, b := randLimbs(r, nb), randLimbs(r, uint(1+r.IntN(240)))
		ba, bb := bigOf(a), bigOf(b)
		half := new(big.Int).Lsh(big.NewInt(1), nb-1)
		require.True(t, ba.CmpAbs(half) <= 0, "uniform value inside its range")
		requireBig(t, new(big.Int).Add(ba, bb), bigOf(add4(a, b)))
		requireBig(t, new(big.Int).Sub(ba, bb), bigOf(sub4(a, b)))

		f := (r.Float64() - 0.5) * math.Exp2(float64(r.IntN(80)-40))
		fx, err := NewFixed(f)
		require.NoError(t, err)
		require.InEpsilon(t, f, fx.Float64(), 1e-18)
		got, ok := mulFixed(a, fx)
		// round(a * num / 2^shift), half away from zero on |a|.
		num := new(big.Int).SetUint64(fx.num)
		prod := new(big.Int).Mul(new(big.Int).Abs(ba), num)
		prod.Add(prod, new(big.Int).Lsh(big.NewInt(1), fx.shift-1))
		prod.Rsh(prod, fx.shift)
		if (ba.Sign() < 0) != fx.neg {
			prod.Neg(prod)
		}
		if prod.BitLen() > 255 {
			require.False(t, ok)
			continue
		}
		require.True(t, ok, "a=%v f=%v", ba, f)
		requireBig(t, prod, bigOf(got), "a=%v f=%v", ba, f)
	}
}

func TestMulFixedOverflow(t *testing.T) {
	x := limb4{0, 0, 0, 1 << 60}
	f, err := NewFixed(64)
	require.NoError(t, err)
	_, ok := mulFixed(x, f)
	require.False(t, ok)
	s := &Share{c: []limb4{x}}
	require.ErrorIs(t, s.MulFixed(s, f), ErrShareOverflow)
}

// TestCRTRoundTrip reconstructs centered integers from their residues.
func TestCRTRoundTrip(t *testing.T) {
	p := MustParams(Shared15)
	moduli := p.ckks.Q()[:p.set.DecryptLevel+1]
	c, err := newCRT(moduli)
	require.NoError(t, err)
	qb := bigOf(c.qFull)
	r := rand.New(rand.NewPCG(3, 4))
	res := make([]uint64, len(moduli))
	for it := 0; it < 3000; it++ {
		x := randLimbs(r, uint(1+r.IntN(qb.BitLen()-1)))
		if it == 0 {
			x = c.qHalf // the largest positive representative
		}
		for l, q := range moduli {
			res[l] = reduce(x, q)
			want := new(big.Int).Mod(bigOf(x), new(big.Int).SetUint64(q))
			require.Equal(t, want.Uint64(), res[l])
		}
		requireBig(t, bigOf(x), bigOf(c.fromResidues(res)))
	}
}

func TestShareAutomorphismIsRingMap(t *testing.T) {
	// x -> x^g on X^j: coefficient j moves to j*g mod 2N with a sign.
	n := 16
	s := NewShare(n)
	s.c[1] = limb4{7}
	out := NewShare(n)
	out.Automorphism(s, uint64(2*n-1)) // X -> X^-1 = -X^(N-1)
	requireBig(t, big.NewInt(-7), bigOf(out.c[n-1]))
	out.Automorphism(s, 5)
	requireBig(t, big.NewInt(7), bigOf(out.c[5]))
}

func TestLimbsOfFloat(t *testing.T) {
	for _, v := range []float64{0, 1, -1, 0.5, -0.75, 3.1415926, -1e-30, 1e20} {
		x, ok := limbsOfFloat(v, 90)
		require.True(t, ok)
		want, _ := new(big.Float).SetMantExp(big.NewFloat(v), 90).Int(nil)
		// round half away from zero
		exact := new(big.Float).SetMantExp(big.NewFloat(v), 90)
		frac := new(big.Float).Sub(exact, new(big.Float).SetInt(want))
		if f, _ := frac.Float64(); math.Abs(f) >= 0.5 {
			if v > 0 {
				want.Add(want, big.NewInt(1))
			} else {
				want.Sub(want, big.NewInt(1))
			}
		}
		requireBig(t, want, bigOf(x), "v=%v", v)
	}
	_, ok := limbsOfFloat(1e60, 90)
	require.False(t, ok)
}
