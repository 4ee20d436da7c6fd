package score

import (
	"context"
	"fmt"
	"math"

	"github.com/veil-fl/veil/fl"
	"github.com/veil-fl/veil/he"
)

// LinearPassive is the center's side of scoring an additively split model
// (LR, or a WOE scorecard on the logit scale): u holds its partial scores
// (model.LRHalf.PartialScore, of rows whose categorical columns
// model.LRHalf.Encode mapped to the half's levels by label), one per record
// in the order both parties aligned. With Scores it encrypts them batch by
// batch and helps decrypt the bank's sums; with Bands it runs the
// comparisons of bands.go (p may then be nil: no key is used). It learns
// nothing about the records' scores.
func LinearPassive(ctx context.Context, t fl.Transport, p *he.Party, u []float64, opt Options) error {
	return linearPassive(ctx, t, p, u, opt, "")
}

// linearPassive is LinearPassive for the center's half of a model that
// records training (its id, or ""): the bank's setup must name the same.
func linearPassive(ctx context.Context, t fl.Transport, p *he.Party, u []float64, opt Options, training string) (err error) {
	defer fl.AbortOnError(ctx, t, &err)
	o, err := opt.normalize()
	if err != nil {
		return fl.Fail(ctx, t, err)
	}
	defer o.logRun(kindLinear, len(u))(&err)
	if err := finiteScores(u, "the center's"); err != nil {
		return fl.Fail(ctx, t, err)
	}
	if _, err := recvSetup(ctx, t, kindLinear, len(u), o, training); err != nil {
		return err
	}
	if o.Output == Bands {
		if err := checkBandInputs(u, "the center's"); err != nil {
			return fl.Fail(ctx, t, err)
		}
		return linearBandsCenter(ctx, t, u, o)
	}
	level := o.encLevel(0)
	return centerLoop(ctx, t, p, o, len(u), func(lo, hi int) ([]byte, error) {
		v, err := p.EncryptAt(u[lo:hi], level)
		if err != nil {
			return nil, err
		}
		return p.Params().MarshalVector(v)
	})
}

// LinearActive is the bank's side: u holds its partial scores with the
// intercept (model.LRHalf.PartialScore). It adds them to the center's
// encrypted ones and learns, per record, the logit (Scores), or only the
// band (Bands, by secure comparison; p may then be nil).
func LinearActive(ctx context.Context, t fl.Transport, p *he.Party, u []float64, opt Options) (*Result, error) {
	return linearActive(ctx, t, p, u, opt, "")
}

// linearActive is LinearActive for the bank's half of a model that records
// training (its id, or ""), which its setup names for the center to check.
func linearActive(ctx context.Context, t fl.Transport, p *he.Party, u []float64, opt Options, training string) (_ *Result, err error) {
	defer fl.AbortOnError(ctx, t, &err)
	o, err := opt.normalize()
	if err != nil {
		return nil, fl.Fail(ctx, t, err)
	}
	defer o.logRun(kindLinear, len(u))(&err)
	if err := finiteScores(u, "the bank's"); err != nil {
		return nil, fl.Fail(ctx, t, err)
	}
	s := setup{Kind: kindLinear, Rows: len(u), Output: o.Output, Cuts: o.Cuts.v, BatchRows: o.BatchRows, Training: training, Disclose: setupDisclose(o.Disclose)}
	if o.Output == Bands {
		if err := checkBandInputs(u, "the bank's"); err != nil {
			return nil, fl.Fail(ctx, t, err)
		}
	}
	if err := fl.SendJSON(ctx, t, TypeSetup, s); err != nil {
		return nil, err
	}
	if o.Output == Bands {
		return linearBandsBank(ctx, t, u, o)
	}
	level := o.encLevel(0)
	return bankLoop(ctx, t, p, o, len(u), func(lo, hi int, enc []byte) (*he.Vector, error) {
		v, err := p.Params().UnmarshalVector(enc)
		if err == nil && (v.Layout != he.SlotReal || v.Len != hi-lo || v.Level() != level) {
			err = fmt.Errorf("%w: a batch of %d records arrives as a %s vector of %d at level %d, want level %d",
				ErrProtocol, hi-lo, v.Layout, v.Len, v.Level(), level)
		}
		if err != nil {
			return nil, fmt.Errorf("score: the center's partial scores: %w", err)
		}
		return v, p.AddPlain(v, u[lo:hi])
	})
}

// finiteScores refuses a partial score that is not a finite number; its
// error, which the peer is told, names the record, not the value.
func finiteScores(u []float64, whose string) error {
	for i, v := range u {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("%w: %s partial score of record %d is not a finite number", ErrOptions, whose, i)
		}
	}
	return nil
}
