package joint

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/veil-fl/veil/fl"
	"github.com/veil-fl/veil/he"
	"github.com/veil-fl/veil/internal/hetest"
)

// TestObserve: a plan tells the observer of the context it was taken up
// with exactly its admissions (refused vectors not), with the step's
// declaration and the vector's shape, whichever goroutine admits;
// concurrent sessions see their own; a plan taken up without an observer
// (or under WithObserver(ctx, nil)) tells no one, whatever context is
// current when it admits; an observer's error refuses the vector,
// uncounted; a step revealed without decryption is reported once, when
// the plan is taken up, to the holder's peer only.
func TestObserve(t *testing.T) {
	p := he.MustParams(he.Hist13)
	a, _, err := hetest.LocalPair(p, he.KeySpec{}, []byte("plan-observe-test-seed-012345678"))
	require.NoError(t, err)
	v, err := a.EncryptCoeffs([]float64{1, 2, 3}, 8)
	require.NoError(t, err)
	a.DropToDecryptLevel(v)
	decl := NewPlan(
		Disclosure{Step: "hist", To: fl.RoleActive, What: "histograms", Layout: he.Coeff, Len: 3, Level: AnyLevel, Vectors: 8},
		Disclosure{Step: "back", To: fl.RolePassive, Layout: he.Coeff, Len: 3, Level: AnyLevel, Vectors: 8},
	)
	hist := Admission{Holder: fl.RolePassive, To: fl.RoleActive, Step: "hist", What: "histograms",
		Layout: he.Coeff, Len: 3, Ciphertexts: len(v.Cts), FixedLen: true}

	// Sessions at once, each admitting from worker goroutines of its
	// own: what a goroutine-bound observer would miss.
	var wg sync.WaitGroup
	seen := make([][]Admission, 4)
	for g := range seen {
		wg.Go(func() {
			var mu sync.Mutex
			ctx := WithObserver(t.Context(), func(a Admission) error {
				mu.Lock()
				defer mu.Unlock()
				seen[g] = append(seen[g], a)
				return nil
			})
			ctx, cancel := context.WithCancel(ctx) // a derived context keeps it
			defer cancel()
			plan := decl.HeldBy(ctx, fl.RolePassive)
			var workers sync.WaitGroup
			for range g + 1 {
				workers.Go(func() { require.NoError(t, plan.Admit(p, "hist", v)) })
			}
			workers.Wait()
			require.Error(t, plan.Admit(p, "back", v), "refused: not observed")
		})
	}
	wg.Wait()
	for g, got := range seen {
		require.Len(t, got, g+1, "session %d sees its own admissions, all of them", g)
		for _, a := range got {
			require.Equal(t, hist, a)
		}
	}

	// The observer is the one of the plan's context: none, or hidden.
	var got []Admission
	ctx := WithObserver(t.Context(), func(a Admission) error { got = append(got, a); return nil })
	for _, plan := range []*Plan{decl.HeldBy(t.Context(), fl.RolePassive), decl.HeldBy(WithObserver(ctx, nil), fl.RolePassive)} {
		require.NoError(t, plan.Admit(p, "hist", v))
		require.Equal(t, 1, plan.Used("hist"), "an unobserved plan still counts")
	}
	require.Empty(t, got, "no observer reached")
	inner := 0
	plan := decl.HeldBy(WithObserver(ctx, func(Admission) error { inner++; return nil }), fl.RolePassive)
	require.NoError(t, plan.Admit(p, "hist", v))
	require.Equal(t, 1, inner, "the innermost observer")
	require.Empty(t, got)

	full := errors.New("disk full")
	plan = decl.HeldBy(WithObserver(t.Context(), func(Admission) error { return full }), fl.RolePassive)
	err = plan.Admit(p, "hist", v)
	require.ErrorIs(t, err, full)
	require.Equal(t, 0, plan.Used("hist"), "a vector the observer could not record is not counted")

	cmp := NewPlan(Disclosure{Step: "bands", To: fl.RoleActive, What: "bands", Layout: he.SlotReal, Len: AnyLen, Level: AnyLevel, Vectors: 0, Values: 1800})
	cmp.HeldBy(ctx, fl.RolePassive)
	cmp.HeldBy(ctx, fl.RoleActive)
	cmp.HeldBy(t.Context(), fl.RolePassive)
	require.Equal(t, []Admission{{Holder: fl.RolePassive, To: fl.RoleActive, Step: "bands", What: "bands", Layout: he.SlotReal, Len: 1800, Undecrypted: true}}, got)
}

// BenchmarkAdmit is one admission, with and without an observer on the
// plan's context: the call is the cost an observer adds to each
// decryption (the lookup is done once, when the plan is taken up).
func BenchmarkAdmit(b *testing.B) {
	p := he.MustParams(he.Hist13)
	a, _, err := hetest.LocalPair(p, he.KeySpec{}, []byte("plan-observe-bench-seed-01234567"))
	require.NoError(b, err)
	v, err := a.EncryptCoeffs([]float64{1, 2, 3}, 8)
	require.NoError(b, err)
	a.DropToDecryptLevel(v)
	decl := NewPlan(Disclosure{Step: "hist", To: fl.RoleActive, Layout: he.Coeff, Len: 3, Level: AnyLevel, Vectors: 1 << 30})
	for _, observed := range []bool{false, true} {
		b.Run(map[bool]string{false: "unobserved", true: "observed"}[observed], func(b *testing.B) {
			ctx := b.Context()
			n := 0
			if observed {
				ctx = WithObserver(ctx, func(Admission) error { n++; return nil })
			}
			plan := decl.HeldBy(ctx, fl.RolePassive)
			for b.Loop() {
				if err := plan.Admit(p, "hist", v); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
