package fl

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync/atomic"
)

// Message is one protocol message: a type name that the receiver checks
// against what it expects, and an opaque payload (a serialised ciphertext, a
// key, a PSI batch, an encoded handshake record).
type Message struct {
	Type    string
	Payload []byte
}

// MaxTypeLength bounds Message.Type in bytes. Types are short names such as
// "veil.hello" or "he.galois-key".
const MaxTypeLength = 128

// Transport carries messages between the two parties of one session, in
// order and without loss or duplication. Protocol code sees only this
// interface, so it runs unchanged over gRPC and over the in-memory Pipe.
//
// All methods are safe for concurrent use. Concurrent Sends are serialised,
// each message whole; concurrent Recvs each get a different message. A Send
// returns once the message is handed to the connection, not once the peer
// has read it. The caller may reuse the payload after Send returns, and owns
// the payload that Recv returns.
type Transport interface {
	// Send transmits m. A ctx that ends while a message is half sent breaks
	// the transport, because the peer could never tell where the next message
	// starts.
	Send(ctx context.Context, m Message) error
	// Recv returns the next message. A ctx that ends while waiting leaves the
	// transport usable. After the peer closes cleanly and every message it sent
	// has been read, Recv returns an error matching ErrClosed.
	Recv(ctx context.Context) (Message, error)
	// Close ends the session. Messages already sent still reach the peer,
	// whose Recv then reports ErrClosed. Close is idempotent.
	Close() error
	// Stats reports what crossed this end so far.
	Stats() Stats
}

// Stats counts traffic at one end of a transport. Bytes are the encoded
// frames as handed to gRPC: each message's header frame plus its payload
// chunk frames, each with gRPC's 5-byte length prefix. HTTP/2 and TLS
// framing is not counted. The in-memory Pipe counts what the gRPC transport
// would send with the default chunk size, so figures from tests and from the
// network compare directly.
type Stats struct {
	SentMessages uint64
	SentBytes    uint64
	RecvMessages uint64
	RecvBytes    uint64
}

// Counters is the concurrency-safe store behind Stats, for transports.
type Counters struct {
	SentMsgs, SentBytes, RecvMsgs, RecvBytes atomic.Uint64
}

// Stats returns the counts.
func (c *Counters) Stats() Stats {
	return Stats{
		SentMessages: c.SentMsgs.Load(),
		SentBytes:    c.SentBytes.Load(),
		RecvMessages: c.RecvMsgs.Load(),
		RecvBytes:    c.RecvBytes.Load(),
	}
}

var (
	// ErrClosed reports a session that ended cleanly: this end or the peer
	// closed it. It plays the role io.EOF plays for readers.
	ErrClosed = errors.New("fl: transport closed")
	// ErrConnLost reports a session that ended abruptly: the connection
	// dropped, the peer process vanished, or a send was cut off mid-message.
	ErrConnLost = errors.New("fl: connection lost")
	// ErrMalformed reports frames or messages from the peer that break the
	// wire rules (a chunk without a header, chunks that overrun or fall short of
	// the announced length, a bad sequence number, an undecodable record).
	ErrMalformed = fmt.Errorf("%w: malformed message from peer", ErrProtocol)
	// ErrTooLarge reports a message over the size limit. The receiver rejects
	// the announcement before allocating anything for it.
	ErrTooLarge = errors.New("fl: message too large")
	// ErrPeerAborted reports that the peer ended the session on purpose and
	// said why.
	ErrPeerAborted = errors.New("fl: peer aborted")
)

// UnexpectedMessageError is returned by Expect when the next message is not
// of the wanted type. It matches ErrProtocol: a peer that sends out of turn
// has left the protocol.
type UnexpectedMessageError struct {
	Want, Got string
}

func (e *UnexpectedMessageError) Error() string {
	return fmt.Sprintf("fl: expected message %q, received %q", e.Want, e.Got)
}

// Unwrap makes errors.Is(err, ErrProtocol) hold.
func (e *UnexpectedMessageError) Unwrap() error { return ErrProtocol }

// ErrProtocol is what every peer-misbehaviour error of Veil's protocols
// wraps (ErrMalformed, ErrParts, *UnexpectedMessageError, the handshake's
// mismatches, ErrUndeclared, the session checks, and each protocol's own
// ErrProtocol): a caller tells a peer that broke the protocol from any
// other failure with one errors.Is.
var ErrProtocol = errors.New("fl: protocol violation")

// protocolSentinel returns a sentinel for one kind of peer fault that reads
// as msg alone (the message it always had) and matches ErrProtocol too.
func protocolSentinel(msg string) error { return &sentinelError{msg} }

type sentinelError struct{ msg string }

func (e *sentinelError) Error() string { return e.msg }
func (e *sentinelError) Unwrap() error { return ErrProtocol }

// Expect receives the next message and returns its payload if its type is
// want. A message of another type yields an *UnexpectedMessageError naming
// both types; an abort from the peer (TypeAbort) yields an *AbortError,
// which matches ErrPeerAborted. On a message of another type Expect also
// tells the peer (Abort), which cannot expect this party to go on.
func Expect(ctx context.Context, t Transport, want string) ([]byte, error) {
	m, err := t.Recv(ctx)
	if err != nil {
		return nil, fmt.Errorf("fl: waiting for %q: %w", want, err)
	}
	if m.Type == want {
		return m.Payload, nil
	}
	if m.Type == TypeAbort && want != TypeAbort {
		return nil, decodeAbort(m.Payload)
	}
	err = &UnexpectedMessageError{Want: want, Got: m.Type}
	_ = Abort(ctx, t, err)
	return nil, err
}

// CheckMessageType checks a message type against the rules every transport
// enforces: not empty, at most MaxTypeLength bytes.
func CheckMessageType(typ string) error {
	if typ == "" {
		return errors.New("empty message type")
	}
	if len(typ) > MaxTypeLength {
		return fmt.Errorf("message type of %d bytes, over the %d-byte limit", len(typ), MaxTypeLength)
	}
	return nil
}

// SendJSON sends v, JSON-encoded, as a message of type typ: for the small
// control messages of the protocols (options, split requests).
func SendJSON(ctx context.Context, t Transport, typ string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return t.Send(ctx, Message{Type: typ, Payload: b})
}

// RecvJSON receives the next message, which must be of type typ, into v.
// A payload that does not decode is an ErrMalformed error naming the type,
// and the peer is told (Abort).
func RecvJSON(ctx context.Context, t Transport, typ string, v any) error {
	b, err := Expect(ctx, t, typ)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		if boundPayload(b, json.Valid) {
			return Fail(ctx, t, errPeerBound(typ))
		}
		return Fail(ctx, t, fmt.Errorf("%w: %s: %v", ErrMalformed, typ, err))
	}
	return nil
}

// Fail tells the peer why this party stops (Abort) and returns err.
func Fail(ctx context.Context, t Transport, err error) error {
	if err == nil || told(err) {
		return err
	}
	_ = Abort(ctx, t, err)
	return &toldError{err}
}

// AbortOnError, deferred by a protocol's entry point with its named error
// result, tells the peer why the run failed whenever it returns an error
// the peer has not been told of (Fail, an earlier AbortOnError) and did not
// cause itself (its abort, a lost or closed session, a cancelled context):
// the one abort path, so that no error return leaves the peer waiting.
func AbortOnError(ctx context.Context, t Transport, errp *error) {
	err := *errp
	if err == nil || told(err) || errors.Is(err, ErrPeerAborted) || errors.Is(err, ErrConnLost) ||
		errors.Is(err, ErrClosed) || ctx.Err() != nil {
		return
	}
	_ = Abort(ctx, t, err)
	*errp = &toldError{err}
}

// toldError is an error the peer was told of; it reads and matches as the
// error it wraps.
type toldError struct{ err error }

func (e *toldError) Error() string { return e.err.Error() }
func (e *toldError) Unwrap() error { return e.err }

func told(err error) bool {
	var t *toldError
	return errors.As(err, &t)
}

// Swap sends m and receives the peer's message of type want at the same
// time: for symmetric steps where both parties send a large message, which a
// transport may not buffer whole while its peer sends its own.
func Swap(ctx context.Context, t Transport, m Message, want string) ([]byte, error) {
	sent := make(chan error, 1)
	go func() { sent <- t.Send(ctx, m) }()
	got, err := Expect(ctx, t, want)
	if serr := <-sent; serr != nil && err == nil {
		err = serr
	}
	return got, err
}
