package joint_test

import (
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/veil-fl/veil/fl"
	"github.com/veil-fl/veil/fl/boost"
	"github.com/veil-fl/veil/fl/joint"
	"github.com/veil-fl/veil/fl/score"
	"github.com/veil-fl/veil/fl/woe"
	"github.com/veil-fl/veil/he"
	"github.com/veil-fl/veil/internal/hetest"
	"github.com/veil-fl/veil/model"
)

// undeclared is one vector a protocol's plan must refuse, after uses
// honest vectors of the step, for the field named.
type undeclared struct {
	name  string
	v     *he.Vector
	uses  int
	field string
}

// refuses admits uses honest vectors of the step into a fresh copy of the
// plan held by the center, then requires c.v to be refused for c.field.
func refuses(t *testing.T, p he.Params, plan *joint.Plan, step string, honest *he.Vector, cases []undeclared) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			held := plan.HeldBy(t.Context(), fl.RolePassive)
			for range c.uses {
				require.NoError(t, held.Admit(p, step, honest))
			}
			err := held.Admit(p, step, c.v)
			var ue *joint.UndeclaredError
			require.ErrorAs(t, err, &ue)
			require.ErrorIs(t, err, joint.ErrUndeclared)
			require.Equal(t, step, ue.Step)
			require.Equal(t, c.field, ue.Field, "%v", err)
			require.Equal(t, c.uses, held.Used(step))
		})
	}
}

// at returns v with its ciphertexts dropped to level l.
func at(v *he.Vector, l int) *he.Vector {
	for _, ct := range v.Cts {
		ct.Resize(ct.Degree(), l)
	}
	return v
}

// TestProtocolPlansRefuse: the undeclared decryptions the protocols'
// hostile-peer tests cannot bring to the plan, because one of the center's
// checks of what the bank sends refuses them first, would be refused by the
// plan too. The vectors have the declared shape but for one field (the
// plans check layout, length, level and scale; the other fields of a vector
// are the histogram code's).
//
//   - boost: the center computes the histograms itself, from gradients it
//     checks as Coeff vectors at the top level, so a histogram of another
//     layout or level cannot arise; a level past the agreed depth is
//     refused before its histograms (TestUndeclaredHistogramsRefused), so
//     the count never runs over. Too long a histogram (a bank asking for
//     more nodes than a level has) does reach the plan:
//     TestUndeclaredHistogramLength in fl/boost.
//   - woe: the labels arrive seeded, which fixes their layout and level, and
//     their length is checked (TestUndeclaredCounts); the center releases
//     one vector per run.
//   - score: the center checks that the bank's scores are one slot value
//     per record of the batch before the plan, and answers one vector per
//     batch. Another level reaches the plan: TestUndeclaredScoresRefused.
func TestProtocolPlansRefuse(t *testing.T) {
	hist := he.MustParams(he.Hist13)
	a, _, err := hetest.LocalPair(hist, he.KeySpec{}, []byte("protocol-plans-test-seed-0123456"))
	require.NoError(t, err)
	const F, K = 2, 32
	grid := func(n int) *he.Vector {
		v, err := a.EncryptCoeffs(make([]float64, n), K)
		require.NoError(t, err)
		v.Layout = he.CoeffGrid // the plan checks the layout, not the packing
		return v
	}
	coeff := func(n int) *he.Vector {
		v, err := a.EncryptCoeffs(make([]float64, n), K)
		require.NoError(t, err)
		return v
	}

	t.Run("boost", func(t *testing.T) {
		o, err := model.GBDTOptions{Trees: 1, MaxDepth: 2}.WithDefaults()
		require.NoError(t, err)
		plan := boost.DisclosurePlan(o, 1000, F, K, 0)
		require.NoError(t, plan.HeldBy(t.Context(), fl.RolePassive).Admit(hist, boost.StepHistograms, grid(F*K)), "an honest level")
		refuses(t, hist, plan, boost.StepHistograms, grid(F*K), []undeclared{
			{"wrong layout", coeff(F * K), 0, "layout"},
			{"wrong level", at(grid(F*K), 0), 0, "level"},
			{"wrong length", grid(2 * F * K), 0, "length"},
			{"one too many", grid(F * K), 2 * o.MaxDepth, "count"},
		})
	})

	t.Run("woe", func(t *testing.T) {
		plan := woe.DisclosurePlan(F, K)
		refuses(t, hist, plan, woe.StepCounts, grid(F*K), []undeclared{
			{"wrong layout", coeff(F * K), 0, "layout"},
			{"wrong level", at(grid(F*K), 0), 0, "level"},
			{"wrong length", grid(F*K + 1), 0, "length"},
			{"one too many", grid(F * K), 1, "count"},
		})
	})

	t.Run("score", func(t *testing.T) {
		lin := score.Params()
		bank, _, err := hetest.LocalPair(lin, he.KeySpec{}, []byte("protocol-plans-test-seed-score-0"))
		require.NoError(t, err)
		scores := func(n, level int) *he.Vector {
			v, err := bank.EncryptAt(make([]float64, n), level)
			require.NoError(t, err)
			return v
		}
		const rows, batch = 250, 100
		dl := he.Linear14.DecryptLevel
		plan := score.DisclosurePlan(score.Options{Output: score.Scores, BatchRows: batch}, rows)
		require.NoError(t, plan.HeldBy(t.Context(), fl.RolePassive).Admit(lin, score.StepScores, scores(rows%batch, dl)), "the last, shorter batch")
		pairs, err := bank.EncryptComplexAt(make([]float64, batch), make([]float64, batch), dl)
		require.NoError(t, err)
		refuses(t, lin, plan, score.StepScores, scores(batch, dl), []undeclared{
			{"wrong layout", pairs, 0, "layout"},
			{"wrong length", scores(batch+1, dl), 0, "length"},
			{"wrong level", scores(batch, dl+1), 0, "level"},
			{"one too many", scores(batch, dl), (rows + batch - 1) / batch, "count"},
		})
	})
}
