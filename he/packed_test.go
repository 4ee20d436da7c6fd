package he

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestPackedRoundTrip checks that the packed encodings decode to the very
// ciphertexts and shares that were encoded, at every level of Shared15
// (primes of 45, 50 and 60 bits), and that they are smaller.
func TestPackedRoundTrip(t *testing.T) {
	bank, _ := sharedPair(t)
	p := bank.Params()
	vals := randVec(rand.New(rand.NewPCG(7, 8)), 3000, 3)
	for _, level := range []int{0, 3, 4, p.MaxLevel()} {
		v, err := bank.EncryptAt(vals, level)
		require.NoError(t, err)
		plain, err := p.MarshalVector(v)
		require.NoError(t, err)
		packed, err := p.MarshalVectorPacked(v)
		require.NoError(t, err)
		back, err := p.UnmarshalVectorPacked(packed)
		require.NoError(t, err)
		again, err := p.MarshalVector(back)
		require.NoError(t, err)
		require.Equal(t, plain, again, "level %d", level)
		require.Less(t, len(packed), len(plain)*62/64, "level %d", level)

		c1, err := p.MarshalVectorC1(v)
		require.NoError(t, err)
		only, err := p.UnmarshalVectorC1(c1)
		require.NoError(t, err)
		require.True(t, only.Cts[0].Value[1].Equal(&v.Cts[0].Value[1]))
		require.Zero(t, only.Cts[0].Value[0].Coeffs[0][0])
		require.Less(t, len(c1), len(packed)/2+100)

		sv, err := p.EncodeShares([]float64{1, 2, 3}, 2, 2, 90)
		require.NoError(t, err)
		ss, err := bank.EncryptShares(sv, level)
		require.NoError(t, err)
		sp, err := p.MarshalSeededShares(ss)
		require.NoError(t, err)
		pk, err := p.MarshalSeededSharesPacked(ss)
		require.NoError(t, err)
		ss2, err := p.UnmarshalSeededSharesPacked(pk)
		require.NoError(t, err)
		sp2, err := p.MarshalSeededShares(ss2)
		require.NoError(t, err)
		require.Equal(t, sp, sp2)
	}
}

// TestPackedRejects feeds the packed decoders altered messages.
func TestPackedRejects(t *testing.T) {
	params := MustParams(Hist13)
	bank, _ := pairFor(t, Hist13, KeySpec{})
	v, err := bank.EncryptCoeffs([]float64{1, 2, 3}, 16)
	require.NoError(t, err)
	good, err := params.MarshalVectorPacked(v)
	require.NoError(t, err)
	plain, err := params.MarshalVector(v)
	require.NoError(t, err)
	c1, err := params.MarshalVectorC1(v)
	require.NoError(t, err)
	corrupt := func(b []byte, i int, x byte) []byte {
		c := append([]byte(nil), b...)
		c[i] = x
		return c
	}
	// The last prime's last coefficient sits in the top bits of the last
	// bytes: all ones is not reduced.
	unreduced := append([]byte(nil), good...)
	for i := len(unreduced) - 8; i < len(unreduced); i++ {
		unreduced[i] = 0xff
	}
	cases := map[string][]byte{
		"empty":           nil,
		"truncated":       good[:len(good)-1],
		"trailing":        append(append([]byte(nil), good...), 0),
		"unpacked":        plain,
		"c1 only":         c1,
		"huge count":      corrupt(good, 11+1+8+4+4+3, 0xff),
		"level above max": corrupt(good, 11+1+8+4+4+4, 9),
		"unreduced coeff": unreduced,
	}
	for name, data := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := params.UnmarshalVectorPacked(data)
			require.ErrorIs(t, err, ErrMalformed)
		})
	}
	_, err = params.UnmarshalVectorC1(good)
	require.ErrorIs(t, err, ErrMalformed)
	_, err = params.UnmarshalVectorC1(c1[:len(c1)-1])
	require.ErrorIs(t, err, ErrMalformed)
}

// TestOpenedSum opens the sum of the center's vector and the bank's, of
// which the center holds only c1: the shares add up to the sum; and the
// opening without the bank's c0 is far from it.
func TestOpenedSum(t *testing.T) {
	bank, center := sharedPair(t)
	p := bank.Params()
	r := rand.New(rand.NewPCG(9, 10))
	a, b := randVec(r, 20000, 3), randVec(r, 20000, 3)
	va, err := bank.EncryptAt(a, p.set.DecryptLevel)
	require.NoError(t, err)
	vb, err := center.EncryptAt(b, p.set.DecryptLevel)
	require.NoError(t, err)
	msg, err := p.MarshalVectorC1(va)
	require.NoError(t, err)
	c1, err := p.UnmarshalVectorC1(msg)
	require.NoError(t, err)
	sum, err := center.Add(vb, c1)
	require.NoError(t, err)
	open, mask, err := center.OpenToPeer(sum, 180)
	require.NoError(t, err)
	share, err := bank.ReceiveOpenedSum(open, va)
	require.NoError(t, err)
	got, err := p.DecodeShares(mask, share)
	require.NoError(t, err)
	want := make([]float64, len(a))
	for i := range a {
		want[i] = a[i] + b[i]
	}
	require.InDeltaSlice(t, want, got, 1e-9)

	// Without the bank's c0 the shares are garbage: the c0 never left it.
	wrong, err := bank.ReceiveOpened(open)
	require.NoError(t, err)
	bad, err := p.DecodeShares(mask, wrong)
	require.NoError(t, err)
	require.Greater(t, maxAbsErr(bad, want), 1.0)

	other, err := bank.EncryptAt(a[:100], p.set.DecryptLevel)
	require.NoError(t, err)
	_, err = bank.ReceiveOpenedSum(open, other)
	require.ErrorIs(t, err, ErrShares)
}

func FuzzUnmarshalVectorPacked(f *testing.F) {
	params := MustParams(Hist13)
	bank, _ := pairFor(f, Hist13, KeySpec{})
	v, err := bank.EncryptCoeffs([]float64{1, 2, 3}, 16)
	require.NoError(f, err)
	good, err := params.MarshalVectorPacked(v)
	require.NoError(f, err)
	c1, err := params.MarshalVectorC1(v)
	require.NoError(f, err)
	f.Add(good, false)
	f.Add(good[:40], false)
	f.Add(c1, true)
	f.Add([]byte("VH\x12\x02\x06hist13"), true)
	f.Fuzz(func(t *testing.T, data []byte, onlyC1 bool) {
		dec, enc := params.UnmarshalVectorPacked, params.MarshalVectorPacked
		if onlyC1 {
			dec, enc = params.UnmarshalVectorC1, params.MarshalVectorC1
		}
		v, err := dec(data)
		if err == nil {
			// Whatever decodes must re-encode to the same bytes.
			again, err := enc(v)
			require.NoError(t, err)
			require.Equal(t, data, again)
		}
	})
}

func FuzzUnmarshalSeededSharesPacked(f *testing.F) {
	params := MustParams(Hist13)
	bank, _ := pairFor(f, Hist13, KeySpec{})
	sv := &SharedVector{Layout: Coeff, Len: 3, Chunk: 16, Scale: 1 << 40, Shares: []*Share{NewShare(params.N())}}
	ss, err := bank.EncryptShares(sv, 0)
	require.NoError(f, err)
	good, err := params.MarshalSeededSharesPacked(ss)
	require.NoError(f, err)
	f.Add(good)
	f.Add(good[:80])
	f.Add([]byte("VH\x11\x02\x06hist13"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ss, err := params.UnmarshalSeededSharesPacked(data)
		if err == nil {
			again, err := params.MarshalSeededSharesPacked(ss)
			require.NoError(t, err)
			require.Equal(t, data, again)
		}
	})
}
