package psi

import (
	"context"
	"encoding/binary"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

// kkrtUpTo runs the first k messages of a session (k = 1: the sender's
// hello ... 6: the receiver's matches) and returns both parties and the
// messages.
func kkrtUpTo(t testing.TB, idsS, idsR []string, k int) (*KKRTSender, *KKRTReceiver, []*KKRTMessage) {
	t.Helper()
	ctx := context.Background()
	s, err := NewKKRTSender(idsS, seeded(71))
	require.NoError(t, err)
	r, err := NewKKRTReceiver(idsR, seeded(72))
	require.NoError(t, err)
	var msgs []*KKRTMessage
	m, err := s.Hello(ctx)
	require.NoError(t, err)
	msgs = append(msgs, m)
	for len(msgs) < k {
		m, err = nextStep(ctx, s, r, len(msgs), m)
		require.NoError(t, err)
		msgs = append(msgs, m)
	}
	return s, r, msgs
}

// nextStep is the step that takes message k (1-based) of a session.
func nextStep(ctx context.Context, s *KKRTSender, r *KKRTReceiver, k int, m *KKRTMessage) (*KKRTMessage, error) {
	switch k {
	case 1:
		return r.Setup(ctx, m)
	case 2:
		return s.Base(ctx, m)
	case 3:
		return r.Codes(ctx, m)
	case 4:
		return s.Encode(ctx, m)
	case 5:
		return r.Match(ctx, m)
	}
	_, err := s.Finish(ctx, m)
	return nil, err
}

// hostileSets: 40 sender ids, 30 receiver ids, 20 shared.
func hostileSets() (idsS, idsR []string) {
	idsS, idsR, _ = makeSets(40, 30, 20, 9)
	return idsS, idsR
}

// TestKKRTHostileMessages feeds each step a peer message that is
// truncated, oversized, duplicated, out of range or of the wrong kind:
// every one is refused with ErrMalformedMessage and a reason, never a panic
// or a wrong result.
func TestKKRTHostileMessages(t *testing.T) {
	idsS, idsR := hostileSets()
	put64 := func(off int, v uint64) func([]byte) []byte {
		return func(b []byte) []byte { binary.BigEndian.PutUint64(b[off:], v); return b }
	}
	for _, tc := range []struct {
		name   string
		k      int // the message tampered (1-based)
		tamper func(b []byte) []byte
		want   string
	}{
		{"hello announces no ids", 1, put64(0, 0), "announces 0 ids"},
		{"hello announces too many ids", 1, put64(0, MaxKKRTIDs+1), "announces"},
		{"hello with points that are not group elements", 1, func(b []byte) []byte {
			for i := 8 + kkrtSeedBytes; i < len(b); i++ {
				b[i] = 0xff
			}
			return b
		}, "base OT"},
		{"hello truncated", 1, func(b []byte) []byte { return b[:len(b)-1] }, "body of"},
		{"setup announces no ids", 2, put64(0, 0), "announces 0 ids"},
		{"setup oversized", 2, func(b []byte) []byte { return append(b, 0) }, "body of"},
		{"base with sealed seeds that do not open", 3, func(b []byte) []byte { b[20] ^= 1; b[44+20] ^= 1; return b }, "base OT"},
		{"base truncated", 3, func(b []byte) []byte { return b[:kkrtBaseBytes-16] }, "body of"},
		{"codes truncated", 4, func(b []byte) []byte { return b[:len(b)-1] }, "64 bytes a bin"},
		{"codes oversized by a bin", 4, func(b []byte) []byte { return append(b, make([]byte, 64)...) }, "64 bytes a bin"},
		{"encoded truncated", 5, func(b []byte) []byte { return b[:len(b)-1] }, "values of"},
		{"encoded oversized by an id", 5, func(b []byte) []byte { return append(b, b[:len(b)/40]...) }, "values of"},
		{"matches announce more than they carry", 6, put64(0, 3), "matches in"},
		{"matches beyond the smaller set", 6, func(b []byte) []byte {
			return binary.BigEndian.AppendUint64(nil, 31)[:8:8]
		}, "matches in"},
		{"a match out of range", 6, func(b []byte) []byte { binary.BigEndian.PutUint32(b[8:], 40); return b }, "position 40 of 40"},
		{"a match duplicated", 6, func(b []byte) []byte { copy(b[12:16], b[8:12]); return b }, "common order"},
		{"matches out of order", 6, func(b []byte) []byte {
			var x [4]byte
			copy(x[:], b[8:12])
			copy(b[8:12], b[12:16])
			copy(b[12:16], x[:])
			return b
		}, "common order"},
		{"matches truncated", 6, func(b []byte) []byte { return b[:len(b)-2] }, "body of"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, r, msgs := kkrtUpTo(t, idsS, idsR, tc.k)
			m := msgs[tc.k-1]
			bad := &KKRTMessage{kind: m.kind, body: tc.tamper(slices.Clone(m.body))}
			_, err := nextStep(context.Background(), s, r, tc.k, bad)
			require.ErrorIs(t, err, ErrMalformedMessage)
			require.Contains(t, err.Error(), tc.want)
		})
	}
}

// TestKKRTDuplicatedValues: a sender that sends one id's values at two
// positions (here every id is shared, so the repeated one is too) is
// caught: the receiver would otherwise match one row twice.
func TestKKRTDuplicatedValues(t *testing.T) {
	ids, _, _ := makeSets(30, 30, 30, 4)
	s, r, msgs := kkrtUpTo(t, ids, ids, 5)
	b := slices.Clone(msgs[4].body)
	w := len(b) / len(ids)
	copy(b[len(b)-w:], b[:w])
	_, err := nextStep(context.Background(), s, r, 5, &KKRTMessage{kind: KKRTEncoded, body: b})
	require.ErrorIs(t, err, ErrMalformedMessage)
	require.Contains(t, err.Error(), "repeats a value")
}

// TestKKRTWrongKindAndOrder: a message of another step, nil, a step run
// twice or early.
func TestKKRTWrongKindAndOrder(t *testing.T) {
	ctx := context.Background()
	idsS, idsR := hostileSets()
	s, r, msgs := kkrtUpTo(t, idsS, idsR, 3)
	_, err := r.Codes(ctx, msgs[1]) // the receiver's own setup back
	require.ErrorIs(t, err, ErrMalformedMessage)
	require.Contains(t, err.Error(), "wants a kkrt-base message, got kkrt-setup")

	s, r, msgs = kkrtUpTo(t, idsS, idsR, 3)
	_, err = r.Codes(ctx, nil)
	require.ErrorIs(t, err, ErrMalformedMessage)

	s, r, msgs = kkrtUpTo(t, idsS, idsR, 2)
	require.Equal(t, len(idsS), r.PeerIDs())
	require.Zero(t, s.PeerIDs())
	_, err = s.Hello(ctx)
	require.ErrorIs(t, err, ErrKKRTOrder)
	_, err = s.Encode(ctx, msgs[1])
	require.ErrorIs(t, err, ErrKKRTOrder)
	_, err = r.Setup(ctx, msgs[0])
	require.ErrorIs(t, err, ErrKKRTOrder)
	_, err = r.Result()
	require.ErrorIs(t, err, ErrKKRTOrder)
	_, err = s.Finish(ctx, msgs[1])
	require.ErrorIs(t, err, ErrKKRTOrder)
}

// TestKKRTUnmarshal checks the frame: every message of a session survives
// the round trip, and broken frames are refused.
func TestKKRTUnmarshal(t *testing.T) {
	idsS, idsR := hostileSets()
	_, _, msgs := kkrtUpTo(t, idsS, idsR, 6)
	for _, m := range msgs {
		b, err := m.MarshalBinary()
		require.NoError(t, err)
		var got KKRTMessage
		require.NoError(t, got.UnmarshalBinary(b))
		require.Equal(t, m.kind, got.kind)
		require.Equal(t, m.body, got.body)
	}
	good, err := msgs[0].MarshalBinary()
	require.NoError(t, err)
	for _, tc := range []struct {
		name string
		b    []byte
		want string
	}{
		{"empty", nil, "shorter than"},
		{"header only, truncated", good[:10], "shorter than"},
		{"bad magic", slices.Concat([]byte("VPSI"), good[4:]), "bad magic"},
		{"other version", slices.Concat(good[:4], []byte{2}, good[5:]), "version 2"},
		{"unknown kind", slices.Concat(good[:5], []byte{9}, good[6:]), "unknown KKRT kind 9"},
		{"reserved bytes", slices.Concat(good[:6], []byte{1}, good[7:]), "reserved"},
		{"truncated body", good[:len(good)-1], "announces"},
		{"oversized body", append(slices.Clone(good), 0), "announces"},
		{"hello of the wrong size", withKKRTHeader(KKRTHello, good[HeaderSize:len(good)-1]), "body of"},
		{"matches of a partial position", withKKRTHeader(KKRTMatches, make([]byte, 10)), "body of"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var m KKRTMessage
			err := m.UnmarshalBinary(tc.b)
			require.ErrorIs(t, err, ErrMalformedMessage)
			require.Contains(t, err.Error(), tc.want)
		})
	}
}

// withKKRTHeader frames a body as a message of the given kind.
func withKKRTHeader(kind KKRTKind, body []byte) []byte {
	b := append([]byte(kkrtMagic), kkrtVersion, byte(kind), 0, 0)
	b = binary.BigEndian.AppendUint64(b, uint64(len(body)))
	return append(b, body...)
}
