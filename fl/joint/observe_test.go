package joint

import (
	"errors"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/veil-fl/veil/fl"
	"github.com/veil-fl/veil/he"
	"github.com/veil-fl/veil/internal/hetest"
)

// TestObserve: an observer sees exactly the admissions of its goroutine
// (refused vectors not), with the step's declaration and the vector's
// shape; concurrent goroutines see their own; after stop nothing; an
// observer's error refuses the vector, uncounted.
func TestObserve(t *testing.T) {
	p := he.MustParams(he.Hist13)
	a, _, err := hetest.LocalPair(p, he.KeySpec{}, []byte("plan-observe-test-seed-012345678"))
	require.NoError(t, err)
	v, err := a.EncryptCoeffs([]float64{1, 2, 3}, 8)
	require.NoError(t, err)
	a.DropToDecryptLevel(v)
	decl := NewPlan(
		Disclosure{Step: "hist", To: fl.RoleActive, What: "histograms", Layout: he.Coeff, Len: 3, Level: AnyLevel, Vectors: 4},
		Disclosure{Step: "back", To: fl.RolePassive, Layout: he.Coeff, Len: 3, Level: AnyLevel, Vectors: 4},
	)

	var wg sync.WaitGroup
	seen := make([][]Admission, 4)
	for g := range seen {
		wg.Go(func() {
			plan := decl.HeldBy(fl.RolePassive)
			stop := Observe(func(a Admission) error {
				seen[g] = append(seen[g], a)
				return nil
			})
			for range g + 1 {
				require.NoError(t, plan.Admit(p, "hist", v))
			}
			require.Error(t, plan.Admit(p, "back", v), "refused: not observed")
			stop()
			if g < 3 {
				require.NoError(t, plan.Admit(p, "hist", v), "after stop: not observed")
			}
		})
	}
	wg.Wait()
	for g, got := range seen {
		require.Len(t, got, g+1, "goroutine %d sees its own admissions only", g)
		require.Equal(t, Admission{Holder: fl.RolePassive, To: fl.RoleActive, Step: "hist", What: "histograms",
			Layout: he.Coeff, Len: 3, Ciphertexts: len(v.Cts), FixedLen: true}, got[0])
	}

	plan := decl.HeldBy(fl.RolePassive)
	full := errors.New("disk full")
	stop := Observe(func(Admission) error { return full })
	err = plan.Admit(p, "hist", v)
	stop()
	require.ErrorIs(t, err, full)
	require.Equal(t, 0, plan.Used("hist"), "a vector the observer could not record is not counted")

	// A step revealed without decryption is reported when the plan is
	// taken up, to the holder's peer only.
	var got []Admission
	stop = Observe(func(a Admission) error { got = append(got, a); return nil })
	cmp := NewPlan(Disclosure{Step: "bands", To: fl.RoleActive, What: "bands", Layout: he.SlotReal, Len: AnyLen, Level: AnyLevel, Vectors: 0, Values: 1800})
	cmp.HeldBy(fl.RolePassive)
	cmp.HeldBy(fl.RoleActive)
	stop()
	require.Equal(t, []Admission{{Holder: fl.RolePassive, To: fl.RoleActive, Step: "bands", What: "bands", Layout: he.SlotReal, Len: 1800, Undecrypted: true}}, got)

	before := Unobserved()
	require.NoError(t, plan.Admit(p, "hist", v))
	require.Equal(t, before+1, Unobserved())
}

// BenchmarkAdmit is one admission, with and without an observer on the
// goroutine: the observer's lookup (the goroutine's id from its stack
// trace) is the cost Observe adds to each decryption.
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
			plan := decl.HeldBy(fl.RolePassive)
			if observed {
				n := 0
				defer Observe(func(Admission) error { n++; return nil })()
			}
			for b.Loop() {
				if err := plan.Admit(p, "hist", v); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
