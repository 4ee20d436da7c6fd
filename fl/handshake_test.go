package fl

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	"github.com/veil-fl/veil/proto/veilpb"
)

type handshakeResult struct {
	s   *Session
	err error
}

// handshakePair runs Handshake on both ends at once.
func handshakePair(ctx context.Context, a, b Transport, ha, hb Hello) (ra, rb handshakeResult) {
	done := make(chan handshakeResult, 1)
	go func() {
		s, err := Handshake(ctx, b, hb)
		done <- handshakeResult{s, err}
	}()
	s, err := Handshake(ctx, a, ha)
	return handshakeResult{s, err}, <-done
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

var (
	bankHello   = Hello{Role: RoleActive, Params: "hist13", Rows: 30000}
	centerHello = Hello{Role: RolePassive, Params: "hist13"}
)

func TestHandshake(t *testing.T) {
	ctx := testCtx(t)
	a, b := NewPipe()
	ra, rb := handshakePair(ctx, a, b, bankHello, centerHello)
	require.NoError(t, ra.err)
	require.NoError(t, rb.err)
	require.Equal(t, ra.s.Seed, rb.s.Seed)
	require.NotEqual(t, [32]byte{}, ra.s.Seed)
	require.Equal(t, uint64(30000), ra.s.Rows)
	require.Equal(t, uint64(30000), rb.s.Rows)
	require.Equal(t, RolePassive, ra.s.Peer.Role)
	require.Equal(t, RoleActive, rb.s.Peer.Role)
	require.Equal(t, uint32(ProtocolVersion), ra.s.Local.Version)
	require.Equal(t, uint32(ProtocolVersion), rb.s.Peer.Version)

	// A second session gets a fresh seed.
	a2, b2 := NewPipe()
	ra2, _ := handshakePair(ctx, a2, b2, bankHello, centerHello)
	require.NoError(t, ra2.err)
	require.NotEqual(t, ra.s.Seed, ra2.s.Seed)
}

func TestHandshakeMismatch(t *testing.T) {
	for _, tc := range []struct {
		name       string
		a, b       Hello
		is         error
		field      string
		aVal, bVal string
	}{
		{"version", Hello{Version: 1, Role: RoleActive, Params: "hist13"}, Hello{Version: 2, Role: RolePassive, Params: "hist13"},
			ErrPeerVersion, FieldVersion, "1", "2"},
		{"params", Hello{Role: RoleActive, Params: "hist13"}, Hello{Role: RolePassive, Params: "linear14"},
			ErrParamsMismatch, FieldParams, "hist13", "linear14"},
		{"same role", Hello{Role: RolePassive, Params: "hist13"}, Hello{Role: RolePassive, Params: "hist13"},
			ErrRoleConflict, FieldRole, "passive", "passive"},
		{"rows", Hello{Role: RoleActive, Params: "hist13", Rows: 30000}, Hello{Role: RolePassive, Params: "hist13", Rows: 29999},
			ErrRowsMismatch, FieldRows, "30000", "29999"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := testCtx(t)
			a, b := NewPipe()
			ra, rb := handshakePair(ctx, a, b, tc.a, tc.b)
			checkMismatch(t, ra.err, tc.is, tc.field, tc.aVal, tc.bVal)
			checkMismatch(t, rb.err, tc.is, tc.field, tc.bVal, tc.aVal)
			// Each side also told the other.
			_, err := Expect(ctx, a, "next")
			require.ErrorIs(t, err, ErrPeerAborted)
			require.ErrorIs(t, err, tc.is)
		})
	}
}

func checkMismatch(t *testing.T, err error, is error, field, local, peer string) {
	t.Helper()
	require.ErrorIs(t, err, is)
	var me *MismatchError
	require.ErrorAs(t, err, &me)
	require.Equal(t, field, me.Field)
	require.Equal(t, local, me.Local)
	require.Equal(t, peer, me.Peer)
	require.ErrorContains(t, err, `local "`+local+`", peer "`+peer+`"`)
}

func TestHandshakeGarbageHello(t *testing.T) {
	ctx := testCtx(t)
	a, b := NewPipe()
	require.NoError(t, b.Send(ctx, Message{Type: TypeHello, Payload: []byte{0xff, 0xff}}))
	_, err := Handshake(ctx, a, bankHello)
	require.ErrorIs(t, err, ErrMalformed)
	// b is told: skip a's hello, then the abort.
	_, err = Expect(ctx, b, TypeHello)
	require.NoError(t, err)
	_, err = Expect(ctx, b, TypeReveal)
	require.ErrorIs(t, err, ErrPeerAborted)
	require.ErrorContains(t, err, "hello")
}

func TestHandshakeWrongFirstMessage(t *testing.T) {
	ctx := testCtx(t)
	a, b := NewPipe()
	require.NoError(t, b.Send(ctx, Message{Type: "psi.batch"}))
	_, err := Handshake(ctx, a, bankHello)
	var ue *UnexpectedMessageError
	require.ErrorAs(t, err, &ue)
	require.Equal(t, TypeHello, ue.Want)
}

func TestHandshakeLocalArgs(t *testing.T) {
	ctx := testCtx(t)
	a, _ := NewPipe()
	_, err := Handshake(ctx, a, Hello{Role: "bank", Params: "hist13"})
	require.ErrorContains(t, err, `local role "bank"`)
	_, err = Handshake(ctx, a, Hello{Role: RoleActive})
	require.ErrorContains(t, err, "parameter set id")
	require.Zero(t, a.Stats().SentMessages, "nothing sent on bad arguments")
}

func TestHandshakeSilentPeer(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	a, _ := NewPipe()
	_, err := Handshake(ctx, a, bankHello)
	require.ErrorIs(t, err, context.DeadlineExceeded)
}

// FuzzHandshakeDecoders throws arbitrary payloads at the decoders for what
// the peer sends during a handshake. They must not panic, and what they
// accept must respect the bounds.
func FuzzHandshakeDecoders(f *testing.F) {
	hello, _ := proto.Marshal(&veilpb.Hello{Version: 1, Role: string(RoleActive), Params: "hist13", Rows: 5, Commitment: make([]byte, 32)})
	reveal, _ := proto.Marshal(&veilpb.Reveal{Contribution: make([]byte, 32)})
	abort, _ := proto.Marshal(&veilpb.Abort{Reason: "x", Field: FieldParams, SenderValue: "a", ReceiverValue: "b"})
	for _, s := range [][]byte{hello, reveal, abort, nil, {0xff}} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if h, c, err := decodeHello(b); err == nil {
			if len(c) != 32 || len(h.Role) > maxRoleLength || len(h.Params) > maxParamsLength {
				t.Fatalf("accepted out-of-bounds hello %+v, commitment %d bytes", h, len(c))
			}
			_ = compareHellos(bankHello, h)
		}
		if c, err := decodeReveal(b); err == nil && len(c) != contribLength {
			t.Fatalf("accepted %d-byte contribution", len(c))
		}
		e := decodeAbort(b)
		if len(e.Reason) > maxReasonLength+3 {
			t.Fatalf("abort reason of %d bytes kept", len(e.Reason))
		}
		_ = e.Error()
	})
}
