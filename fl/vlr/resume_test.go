package vlr

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/veil-fl/veil/fl"
	"github.com/veil-fl/veil/fl/fltest"
	"github.com/veil-fl/veil/fl/internal/digest"
	"github.com/veil-fl/veil/fl/link"
	"github.com/veil-fl/veil/he"
	"github.com/veil-fl/veil/internal/testmode"
	"github.com/veil-fl/veil/model"
)

// session is the tests' handshake and binding.
func session(ctx context.Context, t fl.Transport, role fl.Role) (fl.Transport, []byte, error) {
	return fltest.Session(ctx, t, role, "vlr-test")
}

type pairResult = fltest.Pair[*Result, *Result]

// resumeHarness runs the training on the data and options as fltest's
// resume harness runs a checkpointing training.
func resumeHarness(xb, xc, y []float64, db, dc int, opt Options) fltest.Resume[*Result, *Result] {
	return fltest.Resume[*Result, *Result]{
		Params: "vlr-test",
		Bank: func(ctx context.Context, t fl.Transport, seed []byte, dir string) (*Result, error) {
			o := opt
			o.Checkpoint = dir
			return TrainActive(ctx, t, seed, Data{X: xb, Cols: db, Y: y}, o, nil)
		},
		Center: func(ctx context.Context, t fl.Transport, seed []byte, dir string) (*Result, error) {
			return TrainPassiveWith(ctx, t, seed, Data{X: xc, Cols: dc}, PassiveOptions{Checkpoint: dir})
		},
		Resumed: func(b, c *Result) (int, int) { return b.Resumed, c.Resumed },
	}
}

// runPipe trains over a fresh pipe with the given checkpoint folders.
func runPipe(xb, xc, y []float64, db, dc int, opt Options, bankDir, centerDir string, faults ...fltest.Fault) pairResult {
	return resumeHarness(xb, xc, y, db, dc, opt).Run(bankDir, centerDir, faults...)
}

func maxDiff(a, b []float64) float64 {
	d := 0.0
	for i := range a {
		d = math.Max(d, math.Abs(a[i]-b[i]))
	}
	return d
}

// TestResumeAfterFault drops the connection mid-training (late in the
// training; with VEIL_TEST=full also in its first half), restarts both
// parties with the same options and checkpoint folders, and compares the
// outcome with an uninterrupted training.
//
// What is exact: the restored state (weights, optimizer moments, step count,
// losses) is bit for bit the state saved, the mini-batches are fixed by the
// seed, and a restart after the end reproduces the finished model bit for
// bit. What is not: an epoch run again after a fault draws fresh CKKS
// encryption and flooding noise (fresh keys, fresh randomness), exactly as
// two uninterrupted trainings do, so the weights agree to the precision of
// what each step decrypts, not bit for bit (see the README). That precision
// differs by mode, and so does each case's tolerance: with shared weights
// nothing but the final weights is decoded, so the runs agree to their
// flooding (about 2e-8 here); with RevealGradients every batch's gradient
// is decrypted with Linear14's per-run flooding (about 2^-20 per
// coefficient at one standard deviation), and Adam divides each gradient by
// the root of its second moment, so the runs differ by 5e-8 to 1e-6 (seen
// over repeated runs, a fault in either half).
func TestResumeAfterFault(t *testing.T) {
	testInitSeed = []byte("resume")
	defer func() { testInitSeed = nil }()
	for _, c := range []struct {
		name string
		opt  Options
		msgs uint64  // messages of a run, for -short
		tol  float64 // the largest weight difference from the uninterrupted run
	}{
		{"shared", Options{Epochs: 4, BatchSize: 200, Seed: 3, TrackLoss: true, Optimizer: model.OptimizerOptions{Name: "nesterov", L2: 0.01}}, 112, 1e-6},
		{"reveal gradients", Options{Epochs: 4, BatchSize: 200, Seed: 3, TrackLoss: true, RevealGradients: true, Optimizer: model.OptimizerOptions{Name: "adam", L2: 0.01}}, 98, 1e-5},
	} {
		t.Run(c.name, func(t *testing.T) { testResumeAfterFault(t, c.opt, c.msgs, c.tol) })
	}
}

func testResumeAfterFault(t *testing.T, opt Options, shortMsgs uint64, tol float64) {
	const n, db, dc = 600, 2, 3
	xb, xc, y := synthetic(n, db, dc, 11)
	var ref pairResult
	fractions := []float64{0.8}
	if testmode.Full() && !testing.Short() {
		fractions = []float64{0.45, 0.8} // VEIL_TEST=full (CI): a fault in each half
	}
	if testing.Short() {
		// The race pass: one fault at a fixed point, no comparison run.
		ref.Messages = shortMsgs
	} else {
		ref = runPipe(xb, xc, y, db, dc, opt, "", "")
		require.NoError(t, ref.BankErr)
		require.NoError(t, ref.CenterErr)
		t.Logf("%d messages", ref.Messages)
	}
	h := resumeHarness(xb, xc, y, db, dc, opt)
	h.AfterFaults(t, ref.Messages, fractions, func(t *testing.T, drop int, res pairResult, bankDir, centerDir string) {
		require.Equal(t, opt.Epochs, res.Bank.Epochs)
		require.Equal(t, opt.Epochs, res.Center.Epochs)
		require.Len(t, res.Bank.Loss, opt.Epochs)
		if testing.Short() {
			return
		}
		d := math.Max(maxDiff(ref.Bank.Weights, res.Bank.Weights), maxDiff(ref.Center.Weights, res.Center.Weights))
		t.Logf("drop after %d of %d messages: resumed at epoch %d; weights within %.2g of the uninterrupted run", drop, ref.Messages, res.Bank.Resumed, d)
		require.Less(t, d, tol)
		require.Less(t, math.Abs(ref.Bank.Intercept-res.Bank.Intercept), tol)

		// A restart after the end resumes at the end: the finished model,
		// bit for bit.
		again := h.Run(bankDir, centerDir)
		require.NoError(t, again.BankErr)
		require.NoError(t, again.CenterErr)
		require.Equal(t, opt.Epochs, again.Bank.Resumed)
		require.Equal(t, res.Bank.Weights, again.Bank.Weights)
		require.Equal(t, res.Bank.Intercept, again.Bank.Intercept)
		require.Equal(t, res.Bank.Loss, again.Bank.Loss)
		require.Equal(t, res.Center.Weights, again.Center.Weights)
	})
}

// TestResumeOverGRPC cuts a gRPC session off from the server side after the
// second epoch (the center's process going away), restarts the center on
// the same address a little later, and lets the bank reconnect with backoff.
func TestResumeOverGRPC(t *testing.T) {
	if testing.Short() {
		t.Skip("gRPC resume runs in the full suite")
	}
	const n, db, dc = 400, 2, 2
	xb, xc, y := synthetic(n, db, dc, 12)
	testInitSeed = []byte("resume over gRPC")
	defer func() { testInitSeed = nil }()
	opt := Options{Epochs: 4, Seed: 1, Optimizer: model.OptimizerOptions{Name: "momentum"}}
	ref := runPipe(xb, xc, y, db, dc, opt, "", "")
	require.NoError(t, ref.BankErr)

	pki, err := fltest.NewPKI("bank", "center")
	require.NoError(t, err)
	bankDir, centerDir := t.TempDir(), t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	type centerOut struct {
		r   *Result
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
	bank := func(addr string, progress Progress) (*Result, error) {
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
	_, err = bank(addr, func(epoch int, _ float64) {
		if epoch == 1 {
			_ = srv.Close()
		}
	})
	require.ErrorIs(t, err, fl.ErrConnLost)
	require.Error(t, (<-out).err)

	restarted := make(chan struct{})
	var srv2 *link.Server
	var out2 chan centerOut
	go func() {
		time.Sleep(300 * time.Millisecond)
		srv2, _, out2 = serve(addr)
		close(restarted)
	}()
	br, err := bank(addr, nil)
	require.NoError(t, err)
	<-restarted
	defer srv2.Close()
	c := <-out2
	require.NoError(t, c.err)
	require.Equal(t, 2, br.Resumed)
	require.Equal(t, 2, c.r.Resumed)
	d := math.Max(maxDiff(ref.Bank.Weights, br.Weights), maxDiff(ref.Center.Weights, c.r.Weights))
	t.Logf("resumed at epoch 2 over gRPC; weights within %.2g of the uninterrupted run", d)
	require.Less(t, d, 1e-6)
}

// A checkpoint saved and restored gives back the exact state of either
// protocol, and the next step goes on exactly as the saved state would.
func TestCheckpointRoundTrip(t *testing.T) {
	dir := t.TempDir()
	store := fl.DirCheckpoints(dir, "vlr-active")
	d := digest.Sum([]byte("x"))

	// RevealGradients: weights and optimizer moments.
	o1, err := model.NewOptimizer(model.OptimizerOptions{Name: "adam"}, 3)
	require.NoError(t, err)
	s1 := &revealState{w: []float64{0.1, -0.2, 0.3}, optim: o1}
	for i := 0; i < 5; i++ {
		require.NoError(t, o1.Step(s1.w, []float64{0.01 * float64(i), math.Pi / 7, -1e-9}))
	}
	st := &ckptState{Epoch: 5, Loss: []float64{0.7, 0.6}}
	require.NoError(t, s1.save(st))
	require.NoError(t, fl.SaveCheckpoint(store, 5, d, st))
	o2, err := model.NewOptimizer(model.OptimizerOptions{Name: "adam"}, 3)
	require.NoError(t, err)
	s2 := &revealState{w: make([]float64, 3), optim: o2}
	var got ckptState
	require.NoError(t, fl.LoadCheckpoint(store, 5, d, &got))
	require.NoError(t, s2.restore(&got))
	require.Equal(t, s1.w, s2.w)
	require.Equal(t, []float64{0.7, 0.6}, got.Loss)
	g := []float64{0.3, 0.2, 0.1}
	require.NoError(t, o1.Step(s1.w, g))
	require.NoError(t, o2.Step(s2.w, g))
	require.Equal(t, s1.w, s2.w)
	require.ErrorIs(t, fl.LoadCheckpoint(store, 5, digest.Sum([]byte("another training")), &got), fl.ErrCheckpoint)
	require.ErrorIs(t, (&revealState{w: make([]float64, 4), optim: o2}).restore(&got), fl.ErrCheckpoint)

	// Secret-shared weights: the four shares, the step count, the final weights.
	p := he.MustParams(he.Shared15)
	shape := he.SharedShape(p, 100, 5)
	enc := func(v ...float64) *he.SharedVector {
		sv, err := p.EncodeShares(v, shape.Half, shape.Block, 90)
		require.NoError(t, err)
		return sv
	}
	sh := &sharedState{params: p, layOwn: centerColumns(5), steps: 7, final: []float64{1, 2, 3, 4, 5}}
	sh.own = weightShares{w: enc(1, 2, 3, 4, 5), v: enc(5, 4, 3, 2, 1), shape: shape}
	sh.peer = weightShares{w: enc(-1, 0, 1, 2, 3), v: enc(0, 0, 0, 1, 0), shape: shape}
	st = &ckptState{Epoch: 2}
	require.NoError(t, sh.save(st))
	require.NoError(t, fl.SaveCheckpoint(store, 2, d, st))
	var got2 ckptState
	require.NoError(t, fl.LoadCheckpoint(store, 2, d, &got2))
	back := &sharedState{params: p, layOwn: centerColumns(5)}
	back.own = weightShares{w: enc(0, 0, 0, 0, 0), v: enc(0, 0, 0, 0, 0), shape: shape}
	back.peer = weightShares{w: enc(0, 0, 0, 0, 0), v: enc(0, 0, 0, 0, 0), shape: shape}
	require.NoError(t, back.restore(&got2))
	require.Equal(t, 7, back.steps)
	require.Equal(t, sh.final, back.final)
	require.True(t, back.kept)
	for i, pair := range [][2]*he.SharedVector{{sh.own.w, back.own.w}, {sh.own.v, back.own.v}, {sh.peer.w, back.peer.w}, {sh.peer.v, back.peer.v}} {
		d, err := he.MaxCoeffDiff(pair[0], pair[1])
		require.NoError(t, err)
		require.Zero(t, d, "share %d", i)
	}
	got2.Shares = got2.Shares[:len(got2.Shares)/2]
	require.ErrorIs(t, back.restore(&got2), fl.ErrCheckpoint)
}

// A restart with other data on the bank's side finds only checkpoints of
// another configuration there, and the center's none of the same steps:
// the training starts afresh, and each party's Logger says why.
func TestResumeWarnsOnOtherData(t *testing.T) {
	const n, db, dc = 300, 2, 2
	xb, xc, y := synthetic(n, db, dc, 13)
	opt := Options{Epochs: 1, Seed: 3}
	bankDir, centerDir := t.TempDir(), t.TempDir()
	first := runPipe(xb, xc, y, db, dc, opt, bankDir, centerDir)
	require.NoError(t, errors.Join(first.BankErr, first.CenterErr))

	xb[0] += 1
	var bankLog, centerLog bytes.Buffer
	ta, tc := fl.NewPipe()
	defer ta.Close()
	defer tc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var center *Result
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
	var bank *Result
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
	require.Contains(t, bankLog.String(), `level=WARN msg="checkpoints found for another configuration; starting afresh"`)
	require.Contains(t, centerLog.String(), `level=WARN msg="the peer holds none of this party's checkpoints; starting afresh"`)

	// A store and a folder at once are refused.
	o := opt
	o.Checkpoint, o.Checkpoints = bankDir, fl.DirCheckpoints(bankDir, "vlr-active")
	_, err = o.WithDefaults()
	require.ErrorIs(t, err, ErrOptions)
}
