package fl

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"fmt"
	"time"
)

// MessageLimiter is a transport whose largest accepted message can be
// lowered for the rest of a session (the gRPC link's).
type MessageLimiter interface{ LimitMessages(n int64) }

// Wrapper is a transport that wraps another (Bind, WithIdleTimeout):
// SetMessageLimit looks through it.
type Wrapper interface{ Unwrap() Transport }

// SetMessageLimit lowers the largest message t accepts from now on to n
// bytes, for a service that knows how much a session may carry: a peer that
// announces more is refused before anything is allocated for it, with
// ErrTooLarge. It reports whether t (a MessageLimiter such as the gRPC
// link's transport, or a Wrapper of one) supports it.
func SetMessageLimit(t Transport, n int64) bool {
	for {
		switch x := t.(type) {
		case MessageLimiter:
			x.LimitMessages(n)
			return true
		case Wrapper:
			t = x.Unwrap()
		default:
			return false
		}
	}
}

// ErrIdle is returned when a peer sends nothing, or reads nothing, for
// longer than an idle limit (WithIdleTimeout).
var ErrIdle = errors.New("fl: peer idle too long")

// WithIdleTimeout returns t with every Send and Recv bounded by d: a peer
// that stalls loses the session after d, not after the whole session's
// deadline. A service holds a slot per session; this keeps a slow peer from
// holding one.
func WithIdleTimeout(t Transport, d time.Duration) Transport {
	return &idleTransport{Transport: t, d: d}
}

type idleTransport struct {
	Transport
	d time.Duration
}

// Unwrap returns the wrapped transport.
func (t *idleTransport) Unwrap() Transport { return t.Transport }

func (t *idleTransport) Send(ctx context.Context, m Message) error {
	c, cancel := context.WithTimeout(ctx, t.d)
	defer cancel()
	err := t.Transport.Send(c, m)
	if err != nil && c.Err() != nil && ctx.Err() == nil {
		return fmt.Errorf("%w: sending %q took over %v", ErrIdle, m.Type, t.d)
	}
	return err
}

func (t *idleTransport) Recv(ctx context.Context) (Message, error) {
	c, cancel := context.WithTimeout(ctx, t.d)
	defer cancel()
	m, err := t.Transport.Recv(c)
	if err != nil && c.Err() != nil && ctx.Err() == nil {
		return m, fmt.Errorf("%w: nothing from the peer for %v", ErrIdle, t.d)
	}
	return m, err
}

// Identity is a peer's verified certificate: the name a service's policy
// refers to and the certificate's SHA-256 fingerprint.
type Identity struct {
	Name        string
	Fingerprint [32]byte
}

type identityKey struct{}

// WithPeerIdentity returns ctx carrying id, for handlers run over an
// in-memory transport (tests, a process serving itself); over gRPC the
// identity comes from the client's verified certificate.
func WithPeerIdentity(ctx context.Context, id Identity) context.Context {
	return context.WithValue(ctx, identityKey{}, id)
}

// PeerIdentity returns the identity of the peer of a handler's session:
// the first DNS name of its verified client certificate (its common name
// when it has none) and the certificate's fingerprint. The gRPC link's
// server puts it in every handler's context (WithPeerIdentity).
func PeerIdentity(ctx context.Context) (Identity, bool) {
	id, ok := ctx.Value(identityKey{}).(Identity)
	return id, ok
}

// IdentityOf is the Identity of a verified certificate: its first DNS name
// (its common name when it has none) and its SHA-256 fingerprint.
func IdentityOf(c *x509.Certificate) Identity {
	id := Identity{Name: c.Subject.CommonName, Fingerprint: sha256.Sum256(c.Raw)}
	if len(c.DNSNames) > 0 {
		id.Name = c.DNSNames[0]
	}
	return id
}
