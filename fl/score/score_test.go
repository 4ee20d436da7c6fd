package score

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/veil-fl/veil/fl"
	"github.com/veil-fl/veil/fl/boost"
	"github.com/veil-fl/veil/fl/fltest"
	"github.com/veil-fl/veil/fl/joint"
	"github.com/veil-fl/veil/he"
	"github.com/veil-fl/veil/internal/hetest"
	"github.com/veil-fl/veil/model"
)

var (
	pairOnce           sync.Once
	bankKey, centerKey *he.Party
)

// parties returns one threshold key pair for all tests (key generation over
// a transport is fl's, tested there).
func parties(t testing.TB) (bank, center *he.Party) {
	pairOnce.Do(func() {
		var err error
		bankKey, centerKey, err = hetest.LocalPair(Params(), KeySpec(), []byte("veil-score-test-seed"))
		if err != nil {
			t.Fatal(err)
		}
	})
	return bankKey, centerKey
}

// run runs the two sides over a pipe and returns their errors.
func run(opts []fltest.Fault, bank func(context.Context, fl.Transport) error, center func(context.Context, fl.Transport) error) (bankErr, centerErr error, stats fl.Stats) {
	ta, tc := fltest.NewPipe(opts...)
	defer ta.Close()
	defer tc.Close()
	ctx := context.Background()
	done := make(chan error, 1)
	go func() { done <- center(ctx, tc) }()
	bankErr = bank(ctx, ta)
	return bankErr, <-done, ta.Stats()
}

func normals(r *rand.Rand, n int, sd float64) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = r.NormFloat64() * sd
	}
	return v
}

// scoresPrecision is how close decrypted scores come to the plaintext
// logits (CKKS), and so how near a cut a band computed from them may differ.
const scoresPrecision = 1e-4

// refSlack covers the float64 rounding of the plaintext reference logits
// (sums of a few dozen doubles below 2^9), which the fixed-point derivation
// of BandEpsilon does not see: six orders of magnitude below the epsilon.
const refSlack = 1e-12

// agreement checks the contract of the issues: scores within
// scoresPrecision of the plaintext logits, at least 99.9% of the bands
// equal, and a band that differs only for a logit near a cut: within
// scoresPrecision for bands from decrypted scores, within the documented
// BandEpsilon(terms) for band output (terms: 2 for a linear model, 1 + the
// center's splits for trees).
func agreement(t *testing.T, res *Result, want []float64, o Options, terms int) {
	t.Helper()
	if o.Output == Scores || (o.Output == 0 && o.Cuts.Len() == 0) {
		require.Len(t, res.Logits, len(want))
		worst := 0.0
		for i := range want {
			worst = math.Max(worst, math.Abs(res.Logits[i]-want[i]))
		}
		t.Logf("max |score - plaintext| = %.2e", worst)
		require.Less(t, worst, 1e-4)
	} else {
		require.Nil(t, res.Logits, "band output reveals no scores")
	}
	if o.Cuts.Len() > 0 {
		require.Len(t, res.Bands, len(want))
		eps := scoresPrecision
		if o.Output == Bands {
			eps = BandEpsilon(terms) + refSlack
		}
		differ := 0
		for i, z := range want {
			if res.Bands[i] != Band(z, o.Cuts) {
				differ++
				near := math.Inf(1)
				for _, c := range o.Cuts.Logits() {
					near = math.Min(near, math.Abs(z-c))
				}
				require.LessOrEqual(t, near, eps, "record %d: logit %v, band %d, want %d, %.3g from a cut", i, z, res.Bands[i], Band(z, o.Cuts), near)
			}
		}
		t.Logf("bands differ on %d of %d records (allowed within %.3g of a cut)", differ, len(want), eps)
		require.LessOrEqual(t, float64(differ), 0.001*float64(len(want)))
	}
}

func TestLinear(t *testing.T) {
	bank, center := parties(t)
	r := rand.New(rand.NewPCG(1, 1))
	n := 20000 // three batches of 8192, the last partial
	ub, uc := normals(r, n, 2), normals(r, n, 1.5)
	want := make([]float64, n)
	for i := range want {
		want[i] = ub[i] + uc[i]
	}
	grades := LogitCuts(-2, -1, 0, 1, 2)
	for _, tc := range []struct {
		name string
		o    Options
	}{
		{"scores", Options{BatchRows: 8192}},
		{"scores and bands", Options{Output: Scores, Cuts: grades, BatchRows: 8192}},
		{"bands", Options{Cuts: grades, BatchRows: 8192}},
		{"approve or decline", Options{Output: Bands, Cuts: LogitCuts(0.5)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var res *Result
			be, ce, st := run(nil,
				func(ctx context.Context, tr fl.Transport) (err error) {
					res, err = LinearActive(ctx, tr, bank, ub, tc.o)
					return err
				},
				func(ctx context.Context, tr fl.Transport) error { return LinearPassive(ctx, tr, center, uc, tc.o) })
			require.NoError(t, be)
			require.NoError(t, ce)
			t.Logf("%d messages, %.1f bytes per record both ways", st.SentMessages+st.RecvMessages, float64(st.SentBytes+st.RecvBytes)/float64(n))
			o, _ := tc.o.normalize()
			agreement(t, res, want, o, 2)
		})
	}
}

// splitModel trains a plaintext ensemble on [bank | center] columns and
// cuts it into the two halves.
func splitModel(t testing.TB, n, db, dc, trees int, seed uint64) (*model.GBDT, *boost.ActiveModel, *boost.PassiveModel, []float64, []float64) {
	r := rand.New(rand.NewPCG(seed, 7))
	xb, xc := normals(r, n*db, 1), normals(r, n*dc, 1)
	y := make([]float64, n)
	for i := range y {
		z := xb[i*db] - xc[i*dc] + xc[i*dc+1]*xb[i*db+1] + 0.5*r.NormFloat64()
		if z > 0 {
			y[i] = 1
		}
		if i%17 == 0 {
			xc[i*dc+2] = math.NaN() // missing values take the learned direction
		}
	}
	x := model.JoinColumns(xb, db, xc, dc)
	g, err := model.TrainGBDT(x, y, db+dc, model.GBDTOptions{Trees: trees, MaxDepth: 3})
	require.NoError(t, err)
	a, p, err := boost.SplitGBDT(g, db)
	require.NoError(t, err)
	return g, a, p, xb, xc
}

func TestTrees(t *testing.T) {
	bank, center := parties(t)
	const db, dc = 3, 4
	n := 10000
	if testing.Short() { // the race detector's pass
		n = 2000
	}
	g, am, pm, xb, xc := splitModel(t, n, db, dc, 12, 3)
	want, err := g.PredictLogit(model.JoinColumns(xb, db, xc, dc), db+dc)
	require.NoError(t, err)
	require.NotEmpty(t, pm.Splits)
	t.Logf("%d trees, %d center splits", len(am.Trees), len(pm.Splits))
	cuts := LogitCuts(-3, -1, 0, 1.5)
	for _, o := range []Options{{BatchRows: 8192}, {Cuts: cuts}} {
		t.Run(o.Output.String()+"/"+map[bool]string{true: "bands", false: "scores"}[o.Cuts.Len() > 0], func(t *testing.T) {
			var res *Result
			be, ce, st := run(nil,
				func(ctx context.Context, tr fl.Transport) (err error) {
					res, err = TreesActive(ctx, tr, bank, am, xb, db, o)
					return err
				},
				func(ctx context.Context, tr fl.Transport) error { return TreesPassive(ctx, tr, center, pm, xc, dc, o) })
			require.NoError(t, be)
			require.NoError(t, ce)
			t.Logf("%.0f bytes per record both ways", float64(st.SentBytes+st.RecvBytes)/float64(n))
			o, _ := o.normalize()
			agreement(t, res, want, o, 1+len(pm.Splits))
		})
	}
}

func TestTreesEdgeModels(t *testing.T) {
	bank, center := parties(t)
	const n, db, dc = 300, 3, 4
	r := rand.New(rand.NewPCG(5, 5))
	y := make([]float64, n)
	for i := range y {
		y[i] = float64(r.IntN(2))
	}
	// One party's columns constant: every split is the other's. With only
	// center splits every path is encrypted; with none, nothing is.
	for _, constant := range []string{"bank", "center"} {
		t.Run("constant "+constant, func(t *testing.T) {
			xb, xc := normals(r, n*db, 1), normals(r, n*dc, 1)
			if constant == "bank" {
				clear(xb)
			} else {
				clear(xc)
			}
			x := model.JoinColumns(xb, db, xc, dc)
			g, err := model.TrainGBDT(x, y, db+dc, model.GBDTOptions{Trees: 3, MaxDepth: 3})
			require.NoError(t, err)
			want, err := g.PredictLogit(x, db+dc)
			require.NoError(t, err)
			am, pm, err := boost.SplitGBDT(g, db)
			require.NoError(t, err)
			require.Equal(t, constant == "center", len(pm.Splits) == 0)
			var res *Result
			be, ce, _ := run(nil,
				func(ctx context.Context, tr fl.Transport) (err error) {
					res, err = TreesActive(ctx, tr, bank, am, xb, db, Options{})
					return err
				},
				func(ctx context.Context, tr fl.Transport) error {
					return TreesPassive(ctx, tr, center, pm, xc, dc, Options{})
				})
			require.NoError(t, be)
			require.NoError(t, ce)
			agreement(t, res, want, Options{Output: Scores}, 0)
		})
	}

	t.Run("the center holds another model", func(t *testing.T) {
		_, am, _, xb, xc := splitModel(t, n, db, dc, 4, 8)
		_, _, other, _, _ := splitModel(t, n, db, dc, 5, 9)
		be, ce, _ := run(nil,
			func(ctx context.Context, tr fl.Transport) error {
				_, err := TreesActive(ctx, tr, bank, am, xb, db, Options{})
				return err
			},
			func(ctx context.Context, tr fl.Transport) error {
				return TreesPassive(ctx, tr, center, other, xc, dc, Options{})
			})
		require.ErrorIs(t, ce, ErrMismatch)
		require.Error(t, be)
	})
}

func TestRefusals(t *testing.T) {
	bank, center := parties(t)
	u := []float64{0.1, -0.2, 0.3}
	cases := []struct {
		name         string
		bankO, ctrO  Options
		ub, uc       []float64
		wantBank     error
		wantCenter   error
		centerRefuse bool
	}{
		{"the center allows bands only", Options{Output: Scores}, Options{Cuts: LogitCuts(0)}, u, u, nil, ErrMismatch, true},
		{"other cuts", Options{Cuts: LogitCuts(0)}, Options{Cuts: LogitCuts(1)}, u, u, nil, ErrMismatch, true},
		{"other rows", Options{}, Options{}, u, u[:2], nil, ErrMismatch, true},
		{"cuts not ascending", Options{Cuts: LogitCuts(1, 0)}, Options{Cuts: LogitCuts(1, 0)}, u, u, ErrOptions, ErrOptions, false},
		{"cut out of range", Options{Cuts: LogitCuts(600)}, Options{Cuts: LogitCuts(600)}, u, u, ErrOptions, ErrOptions, false},
		{"too many cuts", Options{Cuts: LogitCuts(make([]float64, 40)...)}, Options{Cuts: LogitCuts(make([]float64, 40)...)}, u, u, ErrOptions, ErrOptions, false},
		{"bank's partial score out of band range", Options{Cuts: LogitCuts(0)}, Options{Cuts: LogitCuts(0)}, []float64{0, 700, 0}, u, ErrOptions, nil, false},
		{"center's partial score out of band range", Options{Cuts: LogitCuts(0)}, Options{Cuts: LogitCuts(0)}, u, []float64{0, -700, 0}, nil, ErrOptions, false},
		{"bands without cuts", Options{Output: Bands}, Options{Output: Bands}, u, u, ErrOptions, ErrOptions, false},
		{"NaN partial score", Options{}, Options{}, []float64{math.NaN(), 0, 0}, u, ErrOptions, nil, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			be, ce, _ := run(nil,
				func(ctx context.Context, tr fl.Transport) error {
					_, err := LinearActive(ctx, tr, bank, tc.ub, tc.bankO)
					return err
				},
				func(ctx context.Context, tr fl.Transport) error {
					return LinearPassive(ctx, tr, center, tc.uc, tc.ctrO)
				})
			require.Error(t, be)
			require.Error(t, ce)
			if tc.wantBank != nil {
				require.ErrorIs(t, be, tc.wantBank)
			}
			if tc.wantCenter != nil {
				require.ErrorIs(t, ce, tc.wantCenter)
			}
			if tc.centerRefuse {
				require.ErrorContains(t, be, "differ", "the bank hears why")
			}
		})
	}
}

// TestHostileMessages tampers with each kind of message on its way and
// checks both sides stop with an error instead of a panic, a hang or a
// wrong answer.
func TestHostileMessages(t *testing.T) {
	bank, center := parties(t)
	r := rand.New(rand.NewPCG(2, 2))
	n := 1000
	ub, uc := normals(r, n, 1), normals(r, n, 1)
	for _, tc := range []struct {
		o     Options
		types []string
	}{
		{Options{}, []string{TypeEnc, TypeScores, TypeOut}},
		{Options{Cuts: LogitCuts(0, 1)}, []string{TypeOT, TypeBand}},
	} {
		for _, typ := range tc.types {
			for name, mangle := range map[string]func([]byte) []byte{
				"truncated": func(b []byte) []byte { return b[:len(b)/2] },
				"garbage":   func(b []byte) []byte { return []byte("not a vector at all") },
				"empty":     func(b []byte) []byte { return nil },
			} {
				t.Run(typ+"/"+name, func(t *testing.T) {
					tamper := fltest.Tamper(func(m fl.Message) fl.Message {
						if m.Type == typ {
							m.Payload = mangle(m.Payload)
						}
						return m
					})
					be, ce, _ := run([]fltest.Fault{tamper},
						func(ctx context.Context, tr fl.Transport) error {
							_, err := LinearActive(ctx, tr, bank, ub, tc.o)
							return err
						},
						func(ctx context.Context, tr fl.Transport) error { return LinearPassive(ctx, tr, center, uc, tc.o) })
					require.Error(t, be)
					if typ == TypeOut {
						// The center has answered; the bank refuses the answer.
						return
					}
					require.Error(t, ce)
				})
			}
		}
	}

	// Well-formed vectors the center must not help decrypt: another length
	// than one score per record of the batch (refused by its shape check),
	// or the right length at a level the plan does not declare, where the
	// noise and the flooding were not sized (refused as undeclared). The
	// bank is told either way.
	longer, err := bank.EncryptAt(make([]float64, n+1), 1)
	require.NoError(t, err)
	high, err := bank.EncryptAt(make([]float64, n), he.Linear14.DecryptLevel+1)
	require.NoError(t, err)
	for _, c := range []struct {
		name string
		v    *he.Vector
		want error
	}{
		{"scores of another length", longer, ErrProtocol},
		{"scores at another level", high, joint.ErrUndeclared},
	} {
		t.Run(c.name, func(t *testing.T) {
			payload, err := bank.Params().MarshalVector(c.v)
			require.NoError(t, err)
			tamper := fltest.Tamper(func(m fl.Message) fl.Message {
				if m.Type == TypeScores {
					m.Payload = payload
				}
				return m
			})
			be, ce, _ := run([]fltest.Fault{tamper},
				func(ctx context.Context, tr fl.Transport) error {
					_, err := LinearActive(ctx, tr, bank, ub, Options{})
					return err
				},
				func(ctx context.Context, tr fl.Transport) error { return LinearPassive(ctx, tr, center, uc, Options{}) })
			require.ErrorIs(t, ce, c.want)
			require.ErrorIs(t, be, fl.ErrPeerAborted)
		})
	}
}

func TestCutConversions(t *testing.T) {
	cuts, err := ProbabilityCuts([]float64{0.02, 0.1, 0.5})
	require.NoError(t, err)
	for i, p := range []float64{0.02, 0.1, 0.5} {
		require.InDelta(t, p, model.Logistic(cuts.Logits()[i]), 1e-12)
	}
	for _, bad := range [][]float64{{0}, {0.2, 0.1}, {1}, {math.NaN()}} {
		_, err := ProbabilityCuts(bad)
		require.ErrorIs(t, err, ErrOptions)
	}
	card := model.Scorecard{}
	pc, err := PointCuts(card, []float64{600, 500, 550})
	require.NoError(t, err)
	require.IsIncreasing(t, pc.Logits())
	for _, c := range pc.Logits() {
		pts := card.PointsFromLogit(c)
		require.True(t, math.Abs(pts-600) < 1e-9 || math.Abs(pts-500) < 1e-9 || math.Abs(pts-550) < 1e-9, "%v", pts)
	}
	// Points of 560 are below 600 and above 550 and 500: one boundary.
	z := (card.PointsFromLogit(0) - 560) / (card.PointsFromLogit(0) - card.PointsFromLogit(1))
	require.Equal(t, 1, Band(z, pc))
	res := &Result{Logits: []float64{0}}
	require.Equal(t, []float64{0.5}, res.Probabilities())
}

func TestScorecard(t *testing.T) {
	bank, center := parties(t)
	r := rand.New(rand.NewPCG(4, 4))
	const n, d = 3000, 3
	card := model.Scorecard{BasePoints: 600, PDO: 40, BaseOdds: 2}
	half := func(party model.Role, base float64) *model.ScorecardHalf {
		h := &model.ScorecardHalf{Version: model.ScorecardVersion, Party: party, BasePoints: base}
		for c := range d {
			h.Features = append(h.Features, model.ScorecardFeature{Name: fmt.Sprint("f", c), Column: c,
				Cuts: []float64{-0.5, 0.5}, Points: normals(r, 3, 20), MissingPoints: -5})
		}
		require.NoError(t, h.Validate())
		return h
	}
	hb, hc := half(model.Active, 555), half(model.Passive, 0)
	xb, xc := normals(r, n*d, 1), normals(r, n*d, 1)
	xc[4] = math.NaN()
	pb, pc := make([]float64, n), make([]float64, n)
	require.NoError(t, hb.PartialPoints(xb, d, pb))
	require.NoError(t, hc.PartialPoints(xc, d, pc))
	bounds := []float64{520, 560, 600}
	cuts, err := PointCuts(card, bounds)
	require.NoError(t, err)
	o := Options{Output: Scores, Cuts: cuts}
	var res *Result
	be, ce, _ := run(nil,
		func(ctx context.Context, tr fl.Transport) (err error) {
			res, err = ScorecardActive(ctx, tr, bank, card, hb, xb, d, o)
			return err
		},
		func(ctx context.Context, tr fl.Transport) error {
			return ScorecardPassive(ctx, tr, center, card, hc, xc, d, o)
		})
	require.NoError(t, be)
	require.NoError(t, ce)
	for i := range pb {
		points := pb[i] + pc[i]
		require.InDelta(t, points, card.PointsFromLogit(res.Logits[i]), 1e-3, "record %d", i)
		below := 0 // boundaries the points fall below or on
		for _, b := range bounds {
			if points < b {
				below++
			}
		}
		if math.Abs(points-520) > 1e-3 && math.Abs(points-560) > 1e-3 && math.Abs(points-600) > 1e-3 {
			require.Equal(t, below, res.Bands[i], "record %d with %v points", i, points)
		}
	}
}

// TestScoresHideBankPart: without rerandomization the bank's encrypted
// scores would be the center's own ciphertext with c1 untouched and c0 off
// by exactly the bank's encoded partial scores; the center could subtract.
// The bank's message must share no component with the center's.
func TestScoresHideBankPart(t *testing.T) {
	bank, center := parties(t)
	r := rand.New(rand.NewPCG(6, 6))
	n := 500
	ub, uc := normals(r, n, 1), normals(r, n, 1)
	var enc, scores []byte
	watch := fltest.Tamper(func(m fl.Message) fl.Message {
		switch m.Type {
		case TypeEnc:
			enc = bytes.Clone(m.Payload)
		case TypeScores:
			scores = bytes.Clone(m.Payload)
		}
		return m
	})
	be, ce, _ := run([]fltest.Fault{watch},
		func(ctx context.Context, tr fl.Transport) error {
			_, err := LinearActive(ctx, tr, bank, ub, Options{})
			return err
		},
		func(ctx context.Context, tr fl.Transport) error { return LinearPassive(ctx, tr, center, uc, Options{}) })
	require.NoError(t, be)
	require.NoError(t, ce)
	e, err := Params().UnmarshalVector(enc)
	require.NoError(t, err)
	z, err := Params().UnmarshalVector(scores)
	require.NoError(t, err)
	require.Equal(t, e.Level(), z.Level())
	for i := range e.Cts {
		for k := range 2 {
			require.False(t, e.Cts[i].Value[k].Equal(&z.Cts[i].Value[k]), "ciphertext %d component %d sent back unchanged", i, k)
		}
	}
}

// TestBandEpsilonEdges puts logits where the fixed-point rounding hurts
// most: partial scores and cuts half a unit (u = 2^-20) off, each rounded
// the wrong way. Records within BandEpsilon(2) = 1.5u of a cut may come
// out on either side, and the worst cases do (the bound is attained: the
// window is [-0.5u, 1.5u] around the cut); every record farther than
// BandEpsilon from every cut gets its exact band.
func TestBandEpsilonEdges(t *testing.T) {
	u := math.Exp2(-BandFracBits)
	const d = 1.0 / 64 // a fraction of a unit: rounding goes the way chosen
	eps := BandEpsilon(2)
	require.Equal(t, 1.5*u, eps)
	// c1 rounds up, c2 down, each by half a unit less d.
	m1, m2 := 300.0, 4000.0
	c1, c2 := (m1-0.5+d)*u, (m2+0.5-d)*u
	cuts := LogitCuts(c1, c2)
	var ub, uc []float64
	// Above c1 by (1.5 - 3d)u, both parts rounded down: the band says below.
	ub, uc = append(ub, (150+0.5-d)*u), append(uc, (m1-150+0.5-d)*u)
	// Below c2 by (0.5 - 3d)u, both parts rounded up: the band says above.
	ub, uc = append(ub, (2000-0.5+d)*u), append(uc, (m2+1-2000-0.5+d)*u)
	worst := len(ub)
	r := rand.New(rand.NewPCG(15, 15))
	for range 400 {
		c := []float64{c1, c2}[r.IntN(2)]
		off := eps * (1 + 1e-6 + 3*r.Float64())
		if r.IntN(2) == 0 {
			off = -off
		}
		b := r.NormFloat64() * 0.01
		ub, uc = append(ub, b), append(uc, c+off-b)
	}
	o := Options{Cuts: cuts}
	var res *Result
	be, ce, _ := run(nil,
		func(ctx context.Context, tr fl.Transport) (err error) {
			res, err = LinearActive(ctx, tr, nil, ub, o)
			return err
		},
		func(ctx context.Context, tr fl.Transport) error { return LinearPassive(ctx, tr, nil, uc, o) })
	require.NoError(t, be)
	require.NoError(t, ce)
	for i := range ub {
		z := ub[i] + uc[i]
		near := math.Min(math.Abs(z-c1), math.Abs(z-c2))
		if i < worst {
			require.LessOrEqual(t, near, eps, "record %d", i)
			require.NotEqual(t, Band(z, cuts), res.Bands[i], "record %d, %.3fu from a cut, rounded the worst way", i, near/u)
			continue
		}
		require.Greater(t, near, eps)
		require.Equal(t, Band(z, cuts), res.Bands[i], "record %d, %.3fu from a cut", i, near/u)
	}
}
