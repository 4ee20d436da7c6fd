package job

import (
	"fmt"

	"github.com/veil-fl/veil/fl/vlr"
	"github.com/veil-fl/veil/model"
)

// Twin is a plaintext twin's outcome on the test rows: the same algorithm
// trained in one place on both parties' joined columns, which a federated
// training must match (the lossless check). Scores are higher for riskier
// rows, like Model.TestScores; Curve is LR's loss by epoch (the exact
// objective) or the trees' test AUC by tree.
type Twin struct {
	Scores, Points, Curve []float64
	AUC, KS               float64
}

// PlainTwin trains the plaintext twin of model k from both parties'
// results of one job (only a process that holds both, a test or a
// single-process demo, can): LR and the scorecard's LR with the same
// polynomial sigmoid, optimizer, batches, epochs and initial weights (both
// parties' secret parts, vlr.InitWeights); SecureBoost with the same
// binning, gains and tie-breaks.
func PlainTwin(k Kind, bank, center *Result, spec Spec) (*Twin, error) {
	mb, mc := bank.Model(k), center.Model(k)
	if mb == nil || mc == nil {
		return nil, fmt.Errorf("job: no %s model in both results", k)
	}
	b, c := bank.Data, center.Data
	var tw *Twin
	var err error
	switch k {
	case LR:
		tw, _, err = plainLR(mb.LROptions, b, c, vlr.InitWeights(mb.LR, mc.LR))
	case WOE:
		var logits []float64
		if tw, logits, err = plainLR(mb.LROptions, mb.WOEData, mc.WOEData, vlr.InitWeights(mb.LR, mc.LR)); err == nil {
			tw.Points = make([]float64, len(logits))
			for i, z := range logits {
				tw.Points[i] = spec.Scorecard.PointsFromLogit(z)
			}
			tw.Scores = RiskOf(tw.Points)
		}
	case SBT:
		tw, err = plainSBT(spec.SBT.GBDTOptions, b, c)
	default:
		return nil, fmt.Errorf("job: no plaintext twin for model %q", k)
	}
	if err != nil {
		return nil, err
	}
	if tw.AUC, err = model.AUC(tw.Scores, b.YTest); err != nil {
		return nil, err
	}
	if tw.KS, err = model.KS(tw.Scores, b.YTest); err != nil {
		return nil, err
	}
	return tw, nil
}

// plainLR trains the centralized LR on [bank | center] columns; it returns
// test probabilities of default, the loss by epoch and the test logits.
func plainLR(opt vlr.Options, b, c *Prepared, init []float64) (*Twin, []float64, error) {
	// The training's own options: its default rate depends on the columns.
	opt, err := opt.WithColumns(b.XCols + c.XCols + 1)
	if err != nil {
		return nil, nil, err
	}
	sig, err := opt.Sigmoid()
	if err != nil {
		return nil, nil, err
	}
	join := func(xb, xc []float64) []float64 { return model.JoinColumns(xb, b.XCols, xc, c.XCols) }
	d := b.XCols + c.XCols
	w, b0, hist, err := model.TrainLR(join(b.XTrain, c.XTrain), b.YTrain, d, model.LROptions{
		Epochs: opt.Epochs, BatchSize: opt.BatchSize, Seed: opt.Seed, FixedBatches: true, Optimizer: opt.Optimizer, Sigmoid: sig.Eval, Init: init,
	})
	if err != nil {
		return nil, nil, err
	}
	xt := join(b.XTest, c.XTest)
	n := len(b.YTest)
	logits, scores := make([]float64, n), make([]float64, n)
	for i := range scores {
		z := b0
		for j := 0; j < d; j++ {
			z += xt[i*d+j] * w[j]
		}
		logits[i], scores[i] = z, model.Logistic(z)
	}
	return &Twin{Scores: scores, Curve: hist.Loss}, logits, nil
}

// plainSBT trains the centralized GBDT on [bank | center] raw columns,
// each party's categorical ones as their levels, and returns its test
// logits and test AUC after each tree.
func plainSBT(opt model.GBDTOptions, b, c *Prepared) (*Twin, error) {
	join := func(xb, xc []float64) []float64 { return model.JoinColumns(xb, b.Cols, xc, c.Cols) }
	d := b.Cols + c.Cols
	m, err := model.TrainVerticalGBDTCategorical(b.RawTrain, b.Cols, categoricalMarks(b), c.RawTrain, c.Cols, categoricalMarks(c), b.YTrain, opt)
	if err != nil {
		return nil, err
	}
	xt := join(b.RawTest, c.RawTest)
	scores, err := m.PredictLogit(xt, d)
	if err != nil {
		return nil, err
	}
	tw := &Twin{Scores: scores}
	for k := range m.Trees {
		mk := *m
		mk.Trees, mk.Options.Trees = m.Trees[:k+1], k+1
		s, err := mk.PredictLogit(xt, d)
		if err != nil {
			return nil, err
		}
		auc, err := model.AUC(s, b.YTest)
		if err != nil {
			return nil, err
		}
		tw.Curve = append(tw.Curve, auc)
	}
	return tw, nil
}
