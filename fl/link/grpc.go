package link

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"github.com/veil-fl/veil/fl"
	"github.com/veil-fl/veil/fl/internal/ctxmu"
	"github.com/veil-fl/veil/proto/veilgrpc"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"
	grpcpeer "google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"github.com/veil-fl/veil/proto/veilpb"
)

// GRPCOptions configures the gRPC transport: Dial, NewServer, Listen and
// Accept. Only TLS is required; zero values take the documented defaults.
type GRPCOptions struct {
	// TLS is this party's mutual-TLS configuration, from fl.LoadTLS (or
	// fltest.PKI in tests and trials). TLS 1.3 is enforced. A server configuration must require and
	// verify client certificates; a client configuration must name the server
	// (ServerName) so that its certificate is checked against that name.
	TLS *tls.Config
	// ChunkSize is the payload carried per frame: DefaultChunkSize (1 MiB)
	// if zero, at most MaxChunkSize. The peer may use another size.
	ChunkSize int
	// MaxMessageSize is the largest message accepted, in bytes:
	// DefaultMaxMessageSize (1 GiB) if zero. A peer announcing a larger message
	// is refused before anything is allocated for it. Sending a larger message
	// fails locally too.
	MaxMessageSize int64
	// KeepaliveTime is how long a connection may be silent before a ping
	// checks the peer is still there (default 30 s, at least 10 s), and
	// KeepaliveTimeout how long the ping may go unanswered before the
	// connection is declared lost (default 20 s).
	KeepaliveTime, KeepaliveTimeout time.Duration
	// CloseTimeout bounds how long a closed session waits for the peer to
	// read what was sent, and how long Close waits for a send in progress
	// (default 30 s). See grpcTransport.Close.
	CloseTimeout time.Duration
	// MaxStreamsPerConn caps the sessions one client connection may hold
	// open on a server at once (default 8).
	MaxStreamsPerConn uint32
	// Logger receives session events (default slog.Default()).
	Logger *slog.Logger
}

const (
	minKeepaliveTime = 10 * time.Second // gRPC clients never ping more often
	// abortGrace is how long a torn-down client stream lingers so that an
	// abort frame to the peer can leave.
	abortGrace = time.Second
	// peerGoneGrace is how long a server's Recv whose ctx was cancelled
	// waits for the reader to say whether the peer went away.
	peerGoneGrace = 200 * time.Millisecond
)

func (o GRPCOptions) normalize(server bool) (GRPCOptions, error) {
	if o.TLS == nil {
		return o, errors.New("fl: GRPCOptions.TLS is nil: the parties must use mutual TLS (see fl.LoadTLS)")
	}
	o.TLS = o.TLS.Clone()
	o.TLS.MinVersion = max(o.TLS.MinVersion, tls.VersionTLS13)
	if server {
		if o.TLS.ClientAuth != tls.RequireAndVerifyClientCert {
			return o, errors.New("fl: server TLS config must set ClientAuth to tls.RequireAndVerifyClientCert")
		}
		if o.TLS.ClientCAs == nil {
			return o, errors.New("fl: server TLS config has no ClientCAs to verify the peer against")
		}
	} else {
		if o.TLS.ServerName == "" {
			return o, errors.New("fl: client TLS config has no ServerName: set the name in the peer's certificate")
		}
		if len(o.TLS.Certificates) == 0 && o.TLS.GetClientCertificate == nil {
			return o, errors.New("fl: client TLS config has no certificate: the server requires one")
		}
	}
	switch {
	case o.ChunkSize == 0:
		o.ChunkSize = DefaultChunkSize
	case o.ChunkSize < 0 || o.ChunkSize > MaxChunkSize:
		return o, fmt.Errorf("fl: ChunkSize %d out of range (1 to %d)", o.ChunkSize, MaxChunkSize)
	}
	switch {
	case o.MaxMessageSize == 0:
		o.MaxMessageSize = DefaultMaxMessageSize
	case o.MaxMessageSize < 0:
		return o, fmt.Errorf("fl: negative MaxMessageSize %d", o.MaxMessageSize)
	}
	if o.KeepaliveTime == 0 {
		o.KeepaliveTime = 30 * time.Second
	}
	o.KeepaliveTime = max(o.KeepaliveTime, minKeepaliveTime)
	if o.KeepaliveTimeout <= 0 {
		o.KeepaliveTimeout = 20 * time.Second
	}
	if o.CloseTimeout <= 0 {
		o.CloseTimeout = 30 * time.Second
	}
	if o.MaxStreamsPerConn == 0 {
		o.MaxStreamsPerConn = 8
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o, nil
}

// frameStream is what the client and server gRPC streams have in common.
type frameStream interface {
	Send(*veilpb.Frame) error
	Recv() (*veilpb.Frame, error)
}

// grpcTransport is one end of a session stream. A reader goroutine
// assembles incoming frames into messages ahead of Recv, so that a Recv
// whose ctx ends leaves the stream intact.
type grpcTransport struct {
	o      GRPCOptions
	stream frameStream
	server bool
	peer   string // address, for errors

	sendMu  ctxmu.Mutex // held for a whole message, so its frames stay together
	sendSeq uint64

	msgs     chan fl.Message
	heldMu   sync.Mutex
	held     []fl.Message  // taken from msgs by a failed send, for Recv
	readDone chan struct{} // closed when the reader stops; readErr is set
	readErr  error

	closed    chan struct{} // Close was called
	closeOnce sync.Once

	broken    chan struct{} // the session failed; brokenErr says why
	breakOnce sync.Once
	brokenErr error

	// Client side.
	cancel    context.CancelFunc // ends the stream
	conn      *grpc.ClientConn
	aborting  atomic.Bool   // an abort frame is being sent
	abortSent chan struct{} // closed once it is

	// Server side: end is closed to make the RPC handler return endStatus.
	end       chan struct{}
	endOnce   sync.Once
	endStatus error

	stats fl.Counters
	lower atomic.Int64 // SetMessageLimit
}

var _ fl.Transport = (*grpcTransport)(nil)

// LimitMessages (fl.MessageLimiter) lowers the largest message this end accepts for the rest
// of the session (MessageLimiter).
func (t *grpcTransport) LimitMessages(n int64) { t.lower.Store(n) }

func newGRPCTransport(o GRPCOptions, s frameStream, server bool, peer string) *grpcTransport {
	t := &grpcTransport{
		o: o, stream: s, server: server, peer: peer,
		sendMu:    ctxmu.New(),
		msgs:      make(chan fl.Message),
		readDone:  make(chan struct{}),
		closed:    make(chan struct{}),
		broken:    make(chan struct{}),
		abortSent: make(chan struct{}),
		end:       make(chan struct{}),
	}
	return t
}

// Send implements Transport.
func (t *grpcTransport) Send(ctx context.Context, m fl.Message) error {
	if err := fl.CheckMessageType(m.Type); err != nil {
		return fmt.Errorf("fl: send: %v", err)
	}
	if int64(len(m.Payload)) > t.o.MaxMessageSize {
		return fmt.Errorf("fl: send %q: %w: %d bytes, over the %d-byte limit (GRPCOptions.MaxMessageSize)",
			m.Type, fl.ErrTooLarge, len(m.Payload), t.o.MaxMessageSize)
	}
	if err := t.sendMu.Lock(ctx); err != nil {
		if ctx.Err() != nil {
			err = t.ctxErr(ctx)
		}
		return fmt.Errorf("fl: send %q: waiting for another send: %w", m.Type, err)
	}
	defer t.sendMu.Unlock()
	if err := t.usable(); err != nil {
		return fmt.Errorf("fl: send %q: %w", m.Type, err)
	}
	if ctx.Err() != nil {
		return fmt.Errorf("fl: send %q: %w", m.Type, t.ctxErr(ctx))
	}
	// A message cut off halfway would desynchronise the stream, so a ctx
	// that ends mid-send ends the session.
	stop := context.AfterFunc(ctx, func() {
		t.fail(fmt.Errorf("%w: a send was cut off mid-message (%v)", fl.ErrConnLost, context.Cause(ctx)), false)
	})
	err := t.sendFrames(m)
	if !stop() {
		return fmt.Errorf("fl: send %q: %w", m.Type, t.ctxErr(ctx))
	}
	if err != nil {
		return fmt.Errorf("fl: send %q: %w", m.Type, err)
	}
	t.stats.SentMsgs.Add(1)
	return nil
}

func (t *grpcTransport) sendFrames(m fl.Message) error {
	t.sendSeq++
	if err := t.sendFrame(headerFrame(m.Type, t.sendSeq, uint64(len(m.Payload)))); err != nil {
		return err
	}
	for p := m.Payload; len(p) > 0; {
		n := min(len(p), t.o.ChunkSize)
		if err := t.sendFrame(chunkFrame(p[:n])); err != nil {
			return err
		}
		p = p[n:]
	}
	return nil
}

func (t *grpcTransport) sendFrame(f *veilpb.Frame) error {
	if err := t.stream.Send(f); err != nil {
		// The stream is gone; the reader usually knows better why. io.EOF
		// means the peer's status is waiting for the reader, which needs no
		// network to read it, only a turn on a loaded machine, and may sit
		// behind messages the peer sent before it ended the session: this
		// send has failed, so the session is over, and those are kept for
		// Recv, which may still want the peer's abort among them.
		wait := 100 * time.Millisecond
		if err == io.EOF {
			wait = 2 * time.Second
		}
		timeout := time.After(wait)
		for {
			select {
			case <-t.broken:
				return t.brokenErr
			case <-t.readDone:
				if !errors.Is(t.readErr, fl.ErrClosed) {
					return t.readErr
				}
				return t.connLost(err)
			case m := <-t.msgs:
				t.heldMu.Lock()
				t.held = append(t.held, m)
				t.heldMu.Unlock()
			case <-timeout:
				return t.connLost(err)
			}
		}
	}
	t.stats.SentBytes.Add(frameCost(f))
	return nil
}

// usable reports why the transport can no longer send, if it cannot.
func (t *grpcTransport) usable() error {
	select {
	case <-t.closed:
		return fl.ErrClosed
	case <-t.broken:
		return t.brokenErr
	default:
		return nil
	}
}

// Recv implements Transport.
func (t *grpcTransport) Recv(ctx context.Context) (fl.Message, error) {
	t.heldMu.Lock()
	if len(t.held) > 0 {
		m := t.held[0]
		t.held = t.held[1:]
		t.heldMu.Unlock()
		return m, nil
	}
	t.heldMu.Unlock()
	if err := t.usable(); err != nil {
		return fl.Message{}, fmt.Errorf("fl: recv: %w", err)
	}
	select {
	case m := <-t.msgs:
		return m, nil
	case <-ctx.Done():
		return fl.Message{}, fmt.Errorf("fl: recv: %w", t.ctxErr(ctx))
	case <-t.closed:
		return fl.Message{}, fmt.Errorf("fl: recv: %w", fl.ErrClosed)
	case <-t.broken:
		return fl.Message{}, fmt.Errorf("fl: recv: %w", t.brokenErr)
	case <-t.readDone:
		return fl.Message{}, fmt.Errorf("fl: recv: %w", t.readErr)
	}
}

// ctxErr is why a send or a wait whose ctx ended stopped. A server's
// session ctx is its stream's, which gRPC ends when the peer's connection
// drops or the peer cancels: then the reader, ending at the same moment,
// says how (ErrConnLost, ErrClosed), where ctx.Err would only say "context
// canceled".
func (t *grpcTransport) ctxErr(ctx context.Context) error {
	s, ok := t.stream.(interface{ Context() context.Context })
	if !t.server || !ok || !errors.Is(ctx.Err(), context.Canceled) || s.Context().Err() == nil {
		return ctx.Err()
	}
	select {
	case <-t.readDone:
		if errors.Is(t.readErr, fl.ErrConnLost) || errors.Is(t.readErr, fl.ErrClosed) {
			return t.readErr
		}
	case <-time.After(peerGoneGrace):
	}
	return fmt.Errorf("%w: peer %s went away (%v)", fl.ErrConnLost, t.peer, ctx.Err())
}

// readLoop assembles frames into messages until the stream ends. The
// unbuffered msgs channel holds the reader back until Recv takes a message,
// so gRPC flow control paces the sender.
func (t *grpcTransport) readLoop() {
	a := newAssembler(t.o.MaxMessageSize)
	a.lower = &t.lower
	err := func() error {
		for {
			f, err := t.stream.Recv()
			if err != nil {
				return t.recvErr(err, a)
			}
			t.stats.RecvBytes.Add(frameCost(f))
			m, done, err := a.push(f)
			if err != nil {
				// Tell the peer what it did wrong, unless it told us.
				t.fail(err, !errors.Is(err, fl.ErrPeerAborted))
				return err
			}
			if !done {
				continue
			}
			t.stats.RecvMsgs.Add(1)
			select {
			case t.msgs <- m:
			case <-t.closed: // draining so that the peer can finish
			case <-t.broken:
				return t.brokenErr
			}
		}
	}()
	// The session is over either way. If it had already failed, report the
	// root cause, not the teardown it caused.
	t.setBroken(err)
	t.readErr = t.brokenErr
	close(t.readDone)
}

// recvErr turns the error that ended stream.Recv into one of ours.
func (t *grpcTransport) recvErr(err error, a *assembler) error {
	if err == io.EOF {
		if p := a.pending(); p != "" {
			return fmt.Errorf("%w: peer %s ended the session mid-message: %s", fl.ErrConnLost, t.peer, p)
		}
		// The peer closed after we read all it sent: the session is over for
		// us too. A server ends its RPC so that the peer's Close returns.
		err := fmt.Errorf("%w by peer %s", fl.ErrClosed, t.peer)
		t.setBroken(err)
		if t.server {
			t.endRPC(nil)
		}
		return err
	}
	if st, ok := status.FromError(err); ok && st.Code() == codes.Aborted {
		// The server side reports its own failures this way.
		return fmt.Errorf("%w the session: %s", fl.ErrPeerAborted, peerText(st.Message()))
	}
	return t.connLost(err)
}

func (t *grpcTransport) connLost(err error) error {
	if st, ok := status.FromError(err); ok {
		switch st.Code() {
		case codes.Canceled:
			return fmt.Errorf("%w: peer %s cancelled the session or went away", fl.ErrConnLost, t.peer)
		default:
			return fmt.Errorf("%w: peer %s: %s: %s", fl.ErrConnLost, t.peer, st.Code(), st.Message())
		}
	}
	return fmt.Errorf("%w: peer %s: %v", fl.ErrConnLost, t.peer, err)
}

// setBroken records why the session can no longer be used, if nothing was
// recorded before, and reports whether it did.
func (t *grpcTransport) setBroken(cause error) (first bool) {
	t.breakOnce.Do(func() {
		t.brokenErr = cause
		close(t.broken)
		first = true
	})
	return first
}

// fail breaks the session with cause: every later call reports it, and the
// stream is torn down. With tellPeer the peer is told why, on a best-effort
// basis.
func (t *grpcTransport) fail(cause error, tellPeer bool) {
	if t.setBroken(cause) {
		t.o.Logger.Debug("fl: session failed", "peer", t.peer, "err", cause)
		if t.server {
			// Aborted reads as ErrPeerAborted at the client, anything else
			// as ErrConnLost, as when a client fails.
			code := codes.Unavailable
			if tellPeer {
				code = codes.Aborted
			}
			t.endRPC(status.Error(code, cause.Error()))
			return
		}
		if !tellPeer {
			t.cancel()
			return
		}
		t.aborting.Store(true)
		go func() {
			defer close(t.abortSent)
			// A send in progress holds the lock and is being cut off anyway.
			if t.sendMu.TryLock() {
				f := &veilpb.Frame{Kind: &veilpb.Frame_Abort{Abort: &veilpb.TransportAbort{Reason: cause.Error()}}}
				if t.stream.Send(f) == nil {
					t.stats.SentBytes.Add(frameCost(f))
				}
				t.sendMu.Unlock()
			}
		}()
		time.AfterFunc(abortGrace, t.cancel)
	}
}

// endRPC makes the server's RPC handler return st, ending the stream after
// what was already sent.
func (t *grpcTransport) endRPC(st error) {
	t.endOnce.Do(func() {
		t.endStatus = st
		close(t.end)
	})
}

// Close implements Transport. On the listening side the session's RPC ends
// at once, after what was sent. On the dialing side Close returns at once
// and the connection lingers in the background, half-closed, until the peer
// has read everything and ended the session, or CloseTimeout passes:
// cancelling the stream any earlier could lose messages still in flight.
func (t *grpcTransport) Close() error {
	t.closeOnce.Do(func() {
		close(t.closed)
		if !t.server {
			go t.linger()
			return
		}
		// Let a send in progress finish, within reason.
		if t.sendMu.LockWithin(t.o.CloseTimeout) {
			t.sendMu.Unlock()
		}
		t.endRPC(nil)
	})
	return nil
}

// linger finishes a closed client session; see Close.
func (t *grpcTransport) linger() {
	defer func() {
		t.cancel()
		_ = t.conn.Close()
	}()
	select {
	case <-t.broken:
		// Nothing more to deliver, except maybe an abort frame leaving now.
		if t.aborting.Load() {
			select {
			case <-t.abortSent:
			case <-time.After(abortGrace):
			}
		}
		return
	default:
	}
	if !t.sendMu.LockWithin(t.o.CloseTimeout) {
		return
	}
	_ = t.stream.(grpc.ClientStream).CloseSend()
	t.sendMu.Unlock()
	select {
	case <-t.readDone:
	case <-time.After(t.o.CloseTimeout):
	}
}

// Stats implements Transport.
func (t *grpcTransport) Stats() fl.Stats {
	return t.stats.Stats()
}

// Dial connects to the party listening at addr and opens one session. ctx
// bounds connecting, the TLS handshake and the server accepting the
// session; it does not bound the session itself. Dial fails fast if the
// peer is unreachable or refuses the certificate; callers that start before
// their peer should retry.
func Dial(ctx context.Context, addr string, opts GRPCOptions) (fl.Transport, error) {
	o, err := opts.normalize(false)
	if err != nil {
		return nil, err
	}
	conn, err := grpc.NewClient(addr,
		grpc.WithTransportCredentials(verdictCreds{credentials.NewTLS(o.TLS)}),
		grpc.WithKeepaliveParams(keepalive.ClientParameters{Time: o.KeepaliveTime, Timeout: o.KeepaliveTimeout}),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxFrameSize), grpc.MaxCallSendMsgSize(maxFrameSize)),
	)
	if err != nil {
		return nil, fmt.Errorf("fl: dial %s: %w", addr, err)
	}
	sctx, cancel := context.WithCancel(context.Background())
	stop := context.AfterFunc(ctx, cancel)
	stream, err := veilgrpc.NewPartyClient(conn).Session(sctx)
	if err == nil {
		// The server sends headers on accepting the session; waiting for them
		// surfaces a refused client certificate here rather than at first Recv.
		_, err = stream.Header()
	}
	if !stop() {
		err = ctx.Err()
	}
	if err != nil {
		cancel()
		_ = conn.Close()
		if st, ok := status.FromError(err); ok {
			err = fmt.Errorf("%s: %s", st.Code(), st.Message())
		}
		return nil, fmt.Errorf("fl: dial %s (as client of %q): %w", addr, o.TLS.ServerName, err)
	}
	t := newGRPCTransport(o, stream, false, addr)
	t.cancel, t.conn = cancel, conn
	go t.readLoop()
	return t, nil
}

// Backoff says how DialRetry retries: it waits Initial (default 100 ms)
// after the first failed attempt, doubling each time up to Max (default
// 10 s), and gives up after Attempts attempts in all (default 10) or when
// its ctx ends.
type Backoff struct {
	Initial, Max time.Duration
	Attempts     int
}

// ErrDialGaveUp reports that DialRetry ran out of attempts; the error also
// wraps the last attempt's.
var ErrDialGaveUp = errors.New("fl: gave up dialing the peer")

// DialRetry is Dial with retries and exponential backoff, for a party that
// may start before its peer listens, or that reconnects after the
// connection dropped. Each attempt gets ctx; a refused certificate is not
// retried, since waiting cannot fix it.
func DialRetry(ctx context.Context, addr string, opts GRPCOptions, b Backoff) (fl.Transport, error) {
	if b.Initial <= 0 {
		b.Initial = 100 * time.Millisecond
	}
	if b.Max <= 0 {
		b.Max = 10 * time.Second
	}
	if b.Attempts <= 0 {
		b.Attempts = 10
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	wait := b.Initial
	var last error
	for i := 1; ; i++ {
		t, err := Dial(ctx, addr, opts)
		if err == nil {
			return t, nil
		}
		last = err
		if ctx.Err() != nil || strings.Contains(err.Error(), "refused this party's certificate") || i >= b.Attempts {
			break
		}
		log.Debug("fl: dial failed, retrying", "addr", addr, "attempt", i, "wait", wait, "err", err)
		select {
		case <-time.After(wait):
		case <-ctx.Done():
		}
		wait = min(2*wait, b.Max)
	}
	return nil, fmt.Errorf("%w at %s: %w", ErrDialGaveUp, addr, last)
}

// Handler serves one session. The transport is closed when the handler
// returns; an error is reported to the peer, which fails with ErrPeerAborted.
type Handler func(ctx context.Context, t fl.Transport) error

// Server accepts sessions over gRPC and hands each to a Handler in its own
// goroutine, so one server can serve many concurrent sessions. It also
// serves the standard gRPC health service (grpc.health.v1.Health).
type Server struct {
	o       GRPCOptions
	handler Handler
	gs      *grpc.Server
	health  *health.Server

	mu       sync.Mutex // orders sessions.Add before sessions.Wait
	down     bool
	sessions sync.WaitGroup
	serveErr chan error // set by the background Serve of Listen
}

// HealthService is the service name whose status the server's health
// service reports.
var HealthService = veilgrpc.Party_ServiceDesc.ServiceName

// NewServer returns a server that hands sessions to h.
func NewServer(h Handler, opts GRPCOptions) (*Server, error) {
	o, err := opts.normalize(true)
	if err != nil {
		return nil, err
	}
	s := &Server{o: o, handler: h, health: health.NewServer()}
	s.gs = grpc.NewServer(
		grpc.Creds(credentials.NewTLS(o.TLS)),
		grpc.KeepaliveParams(keepalive.ServerParameters{Time: o.KeepaliveTime, Timeout: o.KeepaliveTimeout}),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: minKeepaliveTime / 2, PermitWithoutStream: true}),
		grpc.MaxRecvMsgSize(maxFrameSize),
		grpc.MaxSendMsgSize(maxFrameSize),
		grpc.MaxConcurrentStreams(o.MaxStreamsPerConn),
	)
	veilgrpc.RegisterPartyServer(s.gs, partyService{s: s})
	healthpb.RegisterHealthServer(s.gs, s.health)
	s.health.SetServingStatus(HealthService, healthpb.HealthCheckResponse_SERVING)
	return s, nil
}

// Listen binds addr (for example "127.0.0.1:0") and serves sessions on it
// in the background until Shutdown or Close.
func Listen(addr string, h Handler, opts GRPCOptions) (*Server, net.Addr, error) {
	s, err := NewServer(h, opts)
	if err != nil {
		return nil, nil, err
	}
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, nil, fmt.Errorf("fl: listen: %w", err)
	}
	s.serveErr = make(chan error, 1)
	go func() { s.serveErr <- s.Serve(lis) }()
	return s, lis.Addr(), nil
}

// Serve accepts sessions on lis until Shutdown or Close, then returns nil.
func (s *Server) Serve(lis net.Listener) error {
	if err := s.gs.Serve(lis); err != nil && !errors.Is(err, grpc.ErrServerStopped) {
		return fmt.Errorf("fl: serve: %w", err)
	}
	return nil
}

// Shutdown stops accepting sessions and waits for running ones to end.
// When ctx ends first, it cuts them off, cancelling their handlers' ctx, and
// returns ctx's error without waiting further.
func (s *Server) Shutdown(ctx context.Context) error {
	s.stopAdmitting()
	s.health.Shutdown()
	done := make(chan struct{})
	go func() {
		s.gs.GracefulStop()
		s.sessions.Wait()
		close(done)
	}()
	select {
	case <-done:
		return s.waitServe()
	case <-ctx.Done():
		s.gs.Stop() // handlers see their ctx cancelled; not waited for
		_ = s.waitServe()
		return fmt.Errorf("fl: shutdown: %w", ctx.Err())
	}
}

// Close stops the server at once, cutting running sessions off. Their
// handlers see their ctx cancelled; Close waits for them to return.
func (s *Server) Close() error {
	s.stopAdmitting()
	s.health.Shutdown()
	s.gs.Stop()
	s.sessions.Wait()
	return s.waitServe()
}

func (s *Server) stopAdmitting() {
	s.mu.Lock()
	s.down = true
	s.mu.Unlock()
}

func (s *Server) waitServe() error {
	if s.serveErr == nil {
		return nil
	}
	err := <-s.serveErr
	s.serveErr <- nil // later calls see nil
	return err
}

// partyService adapts Server to the generated interface.
type partyService struct {
	veilgrpc.UnimplementedPartyServer
	s *Server
}

func (p partyService) Session(stream veilgrpc.Party_SessionServer) error {
	return p.s.session(stream)
}

func (s *Server) session(stream veilgrpc.Party_SessionServer) error {
	s.mu.Lock()
	if s.down {
		s.mu.Unlock()
		return status.Error(codes.Unavailable, "fl: server is shutting down")
	}
	s.sessions.Add(1)
	s.mu.Unlock()
	defer s.sessions.Done()
	// Tell the dialer at once that its session was accepted.
	if err := stream.SendHeader(nil); err != nil {
		return err
	}
	ctx := stream.Context()
	if id, ok := grpcIdentity(ctx); ok {
		ctx = fl.WithPeerIdentity(ctx, id)
	}
	peer := peerInfo(ctx)
	t := newGRPCTransport(s.o, stream, true, peer)
	go t.readLoop()
	s.o.Logger.Debug("fl: session started", "peer", peer)

	result := make(chan error, 1)
	s.sessions.Add(1)
	go func() {
		defer s.sessions.Done()
		result <- s.handler(ctx, t)
	}()
	var st error
	select {
	case err := <-result:
		if err != nil {
			s.o.Logger.Warn("fl: session handler failed", "peer", peer, "err", err)
			st = status.Error(codes.Aborted, "session handler: "+err.Error())
		}
		// Let a send still in progress from a stray goroutine finish first.
		if t.sendMu.LockWithin(t.o.CloseTimeout) {
			defer t.sendMu.Unlock()
		}
	case <-t.end:
		st = t.endStatus
		if st == nil && t.sendMu.LockWithin(t.o.CloseTimeout) {
			defer t.sendMu.Unlock()
		}
	}
	// From now on the transport reports why the session ended.
	t.setBroken(t.endReason(ctx))
	s.o.Logger.Debug("fl: session ended", "peer", peer, "status", st)
	return st
}

// endReason says why a server session ended without Close or a failure:
// its handler returned, or the peer went away, in which case the reader
// will shortly know how.
func (t *grpcTransport) endReason(ctx context.Context) error {
	if ctx.Err() != nil {
		select {
		case <-t.readDone:
			return t.readErr
		case <-time.After(abortGrace):
			return fmt.Errorf("%w: peer %s went away", fl.ErrConnLost, t.peer)
		}
	}
	return fmt.Errorf("%w: the session handler returned", fl.ErrClosed)
}

// peerInfo names the party at the other end of a server stream: its
// certificate name and address.
func peerInfo(ctx context.Context) string {
	p, ok := grpcpeer.FromContext(ctx)
	if !ok {
		return "unknown peer"
	}
	addr := p.Addr.String()
	if ti, ok := p.AuthInfo.(credentials.TLSInfo); ok && len(ti.State.PeerCertificates) > 0 {
		c := ti.State.PeerCertificates[0]
		name := c.Subject.CommonName
		if len(c.DNSNames) > 0 {
			name = c.DNSNames[0]
		}
		return fmt.Sprintf("%q at %s", name, addr)
	}
	return addr
}

// Accept serves lis until the first session arrives and returns its
// transport: the simple way for one party of a two-party job to wait for the
// other. Sessions after the first are refused. Closing the returned transport
// also shuts the server down and closes lis. If ctx ends first, Accept
// closes lis and returns ctx's error.
func Accept(ctx context.Context, lis net.Listener, opts GRPCOptions) (fl.Transport, error) {
	got := make(chan *grpcTransport, 1)
	var claimed atomic.Bool
	s, err := NewServer(func(hctx context.Context, t fl.Transport) error {
		if !claimed.CompareAndSwap(false, true) {
			return errors.New("this party accepts one session and already has it")
		}
		got <- t.(*grpcTransport)
		<-hctx.Done() // the session's stream has ended
		return nil
	}, opts)
	if err != nil {
		_ = lis.Close()
		return nil, err
	}
	s.serveErr = make(chan error, 1)
	go func() { s.serveErr <- s.Serve(lis) }()
	select {
	case t := <-got:
		return &acceptedTransport{grpcTransport: t, srv: s}, nil
	case <-ctx.Done():
		_ = s.Close()
		return nil, fmt.Errorf("fl: accept on %s: %w", lis.Addr(), ctx.Err())
	}
}

// acceptedTransport is Accept's transport: closing it stops the server too.
type acceptedTransport struct {
	*grpcTransport
	srv *Server
}

func (a *acceptedTransport) Close() error {
	err := a.grpcTransport.Close()
	ctx, cancel := context.WithTimeout(context.Background(), a.o.CloseTimeout)
	defer cancel()
	return errors.Join(err, a.srv.Shutdown(ctx))
}

// verdictCreds makes a client's TLS handshake wait for the server's verdict
// on the client certificate. In TLS 1.3 the client finishes its handshake
// before the server has checked the client's certificate, so a refusal
// would otherwise surface later as a broken pipe. gRPC servers speak first
// (HTTP/2 SETTINGS), so reading their first byte yields either that byte,
// kept for gRPC, or the server's TLS alert.
type verdictCreds struct {
	credentials.TransportCredentials
}

func (c verdictCreds) ClientHandshake(ctx context.Context, authority string, raw net.Conn) (net.Conn, credentials.AuthInfo, error) {
	conn, info, err := c.TransportCredentials.ClientHandshake(ctx, authority, raw)
	if err != nil {
		return nil, nil, err
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.SetReadDeadline(time.Now()) })
	first := make([]byte, 1)
	n, err := conn.Read(first)
	if !stop() {
		err = errors.Join(err, ctx.Err())
	}
	if err != nil {
		_ = conn.Close()
		return nil, nil, fmt.Errorf("fl: the server refused this party's certificate or hung up: %w", err)
	}
	_ = conn.SetReadDeadline(time.Time{})
	return &prefixConn{Conn: conn, prefix: first[:n]}, info, nil
}

func (c verdictCreds) Clone() credentials.TransportCredentials {
	return verdictCreds{c.TransportCredentials.Clone()}
}

// prefixConn returns prefix before reading on from Conn.
type prefixConn struct {
	net.Conn
	prefix []byte
}

func (c *prefixConn) Read(b []byte) (int, error) {
	if len(c.prefix) > 0 {
		n := copy(b, c.prefix)
		c.prefix = c.prefix[n:]
		return n, nil
	}
	return c.Conn.Read(b)
}

// grpcIdentity is the identity of a gRPC stream's peer: its verified client
// certificate's.
func grpcIdentity(ctx context.Context) (fl.Identity, bool) {
	p, ok := grpcpeer.FromContext(ctx)
	if !ok {
		return fl.Identity{}, false
	}
	info, ok := p.AuthInfo.(credentials.TLSInfo)
	if !ok || len(info.State.PeerCertificates) == 0 {
		return fl.Identity{}, false
	}
	return fl.IdentityOf(info.State.PeerCertificates[0]), true
}
