package boost

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/veil-fl/veil/fl"
	"github.com/veil-fl/veil/fl/fltest"
	"github.com/veil-fl/veil/model"
)

// TestStepper: driving NewActive/NewPassive tree by tree grows the trees
// TrainActive/TrainPassive grow (the same seed and data give the same
// trees, logits and splits), the partial results grow one tree at a time,
// and a Tree past the last is refused without a word to the peer.
func TestStepper(t *testing.T) {
	const db, dc = 3, 2
	xb, xc, y := synthetic(1500, db, dc, 3)
	opt := Options{GBDTOptions: model.GBDTOptions{Trees: 3, MaxDepth: 3}}
	want, wantCenter := trainPair(t, xb, xc, y, db, dc, opt)

	ta, tc := fl.NewPipe()
	defer ta.Close()
	defer tc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	seed := []byte("boost-test-joint-seed-0123456789a") // trainPair's
	var center *Passive
	done := make(chan error, 1)
	go func() {
		var err error
		if center, err = NewPassive(ctx, tc, seed, Data{X: xc, Cols: dc}); err != nil {
			done <- err
			return
		}
		for !center.Done() {
			if err := center.Tree(ctx); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	bank, err := NewActive(ctx, ta, seed, Data{X: xb, Cols: db, Y: y}, opt)
	require.NoError(t, err)
	require.False(t, bank.Done())
	require.Empty(t, bank.Result().Trees)
	for k := 1; !bank.Done(); k++ {
		require.NoError(t, bank.Tree(ctx))
		require.Equal(t, k, bank.Trees())
		require.Len(t, bank.Result().Trees, k, "the result so far holds the trees grown")
	}
	require.NoError(t, <-done)
	require.Equal(t, 3, center.Trees())

	got, gotCenter := bank.Result(), center.Result()
	require.Equal(t, want.Trees, got.Trees)
	require.Equal(t, want.Logits, got.Logits)
	require.Equal(t, wantCenter.Splits, gotCenter.Splits)

	err = bank.Tree(ctx)
	require.ErrorContains(t, err, "already finished after 3 trees")
	require.ErrorContains(t, center.Tree(ctx), "already finished after 3 trees")
}

// TestCategoricalFromData: each party's categorical columns may come from
// Data.Categories instead of the options' marks: the trees are those the
// marks grow, each half keeps its party's encoding, and marks that
// disagree with the encoding are refused at both parties.
func TestCategoricalFromData(t *testing.T) {
	bank, center := categoricalTables(t, 1500, 5)
	opt := Options{GBDTOptions: model.GBDTOptions{Trees: 2, MaxDepth: 3}}
	want, wantCenter := trainSides(t, bank, center, opt)

	run := func(bankOpt Options, local PassiveOptions) (*ActiveResult, *PassiveResult, error, error) {
		ta, tc := fl.NewPipe()
		defer ta.Close()
		defer tc.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		seed := []byte("boost-test-joint-seed-categorical") // trainSides'
		var pr *PassiveResult
		done := make(chan error, 1)
		go func() {
			var err error
			pr, err = TrainPassiveWith(ctx, tc, seed, Data{X: center.x, Cols: center.cols(), Categories: center.c}, local)
			done <- err
		}()
		ar, err := TrainActive(ctx, ta, seed, Data{X: bank.x, Cols: bank.cols(), Y: bank.t.Labels, Categories: bank.c}, bankOpt, nil)
		return ar, pr, err, <-done
	}
	ar, pr, err, cerr := run(opt, PassiveOptions{})
	require.NoError(t, err)
	require.NoError(t, cerr)
	require.Equal(t, want.Trees, ar.Trees)
	require.Equal(t, want.Logits, ar.Logits)
	require.Equal(t, wantCenter.Splits, pr.Splits)
	require.Equal(t, bank.cat, ar.Options.Categorical, "the derived marks are the model's options")
	require.Same(t, bank.c, ar.Categories, "the bank's half keeps its encoding")
	require.Same(t, center.c, pr.Categories, "the center's half keeps its encoding")

	wrong := make([]bool, center.cols()) // no column categorical
	_, _, err, cerr = run(opt, PassiveOptions{Categorical: wrong})
	require.ErrorIs(t, cerr, model.ErrCategories)
	require.ErrorContains(t, cerr, "PassiveOptions.Categorical and Data.Categories mark different columns")
	require.ErrorIs(t, err, fl.ErrPeerAborted, "the bank learns why")

	bad := opt
	bad.Categorical = make([]bool, bank.cols())
	_, _, err, cerr = run(bad, PassiveOptions{})
	require.ErrorIs(t, err, model.ErrCategories)
	require.ErrorContains(t, err, "Options.Categorical and Data.Categories mark different columns")
	require.Error(t, cerr, "the center stops too")
}

// TestCenterLabelsRefused: labels are the bank's alone; a center handed
// some refuses them at setup and the bank learns why.
func TestCenterLabelsRefused(t *testing.T) {
	const db, dc = 2, 2
	xb, xc, y := synthetic(1500, db, dc, 4)
	ta, tc := fl.NewPipe()
	defer ta.Close()
	defer tc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), fltest.Deadline(time.Minute))
	defer cancel()
	seed := []byte("boost-test-joint-seed-0123456789a")
	done := make(chan error, 1)
	go func() {
		_, err := TrainPassive(ctx, tc, seed, Data{X: xc, Cols: dc, Y: y})
		done <- err
	}()
	_, err := TrainActive(ctx, ta, seed, Data{X: xb, Cols: db, Y: y}, Options{GBDTOptions: model.GBDTOptions{Trees: 1}}, nil)
	cerr := <-done
	require.ErrorIs(t, cerr, model.ErrShape)
	require.ErrorContains(t, cerr, "labels are the bank's alone")
	require.ErrorIs(t, err, fl.ErrPeerAborted)
}
