package vlr

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/veil-fl/veil/fl"
	"github.com/veil-fl/veil/fl/fltest"
	"github.com/veil-fl/veil/fl/joint"
	"github.com/veil-fl/veil/he"
	"github.com/veil-fl/veil/internal/testmode"
)

type hostileStep struct {
	typ    string
	victim string
	vector bool
}

// hostileSteps lists every message either party receives during training,
// for each protocol, with the party that receives it first ("" for the
// symmetric exchanges) and whether it carries an encoded vector or shares.
var hostileSteps = map[bool][]hostileStep{
	false: { // secret-shared weights
		{TypeSetup, "center", false},
		{TypeSetupAck, "bank", false},
		{fl.TypeResume, "", false},
		{joint.TypeKeyGen1, "", false},
		{joint.TypeKeyGen2, "", false},
		{TypeWeights, "", true},
		{TypePartial, "center", true},
		{TypeScoreMask, "bank", true},
		{TypeOpenScores, "bank", true},
		{TypeResidual, "center", true},
		{TypeOpenGradient, "", true},
		{joint.TypeDecryptSum, "center", true},
		{joint.TypeSumShare, "bank", false},
		{TypeEpoch, "center", false},
		{TypeFinal, "", true},
	},
	true: { // RevealGradients
		{TypeSetup, "center", false},
		{TypeSetupAck, "bank", false},
		{fl.TypeResume, "", false},
		{joint.TypeKeyGen1, "", false},
		{joint.TypeKeyGen2, "", false},
		{TypePowers, "bank", true},
		{TypeResidual, "center", true},
		{joint.TypeDecrypt, "bank", true},
		{joint.TypeShare, "center", false},
		{TypeEpoch, "center", false},
	},
}

// isClear reports whether err is one of the documented, matchable errors a
// party returns on bad input from its peer.
func isClear(err error) bool {
	for _, target := range []error{fl.ErrMalformed, he.ErrMalformed, he.ErrLayout, he.ErrShares, joint.ErrUnexpectedVector, joint.ErrUndeclared, fl.ErrPeerAborted, fl.ErrParts, ErrOptions} {
		if errors.Is(err, target) {
			return true
		}
	}
	return false
}

// shortHostile are the cases that run with -short (under the race
// detector): one per kind of decoder, since each case generates keys.
var shortHostile = []string{"vlr.setup/garbage", "reveal/vlr.powers/wrong scale", "vlr.weights/wrong scale", "vlr.open-scores/wrong level",
	"vlr.open-gradient/truncated", "vlr.final/wrong length", "reveal/he.decrypt/wrong length", "vlr.epoch/truncated"}

// TestHostilePeer corrupts, one at a time, the first message of each type
// the protocol receives, in each way fltest.Mutations knows (with
// VEIL_TEST=full, as CI runs it; testmode.Full), and requires a
// clear error on the receiving side, an abort on the other (nobody waits
// for the deadline), no panic, and both parties' data untouched. A
// corruption the receiver cannot see (a vector asked to decrypt with a
// shorter length only shortens the helper's share) must leave the training
// correct.
func TestHostilePeer(t *testing.T) {
	const n, db, dc = 64, 2, 2
	xb, xc, y := synthetic(n, db, dc, 3)
	xb0, xc0, y0 := slices.Clone(xb), slices.Clone(xc), slices.Clone(y)
	seed := []byte("vlr-test-joint-seed-0123456789abc")
	for _, reveal := range []bool{false, true} {
		opt := Options{Epochs: 1, TrackLoss: true, RevealGradients: reveal}
		params, prefix := he.Shared15.ID, ""
		if reveal {
			params, prefix = he.Linear14.ID, "reveal/"
		}
		for _, step := range hostileSteps[reveal] {
			for _, m := range fltest.Mutations {
				if fltest.VectorMutation(m.Name) != step.vector && fltest.VectorMutation(m.Name) {
					continue
				}
				if !step.vector && m.Name != "garbage" && m.Name != "truncated" {
					continue
				}
				name := prefix + step.typ + "/" + m.Name
				switch {
				case testing.Short() && !slices.Contains(shortHostile, name):
					continue
				case !testing.Short() && !testmode.Full() && m.Name != "truncated" && !slices.Contains(shortHostile, name):
					continue
				}
				t.Run(name, func(t *testing.T) {
					// Each case is a training of its own, mostly one party
					// waiting on the other: two at a time keep both cores busy.
					t.Parallel()
					tamper, hit := fltest.TamperOnce(step.typ, params, m)
					ta, tc := fltest.NewPipe(fltest.Tamper(tamper))
					defer ta.Close()
					defer tc.Close()
					ctx, cancel := context.WithTimeout(context.Background(), fltest.Deadline(time.Minute))
					defer cancel()
					var bank, center error
					var wg sync.WaitGroup
					wg.Add(1)
					go func() {
						defer wg.Done()
						_, center = TrainPassive(ctx, tc, seed, Data{X: xc, Cols: dc})
					}()
					_, bank = TrainActive(ctx, ta, seed, Data{X: xb, Cols: db, Y: y}, opt, nil)
					wg.Wait()
					require.True(t, hit.Load(), "the step was reached")
					require.NoError(t, ctx.Err(), "no party waited for the deadline")
					require.Equal(t, xb0, xb)
					require.Equal(t, xc0, xc)
					require.Equal(t, y0, y)
					if bank == nil && center == nil {
						t.Logf("OUTCOME %s | %s | training completed unaffected", step.typ, m.Name)
						return
					}
					victim, other := bank, center
					if step.victim == "center" {
						victim, other = center, bank
					}
					if step.victim != "" {
						require.Truef(t, isClear(victim), "receiver's error is matchable: %v", victim)
						if step.typ == joint.TypeDecrypt && (m.Name == "wrong length" || m.Name == "wrong scale") {
							// A well-formed vector the plan does not declare.
							require.ErrorIs(t, victim, joint.ErrUndeclared)
						}
						// The sender learns of it by an abort, unless the corrupted
						// message was its last (the bank's final epoch message).
						if other != nil || step.typ != TypeEpoch {
							require.ErrorIs(t, other, fl.ErrPeerAborted)
						}
					} else if step.typ == TypeFinal {
						// The last exchange: the party whose copy arrived
						// intact may already have finished with its weights.
						require.True(t, (bank == nil || isClear(bank)) && (center == nil || isClear(center)), "bank: %v; center: %v", bank, center)
					} else {
						require.True(t, isClear(bank) && isClear(center), "bank: %v; center: %v", bank, center)
					}
					t.Logf("OUTCOME %s | %s | %v", name, m.Name, victim)
				})
			}
		}
	}
}

// keysIntact checks that the two parties' key shares still open, together,
// what the pair encrypts, each party's share helping the other: a refused
// session has left them as they were (a he.Party never shows its share;
// this is what of it can be observed).
func keysIntact(t *testing.T, center, bank *he.Party) {
	t.Helper()
	want := []float64{1.5, -2.25, 3}
	for _, pair := range [][2]*he.Party{{center, bank}, {bank, center}} {
		helper, receiver := pair[0], pair[1]
		v, err := receiver.Encrypt(want)
		require.NoError(t, err)
		receiver.DropToDecryptLevel(v)
		share, err := helper.DecryptShare(v)
		require.NoError(t, err)
		got, err := receiver.Decrypt(v, share)
		require.NoError(t, err)
		require.GreaterOrEqual(t, len(got), len(want))
		require.InDeltaSlice(t, want, got[:len(want)], 1e-4) // the flooding: a changed share gives garbage
	}
}

// fewerEpochs plays a bank that trains with opt but tells the center it
// trains told epochs: it rewrites the epochs in the setup message, and the
// options' digest in each party's resume message (the bank's to the lie's,
// the center's back), so that the two agree to start afresh. hit reports
// that the setup was rewritten.
func fewerEpochs(t *testing.T, opt Options, told, rows, bankCols, centerCols int) (func(fl.Message) fl.Message, *atomic.Bool) {
	t.Helper()
	trained, err := opt.WithColumns(bankCols + centerCols + 1)
	require.NoError(t, err)
	lie := trained
	lie.Epochs = told
	lie, err = lie.WithColumns(bankCols + centerCols + 1)
	require.NoError(t, err)
	digest := func(o Options) []byte {
		d, err := configDigest(o, rows, bankCols, centerCols)
		require.NoError(t, err)
		return fmt.Appendf(nil, "%x", d)
	}
	truth, lied := digest(trained), digest(lie)
	from, to := fmt.Appendf(nil, `"epochs":%d,`, trained.Epochs), fmt.Appendf(nil, `"epochs":%d,`, told)
	hit := new(atomic.Bool)
	return func(m fl.Message) fl.Message {
		switch m.Type {
		case TypeSetup:
			if bytes.Contains(m.Payload, from) {
				m.Payload = bytes.Replace(m.Payload, from, to, 1)
				hit.Store(true)
			}
		case fl.TypeResume:
			if bytes.Contains(m.Payload, truth) {
				m.Payload = bytes.Replace(m.Payload, truth, lied, 1)
			} else {
				m.Payload = bytes.Replace(m.Payload, lied, truth, 1)
			}
		}
		return m
	}, hit
}

// TestUndeclaredDecryptionRefused: a bank that asks the center to help
// decrypt or open one vector the plan does not declare is refused by the
// center's plan itself (a *joint.UndeclaredError for that field: no check
// of the message refuses it first), and learns of it by an abort. The
// center sends nothing of the refused vector, and both parties' data and
// key shares are untouched.
//
// The loss the bank asks the center to help decrypt reaches the plan as
// the bank sends it: in another layout, one value short, or a level down.
// One vector too many: a bank that tells the center it trains one epoch
// (rewriting its options on the way, and their digest in the resume
// agreement), trains two and does not stop after the first. The center
// keeps no count of epochs of its own: its plan refuses the first scores
// past the declared ones.
func TestUndeclaredDecryptionRefused(t *testing.T) {
	const n, db, dc = 64, 2, 2
	xb, xc, y := synthetic(n, db, dc, 3)
	xb0, xc0, y0 := slices.Clone(xb), slices.Clone(xc), slices.Clone(y)
	seed := []byte("vlr-test-joint-seed-0123456789abc")
	p := sharedParams()
	// edit re-encodes the (rounded) vector of a payload, changed by f.
	edit := func(name string, f func(*he.Vector)) fltest.Mutation {
		return fltest.Mutation{Name: name, Fn: func(b []byte, _ string) []byte {
			v, rd, err := p.UnmarshalVectorRounded(b)
			if err != nil {
				return b
			}
			f(v)
			if b, err = p.MarshalVectorRounded(v, rd.C0, rd.C1); err != nil {
				panic(err)
			}
			return b
		}}
	}
	mutation := func(name string) fltest.Mutation {
		i := slices.IndexFunc(fltest.Mutations, func(m fltest.Mutation) bool { return m.Name == name })
		require.GreaterOrEqual(t, i, 0, name)
		return fltest.Mutations[i]
	}
	loss := func(m fltest.Mutation) func() (func(fl.Message) fl.Message, *atomic.Bool) {
		return func() (func(fl.Message) fl.Message, *atomic.Bool) {
			return fltest.TamperOnce(joint.TypeDecryptSum, he.Shared15.ID, m)
		}
	}
	one, two := Options{Epochs: 1, TrackLoss: true}, Options{Epochs: 2, TrackLoss: true}
	for _, c := range []struct {
		name        string
		opt         Options
		tamper      func() (func(fl.Message) fl.Message, *atomic.Bool)
		step, field string
		// shares is the center's message that carries its share (or
		// opening) of the step's vectors, and sent how many it sends.
		shares string
		sent   int
	}{
		{"wrong layout", one, loss(edit("complex slots", func(v *he.Vector) { v.Layout = he.SlotComplex })), StepLoss, "layout", joint.TypeSumShare, 0},
		{"wrong length", one, loss(mutation("wrong length")), StepLoss, "length", joint.TypeSumShare, 0},
		{"wrong level", one, loss(edit("a level down", func(v *he.Vector) {
			for _, ct := range v.Cts {
				ct.Resize(ct.Degree(), ct.Level()-1)
			}
		})), StepLoss, "level", joint.TypeSumShare, 0},
		{"one too many", two, func() (func(fl.Message) fl.Message, *atomic.Bool) { return fewerEpochs(t, two, 1, n, db, dc) },
			StepScores, "count", TypeOpenScores, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			tamper, hit := c.tamper()
			ta, tc := fltest.NewPipe(fltest.Tamper(tamper))
			defer ta.Close()
			defer tc.Close()
			rc := fltest.Record(tc)
			ctx, cancel := context.WithTimeout(context.Background(), fltest.Deadline(time.Minute))
			defer cancel()
			var passive *Passive
			var center error
			done := make(chan struct{})
			go func() {
				defer close(done)
				if passive, center = NewPassive(ctx, rc, seed, Data{X: xc, Cols: dc}); center == nil {
					for !passive.Done() && center == nil {
						center = passive.Epoch(ctx)
					}
				}
			}()
			active, bank := NewActive(ctx, ta, seed, Data{X: xb, Cols: db, Y: y}, c.opt)
			for bank == nil && !active.Done() {
				_, bank = active.Epoch(ctx)
			}
			<-done
			require.True(t, hit.Load(), "the bank's request was sent")
			require.NoError(t, ctx.Err(), "no party waited for the deadline")
			var ue *joint.UndeclaredError
			require.ErrorAs(t, center, &ue, "refused by the plan: %v", center)
			require.ErrorIs(t, center, joint.ErrUndeclared)
			require.Equal(t, c.step, ue.Step)
			require.Equal(t, c.field, ue.Field, "%v", center)
			require.ErrorIs(t, bank, fl.ErrPeerAborted)
			require.ErrorContains(t, bank, "step "+c.step, "the bank hears which step")

			sent := 0
			for _, m := range rc.Sent() {
				if m.Type == c.shares {
					sent++
				}
			}
			require.Equal(t, c.sent, sent, "the center's %s messages", c.shares)
			require.Equal(t, xb0, xb)
			require.Equal(t, xc0, xc)
			require.Equal(t, y0, y)
			keysIntact(t, passive.party, active.party)
		})
	}
}
