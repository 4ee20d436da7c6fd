package align_test

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/veil-fl/veil/fl"
	"github.com/veil-fl/veil/fl/align"
	"github.com/veil-fl/veil/fl/fltest"
	"github.com/veil-fl/veil/mpc/psi"
)

// tap records what one party sends and receives.
type tap struct {
	fl.Transport
	mu    sync.Mutex
	sent  []fl.Message
	recvd []string
}

func (t *tap) Send(ctx context.Context, m fl.Message) error {
	t.mu.Lock()
	t.sent = append(t.sent, fl.Message{Type: m.Type, Payload: bytes.Clone(m.Payload)})
	t.mu.Unlock()
	return t.Transport.Send(ctx, m)
}

func (t *tap) Recv(ctx context.Context) (fl.Message, error) {
	m, err := t.Transport.Recv(ctx)
	if err == nil {
		t.mu.Lock()
		t.recvd = append(t.recvd, m.Type)
		t.mu.Unlock()
	}
	return m, err
}

func (t *tap) sentOf(typ string) []fl.Message {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []fl.Message
	for _, m := range t.sent {
		if m.Type == typ {
			out = append(out, m)
		}
	}
	return out
}

func (t *tap) received(typ string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return slices.Contains(t.recvd, typ)
}

// run aligns bankIDs with centerIDs over a pipe, the center with options o,
// and returns both results and the taps on both ends.
func run(t *testing.T, bankIDs, centerIDs []string, o align.Options) (resB, resC *psi.Result, errB, errC error, bank, center *tap) {
	t.Helper()
	return runTapped(t, bankIDs, centerIDs, func(*tap) align.Options { return o })
}

// runTapped is run with the center's options made from its tap.
func runTapped(t *testing.T, bankIDs, centerIDs []string, opts func(center *tap) align.Options) (resB, resC *psi.Result, errB, errC error, bank, center *tap) {
	t.Helper()
	ta, tc := fl.NewPipe()
	t.Cleanup(func() { ta.Close(); tc.Close() })
	bank, center = &tap{Transport: ta}, &tap{Transport: tc}
	o := opts(center)
	ctx, cancel := context.WithTimeout(context.Background(), fltest.Deadline(time.Minute))
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		resC, errC = align.AlignWith(ctx, center, centerIDs, o)
	}()
	// The bank runs the center's balanced protocol.
	resB, errB = align.AlignWith(ctx, bank, bankIDs, align.Options{BalancedProtocol: o.BalancedProtocol, NoFallback: o.NoFallback})
	<-done
	require.NoError(t, ctx.Err(), "no party waited for the deadline")
	return
}

// TestOwnIDFaultsStayLocal: a party whose own ids fail psi's checks learns
// which rows are at fault; the peer learns the kind of fault only, in one
// abort that carries no id and no row.
func TestOwnIDFaultsStayLocal(t *testing.T) {
	bankIDs := []string{"bank-only-1", "shared-enterprise-0042", "bank-only-2"}
	for _, tc := range []struct {
		name      string
		centerIDs []string
		kind      error
		local     string // in the center's error, not in anything it sends
	}{
		{"duplicate", []string{"center-only-1", "shared-enterprise-0042", "center-only-2", "shared-enterprise-0042"}, psi.ErrDuplicateID, "at rows 1 and 3"},
		{"empty id", []string{"center-only-1", "center-only-2", ""}, psi.ErrEmptyID, "at row 2"},
		{"no ids", nil, psi.ErrEmptySet, "this party's ids"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, errB, errC, _, center := run(t, bankIDs, tc.centerIDs, align.Options{})
			require.ErrorIs(t, errC, tc.kind)
			require.ErrorContains(t, errC, tc.local)
			require.NotErrorIs(t, errC, fl.ErrProtocol, "the center's own fault, not the bank's")

			require.ErrorIs(t, errB, fl.ErrPeerAborted)
			require.ErrorContains(t, errB, tc.kind.Error())
			var ae *fl.AbortError
			require.ErrorAs(t, errB, &ae)
			require.NotContains(t, ae.Reason, "row")

			aborts := center.sentOf(fl.TypeAbort)
			require.Len(t, aborts, 1, "told once (fl.AbortOnError adds nothing)")
			for _, id := range tc.centerIDs {
				if id != "" {
					require.False(t, bytes.Contains(aborts[0].Payload, []byte(id)), "the abort names id %q", id)
				}
			}
			require.False(t, bytes.Contains(aborts[0].Payload, []byte(tc.local)))
		})
	}
}

// TestPeerFaultsAreProtocolErrors: every error of a peer that breaks the
// alignment matches fl.ErrProtocol, and a party's own failures do not.
func TestPeerFaultsAreProtocolErrors(t *testing.T) {
	for _, err := range []error{align.ErrProtocol, align.ErrDisagree, align.ErrTooManyIDs} {
		require.ErrorIs(t, err, fl.ErrProtocol, "%v", err)
	}
	require.NotErrorIs(t, align.ErrDisagree, align.ErrTooManyIDs)

	t.Run("too many ids", func(t *testing.T) {
		_, _, errB, errC, _, _ := run(t, []string{"a", "b", "c", "d"}, []string{"b", "c"}, align.Options{MaxPeerIDs: 3})
		require.ErrorIs(t, errC, align.ErrTooManyIDs)
		require.ErrorIs(t, errC, fl.ErrProtocol)
		require.ErrorContains(t, errC, "4 ids, at most 3")
		require.ErrorIs(t, errB, fl.ErrPeerAborted)
		require.ErrorContains(t, errB, "4 ids, at most 3")
	})
	t.Run("empty intersection", func(t *testing.T) {
		_, _, errB, errC, _, _ := run(t, []string{"a", "b"}, []string{"c", "d"}, align.Options{})
		for _, err := range []error{errB, errC} {
			require.ErrorIs(t, err, psi.ErrEmptyIntersection)
			require.NotErrorIs(t, err, fl.ErrProtocol)
		}
	})
}

// TestBeforeReveal (ECDH; TestBeforeRevealKKRT for KKRT): the hook sees
// the center's rows of the intersection before the center sends its
// psi.reblinded; a refusal reaches the bank as
// the hook's reason, before any message that shows it membership.
func TestBeforeReveal(t *testing.T) {
	bankIDs := []string{"e5", "e1", "e9", "e3", "e7"}
	centerIDs := []string{"e3", "e4", "e5", "e6", "e7", "e8"}

	t.Run("accepts", func(t *testing.T) {
		var got []int
		sentBefore := -1
		resB, resC, errB, errC, _, center := runTapped(t, bankIDs, centerIDs, func(center *tap) align.Options {
			return align.Options{BalancedProtocol: align.ECDH, BeforeReveal: func(rows []int) error {
				got = rows
				sentBefore = len(center.sentOf(align.TypeReblinded))
				return nil
			}}
		})
		require.NoError(t, errB)
		require.NoError(t, errC)
		require.Equal(t, resC.Rows, got, "the hook sees the rows AlignWith returns, in their order")
		require.Zero(t, sentBefore, "the hook runs before the center's psi.reblinded")
		require.Len(t, center.sentOf(align.TypeReblinded), 1)
		require.Equal(t, resB.Digest, resC.Digest)
		for i := range resB.Rows {
			require.Equal(t, bankIDs[resB.Rows[i]], centerIDs[resC.Rows[i]])
		}
		var common []string
		for _, r := range resC.Rows {
			common = append(common, centerIDs[r])
		}
		require.Equal(t, []string{"e3", "e5", "e7"}, common)
	})
	t.Run("refuses", func(t *testing.T) {
		errRefused := errors.New("quota: 2 enterprises over their daily count")
		calls := 0
		_, _, errB, errC, bank, center := run(t, bankIDs, centerIDs, align.Options{BalancedProtocol: align.ECDH, BeforeReveal: func([]int) error {
			calls++
			return errRefused
		}})
		require.Equal(t, 1, calls)
		require.ErrorIs(t, errC, errRefused)
		require.ErrorIs(t, errB, fl.ErrPeerAborted)
		require.ErrorContains(t, errB, errRefused.Error())
		require.True(t, bank.received(align.TypeBlinded))
		require.False(t, bank.received(align.TypeReblinded), "the bank received the center's psi.reblinded")
		require.False(t, bank.received(align.TypeDigest))
		require.Empty(t, center.sentOf(align.TypeReblinded))
		require.Len(t, center.sentOf(fl.TypeAbort), 1)
	})
	t.Run("an empty intersection ends before the hook", func(t *testing.T) {
		calls := 0
		_, _, errB, errC, bank, _ := run(t, []string{"x1", "x2"}, centerIDs, align.Options{BalancedProtocol: align.ECDH, BeforeReveal: func([]int) error {
			calls++
			return nil
		}})
		require.Zero(t, calls)
		require.ErrorIs(t, errC, psi.ErrEmptyIntersection)
		require.ErrorIs(t, errB, fl.ErrPeerAborted)
		require.False(t, bank.received(align.TypeReblinded))
	})
}
