package fltest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/veil-fl/veil/fl"
)

// toyResult is a party's outcome of toySteps.
type toyResult struct{ resumed, steps int }

// toySteps is a training of n steps, a message and its answer each, that
// saves the count of steps done in dir and resumes, after the two parties
// exchange their counts, from the smaller.
func toySteps(n int, active bool) Party[toyResult] {
	return func(ctx context.Context, t fl.Transport, _ []byte, dir string) (toyResult, error) {
		var r toyResult
		saved := 0
		if dir != "" {
			if b, err := os.ReadFile(filepath.Join(dir, "steps")); err == nil {
				saved, _ = strconv.Atoi(string(b))
			}
		}
		if err := t.Send(ctx, fl.Message{Type: "toy.saved", Payload: []byte(strconv.Itoa(saved))}); err != nil {
			return r, err
		}
		b, err := fl.Expect(ctx, t, "toy.saved")
		if err != nil {
			return r, err
		}
		peer, err := strconv.Atoi(string(b))
		if err != nil {
			return r, fmt.Errorf("toy: the peer's count: %w", err)
		}
		r.resumed = min(saved, peer)
		for r.steps = r.resumed; r.steps < n; r.steps++ {
			if active {
				err = t.Send(ctx, fl.Message{Type: "toy.step"})
				if err == nil {
					_, err = fl.Expect(ctx, t, "toy.ack")
				}
			} else if _, err = fl.Expect(ctx, t, "toy.step"); err == nil {
				err = t.Send(ctx, fl.Message{Type: "toy.ack"})
			}
			if err != nil {
				return r, err
			}
			if dir != "" {
				if err := os.WriteFile(filepath.Join(dir, "steps"), []byte(strconv.Itoa(r.steps+1)), 0o600); err != nil {
					return r, err
				}
			}
		}
		return r, nil
	}
}

// The harness cuts a toy training where asked, restarts it from the
// parties' checkpoints and hands over a run that resumed and finished.
func TestResumeHarness(t *testing.T) {
	const n = 20
	h := Resume[toyResult, toyResult]{
		Params:  "toy",
		Bank:    toySteps(n, true),
		Center:  toySteps(n, false),
		Resumed: func(b, c toyResult) (int, int) { return b.resumed, c.resumed },
	}
	ref := h.Run("", "")
	require.NoError(t, errors.Join(ref.BankErr, ref.CenterErr))
	require.Equal(t, toyResult{0, n}, ref.Bank)
	require.Greater(t, ref.Messages, uint64(2*n))

	var drops []int
	h.AfterFaults(t, ref.Messages, []float64{0.3, 0.9}, func(t *testing.T, drop int, res Pair[toyResult, toyResult], bankDir, centerDir string) {
		drops = append(drops, drop)
		require.Equal(t, n, res.Bank.steps)
		require.Equal(t, n, res.Center.steps)
		require.Less(t, res.Bank.resumed, n)
		again := h.Run(bankDir, centerDir)
		require.NoError(t, errors.Join(again.BankErr, again.CenterErr))
		require.Equal(t, toyResult{n, n}, again.Bank)
	})
	require.Equal(t, []int{int(0.3 * float64(ref.Messages)), int(0.9 * float64(ref.Messages))}, drops)
}
