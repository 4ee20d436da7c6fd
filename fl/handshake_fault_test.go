package fl_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	"github.com/veil-fl/veil/fl"
	"github.com/veil-fl/veil/fl/fltest"
	"github.com/veil-fl/veil/proto/veilpb"
)

// The handshake over a faulty connection, played by package fltest (which
// imports fl, so these tests live outside it).

var (
	bankHello   = fl.Hello{Role: fl.RoleActive, Params: "hist13", Rows: 30000}
	centerHello = fl.Hello{Role: fl.RolePassive, Params: "hist13"}
)

type handshakeResult struct {
	s   *fl.Session
	err error
}

// handshakePair runs Handshake on both ends at once.
func handshakePair(t *testing.T, a, b fl.Transport, ha, hb fl.Hello) (ra, rb handshakeResult) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	done := make(chan handshakeResult, 1)
	go func() {
		s, err := fl.Handshake(ctx, b, hb)
		done <- handshakeResult{s, err}
	}()
	s, err := fl.Handshake(ctx, a, ha)
	return handshakeResult{s, err}, <-done
}

// The seed is SHA-256 of the contributions in role order, whichever end
// runs which role.
func TestHandshakeSeedDerivation(t *testing.T) {
	var mu sync.Mutex
	roleOf := map[[32]byte]fl.Role{} // commitment -> role
	contrib := map[fl.Role][]byte{}
	a, b := fltest.NewPipe(fltest.Tamper(func(m fl.Message) fl.Message {
		mu.Lock()
		defer mu.Unlock()
		switch m.Type {
		case fl.TypeHello:
			var h veilpb.Hello
			require.NoError(t, proto.Unmarshal(m.Payload, &h))
			roleOf[[32]byte(h.GetCommitment())] = fl.Role(h.GetRole())
		case fl.TypeReveal:
			var r veilpb.Reveal
			require.NoError(t, proto.Unmarshal(m.Payload, &r))
			contrib[roleOf[sha256.Sum256(r.GetContribution())]] = r.GetContribution()
		}
		return m
	}))
	// The passive party runs end a this time.
	ra, rb := handshakePair(t, a, b, centerHello, bankHello)
	require.NoError(t, ra.err)
	require.NoError(t, rb.err)
	require.Len(t, contrib[fl.RoleActive], 32)
	require.Len(t, contrib[fl.RolePassive], 32)
	want := sha256.Sum256(append(append([]byte{}, contrib[fl.RoleActive]...), contrib[fl.RolePassive]...))
	require.Equal(t, want, ra.s.Seed)
	require.Equal(t, want, rb.s.Seed)
}

func TestHandshakeBadReveal(t *testing.T) {
	var tampered atomic.Bool
	a, b := fltest.NewPipe(fltest.Tamper(func(m fl.Message) fl.Message {
		// Only the first reveal, whichever side sends it.
		if m.Type == fl.TypeReveal && tampered.CompareAndSwap(false, true) {
			var r veilpb.Reveal
			_ = proto.Unmarshal(m.Payload, &r)
			r.Contribution[0] ^= 1
			m.Payload, _ = proto.Marshal(&r)
		}
		return m
	}))
	ra, rb := handshakePair(t, a, b, bankHello, centerHello)
	// One side sees the bad reveal; the other is told before it finishes.
	errs := []error{ra.err, rb.err}
	require.True(t, errors.Is(errs[0], fl.ErrCommitment) || errors.Is(errs[1], fl.ErrCommitment), "%v / %v", errs[0], errs[1])
	for _, err := range errs {
		if !errors.Is(err, fl.ErrCommitment) {
			require.ErrorIs(t, err, fl.ErrPeerAborted)
			require.ErrorContains(t, err, "does not match commitment")
		}
	}
}

func TestHandshakePeerDrops(t *testing.T) {
	a, b := fltest.NewPipe(fltest.DropAfter(3)) // both hellos and one reveal get through
	ra, rb := handshakePair(t, a, b, bankHello, centerHello)
	require.ErrorIs(t, ra.err, fl.ErrConnLost)
	require.ErrorIs(t, rb.err, fl.ErrConnLost)
}
