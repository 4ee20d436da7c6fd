package boost

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
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
	"github.com/veil-fl/veil/model"
)

// hostileSteps lists every message either party receives during training,
// with the party that receives it first ("" for the symmetric exchanges)
// and whether it carries an encrypted vector.
var hostileSteps = []struct {
	typ    string
	victim string
	vector bool
}{
	{TypeSetup, "center", false},
	{TypeSetupAck, "bank", false},
	{fl.TypeResume, "", false},
	{joint.TypeKeyGen1, "", false},
	{joint.TypeKeyGen2, "", false},
	{TypeLevel, "center", true},
	{TypeHist, "bank", true},
	{TypeSplits, "center", false},
	{TypeLeft, "bank", false},
}

// sameBits compares bit patterns, so that NaN (a missing value) equals itself.
func sameBits(a, b []float64) bool {
	return slices.EqualFunc(a, b, func(x, y float64) bool { return math.Float64bits(x) == math.Float64bits(y) })
}

func isClear(err error) bool {
	for _, target := range []error{fl.ErrMalformed, he.ErrMalformed, he.ErrLayout, joint.ErrUnexpectedVector, fl.ErrPeerAborted, joint.ErrUndeclared, he.ErrLimit, ErrProtocol, model.ErrOptions} {
		if errors.Is(err, target) {
			return true
		}
	}
	return false
}

// shortHostile are the cases that run with -short (under the race
// detector): one per kind of decoder, since each case generates keys.
var shortHostile = []string{"boost.setup/garbage", "boost.level/wrong length", "boost.hist/wrong length", "boost.splits/garbage", "boost.left/garbage"}

// TestHostilePeer corrupts, one at a time, the first message of each type
// the protocol receives, in each way fltest.Mutations knows, and requires a
// clear error on the receiving side, an abort on the other, no panic, and
// both parties' data untouched.
func TestHostilePeer(t *testing.T) {
	const n, db, dc = 300, 2, 2
	xb, xc, y := synthetic(n, db, dc, 3)
	xb0, xc0, y0 := slices.Clone(xb), slices.Clone(xc), slices.Clone(y)
	opt := Options{GBDTOptions: model.GBDTOptions{Trees: 1, MaxDepth: 2}}
	seed := []byte("boost-test-joint-seed-0123456789a")
	for _, step := range hostileSteps {
		for _, m := range fltest.Mutations {
			if fltest.VectorMutation(m.Name) && !step.vector {
				continue
			}
			if !step.vector && m.Name != "garbage" && m.Name != "truncated" {
				continue
			}
			if testing.Short() && !slices.Contains(shortHostile, step.typ+"/"+m.Name) {
				continue
			}
			t.Run(step.typ+"/"+m.Name, func(t *testing.T) {
				tamper, hit := fltest.TamperOnce(step.typ, he.Hist13.ID, m)
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
				require.True(t, sameBits(xb0, xb) && sameBits(xc0, xc) && sameBits(y0, y), "the parties' data is untouched")
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
					require.ErrorIs(t, other, fl.ErrPeerAborted)
				} else {
					require.True(t, isClear(bank) && isClear(center), "bank: %v; center: %v", bank, center)
				}
				t.Logf("OUTCOME %s | %s | %v", step.typ, m.Name, victim)
			})
		}
	}
}

// trainTampered trains the pair over a pipe whose messages pass through
// tamper (a minute's deadline) and returns each party's error.
func trainTampered(tamper func(fl.Message) fl.Message, seed []byte, xb, xc, y []float64, db, dc int, opt Options) (bank, center error) {
	ta, tc := fltest.NewPipe(fltest.Tamper(tamper))
	defer ta.Close()
	defer tc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), fltest.Deadline(time.Minute))
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, center = TrainPassive(ctx, tc, seed, Data{X: xc, Cols: dc})
	}()
	_, bank = TrainActive(ctx, ta, seed, Data{X: xb, Cols: db, Y: y}, opt, nil)
	<-done
	return bank, center
}

// TestUndeclaredHistogramsRefused: the center computes and releases only
// the histograms the plan declares. A bank that asks for one level more
// than the agreed depth (a splits message that does not end the tree at
// the last level) is refused with joint.ErrUndeclared, and learns of it by an
// abort; nodes (or their siblings) below the minimum node size are refused
// by the center's guard before any histogram is computed.
func TestUndeclaredHistogramsRefused(t *testing.T) {
	const n, db, dc = 1000, 2, 2
	xb, xc, y := synthetic(n, db, dc, 5)
	opt := Options{GBDTOptions: model.GBDTOptions{Trees: 1, MaxDepth: 2}}
	seed := []byte("boost-test-joint-seed-0123456789b")
	var hit atomic.Bool
	tamper := func(m fl.Message) fl.Message {
		if m.Type == TypeSplits && bytes.Contains(m.Payload, []byte(`"last":true`)) && !bytes.Contains(m.Payload, []byte(`"splits":[]`)) && hit.CompareAndSwap(false, true) {
			m.Payload = bytes.Replace(m.Payload, []byte(`"last":true`), []byte(`"last":false`), 1)
		}
		return m
	}
	bank, center := trainTampered(tamper, seed, xb, xc, y, db, dc, opt)
	require.True(t, hit.Load(), "the last level was reached with splits; bank: %v, center: %v", bank, center)
	require.ErrorIs(t, center, joint.ErrUndeclared)
	require.ErrorContains(t, center, "below depth 2")
	require.ErrorIs(t, bank, fl.ErrPeerAborted)

	rows := func(k int) []int32 { return make([]int32, k) }
	for _, c := range []struct {
		name string
		lvl  level
	}{
		{"a small node", level{Rows: [][]int32{rows(200), rows(19)}, Compute: []int{1}}},
		{"a node whose sibling is small", level{Rows: [][]int32{rows(200), rows(19)}, Compute: []int{0}}},
		{"a small root", level{Rows: [][]int32{rows(19)}, Compute: []int{0}}},
		{"a node without a sibling", level{Rows: [][]int32{rows(50), rows(50), rows(50)}, Compute: []int{2}}},
	} {
		require.ErrorIs(t, checkNodeSizes(c.lvl, 20), ErrProtocol, c.name)
	}
	require.NoError(t, checkNodeSizes(level{Rows: [][]int32{rows(200), rows(20)}, Compute: []int{1}}, 20))
}

// TestUndeclaredHistogramLength: a bank that asks, below the root, for the
// histograms of both children of a split passes the center's checks of
// node sizes and parents, but the histograms would hold more nodes than a
// level of the agreed depth computes (DisclosurePlan's MaxLen, one child
// per split): the center's plan refuses them before any share is made, and
// the bank learns of it by an abort. The bank here rewrites its own level
// message: the rows of the child it sent gradients for become two nodes,
// both computed, so that the gradients still fit. The center sends no
// histograms for the level, and its data is untouched.
//
// A histogram of another layout or level, or one vector more than the plan
// counts, cannot reach the plan: the center computes the histograms from
// gradients it checks, and refuses a level past the agreed depth first
// (TestUndeclaredHistogramsRefused); fl/joint's TestProtocolPlansRefuse
// shows the plan refuses them too.
func TestUndeclaredHistogramLength(t *testing.T) {
	const n, db, dc = 1000, 2, 2
	xb, xc, y := synthetic(n, db, dc, 5)
	xb0, xc0, y0 := slices.Clone(xb), slices.Clone(xc), slices.Clone(y)
	opt := Options{GBDTOptions: model.GBDTOptions{Trees: 1, MaxDepth: 2}}
	o, err := opt.GBDTOptions.WithDefaults()
	require.NoError(t, err)
	binning, err := model.FitBinning(xc, dc, o.Bins)
	require.NoError(t, err)
	_, K := binning.Sizes()
	p := params()
	seed := []byte("boost-test-joint-seed-0123456789c")
	var hit atomic.Bool
	var why string
	var prev [][]int32 // the last level's rows, to decode a level of splits
	tamper := func(m fl.Message) fl.Message {
		parts, err := fl.SplitParts(m.Payload, 3)
		if m.Type != TypeLevel || hit.Load() || err != nil || len(parts[0]) == 0 {
			return m
		}
		lvl, err := decodeLevel(parts[0], n, prev)
		prev = lvl.Rows
		if err != nil || len(lvl.Rows) != 2 || len(lvl.Compute) != 1 {
			return m // the root
		}
		rows := lvl.Rows[lvl.Compute[0]]
		S := lvl.layout(p, K, dc, 0).S
		cut := (o.MinNodeRows + S - 1) / S * S // the first group fills whole chunks
		both := level{Rows: [][]int32{rows[:min(cut, len(rows))], rows[min(cut, len(rows)):]}, Compute: []int{0, 1}}
		if len(rows)-cut < o.MinNodeRows || both.layout(p, K, dc, 0).S != S {
			why = fmt.Sprintf("a child of %d rows in chunks of %d cannot be cut in two nodes of %d", len(rows), S, o.MinNodeRows)
			return m
		}
		hit.Store(true)
		m.Payload = fl.JoinParts(encodeLevel(both), parts[1], parts[2])
		return m
	}
	ta, tc := fltest.NewPipe(fltest.Tamper(tamper))
	defer ta.Close()
	defer tc.Close()
	rc := fltest.Record(tc)
	ctx, cancel := context.WithTimeout(context.Background(), fltest.Deadline(time.Minute))
	defer cancel()
	var center error
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, center = TrainPassive(ctx, rc, seed, Data{X: xc, Cols: dc})
	}()
	_, bank := TrainActive(ctx, ta, seed, Data{X: xb, Cols: db, Y: y}, opt, nil)
	<-done
	require.True(t, hit.Load(), "the level below the root was rewritten: %s; bank: %v, center: %v", why, bank, center)
	var ue *joint.UndeclaredError
	require.ErrorAs(t, center, &ue, "refused by the plan: %v", center)
	require.ErrorIs(t, center, joint.ErrUndeclared)
	require.Equal(t, StepHistograms, ue.Step)
	require.Equal(t, "length", ue.Field, "%v", center)
	require.ErrorIs(t, bank, fl.ErrPeerAborted)
	hists := 0
	for _, m := range rc.Sent() {
		if m.Type == TypeHist {
			hists++
		}
	}
	require.Equal(t, 1, hists, "the root's histograms only")
	require.True(t, sameBits(xb0, xb) && sameBits(xc0, xc) && sameBits(y0, y), "the parties' data is untouched")
	t.Logf("OUTCOME %v", center)
}
