package main

import (
	"context"
	"fmt"
	"math"
	mrand "math/rand/v2"

	"github.com/veil-fl/veil/fl"
	"github.com/veil-fl/veil/fl/boost"
	"github.com/veil-fl/veil/fl/score"
	"github.com/veil-fl/veil/he"
	"github.com/veil-fl/veil/internal/hetest"
	"github.com/veil-fl/veil/model"
)

// gradeCuts are five grades (A-E) on the logit scale.
var gradeCuts = score.LogitCuts(-3, -2, -1, 0)

// scoreRun times one scoring run over the in-memory transport and returns
// records per second (median of runs).
func scoreRun(runs, rows int, bank func(context.Context, fl.Transport) error, center func(context.Context, fl.Transport) error) (float64, error) {
	sec, err := median(runs, func() error {
		ta, tc := fl.NewPipe()
		defer ta.Close()
		defer tc.Close()
		ctx := context.Background()
		done := make(chan error, 1)
		go func() { done <- center(ctx, tc) }()
		if err := bank(ctx, ta); err != nil {
			return err
		}
		return <-done
	})
	return float64(rows) / sec, err
}

func scoreKeys() (bank, center *he.Party, err error) {
	return hetest.LocalPair(score.Params(), score.KeySpec(), seed)
}

func benchScoreLR(runs int) ([]figure, error) {
	const n, db, dc = 1 << 18, 30, 30
	r := mrand.New(mrand.NewPCG(6, 6))
	xb, xc := normal(r, n*db), normal(r, n*dc)
	hb := &model.LRHalf{Version: model.LRVersion, Party: model.Active, Features: names(db), Standardizer: identity(db), Weights: normal(r, db), Intercept: -1.5}
	hc := &model.LRHalf{Version: model.LRVersion, Party: model.Passive, Features: names(dc), Standardizer: identity(dc), Weights: normal(r, dc)}
	for _, w := range [][]float64{hb.Weights, hc.Weights} {
		for i := range w {
			w[i] *= 0.1
		}
	}
	bank, center, err := scoreKeys()
	if err != nil {
		return nil, err
	}
	var figs []figure
	for _, o := range []score.Options{{Output: score.Scores}, {Output: score.Bands, Cuts: gradeCuts}} {
		rate, err := scoreRun(runs, n,
			func(ctx context.Context, t fl.Transport) error {
				u := make([]float64, n)
				if err := hb.PartialScore(xb, u); err != nil {
					return err
				}
				_, err := score.LinearActive(ctx, t, bank, u, o)
				return err
			},
			func(ctx context.Context, t fl.Transport) error {
				u := make([]float64, n)
				if err := hc.PartialScore(xc, u); err != nil {
					return err
				}
				return score.LinearPassive(ctx, t, center, u, o)
			})
		if err != nil {
			return nil, err
		}
		name, what := "score_lr", "scores: the center's encryption (linear14 N=2^14), the bank's combination, joint decryption of the logit to the bank; keys excluded"
		if o.Output == score.Bands {
			name, what = "score_lr_bands", "bands only, 5 grades by secure comparison: OT setup included, fixed-point shares, CrypTFlow2 millionaires' on IKNP OT extension (about 1,960 bytes a record); no score exists, no key"
		}
		figs = append(figs, figure{Name: name, Value: rate, Unit: "records/s",
			Note: fmt.Sprintf("LR scoring end to end, %d records x (%d bank + %d center) features, partial scores included, both parties in one process over the in-memory transport; %s; %s", n, db, dc, what, cores())})
	}
	return figs, nil
}

func benchScoreGBDT(runs int) ([]figure, error) {
	const train, n, db, dc = 20_000, 1 << 16, 10, 10
	r := mrand.New(mrand.NewPCG(7, 7))
	gen := func(rows int) (xb, xc, y []float64) {
		xb, xc, y = normal(r, rows*db), normal(r, rows*dc), make([]float64, rows)
		for i := range y {
			z := xb[i*db] - xc[i*dc] + 0.5*xc[i*dc+1]*xb[i*db+1] + xc[i*dc+2]*xc[i*dc+3] - xb[i*db+2]
			if r.Float64() < 1/(1+math.Exp(-z)) {
				y[i] = 1
			}
		}
		return xb, xc, y
	}
	tb, tc, ty := gen(train)
	g, err := model.TrainGBDT(model.JoinColumns(tb, db, tc, dc), ty, db+dc, model.GBDTOptions{Trees: 50, MaxDepth: 3})
	if err != nil {
		return nil, err
	}
	am, pm, err := boost.SplitGBDT(g, db)
	if err != nil {
		return nil, err
	}
	xb, xc, _ := gen(n)
	bank, center, err := scoreKeys()
	if err != nil {
		return nil, err
	}
	var figs []figure
	for _, o := range []score.Options{{Output: score.Scores}, {Output: score.Bands, Cuts: gradeCuts}} {
		rate, err := scoreRun(runs, n,
			func(ctx context.Context, t fl.Transport) error {
				_, err := score.TreesActive(ctx, t, bank, am, xb, db, o)
				return err
			},
			func(ctx context.Context, t fl.Transport) error {
				return score.TreesPassive(ctx, t, center, pm, xc, dc, o)
			})
		if err != nil {
			return nil, err
		}
		name, what := "score_gbdt_50x3", "scores: path indicators encrypted (linear14 N=2^14), combined, the logit jointly decrypted; keys excluded"
		if o.Output == score.Bands {
			name, what = "score_gbdt_50x3_bands", "bands only, 5 grades by secure comparison: OT setup included, one correlated OT per record and center split, CrypTFlow2 millionaires'; no score exists, no key"
		}
		figs = append(figs, figure{Name: name, Value: rate, Unit: "records/s",
			Note: fmt.Sprintf("scoring of 50 trees of depth 3 (%d of %d splits on the center's side, trained on %d rows x (%d + %d) features) end to end, %d records, both parties in one process over the in-memory transport; %s; %s",
				len(pm.Splits), len(pm.Splits)+am.CountSplits(model.Active), train, db, dc, n, what, cores())})
	}
	return figs, nil
}

func names(d int) []string {
	s := make([]string, d)
	for i := range s {
		s[i] = fmt.Sprintf("f%d", i)
	}
	return s
}

func identity(d int) model.Standardizer {
	s := model.Standardizer{Mean: make([]float64, d), Std: make([]float64, d)}
	for i := range s.Std {
		s.Std[i] = 1
	}
	return s
}
