package he

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// A seeded vector joined by the peer decrypts (jointly) to its values, feeds
// the histogram kernel like a public-key vector, and is no noisier.
func TestSeededVector(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	bank, center := pairFor(t, Hist13, KeySpec{Pack: true})
	p := bank.Params()
	S := histStride(p, 32)
	vals := randVec(r, 3*S+5, 1)
	sv, err := bank.EncryptCoeffsSeeded(vals, S)
	require.NoError(t, err)
	require.Len(t, sv.C0, 4)

	b, err := p.MarshalSeededVector(sv)
	require.NoError(t, err)
	pk, err := bank.EncryptCoeffs(vals, S)
	require.NoError(t, err)
	full, err := p.MarshalVector(pk)
	require.NoError(t, err)
	t.Logf("seeded vector %d bytes, public-key vector %d", len(b), len(full))
	require.Less(t, len(b), len(full)/2+100)
	got, err := p.UnmarshalSeededVector(b)
	require.NoError(t, err)
	require.Equal(t, sv.Seed, got.Seed)

	v, err := center.Join(got)
	require.NoError(t, err)
	share, err := center.DecryptShare(v)
	require.NoError(t, err)
	dec, err := bank.Decrypt(v, share)
	require.NoError(t, err)
	require.Less(t, maxAbsErr(dec, vals), floodTol(Hist13))

	// Both fresh: a seeded and a public-key encryption of the same values
	// differ by less than 2^8.
	v2, err := center.Join(got)
	require.NoError(t, err)
	require.Less(t, noiseLog2(t, bank, center, v, pk), float64(8))

	// The kernel takes it as it takes a public-key vector.
	spec := HistogramSpec{Bins: randBins(r, 3, len(vals), 32, 0.05), K: 32}
	hs, err := center.Histograms([]*Vector{v2}, spec)
	require.NoError(t, err)
	share, err = center.DecryptShare(hs[0])
	require.NoError(t, err)
	h, err := bank.Decrypt(hs[0], share)
	require.NoError(t, err)
	want := histPlain(vals, spec, []int{0, len(vals)})
	require.Less(t, maxAbsErr(h, want), floodTol(Hist13))

	// Joining with the wrong share, or the sender joining its own vector,
	// gives no usable ciphertext.
	self, err := bank.Join(got)
	require.NoError(t, err)
	share, err = center.DecryptShare(self)
	require.NoError(t, err)
	dec, err = bank.Decrypt(self, share)
	require.NoError(t, err)
	require.Greater(t, maxAbsErr(dec, vals), 1e3)
}

func TestUnmarshalSeededVectorRejects(t *testing.T) {
	bank, _ := pairFor(t, Hist13, KeySpec{})
	p := bank.Params()
	sv, err := bank.EncryptCoeffsSeeded([]float64{1, 2, 3}, 16)
	require.NoError(t, err)
	good, err := p.MarshalSeededVector(sv)
	require.NoError(t, err)
	for name, bad := range map[string][]byte{
		"truncated":   good[:len(good)-8],
		"trailing":    append(append([]byte(nil), good...), 0),
		"empty":       nil,
		"vector kind": append([]byte{'V', 'H', kindVector}, good[3:]...),
		"more cts":    func() []byte { b := append([]byte(nil), good...); b[len(p.header(kindSeededVector))+12] = 9; return b }(),
		"unreduced coef": func() []byte {
			b := append([]byte(nil), good...)
			copy(b[len(b)-8:], []byte{255, 255, 255, 255, 255, 255, 255, 255})
			return b
		}(),
	} {
		_, err := p.UnmarshalSeededVector(bad)
		require.ErrorIs(t, err, ErrMalformed, name)
	}
	_, err = MustParams(Linear14).UnmarshalSeededVector(good)
	require.ErrorIs(t, err, ErrMalformed)
}

func FuzzUnmarshalSeededVector(f *testing.F) {
	params := MustParams(Hist13)
	bank, _ := pairFor(f, Hist13, KeySpec{})
	sv, err := bank.EncryptCoeffsSeeded([]float64{1, 2, 3}, 16)
	require.NoError(f, err)
	good, err := params.MarshalSeededVector(sv)
	require.NoError(f, err)
	f.Add(good)
	f.Add(good[:60])
	f.Fuzz(func(t *testing.T, data []byte) {
		sv, err := params.UnmarshalSeededVector(data)
		if err == nil {
			again, err := params.MarshalSeededVector(sv)
			require.NoError(t, err)
			require.Equal(t, data, again)
		}
	})
}

// The packed form of a seeded vector decodes to the same vector in fewer
// bytes (each coefficient in its prime's 60 bits), and its decoder refuses
// what the plain one refuses.
func TestSeededVectorPacked(t *testing.T) {
	r := rand.New(rand.NewPCG(23, 24))
	bank, _ := pairFor(t, Hist13, KeySpec{})
	p := bank.Params()
	sv, err := bank.EncryptCoeffsSeeded(randVec(r, 2500, 1), 1024)
	require.NoError(t, err)
	plain, err := p.MarshalSeededVector(sv)
	require.NoError(t, err)
	good, err := p.MarshalSeededVectorPacked(sv)
	require.NoError(t, err)
	t.Logf("%d ciphertexts: %d bytes packed, %d plain", len(sv.C0), len(good), len(plain))
	require.Less(t, float64(len(good)), 0.95*float64(len(plain)))
	got, err := p.UnmarshalSeededVectorPacked(good)
	require.NoError(t, err)
	want, err := p.UnmarshalSeededVector(plain)
	require.NoError(t, err)
	require.Equal(t, want, got)

	for name, bad := range map[string][]byte{
		"truncated":   good[:len(good)-8],
		"trailing":    append(append([]byte(nil), good...), 0),
		"empty":       nil,
		"plain kind":  plain,
		"vector kind": append([]byte{'V', 'H', kindVector}, good[3:]...),
		"more cts": func() []byte {
			b := append([]byte(nil), good...)
			b[len(p.header(kindSeededVectorPacked))+12] = 9
			return b
		}(),
		"unreduced coef": func() []byte {
			b := append([]byte(nil), good...)
			copy(b[len(b)-8:], []byte{255, 255, 255, 255, 255, 255, 255, 255})
			return b
		}(),
	} {
		_, err := p.UnmarshalSeededVectorPacked(bad)
		require.ErrorIs(t, err, ErrMalformed, name)
	}
	_, err = MustParams(Linear14).UnmarshalSeededVectorPacked(good)
	require.ErrorIs(t, err, ErrMalformed)
}

func FuzzUnmarshalSeededVectorPacked(f *testing.F) {
	params := MustParams(Hist13)
	bank, _ := pairFor(f, Hist13, KeySpec{})
	sv, err := bank.EncryptCoeffsSeeded([]float64{1, 2, 3}, 16)
	require.NoError(f, err)
	good, err := params.MarshalSeededVectorPacked(sv)
	require.NoError(f, err)
	f.Add(good)
	f.Add(good[:60])
	f.Fuzz(func(t *testing.T, data []byte) {
		sv, err := params.UnmarshalSeededVectorPacked(data)
		if err == nil {
			again, err := params.MarshalSeededVectorPacked(sv)
			require.NoError(t, err)
			require.Equal(t, data, again)
		}
	})
}
