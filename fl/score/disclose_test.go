package score

import (
	"context"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/veil-fl/veil/fl"
	"github.com/veil-fl/veil/fl/joint"
)

// checkDisclosed holds a run's flags to its bands: released exactly for
// the records in bands 0..at, equal to the center's value there (its low
// bits), 0 elsewhere.
func checkDisclosed(t *testing.T, res *Result, values []uint64, at, bits int) (released int) {
	t.Helper()
	require.Len(t, res.Disclosed, len(res.Bands))
	require.Len(t, res.Flags, len(res.Bands))
	for i, b := range res.Bands {
		require.Equal(t, b <= at, res.Disclosed[i], "record %d in band %d", i, b)
		if res.Disclosed[i] {
			released++
			require.Equal(t, values[i]&(1<<bits-1), res.Flags[i], "record %d's flags", i)
		} else {
			require.Zero(t, res.Flags[i], "record %d's flags, not released", i)
		}
	}
	return released
}

// TestDiscloseLinear scores a linear model with band output and flags:
// the bands agree with the plaintext logits as without flags, and the
// bank receives the center's flags of exactly the records its bands
// whitelist (bands 0..At), nothing for the others; the disclosure plan
// declares the flags step. Five cuts and an approve/decline cut.
func TestDiscloseLinear(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	n := 1500
	ub, uc := normals(r, n, 2), normals(r, n, 1.5)
	want := make([]float64, n)
	values := make([]uint64, n)
	for i := range want {
		want[i] = ub[i] + uc[i]
		values[i] = r.Uint64() // bits past the 5 flags must not leave
	}
	flags := []string{"coupon", "specialised", "technology", "a_taxpayer", "trade"}
	for _, tc := range []struct {
		name string
		cuts Cuts
		at   int
	}{
		{"grades", LogitCuts(-2, -1, 0, 1, 2), 1},
		{"approve", LogitCuts(0.5), 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ob := Options{Output: Bands, Cuts: tc.cuts, BatchRows: 512, Disclose: &Disclose{At: tc.at, Flags: flags}}
			oc := ob
			oc.Disclose = &Disclose{At: tc.at, Flags: flags, Values: values}
			var res *Result
			be, ce, st := run(nil,
				func(ctx context.Context, tr fl.Transport) (err error) {
					res, err = LinearActive(ctx, tr, nil, ub, ob)
					return err
				},
				func(ctx context.Context, tr fl.Transport) error { return LinearPassive(ctx, tr, nil, uc, oc) })
			require.NoError(t, be)
			require.NoError(t, ce)
			agreement(t, res, want, ob, 2)
			released := checkDisclosed(t, res, values, tc.at, len(flags))
			require.Greater(t, released, n/10)
			require.Less(t, released, n-n/10)
			t.Logf("%d of %d records released; %.0f bytes a record on the wire", released, n, float64(st.SentBytes+st.RecvBytes)/float64(n))
			ds := DisclosurePlan(ob, n).Disclosures()
			require.Len(t, ds, 2)
			require.Equal(t, StepFlags, ds[1].Step)
			require.Equal(t, n*len(flags), ds[1].Values)
		})
	}
}

// TestDiscloseTrees serves a tree ensemble and an LR model with flags over
// gRPC: each session's bands agree with the plaintext model, the flags are
// released for the whitelisted records only, and the service reports each
// session's offer (OnDisclose) while the center's run reports the flags
// step to the session's observer (what the node's audit log records).
func TestDiscloseTrees(t *testing.T) {
	f := newServiceFixture(t, 300)
	flags := []string{"coupon", "trade"}
	values := make([]uint64, f.center.Rows())
	r := rand.New(rand.NewPCG(13, 14))
	for i := range values {
		values[i] = r.Uint64N(4)
	}
	o := Options{Cuts: LogitCuts(-2, -1, 0), Disclose: &Disclose{At: 1, Flags: flags}}
	var (
		mu     sync.Mutex
		offers []int
	)
	addr, pki := f.serve(t, o, 4, func(s *Service) {
		s.Flags = values
		s.OnDisclose = func(bank string, records int, fl []string) {
			mu.Lock()
			offers = append(offers, records*len(fl))
			mu.Unlock()
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	byID := map[string]uint64{}
	for i, id := range f.center.IDs {
		byID[id] = values[i]
	}
	for k, modelName := range []string{ModelTrees, ModelLR} {
		s, err := f.bankRequest(ctx, addr, pki, k, modelName, o)
		require.NoError(t, err, modelName)
		require.NoError(t, f.check(s, modelName, o), modelName)
		want := make([]uint64, len(s.IDs))
		for i, id := range s.IDs {
			want[i] = byID[id]
		}
		released := checkDisclosed(t, s.Result, want, 1, len(flags))
		require.Positive(t, released, modelName)
		mu.Lock()
		require.Equal(t, len(s.IDs)*len(flags), offers[k], "the offer of %s's session", modelName)
		mu.Unlock()
	}

	// A bank that asks for other flags, or none, is refused by name.
	for _, ask := range []*Disclose{{At: 1, Flags: []string{"coupon"}}, {At: 2, Flags: flags}, nil} {
		bo := o
		bo.Disclose = ask
		_, err := f.bankRequest(ctx, addr, pki, 7, ModelLR, bo)
		require.ErrorIs(t, err, fl.ErrPeerAborted)
		require.ErrorContains(t, err, "flags")
	}

	// The center's run reports the flags step where its plan is taken up.
	on, err := o.normalize()
	require.NoError(t, err)
	var seen []joint.Admission
	DisclosurePlan(on, 10).HeldBy(joint.WithObserver(ctx, func(a joint.Admission) error { seen = append(seen, a); return nil }), fl.RolePassive)
	require.Len(t, seen, 2)
	require.Equal(t, StepFlags, seen[1].Step)
	require.True(t, seen[1].Undecrypted)
	require.Equal(t, 10*len(flags), seen[1].Len)
}

// TestDiscloseOptions refuses flags that cannot be released.
func TestDiscloseOptions(t *testing.T) {
	cuts := LogitCuts(0, 1)
	for _, tc := range []struct {
		name string
		o    Options
		want string
	}{
		{"scores", Options{Output: Scores, Cuts: cuts, Disclose: &Disclose{Flags: []string{"a"}}}, "band output only"},
		{"cut", Options{Cuts: cuts, Disclose: &Disclose{At: 2, Flags: []string{"a"}}}, "release cut 2 of 2"},
		{"no flags", Options{Cuts: cuts, Disclose: &Disclose{}}, "0 flags"},
		{"twice", Options{Cuts: cuts, Disclose: &Disclose{Flags: []string{"a", "a"}}}, "distinct"},
	} {
		_, err := tc.o.normalize()
		require.ErrorIs(t, err, ErrOptions, tc.name)
		require.ErrorContains(t, err, tc.want, tc.name)
	}
	// A center run whose values are not one a record fails before any OT.
	o := Options{Cuts: cuts, Disclose: &Disclose{Flags: []string{"a"}, Values: make([]uint64, 3)}}
	u := []float64{0.1, 0.2}
	be, ce, _ := run(nil,
		func(ctx context.Context, tr fl.Transport) error {
			bo := o
			bo.Disclose = &Disclose{Flags: []string{"a"}}
			_, err := LinearActive(ctx, tr, nil, u, bo)
			return err
		},
		func(ctx context.Context, tr fl.Transport) error { return LinearPassive(ctx, tr, nil, u, o) })
	require.ErrorContains(t, ce, "3 values for 2 records")
	require.ErrorIs(t, be, fl.ErrPeerAborted)
}

// cheatingBank is linearActive's band path with flags, its inputs shifted
// by delta (fixed point) before the garbled comparisons: a bank that lies
// about its partial scores.
func cheatingBank(ctx context.Context, t fl.Transport, u []float64, o Options, delta uint32, bounded bool) (*Result, error) {
	o, err := o.normalize()
	if err != nil {
		return nil, err
	}
	s := setup{Kind: kindLinear, Rows: len(u), Output: o.Output, Cuts: o.Cuts.v, BatchRows: o.BatchRows, Disclose: setupDisclose(o.Disclose)}
	if err := fl.SendJSON(ctx, t, TypeSetup, s); err != nil {
		return nil, err
	}
	rev, err := otReverseBank(ctx, t)
	if err != nil {
		return nil, err
	}
	res := newBandResult(len(u), o)
	for b := range o.batches(len(u)) {
		lo, hi := o.bounds(b, len(u))
		own := make([]uint32, hi-lo)
		for i := range own {
			own[i] = toFixed(u[lo+i]) + delta
		}
		if err := receiveBatch(ctx, t, rev, own, o, bounded, res, lo); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// windowCenter is linearPassive's band path with flags but the trees'
// check (the sum's window) in place of the range check on the bank's
// input: the weak variant for a linear model.
func windowCenter(ctx context.Context, t fl.Transport, u []float64, o Options) error {
	o, err := o.normalize()
	if err != nil {
		return err
	}
	if _, err := recvSetup(ctx, t, kindLinear, len(u), o, ""); err != nil {
		return err
	}
	rev, err := otReverseCenter(ctx, t)
	if err != nil {
		return err
	}
	for b := range o.batches(len(u)) {
		lo, hi := o.bounds(b, len(u))
		x := make([]uint32, hi-lo)
		for i := range x {
			x[i] = toFixed(u[lo+i])
		}
		if err := discloseBatch(ctx, t, rev, x, o.Disclose.Values[lo:hi], o, false); err != nil {
			return err
		}
	}
	return nil
}

// TestCheatingBankFlags: a bank that shifts its inputs by -2^30 receives
// no flags at all; against the weak variant without the range check on
// its input (windowCenter) the same shift moves the sum's window onto the
// records above the cut and releases exactly their flags. A bank that
// claims lower partial scores within range (-1.0) receives the flags of
// more records, but every record it holds flags for has, in the same run,
// a band on the whitelist: it cannot hold flags while learning that the
// record's score is above the cut.
func TestCheatingBankFlags(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 16))
	n := 600
	ub, uc := normals(r, n, 2), normals(r, n, 1.5)
	values := make([]uint64, n)
	for i := range values {
		values[i] = r.Uint64N(8)
	}
	flags := []string{"coupon", "technology", "trade"}
	ob := Options{Output: Bands, Cuts: LogitCuts(-1, 0, 1), BatchRows: 256, Disclose: &Disclose{At: 1, Flags: flags}}
	oc := ob
	oc.Disclose = &Disclose{At: 1, Flags: flags, Values: values}
	honest := 0
	for i := range ub {
		if ub[i]+uc[i] <= 0 {
			honest++
		}
	}
	above := make([]bool, n)
	for i := range ub {
		above[i] = ub[i]+uc[i] > 0
	}
	var res *Result
	be, ce, _ := run(nil,
		func(ctx context.Context, tr fl.Transport) (err error) {
			res, err = cheatingBank(ctx, tr, ub, ob, neg32(1<<30), false)
			return err
		},
		func(ctx context.Context, tr fl.Transport) error { return windowCenter(ctx, tr, uc, oc) })
	require.NoError(t, be)
	require.NoError(t, ce)
	got := 0
	for i, ok := range res.Disclosed {
		if ok {
			got++
			require.True(t, above[i], "weak variant: record %d released", i)
			require.Equal(t, values[i], res.Flags[i])
		}
	}
	require.Equal(t, n-honest, got, "the weak variant gives the cheat the flags of every record above the cut")

	for _, tc := range []struct {
		name  string
		delta uint32
		none  bool
	}{
		{"window shift", neg32(1 << 30), true},
		{"lower scores claimed", neg32(1 << BandFracBits), false},
	} {
		var res *Result
		be, ce, _ := run(nil,
			func(ctx context.Context, tr fl.Transport) (err error) {
				res, err = cheatingBank(ctx, tr, ub, ob, tc.delta, true)
				return err
			},
			func(ctx context.Context, tr fl.Transport) error { return LinearPassive(ctx, tr, nil, uc, oc) })
		require.NoError(t, be, tc.name)
		require.NoError(t, ce, tc.name)
		released := 0
		for i, ok := range res.Disclosed {
			if !ok {
				require.Zero(t, res.Flags[i])
				continue
			}
			released++
			require.LessOrEqual(t, res.Bands[i], 1, "%s: record %d's flags with band %d", tc.name, i, res.Bands[i])
		}
		t.Logf("%s: %d records released (%d honestly)", tc.name, released, honest)
		if tc.none {
			require.Zero(t, released, tc.name)
		} else {
			require.Greater(t, released, honest, tc.name)
		}
	}
}

func neg32(v uint32) uint32 { return -v }
