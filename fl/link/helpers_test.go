package link

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/veil-fl/veil/fl"
)

// Test helpers, as in package fl's tests.

type handshakeResult struct {
	s   *fl.Session
	err error
}

func handshakePair(ctx context.Context, a, b fl.Transport, ha, hb fl.Hello) (ra, rb handshakeResult) {
	done := make(chan handshakeResult, 1)
	go func() {
		s, err := fl.Handshake(ctx, b, hb)
		done <- handshakeResult{s, err}
	}()
	s, err := fl.Handshake(ctx, a, ha)
	return handshakeResult{s, err}, <-done
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

var (
	bankHello   = fl.Hello{Role: fl.RoleActive, Params: "hist13", Rows: 30000}
	centerHello = fl.Hello{Role: fl.RolePassive, Params: "hist13"}
)

func checkMismatch(t *testing.T, err error, is error, field, local, peer string) {
	t.Helper()
	require.ErrorIs(t, err, is)
	var me *fl.MismatchError
	require.ErrorAs(t, err, &me)
	require.Equal(t, field, me.Field)
	require.Equal(t, local, me.Local)
	require.Equal(t, peer, me.Peer)
	require.ErrorContains(t, err, `local "`+local+`", peer "`+peer+`"`)
}
