package psi

import (
	"context"
	"crypto/cipher"
	"crypto/rand"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/veil-fl/veil/mpc/ot"
)

// kkrtWire sends m through its binary encoding, as a transport would, and
// counts its bytes.
func kkrtWire(t testing.TB, m *KKRTMessage, sent *int) *KKRTMessage {
	t.Helper()
	b, err := m.MarshalBinary()
	require.NoError(t, err)
	require.Len(t, b, m.Size())
	*sent += len(b)
	var got KKRTMessage
	require.NoError(t, got.UnmarshalBinary(b))
	return &got
}

type kkrtRun struct {
	resS, resR   *Result
	errS, errR   error
	sentS, sentR int // bytes each way
}

// runKKRT runs the whole protocol between a sender and a receiver,
// sequentially; a step's error ends the run (the other party's error says
// the peer gave up).
func runKKRT(t testing.TB, idsS, idsR []string, seed uint64) kkrtRun {
	t.Helper()
	ctx := context.Background()
	var run kkrtRun
	s, err := NewKKRTSender(idsS, seeded(seed))
	require.NoError(t, err)
	r, err := NewKKRTReceiver(idsR, seeded(seed+1))
	require.NoError(t, err)
	m1, err := s.Hello(ctx)
	require.NoError(t, err)
	m2, err := r.Setup(ctx, kkrtWire(t, m1, &run.sentS))
	require.NoError(t, err)
	m3, err := s.Base(ctx, kkrtWire(t, m2, &run.sentR))
	require.NoError(t, err)
	m4, err := r.Codes(ctx, kkrtWire(t, m3, &run.sentS))
	if err != nil {
		run.errR, run.errS = err, errPeerGaveUp
		return run
	}
	m5, err := s.Encode(ctx, kkrtWire(t, m4, &run.sentR))
	require.NoError(t, err)
	m6, err := r.Match(ctx, kkrtWire(t, m5, &run.sentS))
	require.NoError(t, err)
	run.resR, run.errR = r.Result()
	run.resS, run.errS = s.Finish(ctx, kkrtWire(t, m6, &run.sentR))
	return run
}

var errPeerGaveUp = fmt.Errorf("the peer gave up")

// checkSameAsECDH checks that KKRT's two results and the ECDH PSI's agree:
// the same pairs of rows (ids), each protocol's parties in one order with
// one digest.
func checkSameAsECDH(t *testing.T, idsS, idsR []string, run kkrtRun) {
	t.Helper()
	eS, eR, errA, errB := runPSI(t, idsS, idsR, 99)
	if errA != nil {
		require.ErrorIs(t, errA, ErrEmptyIntersection)
		require.ErrorIs(t, errB, ErrEmptyIntersection)
		require.ErrorIs(t, run.errS, ErrEmptyIntersection)
		require.ErrorIs(t, run.errR, ErrEmptyIntersection)
		return
	}
	require.NoError(t, run.errS)
	require.NoError(t, run.errR)
	require.Equal(t, run.resS.Digest, run.resR.Digest)
	require.Len(t, run.resS.Rows, len(run.resR.Rows))
	kkrt := make(map[[2]int]bool)
	for i := range run.resS.Rows {
		require.Equal(t, idsS[run.resS.Rows[i]], idsR[run.resR.Rows[i]], "aligned row %d", i)
		kkrt[[2]int{run.resS.Rows[i], run.resR.Rows[i]}] = true
	}
	ecdh := make(map[[2]int]bool)
	for i := range eS.Rows {
		ecdh[[2]int{eS.Rows[i], eR.Rows[i]}] = true
	}
	require.Equal(t, ecdh, kkrt, "KKRT and ECDH intersections")
}

func TestKKRTMatchesECDH(t *testing.T) {
	for _, tc := range []struct {
		name            string
		nS, nR, overlap int
	}{
		{"one id each, shared", 1, 1, 1},
		{"one id each, not shared", 1, 1, 0},
		{"one shared among many (sender)", 300, 1, 1},
		{"one shared among many (receiver)", 1, 300, 1},
		{"equal sets", 200, 200, 200},
		{"disjoint", 500, 400, 0},
		{"subset", 50, 700, 50},
		{"different sizes", 1000, 300, 120},
		{"half overlap, more bins than one chunk", 9000, 9000, 4500},
	} {
		t.Run(tc.name, func(t *testing.T) {
			idsS, idsR, shared := makeSets(tc.nS, tc.nR, tc.overlap, uint64(tc.nS*7+tc.nR))
			run := runKKRT(t, idsS, idsR, 3)
			if testing.Short() && tc.nS*tc.nR > 1000 {
				// The race pass: the known shared set instead of ECDH's
				// (seconds of scalar multiplications under -race).
				if tc.overlap == 0 {
					require.ErrorIs(t, run.errS, ErrEmptyIntersection)
					require.ErrorIs(t, run.errR, ErrEmptyIntersection)
					return
				}
				require.NoError(t, run.errS)
				require.Equal(t, run.resS.Digest, run.resR.Digest)
				got := map[string]bool{}
				for i := range run.resS.Rows {
					require.Equal(t, idsS[run.resS.Rows[i]], idsR[run.resR.Rows[i]])
					got[idsS[run.resS.Rows[i]]] = true
				}
				require.Equal(t, shared, got)
				return
			}
			checkSameAsECDH(t, idsS, idsR, run)
			if tc.overlap > 0 {
				require.Len(t, run.resS.Rows, tc.overlap)
			}
		})
	}
}

// kkrtItemsFor hashes ids as a session with the seeded sources of runKKRT
// would (the sender's seed is the first 16 bytes of its source).
func kkrtItemsFor(t *testing.T, ids []string, seed uint64, nR int) []kkrtItem {
	t.Helper()
	var seedS, seedR [kkrtSeedBytes]byte
	_, err := io.ReadFull(seeded(seed), seedS[:])
	require.NoError(t, err)
	_, err = io.ReadFull(seeded(seed+1), seedR[:])
	require.NoError(t, err)
	p := kkrtParty{ids: ids}
	require.NoError(t, p.session(seedS[:], seedR[:], nR, nR))
	return p.hashIDs(nR)
}

// TestKKRTCollidingIDs: receiver sets whose ids crowd a few bins (chosen
// knowing the session's hash key, which an honest party never does) are
// either placed and give ECDH's intersection, or refused with ErrCuckoo
// before anything is sent: never an id silently dropped.
func TestKKRTCollidingIDs(t *testing.T) {
	defer func(f int) { cuckooFloor = f }(cuckooFloor)
	cuckooFloor = 8
	const seed = 40
	// Candidates hashed as the receiver of a 12-id session would.
	const nR = 12
	bins := cuckooBins(nR)
	cands := make([]string, 20000)
	for i := range cands {
		cands[i] = fmt.Sprintf("91210200%010d", i)
	}
	items := kkrtItemsFor(t, cands, seed, nR)
	var crowded, overflow []string
	for i, it := range items {
		in := 0
		for _, b := range it.bin {
			if b < 3 {
				in++
			}
		}
		if it.bin[0] < 2 && len(crowded) < 5 && in < 3 {
			crowded = append(crowded, cands[i]) // share first bins, but have room elsewhere
		}
		if in == 3 && len(overflow) < 4 {
			overflow = append(overflow, cands[i]) // all three candidates in bins 0..2
		}
	}
	require.Len(t, crowded, 5)
	require.Len(t, overflow, 4, "%d bins", bins)
	filler := func(n int) []string {
		var f []string
		for i := range n {
			f = append(f, fmt.Sprintf("filler-%d", i))
		}
		return f
	}

	t.Run("crowded but placeable", func(t *testing.T) {
		idsR := append(append([]string{}, crowded...), filler(nR-len(crowded))...)
		idsS := append([]string{crowded[0], crowded[3], "sender-only"}, filler(4)...)
		run := runKKRT(t, idsS, idsR, seed)
		require.NoError(t, run.errR)
		checkSameAsECDH(t, idsS, idsR, run)
		require.Len(t, run.resR.Rows, 6)
	})
	t.Run("four ids in three bins", func(t *testing.T) {
		idsR := append(append([]string{}, overflow...), filler(nR-len(overflow))...)
		run := runKKRT(t, []string{"a", overflow[0]}, idsR, seed)
		require.ErrorIs(t, run.errR, ErrCuckoo)
		require.Contains(t, run.errR.Error(), "12 ids in")
		require.ErrorIs(t, run.errS, errPeerGaveUp)
	})
}

func TestKKRTRefusesBadSets(t *testing.T) {
	for _, tc := range []struct {
		name string
		ids  []string
		want error
		msg  string
	}{
		{"empty set", nil, ErrEmptySet, ""},
		{"empty id", []string{"a", "", "b"}, ErrEmptyID, "at row 1"},
		{"duplicate", []string{"a", "b", "c", "b"}, ErrDuplicateID, "at rows 1 and 3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewKKRTSender(tc.ids, nil)
			require.ErrorIs(t, err, tc.want)
			require.Contains(t, err.Error(), tc.msg)
			_, err = NewKKRTReceiver(tc.ids, nil)
			require.ErrorIs(t, err, tc.want)
		})
	}
}

// TestCuckooBins: the table sizes of the PSTY19 fit.
func TestCuckooBins(t *testing.T) {
	for _, tc := range []struct{ n, bins int }{
		{1, 5257}, {4096, 5257}, {1 << 16, 85197}, {1_000_000, 1316382}, {1 << 20, 1380626},
	} {
		require.Equal(t, tc.bins, cuckooBins(tc.n), "n = %d", tc.n)
	}
}

// TestCuckooInsert: a table places every id in one of its candidates, each
// bin holding one id; four ids confined to three bins are refused.
func TestCuckooInsert(t *testing.T) {
	rnd := newTestRand(1)
	const n, m = 3000, 3900
	cand := make([][cuckooHashes]uint32, n)
	for i := range cand {
		for f := range cuckooHashes {
			cand[i][f] = uint32(rnd.IntN(m))
		}
	}
	table, err := cuckooInsert(cand, m, rnd)
	require.NoError(t, err)
	seen := make([]bool, n)
	for b, s := range table.slot {
		if s == 0 {
			continue
		}
		require.False(t, seen[s-1])
		seen[s-1] = true
		require.Equal(t, uint32(b), cand[s-1][table.fn[b]])
	}
	for i, ok := range seen {
		require.True(t, ok, "id %d not placed", i)
	}

	bad := [][cuckooHashes]uint32{{0, 1, 2}, {1, 2, 0}, {2, 2, 1}, {5, 6, 7}, {0, 0, 1}}
	_, err = cuckooInsert(bad, 10, rnd)
	require.ErrorIs(t, err, ErrCuckoo)
}

// TestOPRF checks the KKRT OPRF at its core: the sender's F_b(r_b) equals
// the receiver's value for every bin, other inputs give other values, and a
// receiver that guesses F_b(x) = H(b, t_b ^ C(r_b) ^ C(x)) for an input x it
// did not put in bin b (an offline guess of the sender's ids) succeeds only
// in the weak variant where s is all ones: with s secret and random, the
// guess fails.
func TestOPRF(t *testing.T) {
	ctx := context.Background()
	const m, outLen = 256, 10
	var joint [32]byte
	joint[0] = 7
	code, err := newOPRFCode(joint)
	require.NoError(t, err)
	var seedKeys [oprfWidth][2][16]byte
	var pairs [oprfWidth][2]cipherBlock
	for j := range pairs {
		for v := range 2 {
			_, _ = rand.Read(seedKeys[j][v][:])
			pairs[j][v], err = newSeedCipher(seedKeys[j][v][:])
			require.NoError(t, err)
		}
	}
	in := make([][16]byte, m)
	used := make([]int32, m)
	for b := range in {
		_, _ = rand.Read(in[b][:])
		used[b] = 1
	}
	out := make([]byte, m*outLen)
	u := make([]byte, m*oprfWidth/8)
	require.NoError(t, oprfReceive(ctx, &pairs, code, in, used, outLen, u, out))

	for _, weak := range []bool{false, true} {
		s, err := randomKey(weak)
		require.NoError(t, err)
		var chosen [oprfWidth]cipherBlock
		var sRow oprfRow
		for j := range chosen {
			chosen[j] = pairs[j][s.Get(j)]
		}
		copy(sRow[:], s)
		q, err := oprfSend(ctx, &chosen, s, u, m)
		require.NoError(t, err)
		guessed := 0
		scratch := make([]byte, 32)
		for b := range m {
			v := make([]byte, outLen)
			oprfEval(v, code, q, &sRow, b, &in[b], scratch)
			require.Equal(t, out[b*outLen:(b+1)*outLen], v, "bin %d", b)
			other := in[(b+1)%m]
			oprfEval(v, code, q, &sRow, b, &other, scratch)
			require.NotEqual(t, out[b*outLen:(b+1)*outLen], v, "bin %d, another input", b)

			// The receiver's guess from t_b (its own seeds k^0) and the code.
			var tb, cr, cx oprfRow
			tb = tRow(t, &pairs, b)
			code.encode(&cr, &in[b], scratch)
			code.encode(&cx, &other, scratch)
			for w := range tb {
				tb[w] ^= cr[w] ^ cx[w]
			}
			g := make([]byte, outLen)
			oprfHash(g, b, &tb)
			if string(g) == string(v) {
				guessed++
			}
		}
		if weak {
			require.Equal(t, m, guessed, "the guess works when s is all ones")
		} else {
			require.Zero(t, guessed, "the guess fails with a secret random s")
		}
	}
}

type cipherBlock = cipher.Block

func newTestRand(seed uint64) *mrand.Rand { return mrand.New(mrand.NewPCG(seed, 11)) }

// randomKey is the sender's s: random, or all ones (the weak variant).
func randomKey(weak bool) (ot.Bits, error) {
	if !weak {
		return ot.RandomBits(oprfWidth)
	}
	s := ot.NewBits(oprfWidth)
	for i := range s {
		s[i] = ^uint64(0)
	}
	return s, nil
}

// tRow recomputes row b of the receiver's matrix t from its seeds k_j^0.
func tRow(t *testing.T, pairs *[oprfWidth][2]cipher.Block, b int) oprfRow {
	t.Helper()
	var r oprfRow
	buf := make([]byte, b/8+1)
	for j := range oprfWidth {
		clear(buf)
		oprfStream(pairs[j][0], 0).XORKeyStream(buf, buf)
		r[j/64] |= uint64(buf[b/8]>>(b%8)&1) << (j % 64)
	}
	return r
}

// TestCuckooSizing: random sets at the table sizes used are placed (a
// sanity check of the sizing and the insertion walk; the fit claims
// failure below 2^-40, so one failure here would mean a broken table).
func TestCuckooSizing(t *testing.T) {
	rnd := newTestRand(5)
	for _, tc := range []struct{ n, trials int }{{1, 20}, {4096, 40}, {1 << 16, 2}} {
		m := cuckooBins(tc.n)
		for trial := range tc.trials {
			cand := make([][cuckooHashes]uint32, tc.n)
			for i := range cand {
				for f := range cuckooHashes {
					cand[i][f] = uint32(rnd.IntN(m))
				}
			}
			_, err := cuckooInsert(cand, m, rnd)
			require.NoError(t, err, "n = %d, trial %d", tc.n, trial)
		}
	}
}
