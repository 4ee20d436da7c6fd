package main

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	htmlreport "github.com/veil-fl/veil/examples/internal/report"
	"github.com/veil-fl/veil/fl"
	"github.com/veil-fl/veil/fl/boost"
	"github.com/veil-fl/veil/fl/vlr"
	"github.com/veil-fl/veil/fl/woe"
	"github.com/veil-fl/veil/model"
)

// typeCurve announces the federated per-tree scoring of the report.
const typeCurve = "job.sbt-curve"

// runWOE runs federated WOE/IV on the training rows (the center's columns'
// counts under encryption, decrypted to the bank), keeps the columns the
// selection keeps, trains vertical LR on the standardized WOE columns,
// turns it into each party's scorecard half, and scores the test rows
// federatedly: each party sends nothing but the center its partial points.
// It returns, for the bank, the result with the IVs of both parties'
// columns; each party's WOE data goes to out.woeData for the plaintext
// reference.
func runWOE(ctx context.Context, t fl.Transport, sess *fl.Session, cfg jobConfig, data *prepared, out *jobOutcome) (*modelResult, error) {
	start := time.Now()
	before := t.Stats()
	active := cfg.role == fl.RoleActive
	st := cfg.progress.start("WOE/IV: key generation and encrypted counts", 0)
	var tr model.WOETransform
	var bankRes *woe.ActiveResult
	if active {
		r, err := woe.Active(ctx, t, sess.Seed[:], data.rawTrain, data.cols, data.yTrain, data.features, cfg.woe)
		if err != nil {
			return nil, fmt.Errorf("federated WOE/IV: %w", err)
		}
		bankRes, tr = r, r.Transform
	} else {
		r, err := woe.Passive(ctx, t, sess.Seed[:], data.rawTrain, data.cols, data.features)
		if err != nil {
			return nil, fmt.Errorf("federated WOE/IV: %w", err)
		}
		tr = r.Transform
	}
	st.finish()
	woeSec := time.Since(start).Seconds()
	if len(tr.Columns) == 0 {
		// Both parties see this: each knows whether it keeps a column, and
		// the bank knows the center's selection.
		return nil, fmt.Errorf("the IV selection keeps none of the %s's columns; the scorecard needs at least one on each side", map[bool]string{true: "bank", false: "center"}[active])
	}
	if active && countKept(bankRes.Center) == 0 {
		return nil, fmt.Errorf("the IV selection keeps none of the center's columns; the scorecard needs at least one on each side")
	}
	wd, err := woePrepare(tr, data, cfg.clip)
	if err != nil {
		return nil, err
	}
	out.woeData = wd

	lrStart := time.Now()
	// The raw LR's settings, field by field: nothing else (a checkpoint
	// folder, say) is shared with the raw LR's training.
	lro := vlr.Options{Epochs: cfg.lr.Epochs, BatchSize: cfg.lr.BatchSize, Optimizer: cfg.lr.Optimizer, Degree: cfg.lr.Degree,
		Bound: cfg.lr.Bound, Tol: cfg.lr.Tol, Seed: cfg.lr.Seed, TrackLoss: cfg.lr.TrackLoss,
		RevealGradients: cfg.lr.RevealGradients, InitScale: cfg.lr.InitScale}
	var r *vlr.Result
	if active {
		lst := cfg.progress.start("WOE scorecard LR: key generation and setup", 0)
		var ep *step
		opt, _ := lro.WithDefaults()
		r, err = vlr.TrainActive(ctx, t, sess.Seed[:], vlr.Data{X: wd.xTrain, Cols: wd.cols, Y: data.yTrain}, lro, func(epoch int, loss float64) {
			if ep == nil {
				lst.finish()
				ep = cfg.progress.start("WOE scorecard LR: epochs", opt.Epochs)
			}
			ep.set(epoch+1, "WOE scorecard LR epoch", "epoch", epoch+1, "loss", loss, "seconds", time.Since(lrStart).Seconds())
		})
		if ep != nil {
			ep.finish()
		}
	} else {
		r, err = vlr.TrainPassive(ctx, t, sess.Seed[:], vlr.Data{X: wd.xTrain, Cols: wd.cols})
	}
	if err != nil {
		return nil, fmt.Errorf("training the scorecard's LR: %w", err)
	}
	out.woeTrained = r
	trainSec := time.Since(start).Seconds()
	party := model.Passive
	if active {
		party = model.Active
	}
	half, err := model.NewScorecardHalf(party, data.features, tr, wd.std, r.Weights, r.Intercept, cfg.scorecard)
	if err != nil {
		return nil, err
	}
	if err := saveModel(cfg, "scorecard", half); err != nil {
		return nil, err
	}
	if !active {
		return nil, woe.ScorePassive(ctx, t, half, data.rawTest, data.cols)
	}
	sst := cfg.progress.start("WOE scorecard: federated scoring of the test rows", 0)
	points, err := woe.ScoreActive(ctx, t, half, data.rawTest, data.cols)
	if err != nil {
		return nil, err
	}
	sst.finish()
	after := t.Stats()
	res := &modelResult{Model: "woe", RowsAligned: data.rowsAligned, TestRows: len(points), TrainSeconds: trainSec,
		BytesSent: after.SentBytes - before.SentBytes + after.RecvBytes - before.RecvBytes, Epochs: r.Epochs, Loss: r.Loss}
	res.scores, res.points, res.curve = riskOf(points), points, r.Loss
	if res.AUC, err = model.AUC(res.scores, data.yTest); err != nil {
		return nil, fmt.Errorf("test AUC: %w", err)
	}
	if res.KS, err = model.KS(res.scores, data.yTest); err != nil {
		return nil, err
	}
	for _, c := range append(append([]woe.Column{}, bankRes.Bank...), bankRes.Center...) {
		res.features = append(res.features, htmlreport.Feature{Name: c.Name, Party: c.Party, IV: c.IV, Keep: c.Keep})
	}
	res.woeSeconds = woeSec
	return res, nil
}

func countKept(cs []woe.Column) int {
	k := 0
	for _, c := range cs {
		if c.Keep {
			k++
		}
	}
	return k
}

// riskOf turns credit points (higher: better) into risk scores for the
// ranking metrics (higher: more likely to default).
func riskOf(points []float64) []float64 {
	r := make([]float64, len(points))
	for i, p := range points {
		r[i] = -p
	}
	return r
}

// woePrepare transforms a party's raw columns into its kept WOE columns and
// standardizes them on the training rows (clipped like the raw LR's).
func woePrepare(tr model.WOETransform, data *prepared, clip float64) (*prepared, error) {
	m := len(tr.Columns)
	xtr, err := tr.Transform(data.rawTrain, data.cols)
	if err != nil {
		return nil, err
	}
	xte, err := tr.Transform(data.rawTest, data.cols)
	if err != nil {
		return nil, err
	}
	std, err := model.FitStandardizer(xtr, m)
	if err != nil {
		return nil, err
	}
	std.Clip = clip
	p := &prepared{std: std, cols: m, xTrain: make([]float64, len(xtr)), xTest: make([]float64, len(xte)), yTrain: data.yTrain, yTest: data.yTest}
	for _, s := range tr.Source {
		p.features = append(p.features, data.features[s])
	}
	if err := std.Transform(xtr, p.xTrain); err != nil {
		return nil, err
	}
	if err := std.Transform(xte, p.xTest); err != nil {
		return nil, err
	}
	return p, nil
}

// sbtCurveActive scores the test rows federatedly with the first k trees,
// k = 1..len(Trees), and returns the test AUC after each tree: for the
// report's learning curve. The center runs sbtCurvePassive.
func sbtCurveActive(ctx context.Context, t fl.Transport, m *boost.ActiveModel, x []float64, d int, y []float64) ([]float64, error) {
	if err := fl.SendJSON(ctx, t, typeCurve, len(m.Trees)); err != nil {
		return nil, err
	}
	aucs := make([]float64, len(m.Trees))
	for k := range m.Trees {
		mk := *m
		mk.Trees = m.Trees[:k+1]
		logits, err := boost.PredictActive(ctx, t, &mk, x, d)
		if err != nil {
			return nil, err
		}
		if aucs[k], err = model.AUC(logits, y); err != nil {
			return nil, err
		}
	}
	return aucs, nil
}

// sbtCurvePassive is the center's side of sbtCurveActive: its split
// decisions for the first k trees, k = 1..trees, as in federated prediction.
func sbtCurvePassive(ctx context.Context, t fl.Transport, m *boost.PassiveModel, x []float64, d int) error {
	var trees int
	if err := fl.RecvJSON(ctx, t, typeCurve, &trees); err != nil {
		return err
	}
	if trees < 0 || trees > 100_000 {
		return fl.Fail(ctx, t, fmt.Errorf("%s: %d trees", typeCurve, trees))
	}
	for k := 0; k < trees; k++ {
		mk := *m
		mk.Splits = nil
		for _, s := range m.Splits {
			if s.Tree <= k {
				mk.Splits = append(mk.Splits, s)
			}
		}
		if err := boost.PredictPassive(ctx, t, &mk, x, d); err != nil {
			return err
		}
	}
	return nil
}

// plainRun is a plaintext reference's test scores (higher: riskier) and
// learning curve.
type plainRun struct {
	scores []float64
	points []float64
	curve  []float64
}

// plainLRRun trains the centralized reference LR: the same polynomial
// sigmoid, optimizer, batches, epochs and initial weights (init, from both
// parties' results: vlr.InitWeights) on [bank | center] columns; it
// returns test probabilities of default and the loss by epoch.
func plainLRRun(opt vlr.Options, b, c *prepared, init []float64) (*plainRun, []float64, error) {
	opt, err := opt.WithDefaults()
	if err != nil {
		return nil, nil, err
	}
	sig, err := opt.Sigmoid()
	if err != nil {
		return nil, nil, err
	}
	join := func(xb, xc []float64) []float64 { return model.JoinColumns(xb, b.cols, xc, c.cols) }
	d := b.cols + c.cols
	w, b0, hist, err := model.TrainLR(join(b.xTrain, c.xTrain), b.yTrain, d, model.LROptions{
		Epochs: opt.Epochs, BatchSize: opt.BatchSize, Seed: opt.Seed, FixedBatches: true, Optimizer: opt.Optimizer, Sigmoid: sig.Eval, Init: init,
	})
	if err != nil {
		return nil, nil, err
	}
	xt := join(b.xTest, c.xTest)
	logits := make([]float64, len(b.yTest))
	scores := make([]float64, len(b.yTest))
	for i := range scores {
		z := b0
		for j := 0; j < d; j++ {
			z += xt[i*d+j] * w[j]
		}
		logits[i], scores[i] = z, model.Logistic(z)
	}
	return &plainRun{scores: scores, curve: hist.Loss}, logits, nil
}

// plainWOERun is the reference of the WOE scorecard: the reference LR on
// both parties' standardized WOE columns (the center's standardize to the
// same columns whatever the bank's mask), its logits turned into points.
func plainWOERun(opt vlr.Options, b, c *prepared, card model.Scorecard, init []float64) (*plainRun, error) {
	pr, logits, err := plainLRRun(opt, b, c, init)
	if err != nil {
		return nil, err
	}
	pr.points = make([]float64, len(logits))
	for i, z := range logits {
		pr.points[i] = card.PointsFromLogit(z)
	}
	pr.scores = riskOf(pr.points)
	return pr, nil
}

// plainSBTRun trains the centralized reference GBDT (same binning, gains
// and tie-breaks) on [bank | center] raw columns and returns its test
// logits and test AUC after each tree.
func plainSBTRun(opt boost.Options, b, c *prepared) (*plainRun, error) {
	join := func(xb, xc []float64) []float64 { return model.JoinColumns(xb, b.cols, xc, c.cols) }
	d := b.cols + c.cols
	m, err := model.TrainGBDT(join(b.rawTrain, c.rawTrain), b.yTrain, d, opt.GBDTOptions)
	if err != nil {
		return nil, err
	}
	xt := join(b.rawTest, c.rawTest)
	scores, err := m.PredictLogit(xt, d)
	if err != nil {
		return nil, err
	}
	pr := &plainRun{scores: scores}
	for k := range m.Trees {
		mk := *m
		mk.Trees, mk.Options.Trees = m.Trees[:k+1], k+1
		s, err := mk.PredictLogit(xt, d)
		if err != nil {
			return nil, err
		}
		auc, err := model.AUC(s, b.yTest)
		if err != nil {
			return nil, err
		}
		pr.curve = append(pr.curve, auc)
	}
	return pr, nil
}

// writeReport renders the bank's results next to the plaintext references
// into dir and returns the page's path.
func writeReport(dir, data string, results []modelResult, plains []*plainRun, yTest []float64, elapsed time.Duration, st fl.Stats) (string, error) {
	rep := &htmlreport.Report{Title: "Veil two-party credit model"}
	rep.Summary = append(rep.Summary,
		"Data: "+data+".",
		fmt.Sprintf("Total time %.1f s; the bank sent %.1f MiB and received %.1f MiB. Every figure below is on the held-out test rows; the plaintext reference is the same algorithm trained on the joined columns in one place.",
			elapsed.Seconds(), float64(st.SentBytes)/(1<<20), float64(st.RecvBytes)/(1<<20)))
	for i, r := range results {
		m := htmlreport.Model{Labels: yTest, Federated: r.scores, FedCurve: r.curve}
		if plains[i] != nil {
			m.Plain, m.PlainCurve = plains[i].scores, plains[i].curve
		}
		switch r.Model {
		case "lr":
			m.Name, m.CurveX, m.CurveY = "LR", "epoch", "training loss"
			m.Note = fmt.Sprintf("Vertical logistic regression on standardized raw columns, %d epochs, %.1f s. Loss: federated, the polynomial loss the bank learns each epoch (before its update); plaintext, the exact objective after each epoch.", r.Epochs, r.TrainSeconds)
		case "sbt":
			m.Name, m.CurveX, m.CurveY = "SecureBoost", "tree", "test AUC"
			m.Note = fmt.Sprintf("SecureBoost, %d trees, %.1f s; scores are logits.", r.Trees, r.TrainSeconds)
		case "woe":
			m.Name, m.CurveX, m.CurveY = "WOE scorecard", "epoch", "training loss"
			m.Points = r.points
			m.Note = fmt.Sprintf("Logistic regression on the WOE columns the IV selection kept, turned into points per bin (each party holds its own bins' points); scores are the sum of both halves' points, risk = -points. Federated WOE/IV %.1f s, all %.1f s.", r.woeSeconds, r.TrainSeconds)
			rep.Features = r.features
		default:
			continue
		}
		rep.Models = append(rep.Models, m)
	}
	if _, err := htmlreport.Write(dir, rep); err != nil {
		return "", err
	}
	return filepath.Abs(filepath.Join(dir, "index.html"))
}

// keptSummary says how many columns of each party the IV selection kept.
func keptSummary(fs []htmlreport.Feature) string {
	var kept, all [2]int
	for _, f := range fs {
		k := 0
		if f.Party == model.Passive {
			k = 1
		}
		all[k]++
		if f.Keep {
			kept[k]++
		}
	}
	return fmt.Sprintf("kept %d of the bank's %d columns and %d of the center's %d by IV", kept[0], all[0], kept[1], all[1])
}
