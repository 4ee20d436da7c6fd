package fltest

import (
	"bytes"
	"context"
	"fmt"
	"sync"

	"github.com/veil-fl/veil/fl"
)

// Fault is a misbehaviour of the connection NewPipe makes.
type Fault func(*faults)

type faults struct {
	dropAfter int // 0: never
	tamper    func(fl.Message) fl.Message
}

// DropAfter makes the connection drop once n messages (both directions
// together) have been sent: the next Send fails, and from then on both ends
// report fl.ErrConnLost, discarding messages not yet read, as a real
// connection loss would. It plays a peer that vanishes mid-protocol.
func DropAfter(n int) Fault {
	return func(f *faults) { f.dropAfter = n }
}

// Tamper passes every message, in both directions, through f on its way. It
// plays a misbehaving peer. f receives a copy it may modify.
func Tamper(f func(fl.Message) fl.Message) Fault {
	return func(c *faults) { c.tamper = f }
}

// NewPipe returns the two ends of an fl.NewPipe whose connection has the
// faults.
func NewPipe(fs ...Fault) (a, b *PipeEnd) {
	l := &faultLink{}
	for _, f := range fs {
		f(&l.faults)
	}
	pa, pb := fl.NewPipe()
	return &PipeEnd{PipeEnd: pa, link: l}, &PipeEnd{PipeEnd: pb, link: l}
}

// PipeEnd is one end of NewPipe: an fl.PipeEnd whose sends go through the
// faults. It implements fl.Transport.
type PipeEnd struct {
	*fl.PipeEnd
	link *faultLink
}

var _ fl.Transport = (*PipeEnd)(nil)

// faultLink is what both ends share: the faults and the messages sent.
type faultLink struct {
	faults
	mu   sync.Mutex
	sent int
}

// admit counts one message against DropAfter and reports false once the
// connection is to drop.
func (l *faultLink) admit() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.dropAfter > 0 && l.sent >= l.dropAfter {
		return false
	}
	l.sent++
	return true
}

// Send implements fl.Transport.
func (p *PipeEnd) Send(ctx context.Context, m fl.Message) error {
	if !p.link.admit() {
		p.Sever()
		return fmt.Errorf("fltest: send %q: %w (DropAfter)", m.Type, fl.ErrConnLost)
	}
	if p.link.tamper != nil {
		c := fl.Message{Type: m.Type}
		if len(m.Payload) > 0 {
			c.Payload = bytes.Clone(m.Payload)
		}
		m = p.link.tamper(c)
	}
	return p.PipeEnd.Send(ctx, m)
}
