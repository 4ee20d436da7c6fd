package fl

import (
	"bytes"
	"context"
	"fmt"
	"github.com/veil-fl/veil/fl/internal/ctxmu"
	"sync"
)

// PipeOption configures NewPipe.
type PipeOption func(*pipeConfig)

type pipeConfig struct {
	buffer int
}

// PipeBuffer sets how many unread messages each direction holds before
// Send blocks (default 64).
func PipeBuffer(n int) PipeOption {
	return func(c *pipeConfig) { c.buffer = max(n, 0) }
}

// NewPipe returns the two ends of an in-memory transport for tests and
// single-process examples. Each direction is a buffered channel; Stats count
// what the gRPC transport would send with the default chunk size. Package
// fl/fltest wraps it with faults (a dropped connection, tampered messages).
func NewPipe(opts ...PipeOption) (a, b *PipeEnd) {
	cfg := pipeConfig{buffer: 64}
	for _, o := range opts {
		o(&cfg)
	}
	link := &pipeLink{dropped: make(chan struct{})}
	ab := make(chan envelope, cfg.buffer)
	ba := make(chan envelope, cfg.buffer)
	a = &PipeEnd{link: link, in: ba, out: ab, sendMu: ctxmu.New(), closed: make(chan struct{})}
	b = &PipeEnd{link: link, in: ab, out: ba, sendMu: ctxmu.New(), closed: make(chan struct{})}
	a.peer, b.peer = b, a
	return a, b
}

// pipeLink is the state both ends share: the connection itself.
type pipeLink struct {
	dropped chan struct{} // closed when the connection drops
	once    sync.Once
}

func (l *pipeLink) drop() {
	l.once.Do(func() { close(l.dropped) })
}

// PipeEnd is one end of a NewPipe. It implements Transport.
type PipeEnd struct {
	link *pipeLink
	peer *PipeEnd
	in   <-chan envelope
	out  chan<- envelope

	sendMu ctxmu.Mutex // keeps sequence numbers in channel order
	seq    uint64

	closed    chan struct{}
	closeOnce sync.Once
	stats     Counters
}

var _ Transport = (*PipeEnd)(nil)

// Send implements Transport.
func (p *PipeEnd) Send(ctx context.Context, m Message) error {
	if err := CheckMessageType(m.Type); err != nil {
		return fmt.Errorf("fl: send: %v", err)
	}
	if err := p.sendMu.Lock(ctx); err != nil {
		return fmt.Errorf("fl: send %q: %w", m.Type, err)
	}
	defer p.sendMu.Unlock()
	select {
	case <-p.closed:
		return fmt.Errorf("fl: send %q: %w", m.Type, ErrClosed)
	case <-p.peer.closed:
		return fmt.Errorf("fl: send %q: %w by peer", m.Type, ErrClosed)
	case <-p.link.dropped:
		return fmt.Errorf("fl: send %q: %w", m.Type, ErrConnLost)
	default:
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("fl: send %q: %w", m.Type, err)
	}
	c := Message{Type: m.Type}
	if len(m.Payload) > 0 {
		c.Payload = bytes.Clone(m.Payload)
	}
	select {
	case p.out <- envelope{c, p.seq + 1}:
	case <-ctx.Done():
		return fmt.Errorf("fl: send %q: %w", m.Type, ctx.Err())
	case <-p.closed:
		return fmt.Errorf("fl: send %q: %w", m.Type, ErrClosed)
	case <-p.peer.closed:
		return fmt.Errorf("fl: send %q: %w by peer", m.Type, ErrClosed)
	case <-p.link.dropped:
		return fmt.Errorf("fl: send %q: %w", m.Type, ErrConnLost)
	}
	p.seq++
	p.stats.SentMsgs.Add(1)
	p.stats.SentBytes.Add(WireSize(c, p.seq, DefaultChunkSize))
	return nil
}

// Recv implements Transport.
func (p *PipeEnd) Recv(ctx context.Context) (Message, error) {
	// A dropped connection loses what was in flight; a closed one does not.
	select {
	case <-p.link.dropped:
		return Message{}, fmt.Errorf("fl: recv: %w", ErrConnLost)
	case <-p.closed:
		return Message{}, fmt.Errorf("fl: recv: %w", ErrClosed)
	default:
	}
	select {
	case e := <-p.in:
		return p.received(e), nil
	case <-ctx.Done():
		return Message{}, fmt.Errorf("fl: recv: %w", ctx.Err())
	case <-p.closed:
		return Message{}, fmt.Errorf("fl: recv: %w", ErrClosed)
	case <-p.link.dropped:
		return Message{}, fmt.Errorf("fl: recv: %w", ErrConnLost)
	case <-p.peer.closed:
		select {
		case e := <-p.in:
			return p.received(e), nil
		default:
			return Message{}, fmt.Errorf("fl: recv: %w by peer", ErrClosed)
		}
	}
}

func (p *PipeEnd) received(e envelope) Message {
	p.stats.RecvMsgs.Add(1)
	p.stats.RecvBytes.Add(WireSize(e.m, e.seq, DefaultChunkSize))
	return e.m
}

// envelope carries the sequence number the gRPC transport would have given
// a message, for Stats.
type envelope struct {
	m   Message
	seq uint64
}

// Close implements Transport. The peer can still read what was sent before.
func (p *PipeEnd) Close() error {
	p.closeOnce.Do(func() { close(p.closed) })
	return nil
}

// Sever drops the connection abruptly, as a crashed peer or a cut cable
// would: both ends report ErrConnLost and unread messages are lost.
func (p *PipeEnd) Sever() {
	p.link.drop()
}

// Stats implements Transport.
func (p *PipeEnd) Stats() Stats {
	return p.stats.Stats()
}
