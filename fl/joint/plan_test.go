package joint

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/veil-fl/veil/fl"
	"github.com/veil-fl/veil/he"
	"github.com/veil-fl/veil/internal/hetest"
)

// TestPlanHeldBy: each party holds its own copy of a plan, counted apart,
// and admits only the steps declared to its peer.
func TestPlanHeldBy(t *testing.T) {
	p := he.MustParams(he.Hist13)
	a, _, err := hetest.LocalPair(p, he.KeySpec{}, []byte("plan-held-by-test-seed-012345678"))
	require.NoError(t, err)
	v, err := a.EncryptCoeffs([]float64{1, 2}, 8)
	require.NoError(t, err)
	a.DropToDecryptLevel(v)
	plan := NewPlan(
		Disclosure{Step: "to-bank", To: fl.RoleActive, Layout: he.Coeff, Len: 2, Level: AnyLevel, Vectors: 1},
		Disclosure{Step: "to-center", To: fl.RolePassive, Layout: he.Coeff, Len: 2, Level: AnyLevel, Vectors: 1},
	)
	center, bank := plan.HeldBy(t.Context(), fl.RolePassive), plan.HeldBy(t.Context(), fl.RoleActive)
	require.Equal(t, fl.RolePassive, center.Holder())
	require.Equal(t, fl.Role(""), plan.Holder())
	require.Equal(t, plan.Disclosures(), center.Disclosures())

	require.NoError(t, center.Admit(p, "to-bank", v))
	require.NoError(t, bank.Admit(p, "to-center", v))
	for _, c := range []struct {
		plan *Plan
		step string
	}{{center, "to-center"}, {bank, "to-bank"}, {plan, "to-bank"}} {
		err := c.plan.Admit(p, c.step, v)
		var ue *UndeclaredError
		require.ErrorAs(t, err, &ue)
		require.Contains(t, []string{"receiver", "holder"}, ue.Field)
	}
	require.Equal(t, 1, center.Used("to-bank"))
	require.Equal(t, 0, bank.Used("to-bank"), "copies count apart")
	require.Equal(t, 0, plan.Used("to-bank"))

	var none *Plan
	err = none.Admit(p, "s", v)
	require.ErrorIs(t, err, ErrUndeclared)
	require.ErrorContains(t, err, "no disclosure plan")
}

// TestPlanMaxLenAndScale: a step declared with a maximum length admits
// shorter vectors (a last, shorter batch) and refuses longer ones; a
// declared scale admits the honest drift of a rescaling and refuses a
// vector off by more than ScaleTolerance.
func TestPlanMaxLenAndScale(t *testing.T) {
	p := he.MustParams(he.Hist13)
	a, _, err := hetest.LocalPair(p, he.KeySpec{}, []byte("plan-max-len-test-seed-012345678"))
	require.NoError(t, err)
	vec := func(n int) *he.Vector {
		v, err := a.EncryptCoeffs(make([]float64, n), 8)
		require.NoError(t, err)
		return v
	}
	logScale := p.Set().LogScale
	plan := NewPlan(Disclosure{Step: "s", To: fl.RoleActive, Layout: he.Coeff, Len: AnyLen, MaxLen: 5, Level: AnyLevel,
		LogScale: logScale + ScaleTolerance/2, Vectors: 10}).HeldBy(t.Context(), fl.RolePassive)
	require.NoError(t, plan.Admit(p, "s", vec(5)))
	require.NoError(t, plan.Admit(p, "s", vec(1)))
	var ue *UndeclaredError
	require.ErrorAs(t, plan.Admit(p, "s", vec(6)), &ue)
	require.Equal(t, "length", ue.Field)
	require.Equal(t, "at most 5", ue.Want)

	off := NewPlan(Disclosure{Step: "s", To: fl.RoleActive, Layout: he.Coeff, Len: AnyLen, Level: AnyLevel,
		LogScale: logScale + 2*ScaleTolerance, Vectors: 10}).HeldBy(t.Context(), fl.RolePassive)
	require.ErrorAs(t, off.Admit(p, "s", vec(1)), &ue)
	require.Equal(t, "scale", ue.Field)
	require.Equal(t, 2, plan.Used("s"))
}

// TestAdmitShares: shares about to be revealed are checked for receiver,
// layout, length, scale and count; a step declared at a level is one of
// ciphertexts and refuses shares.
func TestAdmitShares(t *testing.T) {
	const logScale = 90
	shares := func(layout he.Layout, n int, logScale float64) *he.SharedVector {
		return &he.SharedVector{Layout: layout, Len: n, Scale: math.Exp2(logScale), Shares: []*he.Share{he.NewShare(16)}}
	}
	decl := Disclosure{Step: "w", To: fl.RoleActive, Layout: he.SlotSplit, Len: 4, Level: AnyLevel, LogScale: logScale, Vectors: 1}
	good := shares(he.SlotSplit, 4, logScale)
	for _, c := range []struct {
		name   string
		decl   Disclosure
		holder fl.Role
		sv     *he.SharedVector
		field  string
	}{
		{"declared", decl, fl.RolePassive, good, ""},
		{"wrong receiver", decl, fl.RoleActive, good, "receiver"},
		{"wrong layout", decl, fl.RolePassive, shares(he.SlotReal, 4, logScale), "layout"},
		{"wrong length", decl, fl.RolePassive, shares(he.SlotSplit, 5, logScale), "length"},
		{"wrong scale", decl, fl.RolePassive, shares(he.SlotSplit, 4, logScale+1), "scale"},
		{"no shares", decl, fl.RolePassive, &he.SharedVector{Layout: he.SlotSplit, Len: 4}, "ciphertexts"},
		{"a step of ciphertexts", func() Disclosure { d := decl; d.Level = 3; return d }(), fl.RolePassive, good, "level"},
	} {
		t.Run(c.name, func(t *testing.T) {
			plan := NewPlan(c.decl).HeldBy(t.Context(), c.holder)
			err := plan.AdmitShares("w", c.sv)
			if c.field == "" {
				require.NoError(t, err)
				var ue *UndeclaredError
				require.ErrorAs(t, plan.AdmitShares("w", c.sv), &ue, "one too many")
				require.Equal(t, "count", ue.Field)
				require.Equal(t, 1, plan.Used("w"))
				return
			}
			var ue *UndeclaredError
			require.ErrorAs(t, err, &ue)
			require.ErrorIs(t, err, ErrUndeclared)
			require.ErrorIs(t, err, fl.ErrProtocol)
			require.Equal(t, c.field, ue.Field, "%v", err)
			require.Equal(t, 0, plan.Used("w"))
		})
	}
}
