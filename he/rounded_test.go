package he

import (
	"bytes"
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/tuneinsight/lattigo/v5/ring"
)

// TestRoundCodec: every coefficient of a polynomial of one to eleven
// primes comes back within 2^(drop-1) of itself modulo Q, checked against
// math/big's CRT, for drops from none to past one prime; the bytes are
// the rounded integers' bits.
func TestRoundCodec(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, c := range []struct {
		set    ParamSet
		primes int
	}{{Hist13, 1}, {Hist13, 2}, {Shared15, 4}, {Shared15, 5}, {Shared15, 11}} {
		p, primes := MustParams(c.set), c.primes
		moduli := p.ckks.Q()[:primes]
		rq := p.ckks.RingQ().AtLevel(primes - 1)
		Q := big.NewInt(1)
		for _, q := range moduli {
			Q.Mul(Q, new(big.Int).SetUint64(q))
		}
		crt := newBigCRTExact(moduli)
		for _, drop := range []int{0, 1, 15, 39, 59, 63, 64, 65, 72, 100, 128, 200, Q.BitLen() - 1} {
			if drop >= Q.BitLen() {
				continue
			}
			c, err := newRoundCodec(moduli, drop)
			require.NoError(t, err)
			poly := rq.NewPoly()
			for l, q := range moduli {
				for j := range poly.Coeffs[l] {
					poly.Coeffs[l][j] = r.Uint64N(q)
				}
			}
			// The extremes: 0 and Q - 1.
			for l, q := range moduli {
				poly.Coeffs[l][0], poly.Coeffs[l][1] = 0, q-1
			}
			b := c.appendPolys(nil, rq, []ring.Poly{poly}, false)
			require.Len(t, b, c.bytes(rq.N()))
			require.Equal(t, uint(Q.BitLen()-drop), c.width, "drop %d", drop)
			got, err := c.readPolys(b, rq, 1, false, "test")
			require.NoError(t, err)
			back := got[0]
			half := new(big.Int).Lsh(big.NewInt(1), uint(max(drop-1, 0)))
			if drop == 0 {
				half.SetInt64(0)
			}
			for j := range min(len(poly.Coeffs[0]), 512) {
				diff := new(big.Int).Sub(crt.value(back, j), crt.value(poly, j))
				diff.Mod(diff, Q)
				if diff.Cmp(new(big.Int).Rsh(Q, 1)) > 0 {
					diff.Sub(diff, Q)
				}
				require.LessOrEqual(t, new(big.Int).Abs(diff).Cmp(half), 0, "%d primes, drop %d, coefficient %d: off by %v", primes, drop, j, diff)
			}
		}
	}
	_, err := newRoundCodec(MustParams(Hist13).ckks.Q()[:1], 60)
	require.ErrorIs(t, err, ErrShape)
	_, err = newRoundCodec(nil, 0)
	require.ErrorIs(t, err, ErrShape)
}

// setBytes returns a copy of b with the bytes from at on replaced by v:
// a message corrupted at one field.
func setBytes(b []byte, at int, v ...byte) []byte {
	c := bytes.Clone(b)
	copy(c[at:], v)
	return c
}

// bigCRTExact gives a polynomial's coefficient as an integer in [0, Q).
type bigCRTExact struct{ c *bigCRT }

func newBigCRTExact(moduli []uint64) bigCRTExact { return bigCRTExact{newBigCRT(moduli)} }

func (b bigCRTExact) value(p ring.Poly, j int) *big.Int {
	x := new(big.Int)
	for l := range b.c.moduli {
		x.Add(x, new(big.Int).Mul(new(big.Int).SetUint64(p.Coeffs[l][j]), b.c.basis[l]))
	}
	return x.Mod(x, b.c.q)
}

// TestSeededVectorRounded: gradients rounded by the drop HistInputDropBits
// allows travel in (120 - drop)/120 of the packed form's bytes, decrypt to
// the same values, and their histograms' noise, measured, stays below the
// bound the drop was chosen for; a message is refused whole when malformed.
func TestSeededVectorRounded(t *testing.T) {
	r := rand.New(rand.NewPCG(23, 25))
	bank, center := pairFor(t, Hist13, KeySpec{Pack: true})
	p := bank.Params()
	const n, K = 20_000, 8
	chunk := HistogramStride(p, K)
	drop := HistInputDropBits(p, n, chunk, K)
	require.Greater(t, drop, 8)
	g := randVec(r, n, 1)
	sv, err := bank.EncryptCoeffsSeeded(g, chunk)
	require.NoError(t, err)
	packed, err := p.MarshalSeededVectorPacked(sv)
	require.NoError(t, err)
	good, err := p.MarshalSeededVectorRounded(sv, drop)
	require.NoError(t, err)
	t.Logf("%d rows in chunks of %d, %d bins: %d bits dropped, %d bytes against %d packed", n, chunk, K, drop, len(good), len(packed))
	require.InEpsilon(t, float64(120-drop)/120, float64(len(good))/float64(len(packed)), 0.01)
	got, err := p.UnmarshalSeededVectorRounded(good)
	require.NoError(t, err)
	require.Equal(t, drop, got.Dropped)
	require.Equal(t, sv.Seed, got.Seed)

	// The values: decrypted whole, within the rounding's effect.
	v, err := center.Join(got)
	require.NoError(t, err)
	share, err := center.DecryptShare(v)
	require.NoError(t, err)
	vals, err := bank.Decrypt(v, share)
	require.NoError(t, err)
	require.Less(t, maxAbsErr(vals, g), 2*floodTol(Hist13))

	// The noise of histograms of rounded inputs, against the bound the drop
	// keeps (two encryptions of the same values: their noises' difference).
	spec := HistogramSpec{Bins: randBins(r, 1, n, K, 0.05), K: K}
	noise := histInputNoise(t, bank, center, g, chunk, spec, func(sv *SeededVector) *SeededVector {
		b, err := p.MarshalSeededVectorRounded(sv, drop)
		require.NoError(t, err)
		back, err := p.UnmarshalSeededVectorRounded(b)
		require.NoError(t, err)
		return back
	})
	bound := math.Log2(histNoiseSigmaDrop(p, n, chunk, histRounds(p, K), drop) * tailFactor(Hist13.LogMaxDecrypted))
	t.Logf("histogram noise of rounded inputs: measured 2^%.1f, bound 2^%.1f, the set's 2^%.1f", noise, bound, Hist13.LogNoiseBound)
	require.Less(t, noise, bound)
	require.LessOrEqual(t, bound, Hist13.LogNoiseBound)
	// One bit more than allowed passes the set's bound.
	require.Greater(t, math.Log2(histNoiseSigmaDrop(p, n, chunk, histRounds(p, K), drop+1)*tailFactor(Hist13.LogMaxDecrypted)), Hist13.LogNoiseBound)

	hdr := len(p.header(kindSeededVectorRounded))
	for name, bad := range map[string][]byte{
		"truncated":                    good[:len(good)-8],
		"trailing":                     append(append([]byte(nil), good...), 0),
		"empty":                        nil,
		"packed kind":                  packed,
		"more cts":                     setBytes(good, hdr+12, 9),
		"drop past the modulus":        setBytes(good, hdr+16, 130),
		"other drop":                   setBytes(good, hdr+16, byte(drop+1)),
		"coefficient past the modulus": setBytes(good, len(good)-20, bytes.Repeat([]byte{255}, 20)...),
	} {
		_, err := p.UnmarshalSeededVectorRounded(bad)
		require.ErrorIs(t, err, ErrMalformed, name)
	}
	_, err = MustParams(Linear14).UnmarshalSeededVectorRounded(good)
	require.ErrorIs(t, err, ErrMalformed)
	require.Zero(t, HistInputDropBits(p, Hist13.MaxRows+1, chunk, K), "past the set's rows: no bound, no drop")
}

// TestVectorC1Rounded: a histogram decrypted from rounded c1 components
// equals the exact partial decryption's within the flooding, the c1 travel
// in (120 - C1DropBits)/120 of the bytes, and a message rounded past what
// keeps the precision, or malformed, is refused.
func TestVectorC1Rounded(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 7))
	bank, center := pairFor(t, Hist13, KeySpec{Pack: true})
	p := bank.Params()
	const n, F, K = 3000, 10, 32
	spec := HistogramSpec{Bins: randBins(r, F, n, K, 0.05), K: K}
	g := randVec(r, n, 1)
	enc, err := bank.EncryptCoeffs(g, HistogramChunk(p, K, F, n))
	require.NoError(t, err)
	hs, err := center.Histograms([]*Vector{enc}, spec)
	require.NoError(t, err)
	v := hs[0]
	require.NoError(t, center.Rerandomize(v))
	d, err := center.DecryptPartialShare(v)
	require.NoError(t, err)
	exact, err := p.MarshalVectorC1(v)
	require.NoError(t, err)
	good, err := p.MarshalVectorC1Rounded(v)
	require.NoError(t, err)
	drop := C1DropBits(p)
	t.Logf("c1 of %d ciphertexts: %d bytes rounded by %d bits, %d exact", len(v.Cts), len(good), drop, len(exact))
	require.InEpsilon(t, float64(120-drop)/120, float64(len(good))/float64(len(exact)), 0.01)

	ev, err := p.UnmarshalVectorC1(exact)
	require.NoError(t, err)
	want, err := bank.DecryptPartial(ev, d)
	require.NoError(t, err)
	rv, err := p.UnmarshalVectorC1Rounded(good)
	require.NoError(t, err)
	got, err := bank.DecryptPartial(rv, d)
	require.NoError(t, err)
	// The same flooding draw: the difference is s*delta alone, 2^5 below
	// the flooding's sigma at one standard deviation (8 of them here).
	sigma := math.Exp2(Hist13.LogFlood()) / v.Cts[0].Scale.Float64()
	require.Less(t, maxAbsErr(got, want), 8*sigma/32)
	require.Less(t, maxAbsErr(got, histPlain(g, spec, []int{0, n})), floodTol(Hist13))

	hdr := len(p.header(kindVectorRounded))
	for name, bad := range map[string][]byte{
		"truncated":                    good[:len(good)-8],
		"trailing":                     append(append([]byte(nil), good...), 0),
		"empty":                        nil,
		"exact kind":                   exact,
		"more cts":                     setBytes(good, hdr+17, 9),
		"rounded past the precision":   setBytes(good, hdr+22, byte(drop+1)),
		"with c0":                      setBytes(good, hdr+21, byte(drop)),
		"slot layout":                  setBytes(good, hdr, byte(SlotReal)),
		"coefficient past the modulus": setBytes(good, len(good)-20, bytes.Repeat([]byte{255}, 20)...),
	} {
		_, err := p.UnmarshalVectorC1Rounded(bad)
		require.ErrorIs(t, err, ErrMalformed, name)
	}
	_, err = MustParams(Linear14).UnmarshalVectorC1Rounded(good)
	require.ErrorIs(t, err, ErrMalformed)
}

func FuzzUnmarshalSeededVectorRounded(f *testing.F) {
	params := MustParams(Hist13)
	bank, _ := pairFor(f, Hist13, KeySpec{})
	sv, err := bank.EncryptCoeffsSeeded([]float64{1, 2, 3}, 16)
	require.NoError(f, err)
	good, err := params.MarshalSeededVectorRounded(sv, 12)
	require.NoError(f, err)
	f.Add(good)
	f.Add(good[:60])
	f.Fuzz(func(t *testing.T, data []byte) {
		sv, err := params.UnmarshalSeededVectorRounded(data)
		if err == nil {
			again, err := params.MarshalSeededVectorRounded(sv, sv.Dropped)
			require.NoError(t, err)
			require.Equal(t, data, again)
		}
	})
}

func FuzzUnmarshalVectorRounded(f *testing.F) {
	params := MustParams(Hist13)
	bank, _ := pairFor(f, Hist13, KeySpec{})
	v, err := bank.EncryptCoeffs([]float64{1, 2, 3}, 16)
	require.NoError(f, err)
	bank.DropToDecryptLevel(v)
	for _, drops := range [][2]int{{-1, C1DropBits(params)}, {12, 30}} {
		good, err := params.MarshalVectorRounded(v, drops[0], drops[1])
		require.NoError(f, err)
		f.Add(good)
		f.Add(good[:60])
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, rd, err := params.UnmarshalVectorRounded(data)
		if err == nil {
			again, err := params.MarshalVectorRounded(v, rd.C0, rd.C1)
			require.NoError(t, err)
			require.Equal(t, data, again)
		}
	})
}

// BenchmarkRoundCodec: one polynomial written and read back (in segments
// over the cores, as the wire forms do), at Hist13's two primes and
// Shared15's share level (4) and top (11).
func BenchmarkRoundCodec(b *testing.B) {
	for _, c := range []struct {
		set    ParamSet
		primes int
	}{{Hist13, 2}, {Shared15, 4}, {Shared15, 11}} {
		p := MustParams(c.set)
		b.Run(fmt.Sprintf("%s/%d", c.set.ID, c.primes), func(b *testing.B) {
			codec, err := newRoundCodec(p.ckks.Q()[:c.primes], 39)
			require.NoError(b, err)
			rq := p.ckks.RingQ().AtLevel(c.primes - 1)
			poly := rq.NewPoly()
			r := rand.New(rand.NewPCG(1, 1))
			for l, q := range p.ckks.Q()[:c.primes] {
				for j := range poly.Coeffs[l] {
					poly.Coeffs[l][j] = r.Uint64N(q)
				}
			}
			var buf []byte
			for b.Loop() {
				buf = codec.appendPolys(buf[:0], rq, []ring.Poly{poly}, false)
				_, err := codec.readPolys(buf, rq, 1, false, "bench")
				require.NoError(b, err)
			}
		})
	}
}

// TestSlotRounding: an opening (OpenToPeer's h and c1) and encrypted
// shares at the top level, rounded by SlotDropBits, decode to the exact
// path's values within 2^-40 (each slot's error is at most 2^-45 at one
// standard deviation), in the bytes the rounding saves; a message rounded
// more is seen as such (the protocols refuse it).
func TestSlotRounding(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	bank, center := pairFor(t, Shared15, KeySpec{})
	p := bank.Params()
	rd := SlotDropBits(p)
	direct, keyed := rd.C0, rd.C1
	require.Equal(t, 39, direct)
	require.Equal(t, 31, keyed)
	lvl := p.set.DecryptLevel

	x := randVec(r, p.Slots(), 8)
	v, err := center.EncryptAt(x, lvl)
	require.NoError(t, err)
	msg, own, err := center.OpenToPeer(v, 150)
	require.NoError(t, err)
	exact, err := p.MarshalVectorPacked(msg)
	require.NoError(t, err)
	good, err := p.MarshalVectorRounded(msg, direct, keyed)
	require.NoError(t, err)
	t.Logf("an opening at level %d: %d bytes rounded, %d packed", lvl, len(good), len(exact))
	require.Less(t, len(good), len(exact)*170/200)
	back, rd, err := p.UnmarshalVectorRounded(good)
	require.NoError(t, err)
	require.Equal(t, Rounding{C0: direct, C1: keyed}, rd)
	decode := func(m *Vector) []float64 {
		got, err := bank.ReceiveOpened(m)
		require.NoError(t, err)
		vals, err := p.DecodeShares(own, got)
		require.NoError(t, err)
		return vals
	}
	want, got := decode(msg), decode(back)
	require.Less(t, maxAbsErr(got, want), math.Exp2(-40))
	require.Less(t, maxAbsErr(want, x), 1e-9)

	// Encrypted shares at the top level (the scores' re-encryption).
	w := randVec(r, 100, 4)
	sb, err := p.EncodeShares(w[:50], 64, 64, 90)
	require.NoError(t, err)
	sc, err := p.EncodeShares(w[50:], 64, 64, 90)
	require.NoError(t, err)
	enc, err := bank.EncryptShares(sb, p.MaxLevel())
	require.NoError(t, err)
	packed, err := p.MarshalSeededSharesPacked(enc)
	require.NoError(t, err)
	rounded, err := p.MarshalSeededSharesRounded(enc, direct)
	require.NoError(t, err)
	t.Logf("encrypted shares at the top: %d bytes rounded, %d packed", len(rounded), len(packed))
	require.InEpsilon(t, float64(530-direct)/530, float64(len(rounded))/float64(len(packed)), 0.02) // primes a bit over their LogQ when packed
	ss, drop, err := p.UnmarshalSeededSharesRounded(rounded)
	require.NoError(t, err)
	require.Equal(t, direct, drop)
	joined := func(ss *SeededShares) []float64 {
		jv, err := center.JoinShares(ss, sc)
		require.NoError(t, err)
		return openDecode(t, center, bank, jv)
	}
	require.Less(t, maxAbsErr(joined(ss), joined(enc)), math.Exp2(-40))

	hdr := len(p.header(kindSeededSharesRounded))
	for name, bad := range map[string][]byte{
		"truncated":          rounded[:len(rounded)-8],
		"trailing":           append(append([]byte(nil), rounded...), 0),
		"packed kind":        packed,
		"level past the top": setBytes(rounded, hdr+29, 40),
	} {
		_, _, err := p.UnmarshalSeededSharesRounded(bad)
		require.ErrorIs(t, err, ErrMalformed, name)
	}
}

func FuzzUnmarshalSeededSharesRounded(f *testing.F) {
	params := MustParams(Hist13)
	bank, _ := pairFor(f, Hist13, KeySpec{})
	sv, err := params.EncodeShares([]float64{1, 2, 3}, 4, 4, 60)
	require.NoError(f, err)
	ss, err := bank.EncryptShares(sv, 1)
	require.NoError(f, err)
	good, err := params.MarshalSeededSharesRounded(ss, 20)
	require.NoError(f, err)
	f.Add(good)
	f.Add(good[:60])
	f.Fuzz(func(t *testing.T, data []byte) {
		ss, drop, err := params.UnmarshalSeededSharesRounded(data)
		if err == nil {
			again, err := params.MarshalSeededSharesRounded(ss, drop)
			require.NoError(t, err)
			require.Equal(t, data, again)
		}
	})
}
