package job_test

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/veil-fl/veil/dataset"
	"github.com/veil-fl/veil/fl"
	"github.com/veil-fl/veil/fl/fltest"
	"github.com/veil-fl/veil/fl/link"
	"github.com/veil-fl/veil/fl/score"
	"github.com/veil-fl/veil/fl/vlr"
	"github.com/veil-fl/veil/job"
	"github.com/veil-fl/veil/model"
)

// TestWholeJobOverGRPC is a credit service's whole job in exported names
// only, what a 304-line program once did: a bank and a credit center over
// gRPC with mutual TLS (the center in the server's goroutine, the bank in
// the test's), PSI alignment, LR, the test AUC against the plaintext twin,
// both halves saved and reloaded, then band grades of the bank's
// enterprises from the center's score.Service, each the grade the reloaded
// halves give in plaintext. Its body is 52 lines between the braces; its
// helpers add 31 with their signatures and braces: serveCenter (10),
// plainLogits (13) and loadLR (job_test.go, 8).
func TestWholeJobOverGRPC(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping a whole two-party job in -short mode (the race pass); TestJobMatchesTwins runs one")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	bankT, centerT, err := dataset.Synthesize(dataset.SynthOptions{Rows: 2000, Seed: 7})
	require.NoError(t, err)
	pki, err := fltest.NewPKI("bank", "center")
	require.NoError(t, err)
	dir := t.TempDir()

	// The center serves one job; the bank runs it: PSI, split, LR, AUC.
	spec := job.Spec{Train: bankT, LR: vlr.Options{Epochs: 5}, Dir: dir}
	centerRes := make(chan *job.Result, 1)
	tr := serveCenter(ctx, t, pki, func(ctx context.Context, tr fl.Transport) error {
		r, err := job.RunPassive(ctx, tr, job.Spec{Train: centerT, Dir: dir})
		centerRes <- r // nil on an error, which the bank's RunActive reports
		return err
	})
	res, err := job.RunActive(ctx, tr, spec)
	require.NoError(t, err)
	twin, err := job.PlainTwin(job.LR, res, <-centerRes, spec)
	require.NoError(t, err)
	require.InDelta(t, twin.AUC, res.Model(job.LR).AUC, 0.002)

	// Later: both halves reloaded, the center grades the bank's enterprises.
	bankHalf, centerHalf := loadLR(t, dir, "active_lr.json"), loadLR(t, dir, "passive_lr.json")
	cuts, err := score.ProbabilityCuts([]float64{0.05, 0.2, 0.5})
	require.NoError(t, err)
	opt := score.Options{Output: score.Bands, Cuts: cuts}
	svc := &score.Service{Table: centerT, LR: centerHalf, Options: opt, Banks: map[string]score.Quota{"bank": {}}}
	graded, err := score.RequestLR(ctx, serveCenter(ctx, t, pki, svc.Handle), bankT.IDs, bankT.X, bankHalf, opt)
	require.NoError(t, err)

	// Every enterprise both know is graded, as the reloaded halves grade it
	// in plaintext but for a logit within BandEpsilon of a cut.
	require.Len(t, graded.IDs, res.RowsAligned)
	logits := plainLogits(t, bankT, centerT, bankHalf, centerHalf)
	same := 0
	for i, id := range graded.IDs {
		z, ok := logits[id]
		require.True(t, ok, "graded id %q is not both parties'", id)
		require.True(t, graded.Bands[i] >= 0 && graded.Bands[i] <= cuts.Len(), "grade %d", graded.Bands[i])
		if graded.Bands[i] == score.Band(z, cuts) {
			same++
			continue
		}
		near := false
		for _, cut := range cuts.Logits() {
			near = near || math.Abs(z-cut) <= score.BandEpsilon(2)
		}
		require.True(t, near, "enterprise %q: grade %d, plaintext %d, logit %v far from every cut", id, graded.Bands[i], score.Band(z, cuts), z)
	}
	require.GreaterOrEqual(t, float64(same), 0.999*float64(len(graded.IDs)))
	t.Logf("%d enterprises graded, %d as in plaintext; AUC %.4f (twin %.4f)", len(graded.IDs), same, res.Model(job.LR).AUC, twin.AUC)
}

// serveCenter serves handle as the center on loopback with mutual TLS and
// returns the bank's transport to it; both close when the test ends.
func serveCenter(ctx context.Context, t *testing.T, pki *fltest.PKI, handle link.Handler) fl.Transport {
	t.Helper()
	srv, addr, err := link.Listen("127.0.0.1:0", handle, link.GRPCOptions{TLS: pki.ServerTLS("center", "bank")})
	require.NoError(t, err)
	t.Cleanup(func() { srv.Close() })
	tr, err := link.Dial(ctx, addr.String(), link.GRPCOptions{TLS: pki.ClientTLS("bank", "center")})
	require.NoError(t, err)
	t.Cleanup(func() { tr.Close() })
	return tr
}

// plainLogits returns, by id, the plaintext logit of every enterprise both
// tables hold, from the two halves (the service's columns: the table's).
func plainLogits(t *testing.T, bank, center *dataset.Table, bh, ch *model.LRHalf) map[string]float64 {
	t.Helper()
	require.Equal(t, center.Columns, ch.Features)
	ub, uc := make([]float64, bank.Rows()), make([]float64, center.Rows())
	require.NoError(t, bh.PartialScore(bank.X, ub))
	require.NoError(t, ch.PartialScore(center.X, uc))
	rb, rc := dataset.Align(bank, center)
	out := make(map[string]float64, len(rb))
	for i := range rb {
		out[bank.IDs[rb[i]]] = ub[rb[i]] + uc[rc[i]]
	}
	return out
}
