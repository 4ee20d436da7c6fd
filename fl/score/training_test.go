package score

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/veil-fl/veil/fl"
	"github.com/veil-fl/veil/fl/align"
	"github.com/veil-fl/veil/fl/link"
	"github.com/veil-fl/veil/model"
)

// trainingCases are pairs of training ids of the bank's and the center's
// half, and the refusal each pair meets ("" : scored).
var trainingCases = []struct {
	name, bank, center string
	want               []string
}{
	{"same training", "t-1", "t-1", nil},
	{"neither records one", "", "", nil},
	{"different trainings", "t-1", "t-2", []string{"is of training t-1, the center's of training t-2: halves of different trainings"}},
	{"only the bank's records one", "t-1", "", []string{"is of training t-1, the center's records no training"}},
	{"only the center's records one", "", "t-2", []string{"records no training, the center's is of training t-2"}},
}

// requireRefused checks a refusal of halves of different trainings: the
// center's reason, and the bank told it before any scoring.
func requireRefused(t *testing.T, bankErr, centerErr error, want []string) {
	t.Helper()
	require.ErrorIs(t, centerErr, ErrMismatch)
	require.ErrorIs(t, bankErr, fl.ErrPeerAborted)
	for _, w := range want {
		require.ErrorContains(t, centerErr, w)
		require.ErrorContains(t, bankErr, w)
	}
}

// Scoring a scorecard or a tree ensemble half by half refuses halves of
// different trainings, and of which only one records its training, at the
// run's setup: before anything is encrypted or compared.
func TestTrainingChecked(t *testing.T) {
	bank, center := parties(t)
	r := rand.New(rand.NewPCG(8, 8))
	const n, d = 200, 2
	card := model.Scorecard{BasePoints: 600, PDO: 40, BaseOdds: 2}
	half := func(party model.Role, base float64, training string) *model.ScorecardHalf {
		h := &model.ScorecardHalf{Version: model.ScorecardVersion, Party: party, BasePoints: base, Training: training}
		for c := range d {
			h.Features = append(h.Features, model.ScorecardFeature{Name: fmt.Sprint("f", c), Column: c,
				Cuts: []float64{-0.5, 0.5}, Points: normals(r, 3, 20)})
		}
		require.NoError(t, h.Validate())
		return h
	}
	xb, xc := normals(r, n*d, 1), normals(r, n*d, 1)
	_, am, pm, tb, tc := splitModel(t, n, 3, 4, 3, 5)
	o := Options{Output: Scores}
	for _, c := range trainingCases {
		t.Run("scorecard/"+c.name, func(t *testing.T) {
			var res *Result
			// The halves are drawn here: the parties' goroutines share no
			// generator.
			hb, hc := half(model.Active, 555, c.bank), half(model.Passive, 0, c.center)
			be, ce, _ := run(nil,
				func(ctx context.Context, tr fl.Transport) (err error) {
					res, err = ScorecardActive(ctx, tr, bank, card, hb, xb, d, o)
					return err
				},
				func(ctx context.Context, tr fl.Transport) error {
					return ScorecardPassive(ctx, tr, center, card, hc, xc, d, o)
				})
			if c.want == nil {
				require.NoError(t, be)
				require.NoError(t, ce)
				require.Len(t, res.Logits, n)
				return
			}
			requireRefused(t, be, ce, append(c.want, "linear model"))
		})
		t.Run("trees/"+c.name, func(t *testing.T) {
			a, p := *am, *pm
			a.Training, p.Training = c.bank, c.center
			var res *Result
			be, ce, _ := run(nil,
				func(ctx context.Context, tr fl.Transport) (err error) {
					res, err = TreesActive(ctx, tr, bank, &a, tb, 3, o)
					return err
				},
				func(ctx context.Context, tr fl.Transport) error { return TreesPassive(ctx, tr, center, &p, tc, 4, o) })
			if c.want == nil {
				require.NoError(t, be)
				require.NoError(t, ce)
				require.Len(t, res.Logits, n)
				return
			}
			requireRefused(t, be, ce, append(c.want, "trees model"))
		})
	}
}

// The service refuses a bank's request with a half of another training,
// or with an id on one side only, before the private set intersection.
func TestServiceTrainingChecked(t *testing.T) {
	f := newServiceFixture(t, 300)
	o := Options{Output: Bands, Cuts: LogitCuts(0)}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	for _, c := range trainingCases {
		for _, m := range []string{ModelLR, ModelTrees} {
			t.Run(m+"/"+c.name, func(t *testing.T) {
				lrB, lrC, trB, trC := *f.lrBank, *f.lrCenter, *f.treesBank, *f.treesCenter
				lrB.Training, trB.Training = c.bank, c.bank
				lrC.Training, trC.Training = c.center, c.center
				addr, pki := f.serve(t, o, 4, func(s *Service) { s.LR, s.Trees = &lrC, &trC })
				tr, err := link.Dial(ctx, addr, link.GRPCOptions{TLS: pki.ClientTLS("bank0", "center")})
				require.NoError(t, err)
				defer tr.Close()
				tap := &recvTap{}
				var s *Scored
				if m == ModelLR {
					s, err = RequestLR(ctx, tap.wrap(tr), f.bank.IDs, f.bank.X, &lrB, o)
				} else {
					s, err = RequestTrees(ctx, tap.wrap(tr), f.bank.IDs, f.bank.X, f.bank.Cols(), &trB, o)
				}
				if c.want == nil {
					require.NoError(t, err)
					require.NoError(t, f.check(s, m, o))
					return
				}
				require.ErrorIs(t, err, fl.ErrPeerAborted)
				for _, w := range append(c.want, m+" model") {
					require.ErrorContains(t, err, w)
				}
				require.False(t, tap.saw(align.TypeBlinded), "refused before the intersection")
				require.False(t, tap.saw(align.TypeMode), "refused before the intersection")
				require.False(t, tap.saw(align.TypeKKRT), "refused before the intersection")
				require.False(t, tap.saw(align.TypeUpdate), "refused before the intersection")
				require.False(t, tap.saw(align.TypeReply), "refused before the intersection")
			})
		}
	}
}
