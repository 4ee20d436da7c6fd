package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"
)

// delayProxy forwards TCP connections to a target, holding every chunk of
// bytes for a fixed delay in each direction: the WAN mode's latency (netem
// is not available here). Bandwidth is the veth's tbf's business; the
// proxy reads as fast as its peer writes, up to proxyWindow bytes in
// flight per direction, after which the writer waits (TCP's back-pressure
// then reaches the sender), so the delay does not cap the throughput of a
// link whose bandwidth-delay product fits in the window.
type delayProxy struct {
	lis    net.Listener
	target string
	delay  time.Duration
	wg     sync.WaitGroup
	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
}

const (
	proxyChunk  = 32 << 10
	proxyWindow = 16 << 20 // bytes in flight per direction: 100 Mbit/s x 1.3 s
)

// startDelayProxy listens on listen (host:port; port 0 picks one) and
// forwards each connection to target with delay added each way. Close
// stops it.
func startDelayProxy(listen, target string, delay time.Duration) (*delayProxy, error) {
	if delay < 0 {
		return nil, fmt.Errorf("wan proxy: negative delay %v", delay)
	}
	lis, err := net.Listen("tcp", listen)
	if err != nil {
		return nil, fmt.Errorf("wan proxy: listen on %s: %w", listen, err)
	}
	p := &delayProxy{lis: lis, target: target, delay: delay, conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.serve()
	return p, nil
}

// Addr is the address the proxy listens on.
func (p *delayProxy) Addr() string { return p.lis.Addr().String() }

func (p *delayProxy) serve() {
	defer p.wg.Done()
	for {
		in, err := p.lis.Accept()
		if err != nil {
			return // closed
		}
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			p.forward(in)
		}()
	}
}

// track records c for Close; it reports false once the proxy is closed.
func (p *delayProxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *delayProxy) forward(in net.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	out, err := (&net.Dialer{}).DialContext(ctx, "tcp", p.target)
	cancel()
	if err != nil || !p.track(in) || !p.track(out) {
		in.Close()
		if out != nil {
			out.Close()
		}
		return
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); p.pipe(out, in) }()
	go func() { defer wg.Done(); p.pipe(in, out) }()
	wg.Wait()
	in.Close()
	out.Close()
}

type delayed struct {
	b   []byte
	due time.Time
}

// pipe copies src to dst, each chunk written delay after it was read; at
// src's end it half-closes dst. An error on either side closes both.
func (p *delayProxy) pipe(dst, src net.Conn) {
	queue := make(chan delayed, proxyWindow/proxyChunk)
	go func() {
		defer close(queue)
		for {
			b := make([]byte, proxyChunk)
			n, err := src.Read(b)
			if n > 0 {
				queue <- delayed{b[:n], time.Now().Add(p.delay)}
			}
			if err != nil {
				return
			}
		}
	}()
	for c := range queue {
		time.Sleep(time.Until(c.due))
		if _, err := dst.Write(c.b); err != nil {
			src.Close() // ends the reader, which closes the queue
			dst.Close()
			for range queue {
			}
			return
		}
	}
	if tc, ok := dst.(*net.TCPConn); ok {
		_ = tc.CloseWrite()
	} else {
		dst.Close()
	}
}

// Close stops accepting, closes every forwarded connection and waits for
// the proxy's goroutines.
func (p *delayProxy) Close() error {
	err := p.lis.Close()
	p.mu.Lock()
	p.closed = true
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
	if errors.Is(err, net.ErrClosed) {
		err = nil
	}
	return err
}
