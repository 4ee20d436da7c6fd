package he

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestPartialDecryption: a partial decryption with the vector's c1
// components gives the values DecryptShare and Decrypt give (within the
// flooding), for a CoeffGrid histogram whose last ciphertext is partial and
// for a Coeff vector (both of few values per ciphertext); on the wire it is a fraction of the vector and the
// share; and the helper's residues carry the flooding: two partial
// decryptions of one vector differ by about sqrt(2) times its sigma.
func TestPartialDecryption(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	bank, center := pairFor(t, Hist13, KeySpec{Pack: true})
	p := bank.Params()
	const n, F, K = 3000, 10, 32
	spec := HistogramSpec{Bins: randBins(r, F, n, K, 0.05), K: K}
	g := randVec(r, n, 1)
	enc, err := bank.EncryptCoeffs(g, HistogramChunk(p, K, F, n))
	require.NoError(t, err)
	hs, err := center.Histograms([]*Vector{enc}, spec)
	require.NoError(t, err)
	coeff, err := bank.EncryptCoeffs(randVec(r, 700, 1), 512)
	require.NoError(t, err)
	for _, v := range []*Vector{hs[0], coeff} {
		require.NoError(t, center.Rerandomize(v))
		share, err := center.DecryptShare(v)
		require.NoError(t, err)
		want, err := bank.Decrypt(v, share)
		require.NoError(t, err)

		d, err := center.DecryptPartialShare(v)
		require.NoError(t, err)
		c1, err := p.MarshalVectorC1(v)
		require.NoError(t, err)
		pd, err := p.MarshalPartialDecryption(d)
		require.NoError(t, err)
		full, err := p.MarshalVector(v)
		require.NoError(t, err)
		sh, err := p.MarshalDecryptionShare(share)
		require.NoError(t, err)
		t.Logf("%s of %d values in %d ciphertexts: c1 %d + partial %d bytes, against vector %d + share %d",
			v.Layout, v.Len, len(v.Cts), len(c1), len(pd), len(full), len(sh))
		require.Less(t, len(c1)+len(pd), (len(full)+len(sh))/2, "a few values per ciphertext: c1 and a few residues")

		gotV, err := p.UnmarshalVectorC1(c1)
		require.NoError(t, err)
		gotD, err := p.UnmarshalPartialDecryption(pd)
		require.NoError(t, err)
		require.Equal(t, d, gotD)
		got, err := bank.DecryptPartial(gotV, gotD)
		require.NoError(t, err)
		require.Len(t, got, len(want))
		require.Less(t, maxAbsErr(got, want), 2*floodTol(Hist13))
		if v.Layout == CoeffGrid {
			plain := histPlain(g, spec, []int{0, n})
			require.Less(t, maxAbsErr(got, plain), floodTol(Hist13))
		}

		// The flooding: the same vector, decrypted twice.
		d2, err := center.DecryptPartialShare(v)
		require.NoError(t, err)
		again, err := bank.DecryptPartial(gotV, d2)
		require.NoError(t, err)
		var ss float64
		for i := range got {
			diff := (got[i] - again[i]) * v.Cts[0].Scale.Float64()
			ss += diff * diff
		}
		rms := math.Sqrt(ss / float64(len(got)))
		sigma := math.Exp2(Hist13.LogFlood())
		t.Logf("two partial decryptions differ by 2^%.2f rms, flooding sigma 2^%.1f", math.Log2(rms), Hist13.LogFlood())
		require.InDelta(t, math.Log2(math.Sqrt2*sigma), math.Log2(rms), 0.5)
	}
}

// A partial decryption that does not fit the vector is refused; the
// decoder refuses residues not reduced, truncated or padded messages and
// other parameter sets.
func TestPartialDecryptionRejects(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	bank, center := pairFor(t, Hist13, KeySpec{})
	p := bank.Params()
	v, err := bank.EncryptCoeffs(randVec(r, 600, 1), 256)
	require.NoError(t, err)
	d, err := center.DecryptPartialShare(v)
	require.NoError(t, err)
	c1b, err := p.MarshalVectorC1(v)
	require.NoError(t, err)
	c1, err := p.UnmarshalVectorC1(c1b)
	require.NoError(t, err)
	b, err := p.MarshalPartialDecryption(d)
	require.NoError(t, err)

	short := &PartialDecryption{ParamSet: d.ParamSet, Level: d.Level, Values: d.Values[:2]}
	_, err = bank.DecryptPartial(c1, short)
	require.ErrorIs(t, err, ErrShareMismatch)
	fewer := &PartialDecryption{ParamSet: d.ParamSet, Level: d.Level, Values: [][]uint64{d.Values[0], d.Values[1], d.Values[2][:4]}}
	_, err = bank.DecryptPartial(c1, fewer)
	require.ErrorIs(t, err, ErrShareMismatch)
	_, err = bank.DecryptPartial(c1, nil)
	require.ErrorIs(t, err, ErrShareMismatch)
	slots, err := bank.Encrypt(randVec(r, 10, 1))
	require.NoError(t, err)
	_, err = center.DecryptPartialShare(slots)
	require.ErrorIs(t, err, ErrLayout)

	hdr := len(p.header(kindPartialDecryption))
	notReduced := append([]byte(nil), b...)
	binary.LittleEndian.PutUint64(notReduced[hdr+1+4+4:], math.MaxUint64)
	for name, bad := range map[string][]byte{
		"not reduced": notReduced,
		"truncated":   b[:len(b)-3],
		"appended":    append(append([]byte(nil), b...), 0),
		"empty":       nil,
		"a vector":    c1b,
	} {
		_, err := p.UnmarshalPartialDecryption(bad)
		require.ErrorIs(t, err, ErrMalformed, name)
	}
	other, err := MustParams(Linear14).UnmarshalPartialDecryption(b)
	require.ErrorIs(t, err, ErrMalformed)
	require.Nil(t, other)
}

func FuzzUnmarshalPartialDecryption(f *testing.F) {
	p := MustParams(Hist13)
	d := &PartialDecryption{ParamSet: p.ID(), Level: 1, Values: [][]uint64{{1, 2, 3, 4}, {}}}
	b, err := p.MarshalPartialDecryption(d)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add(b[:len(b)-1])
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := p.UnmarshalPartialDecryption(data)
		if err != nil {
			return
		}
		again, err := p.MarshalPartialDecryption(d)
		if err != nil {
			t.Fatalf("a decoded partial decryption does not encode: %v", err)
		}
		if string(again) != string(data) {
			t.Fatal("a decoded partial decryption encodes differently")
		}
	})
}
