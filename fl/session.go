package fl

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"github.com/veil-fl/veil/fl/internal/ctxmu"
	"sync"
)

// Errors of message order and session binding. A *SequenceError matches
// ErrReplay or ErrOutOfOrder, and ErrMalformed.
var (
	// ErrReplay reports a message whose sequence number was already used:
	// a duplicate or a replay.
	ErrReplay = fmt.Errorf("%w: replayed or duplicated message", ErrProtocol)
	// ErrOutOfOrder reports a message whose sequence number skips ahead: a
	// message before it was lost or reordered.
	ErrOutOfOrder = fmt.Errorf("%w: message out of order", ErrProtocol)
	// ErrWrongSession reports a message bound to another session: another
	// training's traffic, or a replay from an earlier connection.
	ErrWrongSession = fmt.Errorf("%w: message from another session", ErrProtocol)
)

// SequenceError is a message whose sequence number is not the next one.
type SequenceError struct {
	Type      string // the message's type
	Want, Got uint64
}

func (e *SequenceError) Error() string {
	what := "out of order"
	if e.Got < e.Want {
		what = "replayed or duplicated"
	}
	return fmt.Sprintf("message %.64q has sequence number %d, want %d (%s)", e.Type, e.Got, e.Want, what)
}

// Is makes errors.Is match ErrReplay or ErrOutOfOrder, and ErrMalformed.
func (e *SequenceError) Is(target error) bool {
	switch target {
	case ErrMalformed:
		return true
	case ErrReplay:
		return e.Got < e.Want
	case ErrOutOfOrder:
		return e.Got > e.Want
	}
	return false
}

// SessionIDLength is the length of Session.ID.
const SessionIDLength = 16

// sessionID derives the public session id from the joint seed.
func sessionID(seed [32]byte) [SessionIDLength]byte {
	h := sha256.New()
	h.Write([]byte("veil/v1 session id"))
	h.Write(seed[:])
	return [SessionIDLength]byte(h.Sum(nil))
}

const boundHeader = SessionIDLength + 8

// Bind returns t with every message bound to the session s: each payload
// carries the session id and a per-direction sequence number (24 bytes),
// and a received message of another session, or out of order, or seen
// before, fails with ErrWrongSession, ErrOutOfOrder or ErrReplay. The gRPC
// transport already checks order frame by frame; Bind adds the check end to
// end, over any transport, and keeps two trainings that share a transport
// or a proxy from mixing. Call it right after Handshake, on both sides.
// After an error the returned transport keeps failing.
func Bind(t Transport, s *Session) Transport {
	return &boundTransport{t: t, id: s.ID, sendMu: ctxmu.New(), recvMu: ctxmu.New()}
}

type boundTransport struct {
	t  Transport
	id [SessionIDLength]byte

	sendMu  ctxmu.Mutex
	sendSeq uint64
	recvMu  ctxmu.Mutex
	recvSeq uint64

	errMu sync.Mutex
	err   error // the first binding error
}

func (b *boundTransport) Send(ctx context.Context, m Message) error {
	if err := b.failed(); err != nil {
		return fmt.Errorf("fl: send %q: %w", m.Type, err)
	}
	if err := b.sendMu.Lock(ctx); err != nil {
		return fmt.Errorf("fl: send %q: %w", m.Type, err)
	}
	defer b.sendMu.Unlock()
	p := make([]byte, 0, boundHeader+len(m.Payload))
	p = append(p, b.id[:]...)
	p = binary.LittleEndian.AppendUint64(p, b.sendSeq+1)
	p = append(p, m.Payload...)
	if err := b.t.Send(ctx, Message{Type: m.Type, Payload: p}); err != nil {
		return err
	}
	b.sendSeq++
	return nil
}

func (b *boundTransport) Recv(ctx context.Context) (Message, error) {
	if err := b.failed(); err != nil {
		return Message{}, fmt.Errorf("fl: recv: %w", err)
	}
	if err := b.recvMu.Lock(ctx); err != nil {
		return Message{}, fmt.Errorf("fl: recv: %w", err)
	}
	defer b.recvMu.Unlock()
	m, err := b.t.Recv(ctx)
	if err != nil {
		return m, err
	}
	if m.Type == TypeAbort && (len(m.Payload) < boundHeader || !bytes.Equal(m.Payload[:SessionIDLength], b.id[:])) {
		// An abort without this session's header: the peer did not bind
		// its transport. An abort only ends the session; pass it on so
		// that the reason reaches the caller.
		return m, nil
	}
	if len(m.Payload) < boundHeader {
		return Message{}, b.fail(fmt.Errorf("%w: message %.64q of %d bytes lacks the session header%s", ErrMalformed, m.Type, len(m.Payload), unboundHint))
	}
	if !bytes.Equal(m.Payload[:SessionIDLength], b.id[:]) {
		return Message{}, b.fail(fmt.Errorf("%w: message %.64q is bound to session %x, this is %x%s", ErrWrongSession, m.Type, m.Payload[:SessionIDLength], b.id, unboundHint))
	}
	if seq := binary.LittleEndian.Uint64(m.Payload[SessionIDLength:]); seq != b.recvSeq+1 {
		return Message{}, b.fail(&SequenceError{Type: m.Type, Want: b.recvSeq + 1, Got: seq})
	}
	b.recvSeq++
	m.Payload = m.Payload[boundHeader:]
	return m, nil
}

// unboundHint ends the errors of a message without this session's header.
const unboundHint = " (a peer that does not call fl.Bind after Handshake sends its messages without one)"

// boundPayload reports whether b looks like a bound message's payload
// whose body is valid for decode: what an unbound side receives from a
// peer that called Bind.
func boundPayload(b []byte, decodes func([]byte) bool) bool {
	return len(b) >= boundHeader && decodes(b[boundHeader:])
}

// errPeerBound is the error of an unbound side that receives bound messages.
func errPeerBound(typ string) error {
	return fmt.Errorf("%w: message %.64q carries a session header: the peer bound its transport to the session (fl.Bind) and this side did not; call fl.Bind after Handshake on both sides", ErrMalformed, typ)
}

func (b *boundTransport) failed() error {
	b.errMu.Lock()
	defer b.errMu.Unlock()
	return b.err
}

func (b *boundTransport) fail(err error) error {
	b.errMu.Lock()
	if b.err == nil {
		b.err = err
	}
	b.errMu.Unlock()
	return fmt.Errorf("fl: recv: %w", err)
}

func (b *boundTransport) Close() error { return b.t.Close() }

// Unwrap returns the bound transport.
func (b *boundTransport) Unwrap() Transport { return b.t }
func (b *boundTransport) Stats() Stats      { return b.t.Stats() }
