package fltest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/veil-fl/veil/fl"
)

// Pair is both parties' outcome of one run of a two-party protocol.
type Pair[B, C any] struct {
	Bank               B
	Center             C
	BankErr, CenterErr error
	// Messages counts the messages sent both ways.
	Messages uint64
}

// Party runs one party's side of a training over a session-bound
// transport with the session's seed, keeping its checkpoints in the folder
// dir ("" keeps none).
type Party[R any] func(ctx context.Context, t fl.Transport, seed []byte, dir string) (R, error)

// Resume is the resume harness of a training that checkpoints (vlr's
// epochs, boost's trees): it runs both parties as two processes would, cuts
// the connection mid-training, restarts both with the same checkpoint
// folders and checks that they resume together. What a resumed training
// must equal is the protocol's own check.
type Resume[B, C any] struct {
	// Params names the parameter set both sides announce in the handshake.
	Params string
	Bank   Party[B]
	Center Party[C]
	// Resumed returns the step (epoch, tree) each party's result says it
	// resumed from; 0 is a fresh start.
	Resumed func(B, C) (bank, center int)
}

// Run runs both parties over a fresh NewPipe with the faults, each with
// its checkpoint folder, under a five-minute deadline: handshake, binding,
// then the training. A bank that fails severs the pipe, as a crashed
// process would, so that the center stops too.
func (h Resume[B, C]) Run(bankDir, centerDir string, faults ...Fault) Pair[B, C] {
	ta, tc := NewPipe(faults...)
	defer ta.Close()
	defer tc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var r Pair[B, C]
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		bt, seed, err := Session(ctx, tc, fl.RolePassive, h.Params)
		if err != nil {
			r.CenterErr = err
			return
		}
		r.Center, r.CenterErr = h.Center(ctx, bt, seed, centerDir)
	}()
	func() {
		bt, seed, err := Session(ctx, ta, fl.RoleActive, h.Params)
		if err != nil {
			r.BankErr = err
			return
		}
		r.Bank, r.BankErr = h.Bank(ctx, bt, seed, bankDir)
	}()
	if r.BankErr != nil {
		ta.Sever()
	}
	wg.Wait()
	r.Messages = ta.Stats().SentMessages + tc.Stats().SentMessages
	return r
}

// AfterFaults drops the connection after each fraction of a run's
// messages (an uninterrupted run sends messages), with fresh checkpoint
// folders: it requires both parties to fail with fl.ErrConnLost, restarts
// both with the same folders and no fault, requires both to succeed and to
// resume from the same step, not the start, and hands the resumed run, the
// number of messages the connection carried and the folders to check.
func (h Resume[B, C]) AfterFaults(t *testing.T, messages uint64, fractions []float64, check func(t *testing.T, drop int, resumed Pair[B, C], bankDir, centerDir string)) {
	t.Helper()
	for _, frac := range fractions {
		drop := int(frac * float64(messages))
		require.Positive(t, drop, "a fault after %v of %d messages", frac, messages)
		bankDir, centerDir := t.TempDir(), t.TempDir()
		cut := h.Run(bankDir, centerDir, DropAfter(drop))
		require.ErrorIs(t, cut.BankErr, fl.ErrConnLost, "the bank, connection dropped after %d messages", drop)
		require.ErrorIs(t, cut.CenterErr, fl.ErrConnLost, "the center, connection dropped after %d messages", drop)

		res := h.Run(bankDir, centerDir)
		require.NoError(t, res.BankErr, "the bank's restart after a drop at %d messages", drop)
		require.NoError(t, res.CenterErr, "the center's restart after a drop at %d messages", drop)
		bank, center := h.Resumed(res.Bank, res.Center)
		require.Positive(t, bank, "the bank resumed from a checkpoint after a drop at %d messages", drop)
		require.Equal(t, bank, center, "both parties resume from the same step")
		check(t, drop, res, bankDir, centerDir)
	}
}
