package link

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/veil-fl/veil/fl"
)

func TestAssemblerReplay(t *testing.T) {
	a := newAssembler(1 << 20)
	_, done, err := a.push(headerFrame("t", 1, 0))
	require.NoError(t, err)
	require.True(t, done)
	_, _, err = a.push(headerFrame("t", 1, 0))
	require.ErrorIs(t, err, fl.ErrReplay)
	require.ErrorIs(t, err, fl.ErrMalformed)
	b := newAssembler(1 << 20)
	_, _, err = b.push(headerFrame("t", 3, 0))
	require.ErrorIs(t, err, fl.ErrOutOfOrder)
}

// TestDialRetry dials a peer that starts listening only later, and one
// that never does.
func TestDialRetry(t *testing.T) {
	pki := newPKI(t, "bank", "center")
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := lis.Addr().String()
	require.NoError(t, lis.Close())

	go func() {
		time.Sleep(300 * time.Millisecond)
		srv, _, err := Listen(addr, func(ctx context.Context, tr fl.Transport) error {
			<-ctx.Done()
			return nil
		}, opts(pki.ServerTLS("center", "bank")))
		if err == nil {
			t.Cleanup(func() { _ = srv.Close() })
		}
	}()
	ctx := testCtx(t)
	tr, err := DialRetry(ctx, addr, opts(pki.ClientTLS("bank", "center")), Backoff{Initial: 20 * time.Millisecond, Max: 200 * time.Millisecond, Attempts: 50})
	require.NoError(t, err)
	require.NoError(t, tr.Close())

	lis, err = net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	gone := lis.Addr().String()
	require.NoError(t, lis.Close())
	start := time.Now()
	_, err = DialRetry(ctx, gone, opts(pki.ClientTLS("bank", "center")), Backoff{Initial: 10 * time.Millisecond, Attempts: 3})
	require.ErrorIs(t, err, ErrDialGaveUp)
	require.ErrorContains(t, err, gone)
	require.Less(t, time.Since(start), 5*time.Second)
}
