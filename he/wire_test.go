package he

import (
	"github.com/tuneinsight/lattigo/v5/core/rlwe"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestKeyGenOverTheWire runs the key generation through the wire encoding,
// as two processes would, then decrypts jointly in both directions.
func TestKeyGenOverTheWire(t *testing.T) {
	params := MustParams(Linear14)
	bank, center, a1, a2 := keyGenOverWire(t, params, KeySpec{Relinearization: true, Rotations: []int{1, 2, 64}})
	t.Logf("round 1: %.1f MiB, round 2: %.1f MiB", float64(a1)/(1<<20), float64(a2)/(1<<20))

	want := randVec(rand.New(rand.NewPCG(11, 12)), 1000, 3)
	v, err := bank.Encrypt(want)
	require.NoError(t, err)
	// Rotation and relinearisation keys work.
	sq, err := bank.evaluator.MulRelinNew(v.Cts[0], v.Cts[0])
	require.NoError(t, err)
	require.NoError(t, bank.evaluator.Rotate(sq, 64, sq))
	_ = sq
	requireJointDecrypt(t, params, bank, center, v, want)
}

// TestKeyGenHolders: a key one party holds costs the other's last shares
// only: the bank holds the relinearisation key and the center the rotation
// keys; each evaluates with its own and fails, with an error, with the
// other's; the pair still decrypts jointly; a peer that claims the same
// key is refused.
func TestKeyGenHolders(t *testing.T) {
	params := MustParams(Linear14)
	both := KeySpec{Relinearization: true, Rotations: []int{1, 2, 64}}
	_, _, full1, full2 := keyGenOverWire(t, params, both)
	spec := both
	spec.RelinHolder, spec.GaloisHolder = HeldBySelf, HeldByPeer
	bank, center, a1, a2 := keyGenOverWire(t, params, spec)
	// The bank still sends its Galois shares (the center holds the keys),
	// and nothing for the relinearisation key it alone holds: the center
	// sends its shares of s_c and s_c^2 in round 1, no second round.
	t.Logf("bank's rounds: %.1f + %.3f MiB (both holding everything: %.1f + %.1f)", float64(a1)/(1<<20), float64(a2)/(1<<20), float64(full1)/(1<<20), float64(full2)/(1<<20))
	relinOnly, err := NewKeyGen(params, KeySpec{Relinearization: true}, testSeed)
	require.NoError(t, err)
	none, err := NewKeyGen(params, KeySpec{}, testSeed)
	require.NoError(t, err)
	require.Equal(t, full1-(len(relinOnly.MarshalRound1())-len(none.MarshalRound1())), a1)
	require.Less(t, a2, 64)
	kc, err := NewKeyGen(params, spec.Peer(), testSeed)
	require.NoError(t, err)
	noGalois, err := NewKeyGen(params, KeySpec{Relinearization: true}, testSeed)
	require.NoError(t, err)
	// The center's round 1: no Galois share, only their three elements' ids.
	require.Equal(t, len(noGalois.MarshalRound1())+3*8, len(kc.MarshalRound1()))

	want := randVec(rand.New(rand.NewPCG(13, 14)), 1000, 3)
	v, err := bank.Encrypt(want)
	require.NoError(t, err)
	// The bank's key relinearises: v*v decrypts jointly to the squares.
	sq, err := bank.evaluator.MulRelinNew(v.Cts[0], v.Cts[0])
	require.NoError(t, err)
	for range 2 { // back near the set's scale, within the decryption level
		require.NoError(t, bank.evaluator.Rescale(sq, sq))
	}
	squares := make([]float64, len(want))
	for i, x := range want {
		squares[i] = x * x
	}
	requireJointDecrypt(t, params, bank, center, &Vector{Layout: v.Layout, Len: v.Len, Cts: []*rlwe.Ciphertext{sq}}, squares)
	_, err = center.evaluator.MulRelinNew(v.Cts[0], v.Cts[0])
	require.Error(t, err, "the center holds no relinearisation key")
	require.NoError(t, center.evaluator.Rotate(v.Cts[0], 64, v.Cts[0].CopyNew()))
	require.Error(t, bank.evaluator.Rotate(v.Cts[0], 64, v.Cts[0].CopyNew()), "the bank holds no rotation key")
	requireJointDecrypt(t, params, bank, center, v, want)

	// Both claiming the relinearisation key: refused on either side.
	ka, err := NewKeyGen(params, spec, testSeed)
	require.NoError(t, err)
	kb, err := NewKeyGen(params, KeySpec{Relinearization: true, Rotations: []int{1, 2, 64}, RelinHolder: HeldBySelf, GaloisHolder: HeldBySelf}, testSeed)
	require.NoError(t, err)
	_, err = ka.UnmarshalRound1(kb.MarshalRound1())
	require.ErrorIs(t, err, ErrKeySpecMismatch)
	require.ErrorContains(t, err, "held by this party")
	_, err = ka.Round2(kb.Round1())
	require.ErrorIs(t, err, ErrKeySpecMismatch)
	_, err = NewKeyGen(params, KeySpec{GaloisHolder: 3}, testSeed)
	require.ErrorContains(t, err, "holder(3)")
}

// keyGenOverWire runs the key generation through the wire encoding, as two
// processes would, the bank with spec and the center with its mirror, and
// returns both parties and the sizes of the bank's two messages.
func keyGenOverWire(t *testing.T, params Params, spec KeySpec) (bank, center *Party, round1, round2 int) {
	t.Helper()
	ka, err := NewKeyGen(params, spec, testSeed)
	require.NoError(t, err)
	kb, err := NewKeyGen(params, spec.Peer(), testSeed)
	require.NoError(t, err)

	a1, b1 := ka.MarshalRound1(), kb.MarshalRound1()
	pb1, err := ka.UnmarshalRound1(b1)
	require.NoError(t, err)
	pa1, err := kb.UnmarshalRound1(a1)
	require.NoError(t, err)
	_, err = ka.Round2(pb1)
	require.NoError(t, err)
	_, err = kb.Round2(pa1)
	require.NoError(t, err)
	a2, err := ka.MarshalRound2()
	require.NoError(t, err)
	b2, err := kb.MarshalRound2()
	require.NoError(t, err)
	pb2, err := ka.UnmarshalRound2(b2)
	require.NoError(t, err)
	pa2, err := kb.UnmarshalRound2(a2)
	require.NoError(t, err)
	bank, err = ka.Finish(pb2)
	require.NoError(t, err)
	center, err = kb.Finish(pa2)
	require.NoError(t, err)
	return bank, center, len(a1), len(a2)
}

// requireJointDecrypt decrypts v for the bank through the wire: the bank
// sends the vector, the center its share.
func requireJointDecrypt(t *testing.T, params Params, bank, center *Party, v *Vector, want []float64) {
	t.Helper()
	data, err := params.MarshalVector(v)
	require.NoError(t, err)
	got, err := params.UnmarshalVector(data)
	require.NoError(t, err)
	share, err := center.DecryptShare(got)
	require.NoError(t, err)
	shareBytes, err := params.MarshalDecryptionShare(share)
	require.NoError(t, err)
	share2, err := params.UnmarshalDecryptionShare(shareBytes)
	require.NoError(t, err)
	vals, err := bank.Decrypt(v, share2)
	require.NoError(t, err)
	require.Less(t, maxAbsErr(vals, want), 1e-4)
}

func TestKeyGenMismatch(t *testing.T) {
	params := MustParams(Hist13)
	ka, err := NewKeyGen(params, KeySpec{Pack: true}, testSeed)
	require.NoError(t, err)
	kb, err := NewKeyGen(params, KeySpec{}, testSeed)
	require.NoError(t, err)
	_, err = ka.UnmarshalRound1(kb.MarshalRound1())
	require.ErrorIs(t, err, ErrKeySpecMismatch)
	other, err := NewKeyGen(MustParams(Linear14), KeySpec{}, testSeed)
	require.NoError(t, err)
	_, err = kb.UnmarshalRound1(other.MarshalRound1())
	require.ErrorIs(t, err, ErrKeySpecMismatch)
	require.ErrorContains(t, err, "linear14")
	_, err = NewKeyGen(params, KeySpec{}, []byte("short"))
	require.Error(t, err)
}

func TestUnmarshalRejects(t *testing.T) {
	params := MustParams(Hist13)
	bank, center := pairFor(t, Hist13, KeySpec{})
	v, err := bank.EncryptCoeffs([]float64{1, 2, 3}, 16)
	require.NoError(t, err)
	good, err := params.MarshalVector(v)
	require.NoError(t, err)
	share, err := center.DecryptShare(v)
	require.NoError(t, err)
	goodShare, err := params.MarshalDecryptionShare(share)
	require.NoError(t, err)

	corrupt := func(b []byte, i int, x byte) []byte {
		c := append([]byte(nil), b...)
		c[i] = x
		return c
	}
	cases := map[string][]byte{
		"empty":           nil,
		"truncated":       good[:len(good)-1],
		"trailing":        append(append([]byte(nil), good...), 0),
		"wrong kind":      corrupt(good, 2, kindDecryptionShare),
		"wrong version":   corrupt(good, 3, 9),
		"wrong set":       append(MustParams(Linear14).header(kindVector), good[5+len("hist13"):]...),
		"bad layout":      corrupt(good, 11, 77),
		"huge count":      corrupt(good, 11+1+8+4+4+3, 0xff),
		"unreduced coeff": corrupt(good, len(good)-1, 0xff),
		"level above max": corrupt(good, 11+1+8+4+4+4, 9),
		"share as vector": goodShare,
	}
	for name, data := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := params.UnmarshalVector(data)
			require.Error(t, err)
		})
	}
	_, err = params.UnmarshalDecryptionShare(goodShare[:len(goodShare)-8])
	require.ErrorIs(t, err, ErrMalformed)
	_, err = params.UnmarshalDecryptionShare(good)
	require.ErrorIs(t, err, ErrMalformed)
}

func FuzzUnmarshalVector(f *testing.F) {
	params := MustParams(Hist13)
	bank, _ := pairFor(f, Hist13, KeySpec{})
	v, err := bank.EncryptCoeffs([]float64{1, 2, 3}, 16)
	require.NoError(f, err)
	good, err := params.MarshalVector(v)
	require.NoError(f, err)
	f.Add(good)
	f.Add(good[:40])
	f.Add([]byte("VH\x01\x01\x06hist13"))
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := params.UnmarshalVector(data)
		if err == nil {
			// Whatever decodes must re-encode to the same bytes.
			again, err := params.MarshalVector(v)
			require.NoError(t, err)
			require.Equal(t, data, again)
		}
	})
}

func FuzzUnmarshalDecryptionShare(f *testing.F) {
	params := MustParams(Hist13)
	bank, center := pairFor(f, Hist13, KeySpec{})
	v, err := bank.EncryptCoeffs([]float64{1}, 16)
	require.NoError(f, err)
	share, err := center.DecryptShare(v)
	require.NoError(f, err)
	good, err := params.MarshalDecryptionShare(share)
	require.NoError(f, err)
	f.Add(good)
	f.Add(good[:20])
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := params.UnmarshalDecryptionShare(data)
		if err == nil {
			again, err := params.MarshalDecryptionShare(s)
			require.NoError(t, err)
			require.Equal(t, data, again)
		}
	})
}

func FuzzUnmarshalKeyGen(f *testing.F) {
	params := MustParams(Hist13)
	kg, err := NewKeyGen(params, KeySpec{Relinearization: true}, testSeed)
	require.NoError(f, err)
	// A party that alone holds the relinearisation key reads the peer's
	// shares of s_c and s_c^2 in round 1.
	holder, err := NewKeyGen(params, KeySpec{Relinearization: true, RelinHolder: HeldBySelf}, testSeed)
	require.NoError(f, err)
	other, err := NewKeyGen(params, KeySpec{Relinearization: true, RelinHolder: HeldByPeer}, testSeed)
	require.NoError(f, err)
	r1 := kg.MarshalRound1()
	f.Add(r1[:64], true)
	f.Add(other.MarshalRound1()[:64], true)
	f.Add([]byte("VH\x04\x01\x06hist13\x01"), false)
	f.Add([]byte("VH\x03\x01\x06hist13\x00\x00\x00\x00\x01"), true)
	f.Add([]byte("VH\x03\x01\x06hist13\x01\x00\x00\x00\x00\x00\x02"), true)
	f.Fuzz(func(t *testing.T, data []byte, second bool) {
		// Must never panic; the exact-length check bounds allocation.
		if second {
			_, _ = kg.UnmarshalRound1(data)
			_, _ = holder.UnmarshalRound1(data)
		} else {
			_, _ = kg.UnmarshalRound2(data)
			_, _ = holder.UnmarshalRound2(data)
		}
	})
}

// The share decoders take any parameters; Hist13's small ring keeps the
// fuzzer's inputs small.
func FuzzUnmarshalSeededShares(f *testing.F) {
	params := MustParams(Hist13)
	bank, _ := pairFor(f, Hist13, KeySpec{})
	sv := &SharedVector{Layout: Coeff, Len: 3, Chunk: 16, Scale: 1 << 40, Shares: []*Share{NewShare(params.N())}}
	ss, err := bank.EncryptShares(sv, 0)
	require.NoError(f, err)
	good, err := params.MarshalSeededShares(ss)
	require.NoError(f, err)
	f.Add(good)
	f.Add(good[:80])
	f.Add([]byte("VH\x06\x02\x06hist13"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ss, err := params.UnmarshalSeededShares(data)
		if err == nil {
			again, err := params.MarshalSeededShares(ss)
			require.NoError(t, err)
			require.Equal(t, data, again)
		}
	})
}

func FuzzUnmarshalShares(f *testing.F) {
	params := MustParams(Hist13)
	sv := &SharedVector{Layout: Coeff, Len: 3, Chunk: 16, Scale: 1 << 40, Shares: []*Share{NewShare(params.N())}}
	good, err := params.MarshalShares(sv)
	require.NoError(f, err)
	f.Add(good)
	f.Add(good[:60])
	f.Add([]byte("VH\x07\x02\x06hist13"))
	f.Fuzz(func(t *testing.T, data []byte) {
		sv, err := params.UnmarshalShares(data)
		if err == nil {
			again, err := params.MarshalShares(sv)
			require.NoError(t, err)
			require.Equal(t, data, again)
		}
	})
}

func TestSharesWireRoundTrip(t *testing.T) {
	p := MustParams(Shared15)
	bank, center := sharedPair(t)
	shape := SharedShape(p, 1000, 9)
	sv, err := p.EncodeShares([]float64{1, -2, 3, 0.5, 0, 0, 7, 8, 9}, shape.Half, shape.Block, 90)
	require.NoError(t, err)
	b, err := p.MarshalShares(sv)
	require.NoError(t, err)
	back, err := p.UnmarshalShares(b)
	require.NoError(t, err)
	d, err := MaxCoeffDiff(sv, back)
	require.NoError(t, err)
	require.Zero(t, d)
	require.Equal(t, sv.Scale, back.Scale)
	ss, err := bank.EncryptShares(sv, 4)
	require.NoError(t, err)
	eb, err := p.MarshalSeededShares(ss)
	require.NoError(t, err)
	ss2, err := p.UnmarshalSeededShares(eb)
	require.NoError(t, err)
	zero := ZeroShares(sv, sv.Scale)
	v, err := center.JoinShares(ss2, zero)
	require.NoError(t, err)
	vals := openDecode(t, center, bank, v)
	require.InDeltaSlice(t, []float64{1, -2, 3, 0.5, 0, 0, 7, 8, 9}, vals, 1e-9)
	for _, cut := range []int{0, 10, len(b) - 1} {
		_, err := p.UnmarshalShares(b[:cut])
		require.ErrorIs(t, err, ErrMalformed)
	}
}
