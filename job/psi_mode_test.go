package job_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/veil-fl/veil/dataset"
	"github.com/veil-fl/veil/fl"
	"github.com/veil-fl/veil/fl/align"
	"github.com/veil-fl/veil/fl/fltest"
	"github.com/veil-fl/veil/job"
	"github.com/veil-fl/veil/mpc/psi"
)

// alignOnly runs both sides of a job until the training ids are aligned,
// then stops them, and returns what each party sent.
func alignOnly(t *testing.T, bank, center job.Spec) (bankSent, centerSent []fl.Message, errB, errC error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), fltest.Deadline(2*time.Minute))
	defer cancel()
	stop, stopCtx := context.WithCancel(ctx)
	defer stopCtx()
	bank.Progress = func(e job.Event) {
		if e.Step == "aligning ids by PSI" && e.End {
			stopCtx()
		}
	}
	a, b := fl.NewPipe()
	ra, rb := fltest.Record(a), fltest.Record(b)
	done := make(chan error, 1)
	go func() {
		_, err := job.RunPassive(stop, rb, center)
		done <- err
	}()
	_, errB = job.RunActive(stop, ra, bank)
	errC = <-done
	require.NoError(t, ctx.Err(), "no party waited for the deadline")
	return ra.Sent(), rb.Sent(), errB, errC
}

func types(ms []fl.Message) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Type)
	}
	return out
}

func payload(ms []fl.Message, typ string) []byte {
	for _, m := range ms {
		if m.Type == typ {
			return m.Payload
		}
	}
	return nil
}

// TestJobPSIMode: a job aligns the center's table in the unbalanced mode
// by default (the second job with the same store and cache sends only a
// header for the center's set), in the balanced mode when both specs say
// BalancedPSI (KKRT, or ECDH when both say so), and refuses specs that
// disagree.
func TestJobPSIMode(t *testing.T) {
	bankT, centerT, err := dataset.Synthesize(dataset.SynthOptions{Rows: 300, Seed: 4})
	require.NoError(t, err)

	t.Run("default unbalanced", func(t *testing.T) {
		store := &psi.CenterStore{Center: "center"}
		cache := psi.NewCache("", "")
		for run := range 2 {
			bs, cs, _, _ := alignOnly(t, job.Spec{Train: bankT, PSICache: cache}, job.Spec{Train: centerT, PSIStore: store})
			require.Contains(t, types(bs), align.TypeQuery)
			require.NotContains(t, types(bs), align.TypeBlinded)
			require.Contains(t, types(bs), align.TypeSlots)
			require.Equal(t, centerT.Rows(), cache.Len())
			// The session's binding seals payloads: their sizes tell.
			u := payload(cs, align.TypeUpdate)
			if run == 0 {
				require.Greater(t, len(u), psi.PointSize*centerT.Rows(), "the whole set, once")
			} else {
				require.Less(t, len(u), 400, "the second job uses the cache")
			}
		}
	})
	t.Run("balanced", func(t *testing.T) {
		bs, _, _, _ := alignOnly(t, job.Spec{Train: bankT, BalancedPSI: true}, job.Spec{Train: centerT, BalancedPSI: true})
		require.Contains(t, types(bs), align.TypeMode)
		require.Contains(t, types(bs), align.TypeKKRT, "KKRT by default")
		require.NotContains(t, types(bs), align.TypeBlinded)
		require.False(t, slices.Contains(types(bs), align.TypeQuery))
	})
	t.Run("balanced ECDH", func(t *testing.T) {
		bs, _, _, _ := alignOnly(t, job.Spec{Train: bankT, BalancedPSI: true, BalancedProtocol: align.ECDH}, job.Spec{Train: centerT, BalancedPSI: true, BalancedProtocol: align.ECDH})
		require.Contains(t, types(bs), align.TypeBlinded)
		require.NotContains(t, types(bs), align.TypeKKRT)
	})
	t.Run("protocols disagree", func(t *testing.T) {
		_, _, errB, errC := runPair(t, job.Spec{Train: bankT, BalancedPSI: true, BalancedProtocol: align.ECDH}, job.Spec{Train: centerT, BalancedPSI: true})
		require.ErrorContains(t, errC, "BalancedProtocol: the bank runs ecdh, this center kkrt")
		require.ErrorIs(t, errB, fl.ErrPeerAborted)
	})
	t.Run("disagree", func(t *testing.T) {
		_, _, errB, errC := runPair(t, job.Spec{Train: bankT, BalancedPSI: true}, job.Spec{Train: centerT})
		require.ErrorContains(t, errC, "BalancedPSI: the bank sets true, this center false")
		require.ErrorIs(t, errB, fl.ErrPeerAborted)
	})
}
