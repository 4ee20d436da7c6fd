package link

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"github.com/veil-fl/veil/fl"
	"github.com/veil-fl/veil/fl/fltest"
	"github.com/veil-fl/veil/proto/veilgrpc"
	"log/slog"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/veil-fl/veil/proto/veilpb"
)

func opts(cfg *tls.Config) GRPCOptions {
	return GRPCOptions{TLS: cfg, Logger: slog.New(slog.DiscardHandler)}
}

func newPKI(t *testing.T, names ...string) *fltest.PKI {
	t.Helper()
	p, err := fltest.NewPKI(names...)
	require.NoError(t, err)
	return p
}

// served is a server whose sessions the test drives by hand: each
// session's transport arrives on sessions, and the handler keeps the
// session open until its stream ends.
type served struct {
	srv      *Server
	addr     string
	sessions chan fl.Transport
}

func serve(t *testing.T, o GRPCOptions) *served {
	t.Helper()
	sv := &served{sessions: make(chan fl.Transport, 8)}
	srv, addr, err := Listen("127.0.0.1:0", func(ctx context.Context, tr fl.Transport) error {
		sv.sessions <- tr
		<-ctx.Done()
		return nil
	}, o)
	require.NoError(t, err)
	t.Cleanup(func() { _ = srv.Close() })
	sv.srv, sv.addr = srv, addr.String()
	return sv
}

func (sv *served) next(t *testing.T) fl.Transport {
	t.Helper()
	select {
	case tr := <-sv.sessions:
		return tr
	case <-time.After(10 * time.Second):
		t.Fatal("no session arrived")
		return nil
	}
}

// connect returns the two ends of a fresh session between bank (dialing)
// and center (listening).
func connect(t *testing.T) (bank, center fl.Transport, sv *served) {
	t.Helper()
	pki := newPKI(t, "bank", "center")
	sv = serve(t, opts(pki.ServerTLS("center", "bank")))
	bank, err := Dial(testCtx(t), sv.addr, opts(pki.ClientTLS("bank", "center")))
	require.NoError(t, err)
	t.Cleanup(func() { _ = bank.Close() })
	center = sv.next(t)
	// Cleanups run last-registered first: the center leaves first, so the
	// bank's Close need not wait for it.
	t.Cleanup(func() { _ = center.Close() })
	return bank, center, sv
}

func randomBytes(seed uint64, n int) []byte {
	b := make([]byte, n)
	r := rand.NewChaCha8([32]byte{byte(seed)})
	_, _ = r.Read(b)
	return b
}

// exchange has a and b each send their message and receive the other's.
func exchange(ctx context.Context, a, b fl.Transport, ma, mb fl.Message) (gotA, gotB fl.Message, err error) {
	errc := make(chan error, 2)
	go func() { errc <- a.Send(ctx, ma) }()
	go func() { errc <- b.Send(ctx, mb) }()
	gotB, err = b.Recv(ctx)
	if err != nil {
		return
	}
	gotA, err = a.Recv(ctx)
	if err != nil {
		return
	}
	for range 2 {
		if err = <-errc; err != nil {
			return
		}
	}
	return
}

func TestGRPCEndToEnd(t *testing.T) {
	ctx := testCtx(t)
	bank, center, _ := connect(t)

	ra, rb := handshakePair(ctx, bank, center, bankHello, centerHello)
	require.NoError(t, ra.err)
	require.NoError(t, rb.err)
	require.Equal(t, ra.s.Seed, rb.s.Seed)

	const size = 10 << 20
	up := fl.Message{Type: "test.up", Payload: randomBytes(1, size)}
	down := fl.Message{Type: "test.down", Payload: randomBytes(2, size+1)}
	gotUp, gotDown, err := exchange(ctx, center, bank, down, up)
	require.NoError(t, err)
	require.Equal(t, up.Type, gotUp.Type)
	require.True(t, bytes.Equal(up.Payload, gotUp.Payload), "10 MiB up intact")
	require.Equal(t, down.Type, gotDown.Type)
	require.True(t, bytes.Equal(down.Payload, gotDown.Payload), "10 MiB down intact")

	bs, cs := bank.Stats(), center.Stats()
	require.Equal(t, uint64(4), bs.SentMessages) // hello, reveal, confirm, data
	require.Equal(t, uint64(4), bs.RecvMessages)
	require.Equal(t, bs.SentMessages, cs.RecvMessages)
	require.Equal(t, bs.SentBytes, cs.RecvBytes)
	require.Equal(t, cs.SentMessages, bs.RecvMessages)
	require.Equal(t, cs.SentBytes, bs.RecvBytes)
	require.Greater(t, bs.SentBytes, uint64(size))
	require.Less(t, bs.SentBytes, uint64(size+2<<10), "framing overhead stays small")

	// The pipe counts exactly what the gRPC transport sent.
	pa, pb := fl.NewPipe()
	ra, rb = handshakePair(ctx, pa, pb, bankHello, centerHello)
	require.NoError(t, ra.err)
	require.NoError(t, rb.err)
	_, _, err = exchange(ctx, pb, pa, down, up)
	require.NoError(t, err)
	require.Equal(t, bs, pa.Stats())
	require.Equal(t, cs, pb.Stats())

	// A clean close reaches the other side, after what was sent.
	require.NoError(t, bank.Send(ctx, fl.Message{Type: "test.bye"}))
	require.NoError(t, bank.Close())
	_, err = fl.Expect(ctx, center, "test.bye")
	require.NoError(t, err)
	_, err = center.Recv(ctx)
	require.ErrorIs(t, err, fl.ErrClosed)
	require.ErrorIs(t, center.Send(ctx, fl.Message{Type: "test.late"}), fl.ErrClosed)
	_, err = bank.Recv(ctx)
	require.ErrorIs(t, err, fl.ErrClosed)
}

func TestGRPCServerCloses(t *testing.T) {
	ctx := testCtx(t)
	bank, center, _ := connect(t)
	require.NoError(t, center.Send(ctx, fl.Message{Type: "test.last", Payload: []byte("x")}))
	require.NoError(t, center.Close())
	_, err := fl.Expect(ctx, bank, "test.last")
	require.NoError(t, err)
	_, err = bank.Recv(ctx)
	require.ErrorIs(t, err, fl.ErrClosed)
	require.ErrorContains(t, err, "by peer")
}

func TestGRPCHandshakeMismatch(t *testing.T) {
	for _, tc := range []struct {
		name       string
		bank       fl.Hello
		is         error
		field      string
		local, rem string
	}{
		{"version", fl.Hello{Version: 2, Role: fl.RoleActive, Params: "hist13"}, fl.ErrPeerVersion, fl.FieldVersion, "2", "1"},
		{"params", fl.Hello{Role: fl.RoleActive, Params: "linear14"}, fl.ErrParamsMismatch, fl.FieldParams, "linear14", "hist13"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := testCtx(t)
			bank, center, _ := connect(t)
			ra, rb := handshakePair(ctx, bank, center, tc.bank, centerHello)
			checkMismatch(t, ra.err, tc.is, tc.field, tc.local, tc.rem)
			checkMismatch(t, rb.err, tc.is, tc.field, tc.rem, tc.local)
		})
	}
}

func TestGRPCRefusesForeignCertificates(t *testing.T) {
	pki := newPKI(t, "bank", "center", "mallory")
	other := newPKI(t, "bank", "center")
	sv := serve(t, opts(pki.ServerTLS("center", "bank")))
	otherBank, err := other.Identity("bank")
	require.NoError(t, err)
	trusted, err := pki.Identity("bank")
	require.NoError(t, err)

	for _, tc := range []struct {
		name string
		cfg  *tls.Config
		want string
	}{
		{"server from another CA", other.ClientTLS("bank", "center"), "certificate signed by unknown authority"},
		{"client from another CA", (&fl.TLSIdentity{Certificate: otherBank.Certificate, Roots: trusted.Roots}).ClientTLS("center"), "server refused this party's certificate"},
		{"client not an allowed peer", pki.ClientTLS("mallory", "center"), "server refused this party's certificate"},
		{"server under another name", pki.ClientTLS("bank", "bank"), "not bank"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := testCtx(t)
			tr, err := Dial(ctx, sv.addr, opts(tc.cfg))
			require.Error(t, err)
			require.Nil(t, tr)
			require.ErrorContains(t, err, tc.want)
			require.NotErrorIs(t, err, context.DeadlineExceeded, "refused at once, not timed out")
			t.Log(err)
		})
	}
	select {
	case <-sv.sessions:
		t.Fatal("a refused client got a session")
	default:
	}
}

func TestGRPCOptionsValidation(t *testing.T) {
	pki := newPKI(t, "bank")
	ctx := testCtx(t)
	_, err := Dial(ctx, "127.0.0.1:1", GRPCOptions{})
	require.ErrorContains(t, err, "mutual TLS")
	_, err = Dial(ctx, "127.0.0.1:1", opts(pki.ClientTLS("bank", "")))
	require.ErrorContains(t, err, "ServerName")
	_, err = NewServer(nil, opts(pki.ClientTLS("bank", "center")))
	require.ErrorContains(t, err, "RequireAndVerifyClientCert")
	o := opts(pki.ServerTLS("bank"))
	o.ChunkSize = MaxChunkSize + 1
	_, err = NewServer(nil, o)
	require.ErrorContains(t, err, "ChunkSize")
}

func TestGRPCDialUnreachable(t *testing.T) {
	pki := newPKI(t, "bank", "center")
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := lis.Addr().String()
	require.NoError(t, lis.Close())
	_, err = Dial(testCtx(t), addr, opts(pki.ClientTLS("bank", "center")))
	require.ErrorContains(t, err, addr)
}

func TestGRPCSilentPeer(t *testing.T) {
	bank, center, _ := connect(t)
	for _, tr := range []fl.Transport{bank, center} {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		_, err := tr.Recv(ctx)
		cancel()
		require.ErrorIs(t, err, context.DeadlineExceeded)
	}
	// A Recv that timed out leaves the session usable.
	ctx := testCtx(t)
	require.NoError(t, bank.Send(ctx, fl.Message{Type: "test.late"}))
	_, err := fl.Expect(ctx, center, "test.late")
	require.NoError(t, err)
}

func TestGRPCPeerVanishes(t *testing.T) {
	waitRecv := func(tr fl.Transport) chan error {
		errc := make(chan error, 1)
		go func() {
			_, err := tr.Recv(testCtx(t))
			errc <- err
		}()
		return errc
	}
	t.Run("server stops", func(t *testing.T) {
		bank, _, sv := connect(t)
		errc := waitRecv(bank)
		require.NoError(t, sv.srv.Close())
		err := <-errc
		require.ErrorIs(t, err, fl.ErrConnLost)
		require.NotErrorIs(t, err, context.DeadlineExceeded)
	})
	t.Run("client connection dropped", func(t *testing.T) {
		bank, center, _ := connect(t)
		errc := waitRecv(center)
		require.NoError(t, bank.(*grpcTransport).conn.Close()) // no goodbye
		err := <-errc
		require.ErrorIs(t, err, fl.ErrConnLost)
		require.NotErrorIs(t, err, context.DeadlineExceeded)
	})
	t.Run("tcp cut", func(t *testing.T) {
		pki := newPKI(t, "bank", "center")
		lis, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		cut := &cuttableListener{Listener: lis}
		sessions := make(chan fl.Transport, 1)
		srv, err := NewServer(func(ctx context.Context, tr fl.Transport) error {
			sessions <- tr
			<-ctx.Done()
			return nil
		}, opts(pki.ServerTLS("center")))
		require.NoError(t, err)
		go func() { _ = srv.Serve(cut) }()
		t.Cleanup(func() { _ = srv.Close() })
		bank, err := Dial(testCtx(t), lis.Addr().String(), opts(pki.ClientTLS("bank", "center")))
		require.NoError(t, err)
		defer bank.Close()
		center := <-sessions
		errBank, errCenter := waitRecv(bank), waitRecv(center)
		cut.cutAll()
		require.ErrorIs(t, <-errBank, fl.ErrConnLost)
		require.ErrorIs(t, <-errCenter, fl.ErrConnLost)
	})
}

// cuttableListener records accepted connections so a test can cut them.
type cuttableListener struct {
	net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

func (l *cuttableListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.mu.Lock()
		l.conns = append(l.conns, c)
		l.mu.Unlock()
	}
	return c, err
}

func (l *cuttableListener) cutAll() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, c := range l.conns {
		_ = c.Close()
	}
}

// A Send that cannot finish by its deadline (the peer does not read)
// returns and breaks the session, and the peer learns of it.
func TestGRPCSendDeadline(t *testing.T) {
	for _, dir := range []string{"client sends", "server sends"} {
		t.Run(dir, func(t *testing.T) {
			bank, center, _ := connect(t)
			from, to := bank, center
			if dir == "server sends" {
				from, to = center, bank
			}
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			payload := make([]byte, 8<<20)
			var err error
			for i := 0; err == nil; i++ {
				require.Less(t, i, 100, "flow control never pushed back")
				err = from.Send(ctx, fl.Message{Type: "test.flood", Payload: payload})
			}
			require.ErrorIs(t, err, context.DeadlineExceeded)
			require.ErrorIs(t, from.Send(testCtx(t), fl.Message{Type: "test.more"}), fl.ErrConnLost)

			// The peer gets what was complete, then the loss.
			for {
				_, err = to.Recv(testCtx(t))
				if err != nil {
					break
				}
			}
			require.ErrorIs(t, err, fl.ErrConnLost)
		})
	}
}

// rawClient opens a session stream without the fl framing, to play a
// misbehaving peer.
func rawClient(t *testing.T, pki *fltest.PKI, addr string) grpc.BidiStreamingClient[veilpb.Frame, veilpb.Frame] {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(credentials.NewTLS(pki.ClientTLS("bank", "center"))))
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	stream, err := veilgrpc.NewPartyClient(conn).Session(ctx)
	require.NoError(t, err)
	return stream
}

func TestGRPCRejectsBadFrames(t *testing.T) {
	hdr := func(typ string, seq, n uint64) *veilpb.Frame { return headerFrame(typ, seq, n) }
	chunk := func(n int) *veilpb.Frame { return chunkFrame(make([]byte, n)) }
	for _, tc := range []struct {
		name     string
		frames   []*veilpb.Frame
		closeRaw bool
		is       error
		want     string
	}{
		{"oversized announcement", []*veilpb.Frame{hdr("he.galois-key", 1, 1<<40)}, false,
			fl.ErrTooLarge, `"he.galois-key" of 1099511627776 bytes, over the 1048576-byte limit`},
		{"chunk without header", []*veilpb.Frame{chunk(10)}, false, fl.ErrMalformed, "outside any message"},
		{"chunks overrun header", []*veilpb.Frame{hdr("t", 1, 10), chunk(6), chunk(6)}, false, fl.ErrMalformed, "overrun"},
		{"chunks fall short", []*veilpb.Frame{hdr("t.a", 1, 10), chunk(6), hdr("t.b", 2, 0)}, false, fl.ErrMalformed, "had 6 of 10 bytes"},
		{"bad sequence", []*veilpb.Frame{hdr("t", 7, 0)}, false, fl.ErrMalformed, "sequence number 7"},
		{"empty frame", []*veilpb.Frame{{}}, false, fl.ErrMalformed, "empty frame"},
		{"peer leaves mid-message", []*veilpb.Frame{hdr("t", 1, 10), chunk(6)}, true, fl.ErrConnLost, "mid-message"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pki := newPKI(t, "bank", "center")
			o := opts(pki.ServerTLS("center"))
			o.MaxMessageSize = 1 << 20
			sv := serve(t, o)
			raw := rawClient(t, pki, sv.addr)
			for _, f := range tc.frames {
				require.NoError(t, raw.Send(f))
			}
			if tc.closeRaw {
				require.NoError(t, raw.CloseSend())
			}
			center := sv.next(t)
			_, err := center.Recv(testCtx(t))
			require.ErrorIs(t, err, tc.is)
			require.ErrorContains(t, err, tc.want)
			if tc.closeRaw {
				return
			}
			// The offender is told why.
			_, err = raw.Recv()
			require.Equal(t, codes.Aborted, status.Code(err), "%v", err)
			require.Contains(t, status.Convert(err).Message(), tc.want)
		})
	}
}

// rawServer plays a misbehaving listener: it sends frames, then reports
// what the fl client sent back.
type rawServer struct {
	veilgrpc.UnimplementedPartyServer
	frames []*veilpb.Frame
	got    chan *veilpb.Frame
}

func (r *rawServer) Session(stream veilgrpc.Party_SessionServer) error {
	for _, f := range r.frames {
		if err := stream.Send(f); err != nil {
			return err
		}
	}
	for {
		f, err := stream.Recv()
		if err != nil {
			close(r.got)
			return nil
		}
		r.got <- f
	}
}

func TestGRPCClientRejectsBadFrames(t *testing.T) {
	pki := newPKI(t, "bank", "center")
	raw := &rawServer{frames: []*veilpb.Frame{chunkFrame([]byte("junk"))}, got: make(chan *veilpb.Frame, 4)}
	gs := grpc.NewServer(grpc.Creds(credentials.NewTLS(pki.ServerTLS("center"))))
	veilgrpc.RegisterPartyServer(gs, raw)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = gs.Serve(lis) }()
	defer gs.Stop()

	bank, err := Dial(testCtx(t), lis.Addr().String(), opts(pki.ClientTLS("bank", "center")))
	require.NoError(t, err)
	defer bank.Close()
	_, err = bank.Recv(testCtx(t))
	require.ErrorIs(t, err, fl.ErrMalformed)
	require.ErrorContains(t, err, "outside any message")
	require.ErrorIs(t, bank.Send(testCtx(t), fl.Message{Type: "t"}), fl.ErrMalformed, "the session is over")

	f, ok := <-raw.got
	require.True(t, ok, "the client told the server why")
	require.Contains(t, f.GetAbort().GetReason(), "outside any message")
}

func TestGRPCSendTooLarge(t *testing.T) {
	pki := newPKI(t, "bank", "center")
	sv := serve(t, opts(pki.ServerTLS("center")))
	o := opts(pki.ClientTLS("bank", "center"))
	o.MaxMessageSize = 10
	bank, err := Dial(testCtx(t), sv.addr, o)
	require.NoError(t, err)
	defer bank.Close()
	err = bank.Send(testCtx(t), fl.Message{Type: "t", Payload: make([]byte, 11)})
	require.ErrorIs(t, err, fl.ErrTooLarge)
	require.ErrorContains(t, err, "11 bytes, over the 10-byte limit")
	require.NoError(t, bank.Send(testCtx(t), fl.Message{Type: "t", Payload: make([]byte, 10)}), "the session goes on")
}

func TestGRPCChunkSizes(t *testing.T) {
	pki := newPKI(t, "bank", "center")
	so := opts(pki.ServerTLS("center"))
	so.ChunkSize = 1000
	sv := serve(t, so)
	co := opts(pki.ClientTLS("bank", "center"))
	co.ChunkSize = MaxChunkSize
	bank, err := Dial(testCtx(t), sv.addr, co)
	require.NoError(t, err)
	defer bank.Close()
	center := sv.next(t)
	up := fl.Message{Type: "test.up", Payload: randomBytes(3, 2*MaxChunkSize+5)}
	down := fl.Message{Type: "test.down", Payload: randomBytes(4, 12345)}
	gotUp, gotDown, err := exchange(testCtx(t), center, bank, down, up)
	require.NoError(t, err)
	require.True(t, bytes.Equal(up.Payload, gotUp.Payload))
	require.True(t, bytes.Equal(down.Payload, gotDown.Payload))
	require.Equal(t, fl.WireSize(down, 1, 1000), center.Stats().SentBytes)
}

func TestGRPCConcurrentSessions(t *testing.T) {
	pki := newPKI(t, "bank", "center")
	// An echo service, as a scoring server would be: one handler per session.
	srv, addr, err := Listen("127.0.0.1:0", func(ctx context.Context, tr fl.Transport) error {
		if _, err := fl.Handshake(ctx, tr, centerHello); err != nil {
			return err
		}
		for {
			m, err := tr.Recv(ctx)
			if err != nil {
				return nil // the client closed
			}
			if err := tr.Send(ctx, m); err != nil {
				return err
			}
		}
	}, opts(pki.ServerTLS("center", "bank")))
	require.NoError(t, err)
	defer srv.Close()

	const clients = 6
	errc := make(chan error, clients)
	for i := range clients {
		go func() {
			errc <- func() error {
				ctx := testCtx(t)
				tr, err := Dial(ctx, addr.String(), opts(pki.ClientTLS("bank", "center")))
				if err != nil {
					return err
				}
				defer tr.Close()
				if _, err := fl.Handshake(ctx, tr, bankHello); err != nil {
					return err
				}
				for j := range 5 {
					want := randomBytes(uint64(i*10+j), 100_000+j)
					if err := tr.Send(ctx, fl.Message{Type: "test.echo", Payload: want}); err != nil {
						return err
					}
					got, err := fl.Expect(ctx, tr, "test.echo")
					if err != nil {
						return err
					}
					if !bytes.Equal(got, want) {
						return fmt.Errorf("client %d: echo %d differs", i, j)
					}
				}
				return nil
			}()
		}()
	}
	for range clients {
		require.NoError(t, <-errc)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, srv.Shutdown(ctx))
}

func TestGRPCHandlerError(t *testing.T) {
	pki := newPKI(t, "bank", "center")
	srv, addr, err := Listen("127.0.0.1:0", func(ctx context.Context, tr fl.Transport) error {
		_, err := fl.Handshake(ctx, tr, fl.Hello{Role: fl.RolePassive, Params: "linear14"})
		return err
	}, opts(pki.ServerTLS("center")))
	require.NoError(t, err)
	defer srv.Close()
	ctx := testCtx(t)
	bank, err := Dial(ctx, addr.String(), opts(pki.ClientTLS("bank", "center")))
	require.NoError(t, err)
	defer bank.Close()
	_, err = fl.Handshake(ctx, bank, bankHello)
	require.ErrorIs(t, err, fl.ErrParamsMismatch)
	// The server's handshake told us too.
	_, err = fl.Expect(ctx, bank, "test.next")
	require.ErrorIs(t, err, fl.ErrPeerAborted)
	require.ErrorIs(t, err, fl.ErrParamsMismatch)
	// Then its handler fails and says so.
	_, err = bank.Recv(ctx)
	require.ErrorIs(t, err, fl.ErrPeerAborted)
	require.ErrorContains(t, err, "linear14")
}

func TestGRPCShutdown(t *testing.T) {
	ctx := testCtx(t)
	pki := newPKI(t, "bank", "center")
	sv := serve(t, opts(pki.ServerTLS("center")))

	// Health reports serving.
	conn, err := grpc.NewClient(sv.addr, grpc.WithTransportCredentials(credentials.NewTLS(pki.ClientTLS("bank", "center"))))
	require.NoError(t, err)
	defer conn.Close()
	resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{Service: HealthService})
	require.NoError(t, err)
	require.Equal(t, healthpb.HealthCheckResponse_SERVING, resp.GetStatus())

	// A session that does not end holds a graceful shutdown up until its
	// deadline, then is cut off.
	bank, err := Dial(ctx, sv.addr, opts(pki.ClientTLS("bank", "center")))
	require.NoError(t, err)
	defer bank.Close()
	sv.next(t)
	sctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	err = sv.srv.Shutdown(sctx)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	_, err = bank.Recv(ctx)
	require.ErrorIs(t, err, fl.ErrConnLost)

	_, err = Dial(ctx, sv.addr, opts(pki.ClientTLS("bank", "center")))
	require.Error(t, err, "no new sessions after shutdown")
	require.NoError(t, sv.srv.Close(), "closing twice is harmless")
}

func TestAccept(t *testing.T) {
	ctx := testCtx(t)
	pki := newPKI(t, "bank", "center")
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := lis.Addr().String()

	type accepted struct {
		tr  fl.Transport
		err error
	}
	acc := make(chan accepted, 1)
	go func() {
		tr, err := Accept(ctx, lis, opts(pki.ServerTLS("center", "bank")))
		acc <- accepted{tr, err}
	}()
	bank, err := Dial(ctx, addr, opts(pki.ClientTLS("bank", "center")))
	require.NoError(t, err)
	defer bank.Close()
	a := <-acc
	require.NoError(t, a.err)
	center := a.tr

	ra, rb := handshakePair(ctx, bank, center, bankHello, centerHello)
	require.NoError(t, ra.err)
	require.NoError(t, rb.err)

	// A second dialer is turned away while the first session runs.
	second, err := Dial(ctx, addr, opts(pki.ClientTLS("bank", "center")))
	require.NoError(t, err)
	_, err = second.Recv(ctx)
	require.ErrorIs(t, err, fl.ErrPeerAborted)
	require.ErrorContains(t, err, "one session")
	require.NoError(t, second.Close())

	require.NoError(t, center.Close())
	_, err = bank.Recv(ctx)
	require.ErrorIs(t, err, fl.ErrClosed)
	_, err = net.DialTimeout("tcp", addr, time.Second)
	require.Error(t, err, "the listener is closed with the session")
}

func TestAcceptContext(t *testing.T) {
	pki := newPKI(t, "center")
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err = Accept(ctx, lis, opts(pki.ServerTLS("center")))
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.True(t, strings.Contains(err.Error(), lis.Addr().String()))
}

// TestGRPCStreamsPerConnection: one client connection that opens more
// sessions than MaxStreamsPerConn gets no more handlers running at once;
// the extra stream waits until one ends.
func TestGRPCStreamsPerConnection(t *testing.T) {
	pki := newPKI(t, "bank", "center")
	var mu sync.Mutex
	running, peak := 0, 0
	release := make(chan struct{})
	o := opts(pki.ServerTLS("center", "bank"))
	o.MaxStreamsPerConn = 2
	srv, addr, err := Listen("127.0.0.1:0", func(ctx context.Context, tr fl.Transport) error {
		mu.Lock()
		running++
		peak = max(peak, running)
		mu.Unlock()
		defer func() { mu.Lock(); running--; mu.Unlock() }()
		select {
		case <-release:
		case <-ctx.Done():
		}
		return nil
	}, o)
	require.NoError(t, err)
	defer srv.Close()

	conn, err := grpc.NewClient(addr.String(), grpc.WithTransportCredentials(credentials.NewTLS(pki.ClientTLS("bank", "center"))))
	require.NoError(t, err)
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	opened := make(chan error, 3)
	for range 3 { // the third waits for a free stream: open them aside
		go func() {
			_, err := veilgrpc.NewPartyClient(conn).Session(ctx)
			opened <- err
		}()
	}
	handlers := func() int { mu.Lock(); defer mu.Unlock(); return running }
	require.Eventually(t, func() bool { return handlers() == 2 }, 10*time.Second, 10*time.Millisecond)
	time.Sleep(200 * time.Millisecond) // room for a third handler, were it admitted
	require.Equal(t, 2, handlers(), "a third stream on the connection runs")
	release <- struct{}{}
	require.Eventually(t, func() bool { mu.Lock(); defer mu.Unlock(); return running == 2 && peak == 2 }, 10*time.Second, 10*time.Millisecond)
	close(release)
	for range 3 {
		require.NoError(t, <-opened)
	}
}
