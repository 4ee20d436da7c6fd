package job_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/veil-fl/veil/dataset"
	"github.com/veil-fl/veil/fl"
	"github.com/veil-fl/veil/fl/boost"
	"github.com/veil-fl/veil/fl/fltest"
	"github.com/veil-fl/veil/fl/link"
	"github.com/veil-fl/veil/fl/score"
	"github.com/veil-fl/veil/fl/vlr"
	"github.com/veil-fl/veil/job"
	"github.com/veil-fl/veil/model"
)

// runPair runs both sides of a job over an in-memory pipe.
func runPair(t *testing.T, bank, center job.Spec) (*job.Result, *job.Result, error, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	a, b := fl.NewPipe()
	type out struct {
		r   *job.Result
		err error
	}
	done := make(chan out, 1)
	go func() {
		r, err := job.RunPassive(ctx, b, center)
		done <- out{r, err}
	}()
	rb, errB := job.RunActive(ctx, a, bank)
	c := <-done
	return rb, c.r, errB, c.err
}

// Every model of a job matches its plaintext twin, both parties' halves
// carry the same training id, are saved and load back, and the seeded split
// is the same on a rerun (alignment's order is the ids').
func TestJobMatchesTwins(t *testing.T) {
	bankT, centerT, err := dataset.Synthesize(dataset.SynthOptions{Rows: 1500, Seed: 3})
	require.NoError(t, err)
	dir := t.TempDir()
	bank := job.Spec{Train: bankT, Models: []job.Kind{job.LR, job.SBT, job.WOE}, Dir: dir,
		LR: vlr.Options{Epochs: 4}, SBT: boost.Options{GBDTOptions: model.GBDTOptions{Trees: 3, MaxDepth: 3}}}
	center := job.Spec{Train: centerT, Dir: dir}
	rb, rc, errB, errC := runPair(t, bank, center)
	require.NoError(t, errB)
	require.NoError(t, errC)
	require.Equal(t, 1350, rb.RowsAligned)
	require.Equal(t, rb.Data.TestRows(), rc.Data.TestRows())
	for _, k := range []job.Kind{job.LR, job.SBT, job.WOE} {
		mb, mc := rb.Model(k), rc.Model(k)
		require.NotNil(t, mb, k)
		require.NotEmpty(t, mb.Training)
		require.Equal(t, mb.Training, mc.Training, k)
		tw, err := job.PlainTwin(k, rb, rc, bank)
		require.NoError(t, err)
		require.InDelta(t, tw.AUC, mb.AUC, 1e-9, k)
		require.Len(t, mb.TestScores, len(tw.Scores))
		for i := range tw.Scores {
			require.InDelta(t, tw.Scores[i], mb.TestScores[i], 1e-4, "%s test row %d", k, i)
		}
		t.Logf("%s: federated AUC %.4f, twin %.4f, %d bytes", k, mb.AUC, tw.AUC, mb.Bytes)
	}
	for _, name := range []string{"active_lr", "passive_lr", "active_sbt", "passive_sbt", "active_scorecard", "passive_scorecard"} {
		f, err := os.Open(filepath.Join(dir, name+".json"))
		require.NoError(t, err, name)
		f.Close()
	}
	bh, ch := loadLR(t, dir, "active_lr.json"), loadLR(t, dir, "passive_lr.json")
	require.Equal(t, rb.Model(job.LR).Training, bh.Training)
	require.Equal(t, bh.Training, ch.Training)

	// A rerun aligns the same rows in the same order and splits them the
	// same way, though PSI's keys are fresh.
	bank.Models, bank.Dir, center.Dir = []job.Kind{job.LR}, "", ""
	bank.LR.Epochs = 1
	rb2, _, errB, errC := runPair(t, bank, center)
	require.NoError(t, errB)
	require.NoError(t, errC)
	require.True(t, slices.Equal(rb.Data.YTest, rb2.Data.YTest), "the test labels differ between runs")
	require.True(t, slices.Equal(rb.Data.XTest, rb2.Data.XTest), "the test rows differ between runs")
	require.NotEqual(t, rb.Model(job.LR).Training, rb2.Model(job.LR).Training)

	// Scoring refuses halves of different trainings, naming both.
	ctx := context.Background()
	other := *ch
	other.Training = rb2.Model(job.LR).Training
	svc := &score.Service{Table: centerT, LR: &other, Banks: map[string]score.Quota{"bank": {}}}
	pki, err := fltest.NewPKI("bank", "center")
	require.NoError(t, err)
	srv, addr, err := link.Listen("127.0.0.1:0", svc.Handle, link.GRPCOptions{TLS: pki.ServerTLS("center", "bank")})
	require.NoError(t, err)
	defer srv.Close()
	tr, err := link.Dial(ctx, addr.String(), link.GRPCOptions{TLS: pki.ClientTLS("bank", "center")})
	require.NoError(t, err)
	defer tr.Close()
	_, err = score.RequestLR(ctx, tr, bankT.IDs, bankT.X, bh, score.Options{})
	require.Error(t, err)
	require.ErrorContains(t, err, bh.Training)
	require.ErrorContains(t, err, other.Training)
}

func loadLR(t *testing.T, dir, name string) *model.LRHalf {
	f, err := os.Open(filepath.Join(dir, name))
	require.NoError(t, err)
	defer f.Close()
	h, err := model.LoadLRHalf(f)
	require.NoError(t, err)
	return h
}

// Specs the parties disagree on fail on both sides with the reason, before
// any key is generated.
func TestSpecMismatch(t *testing.T) {
	bankT, centerT, err := dataset.Synthesize(dataset.SynthOptions{Rows: 300, Seed: 4})
	require.NoError(t, err)
	cases := []struct {
		name         string
		bank, center job.Spec
		want         string
	}{
		{"model not allowed", job.Spec{Train: bankT, Models: []job.Kind{job.SBT}}, job.Spec{Train: centerT, Models: []job.Kind{job.LR}}, `model "sbt", which this center's spec does not allow`},
		{"test table on one side", job.Spec{Train: bankT, Test: bankT}, job.Spec{Train: centerT}, "Test: the bank gives a separate test table, this center gives no"},
		{"unknown model", job.Spec{Train: bankT, Models: []job.Kind{"svm"}}, job.Spec{Train: centerT}, `Models[0] is "svm"`},
		{"no labels", job.Spec{Train: centerT}, job.Spec{Train: centerT}, "no label column"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, errB, errC := runPair(t, c.bank, c.center)
			require.Error(t, errB)
			require.Error(t, errC)
			require.ErrorContains(t, errors.Join(errB, errC), c.want)
			// The side that refused says why; the other hears it.
			if !errors.Is(errB, fl.ErrPeerAborted) {
				require.ErrorIs(t, errC, fl.ErrPeerAborted)
				require.ErrorContains(t, errC, c.want)
			} else {
				require.ErrorContains(t, errB, c.want)
			}
		})
	}
}
