package fl

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// rawTap is a transport end whose sent messages a test can reorder, drop
// or duplicate before they reach the peer.
type rawTap struct {
	Transport
	sent []Message
}

func (r *rawTap) Send(_ context.Context, m Message) error {
	r.sent = append(r.sent, Message{Type: m.Type, Payload: append([]byte(nil), m.Payload...)})
	return nil
}

func boundPair(t *testing.T) (*Session, *Session) {
	t.Helper()
	ctx := testCtx(t)
	a, b := NewPipe()
	done := make(chan *Session, 1)
	go func() {
		s, err := Handshake(ctx, b, Hello{Role: RolePassive, Params: "hist13"})
		require.NoError(t, err)
		done <- s
	}()
	sa, err := Handshake(ctx, a, Hello{Role: RoleActive, Params: "hist13"})
	require.NoError(t, err)
	sb := <-done
	require.Equal(t, sa.ID, sb.ID)
	require.NotEqual(t, [SessionIDLength]byte{}, sa.ID)
	return sa, sb
}

// TestBindRejectsReplayAndReorder sends three messages through a bound
// transport, then delivers them to the peer's bound end in the wrong order,
// twice, or from another session, and expects the typed errors.
func TestBindRejectsReplayAndReorder(t *testing.T) {
	ctx := context.Background()
	sa, sb := boundPair(t)
	other, _ := boundPair(t)
	record := func(s *Session) []Message {
		tap := &rawTap{}
		bt := Bind(tap, s)
		for _, typ := range []string{"m.1", "m.2", "m.3"} {
			require.NoError(t, bt.Send(ctx, Message{Type: typ, Payload: []byte(typ)}))
		}
		return tap.sent
	}
	sent := record(sa)
	deliver := func(msgs ...Message) (Transport, []error) {
		x, y := NewPipe(PipeBuffer(len(msgs)))
		for _, m := range msgs {
			require.NoError(t, x.Send(ctx, m))
		}
		in := Bind(y, sb)
		var errs []error
		for range msgs {
			ctx, cancel := context.WithTimeout(ctx, time.Second)
			_, err := in.Recv(ctx)
			cancel()
			errs = append(errs, err)
		}
		return in, errs
	}

	_, errs := deliver(sent...)
	require.NoError(t, errors.Join(errs...), "in order")

	in, errs := deliver(sent[0], sent[1], sent[1])
	require.NoError(t, errors.Join(errs[:2]...))
	require.ErrorIs(t, errs[2], ErrReplay)
	require.ErrorIs(t, errs[2], ErrMalformed)
	var se *SequenceError
	require.ErrorAs(t, errs[2], &se)
	require.Equal(t, uint64(3), se.Want)
	require.Equal(t, uint64(2), se.Got)
	_, err := in.Recv(ctx)
	require.ErrorIs(t, err, ErrReplay, "a broken binding stays broken")

	_, errs = deliver(sent[0], sent[2])
	require.ErrorIs(t, errs[1], ErrOutOfOrder)

	_, errs = deliver(record(other)[0])
	require.ErrorIs(t, errs[0], ErrWrongSession)

	_, errs = deliver(Message{Type: "m.1", Payload: []byte("short")})
	require.ErrorIs(t, errs[0], ErrMalformed)
}

func FuzzBoundRecv(f *testing.F) {
	var s Session
	s.ID = sessionID([32]byte{1})
	f.Add(append(append(s.ID[:], 1, 0, 0, 0, 0, 0, 0, 0), "payload"...))
	f.Add([]byte("short"))
	f.Fuzz(func(t *testing.T, b []byte) {
		ctx := context.Background()
		x, y := NewPipe()
		_ = x.Send(ctx, Message{Type: "fuzz", Payload: b})
		m, err := Bind(y, &s).Recv(ctx)
		if err == nil && len(m.Payload) != len(b)-boundHeader {
			t.Fatalf("accepted %d bytes as a %d-byte payload", len(b), len(m.Payload))
		}
	})
}

// A side that forgets Bind is told so: the bound side's JSON, read unbound,
// names fl.Bind; the unbound side's abort reaches the bound side with its
// reason; and the bound side's abort reaches the unbound side readable.
func TestMissingBindNamed(t *testing.T) {
	ctx := testCtx(t)
	a, b := NewPipe()
	done := make(chan *Session, 1)
	go func() {
		s, err := Handshake(ctx, b, Hello{Role: RolePassive, Params: "hist13"})
		require.NoError(t, err)
		done <- s
	}()
	sa, err := Handshake(ctx, a, Hello{Role: RoleActive, Params: "hist13"})
	require.NoError(t, err)
	<-done
	bound := Bind(a, sa) // the bank binds; the center forgets

	require.NoError(t, SendJSON(ctx, bound, "job.setup", map[string]int{"version": 1}))
	var v map[string]int
	err = RecvJSON(ctx, b, "job.setup", &v)
	require.ErrorIs(t, err, ErrMalformed)
	require.ErrorContains(t, err, "call fl.Bind after Handshake on both sides")
	// RecvJSON told the peer why, unbound: the bound side reads the reason.
	_, err = Expect(ctx, bound, "job.next")
	require.ErrorIs(t, err, ErrPeerAborted)
	require.ErrorContains(t, err, "call fl.Bind after Handshake")

	// The other way: the bound side's abort, read by the unbound side.
	a2, b2 := NewPipe()
	go func() {
		s, err := Handshake(ctx, b2, Hello{Role: RolePassive, Params: "hist13"})
		require.NoError(t, err)
		done <- s
	}()
	sa2, err := Handshake(ctx, a2, Hello{Role: RoleActive, Params: "hist13"})
	require.NoError(t, err)
	<-done
	require.NoError(t, Abort(ctx, Bind(a2, sa2), errors.New("the bank's table has no label column")))
	_, err = Expect(ctx, b2, "job.setup")
	require.ErrorIs(t, err, ErrPeerAborted)
	require.ErrorContains(t, err, "the bank's table has no label column")
	require.ErrorContains(t, err, "fl.Bind")

	// An unbound non-abort message at a bound side names the likely cause.
	require.NoError(t, SendJSON(ctx, b2, "job.split", []int{1}))
	_, err = Expect(ctx, Bind(a2, sa2), "job.split")
	require.ErrorIs(t, err, ErrProtocol)
	require.ErrorContains(t, err, "does not call fl.Bind")
}

// AbortOnError tells the peer of an error a step returned without Fail,
// once, and not of the peer's own abort.
func TestAbortOnError(t *testing.T) {
	ctx := testCtx(t)
	a, b := NewPipe()
	step := func(err error) (out error) {
		defer AbortOnError(ctx, a, &out)
		return err
	}
	err := step(errors.New("checkpoint folder is not writable"))
	require.ErrorContains(t, err, "checkpoint folder is not writable")
	_, perr := Expect(ctx, b, "vlr.epoch")
	require.ErrorIs(t, perr, ErrPeerAborted)
	require.ErrorContains(t, perr, "checkpoint folder is not writable")

	// An error already told (Fail) is not sent again.
	err = step(Fail(ctx, a, errors.New("bad options")))
	require.ErrorContains(t, err, "bad options")
	_, perr = Expect(ctx, b, "vlr.epoch")
	require.ErrorContains(t, perr, "bad options")
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	_, perr = b.Recv(short)
	require.ErrorIs(t, perr, context.DeadlineExceeded, "a second abort was sent")

	// The peer's own abort is not echoed back.
	require.NoError(t, Abort(ctx, b, errors.New("the center stops")))
	_, err = Expect(ctx, a, "x")
	err = step(err)
	require.ErrorIs(t, err, ErrPeerAborted)
	short2, cancel2 := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel2()
	_, perr = b.Recv(short2)
	require.ErrorIs(t, perr, context.DeadlineExceeded, "the peer's abort was echoed")
}
