package psi

import (
	"context"
	"encoding/hex"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/cloudflare/circl/group"
	"github.com/gtank/ristretto255"
	"github.com/stretchr/testify/require"
)

// seeded returns a deterministic random source for tests.
func seeded(seed uint64) io.Reader {
	var s [32]byte
	s[0], s[1] = byte(seed), byte(seed>>8)
	return mrand.NewChaCha8(s)
}

// wire sends m through its binary encoding, as a transport would.
func wire(t testing.TB, m *Message) *Message {
	t.Helper()
	b, err := m.MarshalBinary()
	require.NoError(t, err)
	require.Len(t, b, HeaderSize+PointSize*m.Len())
	var got Message
	require.NoError(t, got.UnmarshalBinary(b))
	return &got
}

// runPSI runs the whole protocol between two parties, sequentially.
func runPSI(t testing.TB, idsA, idsB []string, seed uint64) (resA, resB *Result, errA, errB error) {
	t.Helper()
	ctx := context.Background()
	a, err := NewParty(idsA, seeded(seed))
	require.NoError(t, err)
	b, err := NewParty(idsB, seeded(seed+1))
	require.NoError(t, err)

	a1, err := a.Blind(ctx)
	require.NoError(t, err)
	b1, err := b.Blind(ctx)
	require.NoError(t, err)
	a2, err := a.Exchange(ctx, wire(t, b1))
	require.NoError(t, err)
	b2, err := b.Exchange(ctx, wire(t, a1))
	require.NoError(t, err)
	resA, errA = a.Finish(ctx, wire(t, b2))
	resB, errB = b.Finish(ctx, wire(t, a2))
	return resA, resB, errA, errB
}

// makeSets returns two shuffled id lists of sizes nA and nB sharing overlap ids.
func makeSets(nA, nB, overlap int, seed uint64) (a, b []string, shared map[string]bool) {
	rnd := mrand.New(mrand.NewPCG(seed, 7))
	shared = make(map[string]bool, overlap)
	for i := range overlap {
		id := fmt.Sprintf("shared-%d", i)
		a, b = append(a, id), append(b, id)
		shared[id] = true
	}
	for i := range nA - overlap {
		a = append(a, fmt.Sprintf("a-only-%d", i))
	}
	for i := range nB - overlap {
		b = append(b, fmt.Sprintf("b-only-%d", i))
	}
	rnd.Shuffle(len(a), func(i, j int) { a[i], a[j] = a[j], a[i] })
	rnd.Shuffle(len(b), func(i, j int) { b[i], b[j] = b[j], b[i] })
	return a, b, shared
}

func TestIntersection(t *testing.T) {
	for _, tc := range []struct {
		name            string
		nA, nB, overlap int
	}{
		{"one id each, shared", 1, 1, 1},
		{"one shared among many", 1, 300, 1},
		{"equal sets", 200, 200, 200},
		{"subset", 50, 700, 50},
		{"superset", 700, 50, 50},
		{"different sizes", 300, 1000, 120},
		{"half overlap", 3000, 3000, 1500},
		{"small overlap", 2000, 1500, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			idsA, idsB, shared := makeSets(tc.nA, tc.nB, tc.overlap, uint64(tc.nA*7+tc.nB))
			resA, resB, errA, errB := runPSI(t, idsA, idsB, 11)
			require.NoError(t, errA)
			require.NoError(t, errB)
			require.Len(t, resA.Rows, tc.overlap)
			require.Len(t, resB.Rows, tc.overlap)
			require.Equal(t, resA.Digest, resB.Digest)
			got := make(map[string]bool, tc.overlap)
			for i := range resA.Rows {
				id := idsA[resA.Rows[i]]
				require.Equal(t, id, idsB[resB.Rows[i]], "row %d of the aligned tables", i)
				require.False(t, got[id], "id %q twice", id)
				got[id] = true
			}
			require.Equal(t, shared, got)
		})
	}
}

// The common order depends on the keys, not on the input order: both parties
// must agree however each sorts its own table.
func TestCommonOrderIgnoresInputOrder(t *testing.T) {
	idsA, idsB, _ := makeSets(400, 600, 250, 3)
	revA := slices.Clone(idsA)
	slices.Reverse(revA)
	for _, a := range [][]string{idsA, revA} {
		resA, resB, errA, errB := runPSI(t, a, idsB, 5)
		require.NoError(t, errA)
		require.NoError(t, errB)
		require.Equal(t, resA.Digest, resB.Digest)
		for i := range resA.Rows {
			require.Equal(t, a[resA.Rows[i]], idsB[resB.Rows[i]])
		}
	}
}

func TestBlindedOrderIsSecret(t *testing.T) {
	ids := make([]string, 64)
	for i := range ids {
		ids[i] = fmt.Sprint(i)
	}
	p, err := NewParty(ids, seeded(1))
	require.NoError(t, err)
	require.False(t, slices.IsSorted(p.perm), "rows must not go out in table order")
	m, err := p.Blind(context.Background())
	require.NoError(t, err)
	// Position j carries H(ids[perm[j]])^k.
	var h, e ristretto255.Element
	hashToElement(&h, ids[p.perm[5]])
	e.ScalarMult(p.key, &h)
	require.Equal(t, e.Encode(nil), m.point(5))
}

// hash_to_ristretto255 must agree with another implementation of RFC 9380.
func TestHashMatchesCircl(t *testing.T) {
	for _, id := range []string{"1", "133", "enterprise-91210200MA0XYZ", strings.Repeat("x", 300), "\x00"} {
		var e ristretto255.Element
		hashToElement(&e, id)
		want, err := group.Ristretto255.HashToElement([]byte(id), []byte(hashDST)).MarshalBinaryCompress()
		require.NoError(t, err)
		require.Equal(t, hex.EncodeToString(want), hex.EncodeToString(e.Encode(nil)), "id %q", id)
	}
}

func TestNewPartyErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		ids  []string
		want error
		msg  string
	}{
		{"nil", nil, ErrEmptySet, "psi: empty id set"},
		{"empty", []string{}, ErrEmptySet, "psi: empty id set"},
		{"empty id", []string{"a", "b", "", "c"}, ErrEmptyID, "psi: empty id at row 2"},
		{"duplicate", []string{"a", "b", "c", "b"}, ErrDuplicateID, "psi: duplicate id at rows 1 and 3"},
		{"duplicate first", []string{"x", "x"}, ErrDuplicateID, "psi: duplicate id at rows 0 and 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := NewParty(tc.ids, seeded(1))
			require.Nil(t, p)
			require.ErrorIs(t, err, tc.want)
			require.EqualError(t, err, tc.msg)
		})
	}
	_, err := NewParty([]string{"a"}, strings.NewReader("short"))
	require.ErrorContains(t, err, "psi: reading randomness")
}

func TestEmptyIntersection(t *testing.T) {
	resA, resB, errA, errB := runPSI(t, []string{"a", "b", "c"}, []string{"d", "e"}, 1)
	require.Nil(t, resA)
	require.Nil(t, resB)
	require.ErrorIs(t, errA, ErrEmptyIntersection)
	require.ErrorIs(t, errB, ErrEmptyIntersection)
}

func TestUnmarshalErrors(t *testing.T) {
	p, err := NewParty([]string{"a", "b", "c"}, seeded(1))
	require.NoError(t, err)
	m, err := p.Blind(context.Background())
	require.NoError(t, err)
	good, err := m.MarshalBinary()
	require.NoError(t, err)
	edit := func(f func(b []byte) []byte) []byte { return f(slices.Clone(good)) }

	for _, tc := range []struct {
		name string
		data []byte
		msg  string
	}{
		{"nil", nil, "0 bytes, shorter than the 16-byte header"},
		{"short header", good[:15], "15 bytes, shorter than the 16-byte header"},
		{"magic", edit(func(b []byte) []byte { b[0] = 'X'; return b }), "bad magic"},
		{"version", edit(func(b []byte) []byte { b[4] = 2; return b }), "version 2"},
		{"kind", edit(func(b []byte) []byte { b[5] = 9; return b }), "unknown kind 9"},
		{"reserved", edit(func(b []byte) []byte { b[7] = 1; return b }), "reserved"},
		{"no points", edit(func(b []byte) []byte { b[15] = 0; return b[:HeaderSize] }), "no points"},
		{"truncated", good[:len(good)-1], "announces 3 points (112 bytes) but the message has 111 bytes"},
		{"extra byte", append(slices.Clone(good), 0), "but the message has 113 bytes"},
		{"count too large", edit(func(b []byte) []byte { b[8] = 0xff; return b }), "more than the limit"},
		{"count off by one", edit(func(b []byte) []byte { b[15] = 4; return b }), "announces 4 points"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got Message
			err := got.UnmarshalBinary(tc.data)
			require.ErrorIs(t, err, ErrMalformedMessage)
			require.ErrorContains(t, err, tc.msg)
		})
	}

	var zero Message
	_, err = zero.MarshalBinary()
	require.Error(t, err)
}

// Invalid encodings from RFC 9496, Appendix A.2, plus the identity.
var badPoints = []string{
	"00ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff", // non-canonical
	"ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
	"f3ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
	"edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
	"0100000000000000000000000000000000000000000000000000000000000000", // negative
	"ed57ffd8c914fb201471d1c3d245ce3c746fcbe63a3679d51b6a516ebebe0e20",
	"26948d35ca62e643e26a83177332e6b6afeb9d08e4268b650f1f5bbd8d81d371", // non-square x^2
	"3eb858e78f5a7254d8c9731174a94f76755fd3941c0ac93735c07ba14579630e", // negative xy
	"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // y = 0
	"0000000000000000000000000000000000000000000000000000000000000000", // identity
}

func TestMalformedPoints(t *testing.T) {
	ctx := context.Background()
	ids := []string{"a", "b", "c", "d"}
	for _, bad := range badPoints {
		raw, err := hex.DecodeString(bad)
		require.NoError(t, err)

		// In a blinded message, caught by Exchange.
		a, err := NewParty(ids, seeded(1))
		require.NoError(t, err)
		b, err := NewParty(ids, seeded(2))
		require.NoError(t, err)
		a1, err := a.Blind(ctx)
		require.NoError(t, err)
		copy(a1.point(2), raw)
		_, err = b.Exchange(ctx, wire(t, a1))
		require.ErrorIs(t, err, ErrMalformedMessage, bad)
		require.ErrorContains(t, err, "point 2 of the peer's blinded set")

		// In a reblinded message, caught by Finish.
		b1, err := b.Blind(ctx)
		require.NoError(t, err)
		b2, err := b.Exchange(ctx, wire(t, a1Fresh(t, ids)))
		require.NoError(t, err)
		_, err = a.Exchange(ctx, wire(t, b1))
		require.NoError(t, err)
		copy(b2.point(3), raw)
		_, err = a.Finish(ctx, wire(t, b2))
		require.ErrorIs(t, err, ErrMalformedMessage, bad)
		require.ErrorContains(t, err, "point 3 of the peer's reblinded set")
	}
}

// a1Fresh returns a valid blinded message for ids.
func a1Fresh(t *testing.T, ids []string) *Message {
	p, err := NewParty(ids, seeded(9))
	require.NoError(t, err)
	m, err := p.Blind(context.Background())
	require.NoError(t, err)
	return m
}

func TestMalformedMessages(t *testing.T) {
	ctx := context.Background()
	setup := func() (a, b *Party, a1, b1 *Message) {
		var err error
		a, err = NewParty([]string{"a", "b", "c"}, seeded(1))
		require.NoError(t, err)
		b, err = NewParty([]string{"b", "c", "d", "e"}, seeded(2))
		require.NoError(t, err)
		a1, err = a.Blind(ctx)
		require.NoError(t, err)
		b1, err = b.Blind(ctx)
		require.NoError(t, err)
		return a, b, a1, b1
	}

	t.Run("wrong kind for Exchange", func(t *testing.T) {
		a, b, a1, b1 := setup()
		a2, err := a.Exchange(ctx, b1)
		require.NoError(t, err)
		_, err = b.Exchange(ctx, a2)
		require.ErrorIs(t, err, ErrMalformedMessage)
		require.ErrorContains(t, err, "Exchange wants a blinded message, got reblinded")
		_, err = b.Exchange(ctx, nil)
		require.ErrorIs(t, err, ErrMalformedMessage)
		_, err = b.Exchange(ctx, a1)
		require.NoError(t, err)
	})
	t.Run("wrong kind for Finish", func(t *testing.T) {
		a, _, _, b1 := setup()
		_, err := a.Exchange(ctx, b1)
		require.NoError(t, err)
		_, err = a.Finish(ctx, b1)
		require.ErrorIs(t, err, ErrMalformedMessage)
		require.ErrorContains(t, err, "Finish wants a reblinded message, got blinded")
	})
	t.Run("wrong count for Finish", func(t *testing.T) {
		a, b, _, b1 := setup()
		_, err := a.Exchange(ctx, b1)
		require.NoError(t, err)
		b2, err := b.Exchange(ctx, b1) // b's own points: 4, a has 3 ids
		require.NoError(t, err)
		_, err = a.Finish(ctx, b2)
		require.ErrorIs(t, err, ErrMalformedMessage)
		require.ErrorContains(t, err, "has 4 points, want 3")
	})
	t.Run("repeated point in blinded set", func(t *testing.T) {
		_, b, a1, _ := setup()
		copy(a1.point(1), a1.point(0))
		_, err := b.Exchange(ctx, a1)
		require.ErrorIs(t, err, ErrMalformedMessage)
		require.ErrorContains(t, err, "repeats a point")
	})
	t.Run("repeated shared point in reblinded set", func(t *testing.T) {
		a, b, a1, b1 := setup()
		_, err := a.Exchange(ctx, b1)
		require.NoError(t, err)
		b2, err := b.Exchange(ctx, a1)
		require.NoError(t, err)
		// Make every position carry the double-blinded point of a shared id.
		var shared []byte
		for j := range b2.Len() {
			if _, ok := a.peer[[PointSize]byte(b2.point(j))]; ok {
				shared = slices.Clone(b2.point(j))
			}
		}
		require.NotNil(t, shared)
		for j := range b2.Len() {
			copy(b2.point(j), shared)
		}
		_, err = a.Finish(ctx, b2)
		require.ErrorIs(t, err, ErrMalformedMessage)
		require.ErrorContains(t, err, "repeats a point")
	})
}

func TestStepOrder(t *testing.T) {
	ctx := context.Background()
	a, err := NewParty([]string{"a", "b"}, seeded(1))
	require.NoError(t, err)
	b, err := NewParty([]string{"b", "c"}, seeded(2))
	require.NoError(t, err)
	b1, err := b.Blind(ctx)
	require.NoError(t, err)

	_, err = a.Finish(ctx, b1)
	require.EqualError(t, err, "psi: Finish called before Blind")
	a1, err := a.Blind(ctx)
	require.NoError(t, err)
	_, err = a.Blind(ctx)
	require.EqualError(t, err, "psi: Blind called twice")
	_, err = a.Finish(ctx, b1)
	require.EqualError(t, err, "psi: Finish called before Exchange")
	a2, err := a.Exchange(ctx, b1)
	require.NoError(t, err)
	_, err = a.Exchange(ctx, b1)
	require.EqualError(t, err, "psi: Exchange called twice")
	b2, err := b.Exchange(ctx, a1)
	require.NoError(t, err)
	res, err := a.Finish(ctx, b2)
	require.NoError(t, err)
	require.Equal(t, []int{1}, res.Rows)
	_, err = a.Finish(ctx, b2)
	require.EqualError(t, err, "psi: Finish called twice")
	res, err = b.Finish(ctx, a2)
	require.NoError(t, err)
	require.Equal(t, []int{0}, res.Rows)
}

func TestCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	p, err := NewParty([]string{"a", "b"}, nil)
	require.NoError(t, err)
	_, err = p.Blind(ctx)
	require.ErrorIs(t, err, context.Canceled)
	// A canceled step can be retried.
	_, err = p.Blind(context.Background())
	require.NoError(t, err)
}
