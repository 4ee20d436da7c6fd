package job

import (
	"context"
	"encoding/hex"
	"errors"
	"log/slog"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/veil-fl/veil/dataset"
	"github.com/veil-fl/veil/fl"
	"github.com/veil-fl/veil/fl/fltest"
	"github.com/veil-fl/veil/model"
)

// Each model's options digest covers the split and that model's options,
// and none of a party's own settings; TrainingID changes with each of its
// inputs.
func TestOptionsDigest(t *testing.T) {
	tab, _, err := dataset.Synthesize(dataset.SynthOptions{Rows: 50, Seed: 1})
	require.NoError(t, err)
	base, err := Spec{Train: tab}.withDefaults(true)
	require.NoError(t, err)
	digests := func(s Spec) map[Kind][32]byte {
		out := map[Kind][32]byte{}
		for _, k := range Kinds {
			d, err := optionsDigest(k, s)
			require.NoError(t, err)
			out[k] = d
		}
		return out
	}
	ref := digests(base)
	require.NotEqual(t, ref[LR], ref[SBT])
	require.NotEqual(t, ref[LR], ref[WOE])
	for _, c := range []struct {
		name    string
		edit    func(*Spec)
		changes []Kind
	}{
		{"LR epochs", func(s *Spec) { s.LR.Epochs = 7 }, []Kind{LR, WOE}},
		{"LR L2", func(s *Spec) { s.LR.Optimizer.L2 = -1 }, []Kind{LR, WOE}},
		{"trees", func(s *Spec) { s.SBT.Trees = 9 }, []Kind{SBT}},
		{"WOE bins", func(s *Spec) { s.WOE.Bins = 10 }, []Kind{WOE}},
		{"points' scaling", func(s *Spec) { s.Scorecard.PDO = 40 }, []Kind{WOE}},
		{"split seed", func(s *Spec) { s.Seed = 3 }, Kinds},
		{"test fraction", func(s *Spec) { s.TestFraction = 0.3 }, Kinds},
		{"separate test table", func(s *Spec) { s.Test = tab }, Kinds},
		{"own settings", func(s *Spec) {
			s.Clip, s.Dir, s.Checkpoint, s.TreeCurve = 3, "out", "ckpt", true
			s.LR.Checkpoint, s.SBT.Checkpoint = "lr", "sbt"
			s.LR.Logger, s.Logger = slog.Default(), slog.Default()
		}, nil},
	} {
		s := base
		c.edit(&s)
		got := digests(s)
		for _, k := range Kinds {
			if slices.Contains(c.changes, k) {
				require.NotEqual(t, ref[k], got[k], "%s: the %s digest", c.name, k)
			} else {
				require.Equal(t, ref[k], got[k], "%s: the %s digest", c.name, k)
			}
		}
	}

	var session [fl.SessionIDLength]byte
	var aligned, opts [32]byte
	id := TrainingID(session, LR, aligned, opts)
	require.Len(t, id, 32)
	session[0], aligned[1], opts[2] = 1, 1, 1
	for _, other := range []string{
		TrainingID(session, LR, [32]byte{}, [32]byte{}),
		TrainingID([fl.SessionIDLength]byte{}, LR, aligned, [32]byte{}),
		TrainingID([fl.SessionIDLength]byte{}, LR, [32]byte{}, opts),
		TrainingID([fl.SessionIDLength]byte{}, SBT, [32]byte{}, [32]byte{}),
	} {
		require.NotEqual(t, id, other)
	}
}

// The center refuses a setup whose options digests do not name each model
// it asks for once, saying which, and the bank hears why.
func TestSetupOptionsDigests(t *testing.T) {
	_, center, err := dataset.Synthesize(dataset.SynthOptions{Rows: 50, Seed: 2})
	require.NoError(t, err)
	good := hex.EncodeToString(make([]byte, 32))
	for _, c := range []struct {
		name    string
		options map[Kind]string
		want    string
	}{
		{"none", nil, "gives 0 options digests for 2 models"},
		{"one missing", map[Kind]string{LR: good, WOE: good}, `no options digest for model "sbt"`},
		{"one extra", map[Kind]string{LR: good, SBT: good, WOE: good}, "gives 3 options digests for 2 models"},
		{"not hex", map[Kind]string{LR: good, SBT: "zz"}, `options digest of model "sbt" is not 32 bytes in hex`},
		{"short", map[Kind]string{LR: good[:62], SBT: good}, `options digest of model "lr" is not 32 bytes in hex`},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), fltest.Deadline(time.Minute))
			defer cancel()
			a, b := fl.NewPipe()
			defer a.Close()
			errC := make(chan error, 1)
			go func() {
				_, err := RunPassive(ctx, b, Spec{Train: center})
				errC <- err
			}()
			sess, err := fl.Handshake(ctx, a, fl.Hello{Role: fl.RoleActive, Params: HandshakeParams()})
			require.NoError(t, err)
			bt := fl.Bind(a, sess)
			require.NoError(t, fl.SendJSON(ctx, bt, TypeSetup, setupMsg{Version: setupVersion, Models: []Kind{LR, SBT}, Options: c.options}))
			_, bankErr := fl.Expect(ctx, bt, TypeSplit)
			centerErr := <-errC
			require.ErrorIs(t, centerErr, fl.ErrMalformed)
			require.ErrorContains(t, centerErr, c.want)
			require.ErrorIs(t, bankErr, fl.ErrPeerAborted)
			require.ErrorContains(t, bankErr, c.want)
		})
	}
}

// The center names a training with the bank's options digest, not one of
// its own spec's options, which the bank's override: both halves carry the
// same id.
func TestTrainingIDFromSetup(t *testing.T) {
	bankT, centerT, err := dataset.Synthesize(dataset.SynthOptions{Rows: 400, Seed: 5})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	a, b := fl.NewPipe()
	type out struct {
		r   *Result
		err error
	}
	done := make(chan out, 1)
	go func() {
		cs := Spec{Train: centerT}
		cs.LR.Epochs, cs.Seed = 5, 9 // not the bank's: ignored
		r, err := RunPassive(ctx, b, cs)
		done <- out{r, err}
	}()
	bs := Spec{Train: bankT}
	bs.LR.Epochs = 1
	rb, errB := RunActive(ctx, a, bs)
	c := <-done
	require.NoError(t, errors.Join(errB, c.err))
	id := rb.Model(LR).Training
	require.Len(t, id, 32)
	for _, got := range []string{c.r.Model(LR).Training, rb.Model(LR).LRHalf.Training, c.r.Model(LR).LRHalf.Training} {
		require.Equal(t, id, got)
	}
}

// The center refuses a setup that asks for the scorecard without its
// scaling, gives one without asking for it, or gives one that would make
// points NaN, naming the field; the bank hears why.
func TestSetupScorecardScaling(t *testing.T) {
	_, center, err := dataset.Synthesize(dataset.SynthOptions{Rows: 50, Seed: 2})
	require.NoError(t, err)
	good := hex.EncodeToString(make([]byte, 32))
	for _, c := range []struct {
		name   string
		models []Kind
		sc     *model.Scorecard
		want   string
	}{
		{"missing", []Kind{WOE}, nil, `asks for model "woe" without the scorecard's scaling`},
		{"unasked", []Kind{LR}, &model.Scorecard{}, `gives a scorecard's scaling without asking for model "woe"`},
		{"negative PDO", []Kind{WOE}, &model.Scorecard{PDO: -20}, "Scorecard.PDO -20"},
		{"negative odds", []Kind{WOE}, &model.Scorecard{BaseOdds: -2}, "Scorecard.BaseOdds -2"},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), fltest.Deadline(time.Minute))
			defer cancel()
			a, b := fl.NewPipe()
			defer a.Close()
			errC := make(chan error, 1)
			go func() {
				_, err := RunPassive(ctx, b, Spec{Train: center})
				errC <- err
			}()
			sess, err := fl.Handshake(ctx, a, fl.Hello{Role: fl.RoleActive, Params: HandshakeParams()})
			require.NoError(t, err)
			bt := fl.Bind(a, sess)
			options := map[Kind]string{c.models[0]: good}
			require.NoError(t, fl.SendJSON(ctx, bt, TypeSetup, setupMsg{Version: setupVersion, Models: c.models, Options: options, Scorecard: c.sc}))
			_, bankErr := fl.Expect(ctx, bt, TypeSplit)
			centerErr := <-errC
			require.ErrorIs(t, centerErr, fl.ErrMalformed)
			require.ErrorContains(t, centerErr, c.want)
			require.ErrorIs(t, bankErr, fl.ErrPeerAborted)
			require.ErrorContains(t, bankErr, c.want)
		})
	}
}

// The bank's spec refuses a scaling that would make points infinite, naming
// the field, before any message.
func TestSpecScorecardScaling(t *testing.T) {
	bank, _, err := dataset.Synthesize(dataset.SynthOptions{Rows: 50, Seed: 2})
	require.NoError(t, err)
	_, err = Spec{Train: bank, Scorecard: model.Scorecard{BasePoints: math.Inf(1)}}.withDefaults(true)
	require.ErrorIs(t, err, ErrSpec)
	require.ErrorContains(t, err, "Scorecard.BasePoints +Inf")
}
