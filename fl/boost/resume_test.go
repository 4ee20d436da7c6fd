package boost

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/veil-fl/veil/fl"
	"github.com/veil-fl/veil/fl/fltest"
	"github.com/veil-fl/veil/fl/link"
	"github.com/veil-fl/veil/model"
)

// session is the tests' handshake and binding.
func session(ctx context.Context, t fl.Transport, role fl.Role) (fl.Transport, []byte, error) {
	return fltest.Session(ctx, t, role, "boost-test")
}

type pairResult = fltest.Pair[*ActiveResult, *PassiveResult]

// resumeHarness runs the training on the data and options as fltest's
// resume harness runs a checkpointing training.
func resumeHarness(xb, xc, y []float64, db, dc int, opt Options) fltest.Resume[*ActiveResult, *PassiveResult] {
	return fltest.Resume[*ActiveResult, *PassiveResult]{
		Params: "boost-test",
		Bank: func(ctx context.Context, t fl.Transport, seed []byte, dir string) (*ActiveResult, error) {
			o := opt
			o.Checkpoint = dir
			return TrainActive(ctx, t, seed, Data{X: xb, Cols: db, Y: y}, o, nil)
		},
		Center: func(ctx context.Context, t fl.Transport, seed []byte, dir string) (*PassiveResult, error) {
			return TrainPassiveWith(ctx, t, seed, Data{X: xc, Cols: dc}, PassiveOptions{Checkpoint: dir})
		},
		Resumed: func(b *ActiveResult, c *PassiveResult) (int, int) { return b.Resumed, c.Resumed },
	}
}

func runPipe(xb, xc, y []float64, db, dc int, opt Options, bankDir, centerDir string, faults ...fltest.Fault) pairResult {
	return resumeHarness(xb, xc, y, db, dc, opt).Run(bankDir, centerDir, faults...)
}

// requireSameModel asserts bit-identical models: trees (structure, bins,
// leaf weights, gains), the training logits and the center's splits.
func requireSameModel(t *testing.T, want, got pairResult) {
	t.Helper()
	require.Equal(t, want.Bank.Trees, got.Bank.Trees)
	require.Equal(t, want.Bank.Logits, got.Bank.Logits)
	require.Equal(t, want.Center.Splits, got.Center.Splits)
}

// TestResumeAfterFault drops the connection mid-training, restarts both
// parties with the same options and checkpoint folders, and requires the
// model of an uninterrupted training, bit for bit: the trees' structure is
// decided on histograms whose noise snapNoise and the tie tolerance absorb,
// and leaf weights, gains and logits come from the bank's exact sums.
func TestResumeAfterFault(t *testing.T) {
	const n, db, dc = 1500, 3, 4
	xb, xc, y := synthetic(n, db, dc, 21)
	opt := Options{GBDTOptions: model.GBDTOptions{Trees: 4, MaxDepth: 3}}
	ref := runPipe(xb, xc, y, db, dc, opt, "", "")
	require.NoError(t, ref.BankErr)
	require.NoError(t, ref.CenterErr)
	require.NotEmpty(t, ref.Center.Splits)

	fractions := []float64{0.6, 0.85}
	if testing.Short() {
		fractions = fractions[1:]
	}
	h := resumeHarness(xb, xc, y, db, dc, opt)
	h.AfterFaults(t, ref.Messages, fractions, func(t *testing.T, drop int, res pairResult, bankDir, centerDir string) {
		t.Logf("drop after %d of %d messages: resumed at tree %d of %d", drop, ref.Messages, res.Bank.Resumed, opt.Trees)
		requireSameModel(t, ref, res)

		if testing.Short() {
			return
		}
		// The center stopped before saving the last tree while the bank had
		// saved it: the parties agree on the tree before, the bank drops its
		// later checkpoint, and the model is again the same.
		last := fl.DirCheckpoints(centerDir, "boost-passive")
		require.NoError(t, last.DropAfter(opt.Trees-1))
		again := h.Run(bankDir, centerDir)
		require.NoError(t, again.BankErr)
		require.NoError(t, again.CenterErr)
		require.Equal(t, opt.Trees-1, again.Bank.Resumed)
		requireSameModel(t, ref, again)
	})
}

// TestResumeOverGRPC cuts a gRPC session off from the server side after the
// second tree (the center's process going away), restarts the center on the
// same address a little later, and lets the bank reconnect with backoff:
// the resumed training ends with the uninterrupted model.
func TestResumeOverGRPC(t *testing.T) {
	if testing.Short() {
		t.Skip("gRPC resume runs in the full suite")
	}
	const n, db, dc = 1200, 3, 3
	xb, xc, y := synthetic(n, db, dc, 5)
	opt := Options{GBDTOptions: model.GBDTOptions{Trees: 4, MaxDepth: 2}}
	ref := runPipe(xb, xc, y, db, dc, opt, "", "")
	require.NoError(t, ref.BankErr)

	pki, err := fltest.NewPKI("bank", "center")
	require.NoError(t, err)
	bankDir, centerDir := t.TempDir(), t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	type centerOut struct {
		r   *PassiveResult
		err error
	}
	serve := func(addr string) (*link.Server, string, chan centerOut) {
		out := make(chan centerOut, 1)
		srv, a, err := link.Listen(addr, func(ctx context.Context, tr fl.Transport) error {
			bt, seed, err := session(ctx, tr, fl.RolePassive)
			if err != nil {
				out <- centerOut{nil, err}
				return err
			}
			r, err := TrainPassiveWith(ctx, bt, seed, Data{X: xc, Cols: dc}, PassiveOptions{Checkpoint: centerDir})
			out <- centerOut{r, err}
			return err
		}, link.GRPCOptions{TLS: pki.ServerTLS("center", "bank")})
		require.NoError(t, err)
		return srv, a.String(), out
	}
	bank := func(addr string, progress func(int)) (*ActiveResult, error) {
		tr, err := link.DialRetry(ctx, addr, link.GRPCOptions{TLS: pki.ClientTLS("bank", "center")}, link.Backoff{Initial: 50 * time.Millisecond, Max: time.Second, Attempts: 20})
		if err != nil {
			return nil, err
		}
		defer tr.Close()
		bt, seed, err := session(ctx, tr, fl.RoleActive)
		if err != nil {
			return nil, err
		}
		o := opt
		o.Checkpoint = bankDir
		return TrainActive(ctx, bt, seed, Data{X: xb, Cols: db, Y: y}, o, progress)
	}

	srv, addr, out := serve("127.0.0.1:0")
	_, err = bank(addr, func(tree int) {
		if tree == 1 {
			_ = srv.Close() // the center's process goes away
		}
	})
	require.ErrorIs(t, err, fl.ErrConnLost)
	require.Error(t, (<-out).err)

	// The bank dials before the center is back: DialRetry waits for it.
	restarted := make(chan struct{})
	var srv2 *link.Server
	var out2 chan centerOut
	go func() {
		time.Sleep(300 * time.Millisecond)
		srv2, _, out2 = serve(addr)
		close(restarted)
	}()
	ar, err := bank(addr, nil)
	require.NoError(t, err)
	<-restarted
	defer srv2.Close()
	c := <-out2
	require.NoError(t, c.err)
	require.Equal(t, 2, ar.Resumed)
	require.Equal(t, 2, c.r.Resumed)
	requireSameModel(t, ref, pairResult{Bank: ar, Center: c.r})
}

// A restart with other options finds only checkpoints of another
// configuration on either side: the training starts afresh, and each
// party's Logger says why.
func TestResumeWarnsOnOtherOptions(t *testing.T) {
	const n, db, dc = 400, 2, 2
	xb, xc, y := synthetic(n, db, dc, 8)
	opt := Options{GBDTOptions: model.GBDTOptions{Trees: 1, MaxDepth: 2}}
	bankDir, centerDir := t.TempDir(), t.TempDir()
	first := runPipe(xb, xc, y, db, dc, opt, bankDir, centerDir)
	require.NoError(t, errors.Join(first.BankErr, first.CenterErr))

	opt.Trees = 2
	var bankLog, centerLog bytes.Buffer
	ta, tc := fl.NewPipe()
	defer ta.Close()
	defer tc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var center *PassiveResult
	var centerErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		bt, seed, err := session(ctx, tc, fl.RolePassive)
		if err != nil {
			centerErr = err
			return
		}
		center, centerErr = TrainPassiveWith(ctx, bt, seed, Data{X: xc, Cols: dc}, PassiveOptions{Checkpoint: centerDir, Logger: slog.New(slog.NewTextHandler(&centerLog, nil))})
	}()
	var bank *ActiveResult
	bt, seed, err := session(ctx, ta, fl.RoleActive)
	if err == nil {
		o := opt
		o.Checkpoint, o.Logger = bankDir, slog.New(slog.NewTextHandler(&bankLog, nil))
		bank, err = TrainActive(ctx, bt, seed, Data{X: xb, Cols: db, Y: y}, o, nil)
	}
	if err != nil {
		ta.Sever()
	}
	<-done
	require.NoError(t, errors.Join(err, centerErr))
	require.Zero(t, bank.Resumed)
	require.Zero(t, center.Resumed)
	for _, log := range []string{bankLog.String(), centerLog.String()} {
		require.Contains(t, log, `level=WARN msg="checkpoints found for another configuration; starting afresh"`)
	}
}

// Checkpoints given as a store and as a folder at once are refused.
func TestCheckpointsBothSet(t *testing.T) {
	dir := t.TempDir()
	_, err := checkpoints(fl.DirCheckpoints(dir, "boost-active"), dir, "boost-active")
	require.ErrorIs(t, err, model.ErrOptions)
	c, err := checkpoints(nil, "", "boost-active")
	require.NoError(t, err)
	require.Nil(t, c)
}
