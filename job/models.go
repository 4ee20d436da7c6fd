package job

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/veil-fl/veil/fl"
	"github.com/veil-fl/veil/fl/boost"
	"github.com/veil-fl/veil/fl/vlr"
	"github.com/veil-fl/veil/fl/woe"
	"github.com/veil-fl/veil/model"
)

// lrOptions returns the spec's LR options for n training rows, with the
// checkpoint folder, the logger and a negative L2 resolved.
func (r *runner) lrOptions(n int) vlr.Options {
	o := r.spec.LR
	if o.Optimizer.L2 < 0 { // scikit-learn's C = 1 objective
		o.Optimizer.L2 = 1 / float64(n)
	}
	o.Checkpoint = r.spec.Checkpoint
	if o.Logger == nil {
		o.Logger = r.spec.Logger
	}
	return o
}

// trainSteps reports a training to Spec.Progress: its setup until key
// generation starts, key generation stage by stage (the protocol's
// KeyProgress), then what follows the keys (LR's epochs, the trees, WOE's
// encrypted counts) until end. Key generation is reported at both
// parties, since each waits on it; the other steps where show says.
type trainSteps struct {
	r           *runner
	what, after string
	units       int
	show        bool
	cur         *progressStep
	stage       int // 0 setup, 1 keys, 2 keys done, 3 after
}

func (r *runner) trainSteps(what, after string, units int, show bool) *trainSteps {
	s := &trainSteps{r: r, what: what, after: after, units: units, show: show}
	if show {
		s.cur = r.step(what+": setup", 0)
	}
	return s
}

func (s *trainSteps) next(stage int, name string, total int) {
	if s.cur != nil {
		s.cur.end()
	}
	s.cur, s.stage = nil, stage
	if name != "" {
		s.cur = s.r.step(s.what+": "+name, total)
	}
}

// keys is the protocol's KeyProgress.
func (s *trainSteps) keys(step string, done, total int) {
	if s.stage == 0 {
		s.next(1, "key generation", total)
	}
	if s.stage != 1 {
		return
	}
	s.cur.progress(step, done, total)
	if done == total {
		if s.show && s.after != "" {
			s.next(3, s.after, s.units)
		} else {
			s.next(2, "", 0)
		}
	}
}

// unit reports done units of what follows the keys.
func (s *trainSteps) unit(done int, loss float64) {
	if s.stage != 3 {
		s.next(3, s.after, s.units)
	}
	s.cur.set(done, loss)
}

func (s *trainSteps) end() { s.next(2, "", 0) }

// trainLR trains vertical LR on x (and the bank's labels y), reporting
// its key generation and epochs under the step name what.
func (r *runner) trainLR(ctx context.Context, what string, x []float64, cols int, y []float64, o vlr.Options) (*vlr.Result, error) {
	if !r.active {
		steps := r.trainSteps(what, "", 0, false)
		res, err := vlr.TrainPassiveWith(ctx, r.t, r.sess.Seed[:], vlr.Data{X: x, Cols: cols}, vlr.PassiveOptions{Checkpoints: o.Checkpoints, Checkpoint: o.Checkpoint, Logger: o.Logger, KeyProgress: steps.keys})
		if err != nil {
			return nil, err
		}
		steps.end()
		return res, nil
	}
	full, err := o.WithDefaults()
	if err != nil {
		return nil, err
	}
	steps := r.trainSteps(what, "epochs", full.Epochs, true)
	o.KeyProgress = steps.keys
	start := time.Now()
	res, err := vlr.TrainActive(ctx, r.t, r.sess.Seed[:], vlr.Data{X: x, Cols: cols, Y: y}, o, func(epoch int, loss float64) {
		steps.unit(epoch+1, loss)
		r.spec.Logger.Info(what+" epoch", "epoch", epoch+1, "loss", loss, "seconds", time.Since(start).Seconds())
	})
	if err != nil {
		return nil, err
	}
	steps.end()
	return res, nil
}

func (r *runner) lr(ctx context.Context, data *Prepared) (*Model, error) {
	start := time.Now()
	o := r.lrOptions(data.TrainRows())
	res, err := r.trainLR(ctx, "LR", data.XTrain, data.XCols, data.YTrain, o)
	if err != nil {
		return nil, fmt.Errorf("training LR: %w", err)
	}
	m := &Model{Kind: LR, Training: r.trainingID(LR), LR: res, LROptions: o, TrainTime: time.Since(start), Epochs: res.Epochs}
	sig, err := o.Sigmoid()
	if err != nil {
		return nil, err
	}
	m.LRHalf = &model.LRHalf{Version: model.LRVersion, Party: r.party(), Training: m.Training, Features: data.Features,
		Standardizer: data.Std, Weights: res.Weights, Intercept: res.Intercept, Sigmoid: sig.Coeffs}
	if data.Categories.Any() {
		// The half scores new tables by label: it keeps the encoding.
		m.LRHalf.Categories, m.LRHalf.OneHot = data.Categories, data.XColumns
	}
	if err := r.save("lr", m.LRHalf); err != nil {
		return nil, err
	}
	if !r.active {
		return m, vlr.PredictPassive(ctx, r.t, data.XTest, data.XCols, res.Weights)
	}
	ev := r.step("LR: federated scoring of the test rows", 0)
	probs, err := vlr.PredictActiveProbabilities(ctx, r.t, data.XTest, data.XCols, res.Weights, res.Intercept)
	if err != nil {
		return nil, err
	}
	ev.end()
	m.TestScores, m.Curve = probs, res.Loss
	return m, r.evaluate(m, data.YTest)
}

// sbt trains SecureBoost on the raw columns, each party's categorical
// ones as their levels (Prepared.Categories) split by sets of levels; each
// half keeps its party's encoding, so that it predicts and scores new
// tables by label, a label unseen in training taking a split's missing
// direction.
func (r *runner) sbt(ctx context.Context, data *Prepared) (*Model, error) {
	start := time.Now()
	o := r.spec.SBT
	o.Checkpoint = r.spec.Checkpoint
	if o.Logger == nil {
		o.Logger = r.spec.Logger
	}
	// The trees split a categorical column by sets of its levels: boost
	// reads which columns are from the data's encoding, and each saved
	// half keeps it.
	train := boost.Data{X: data.RawTrain, Cols: data.Cols, Categories: data.Categories}
	m := &Model{Kind: SBT, Training: r.trainingID(SBT)}
	if !r.active {
		steps := r.trainSteps("SecureBoost", "", 0, false)
		res, err := boost.TrainPassiveWith(ctx, r.t, r.sess.Seed[:], train, boost.PassiveOptions{Checkpoints: o.Checkpoints, Checkpoint: o.Checkpoint, Logger: o.Logger, KeyProgress: steps.keys})
		if err != nil {
			return nil, fmt.Errorf("training SecureBoost: %w", err)
		}
		steps.end()
		m.TrainTime, m.SBTPassive = time.Since(start), &res.PassiveModel
		m.SBTPassive.Training = m.Training
		m.Trees = res.Options.Trees
		if err := r.save("sbt", m.SBTPassive); err != nil {
			return nil, err
		}
		if err := boost.PredictPassive(ctx, r.t, m.SBTPassive, data.RawTest, data.Cols); err != nil {
			return nil, err
		}
		if r.spec.TreeCurve {
			return m, treeCurvePassive(ctx, r.t, m.SBTPassive, data.RawTest, data.Cols)
		}
		return m, nil
	}
	gopt, err := o.GBDTOptions.WithDefaults()
	if err != nil {
		return nil, err
	}
	steps := r.trainSteps("SecureBoost", "trees", gopt.Trees, true)
	o.KeyProgress = steps.keys
	train.Y = data.YTrain
	res, err := boost.TrainActive(ctx, r.t, r.sess.Seed[:], train, o, func(tree int) {
		steps.unit(tree+1, 0)
		r.spec.Logger.Info("SecureBoost tree", "tree", tree+1, "seconds", time.Since(start).Seconds())
	})
	if err != nil {
		return nil, fmt.Errorf("training SecureBoost: %w", err)
	}
	steps.end()
	m.TrainTime, m.SBTActive, m.Trees = time.Since(start), &res.ActiveModel, len(res.Trees)
	m.SBTActive.Training = m.Training
	if err := r.save("sbt", m.SBTActive); err != nil {
		return nil, err
	}
	ev := r.step("SecureBoost: federated scoring of the test rows", 0)
	if m.TestScores, err = boost.PredictActiveLogits(ctx, r.t, m.SBTActive, data.RawTest, data.Cols); err != nil {
		return nil, err
	}
	ev.end()
	if r.spec.TreeCurve {
		ev := r.step("SecureBoost: test AUC by tree", 0)
		if m.Curve, err = treeCurveActive(ctx, r.t, m.SBTActive, data.RawTest, data.Cols, data.YTest); err != nil {
			return nil, err
		}
		ev.end()
	}
	return m, r.evaluate(m, data.YTest)
}

// categoricalMarks marks the party's categorical columns for the trees,
// nil when it has none.
func categoricalMarks(data *Prepared) []bool {
	if !data.Categories.Any() {
		return nil
	}
	cat := make([]bool, data.Cols)
	for j := range cat {
		cat[j] = data.Categories.IsCategorical(j)
	}
	return cat
}

// woe runs federated WOE/IV on the training rows (the center's columns'
// counts under encryption, decrypted to the bank; a categorical column
// binned by its levels), keeps the columns the selection keeps, trains
// vertical LR on the standardized WOE columns, turns it into each party's
// scorecard half, and scores the test rows federatedly.
func (r *runner) woe(ctx context.Context, data *Prepared) (*Model, error) {
	start := time.Now()
	m := &Model{Kind: WOE, Training: r.trainingID(WOE)}
	steps := r.trainSteps("WOE/IV", "encrypted counts", 0, true)
	var tr model.WOETransform
	var bankRes *woe.ActiveResult
	if r.active {
		wo := r.spec.WOE
		wo.KeyProgress, wo.Logger = steps.keys, r.spec.Logger
		res, err := woe.TrainActive(ctx, r.t, r.sess.Seed[:], woe.Data{X: data.RawTrain, Cols: data.Cols, Y: data.YTrain, Names: data.Features, Categories: data.Categories}, wo)
		if err != nil {
			return nil, fmt.Errorf("federated WOE/IV: %w", err)
		}
		bankRes, tr = res, res.Transform
		m.Columns = append(append([]woe.Column{}, res.Bank...), res.Center...)
	} else {
		res, err := woe.TrainPassiveWith(ctx, r.t, r.sess.Seed[:], woe.Data{X: data.RawTrain, Cols: data.Cols, Names: data.Features, Categories: data.Categories},
			woe.PassiveOptions{KeyProgress: steps.keys, Logger: r.spec.Logger})
		if err != nil {
			return nil, fmt.Errorf("federated WOE/IV: %w", err)
		}
		tr = res.Transform
	}
	steps.end()
	m.WOETime = time.Since(start)
	// Both parties see an empty selection: each knows whether it keeps a
	// column, and the bank knows the center's.
	if len(tr.Columns) == 0 {
		return nil, fmt.Errorf("the IV selection keeps none of the %s's columns; the scorecard needs at least one on each side", map[bool]string{true: "bank", false: "center"}[r.active])
	}
	if r.active && countKept(bankRes.Center) == 0 {
		return nil, fmt.Errorf("the IV selection keeps none of the center's columns; the scorecard needs at least one on each side")
	}
	wd, err := prepareWOE(tr, data, r.spec.Clip)
	if err != nil {
		return nil, err
	}
	m.WOEData = wd
	// The scorecard's LR keeps no checkpoint: resume is the raw LR's.
	o := r.lrOptions(data.TrainRows())
	o.Checkpoint, o.Checkpoints = "", nil
	res, err := r.trainLR(ctx, "WOE scorecard LR", wd.XTrain, wd.XCols, data.YTrain, o)
	if err != nil {
		return nil, fmt.Errorf("training the scorecard's LR: %w", err)
	}
	m.LR, m.LROptions, m.Epochs, m.TrainTime = res, o, res.Epochs, time.Since(start)
	half, err := model.NewScorecardHalf(r.party(), data.Features, tr, wd.Std, res.Weights, res.Intercept, r.spec.Scorecard)
	if err != nil {
		return nil, err
	}
	half.Training = m.Training
	m.Scorecard, m.Card = half, r.spec.Scorecard
	if err := r.save("scorecard", half); err != nil {
		return nil, err
	}
	if !r.active {
		return m, woe.ScorePassive(ctx, r.t, half, data.RawTest, data.Cols)
	}
	sev := r.step("WOE scorecard: federated scoring of the test rows", 0)
	if m.Points, err = woe.ScoreActive(ctx, r.t, half, data.RawTest, data.Cols); err != nil {
		return nil, err
	}
	sev.end()
	m.TestScores, m.Curve = RiskOf(m.Points), res.Loss
	return m, r.evaluate(m, data.YTest)
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

// RiskOf turns credit points (higher: better) into risk scores for the
// ranking metrics (higher: more likely to default).
func RiskOf(points []float64) []float64 {
	r := make([]float64, len(points))
	for i, p := range points {
		r[i] = -p
	}
	return r
}

func (r *runner) evaluate(m *Model, y []float64) error {
	var err error
	if m.AUC, err = model.AUC(m.TestScores, y); err != nil {
		return fmt.Errorf("%s test AUC: %w", m.Kind, err)
	}
	if m.KS, err = model.KS(m.TestScores, y); err != nil {
		return fmt.Errorf("%s test KS: %w", m.Kind, err)
	}
	return nil
}

// party is this party's role, which names its model files.
func (r *runner) party() model.Role { return r.role }

// save writes this party's half of a model to Dir/PARTY_KIND.json.
func (r *runner) save(kind string, m interface{ Save(io.Writer) error }) error {
	if r.spec.Dir == "" {
		return nil
	}
	if err := os.MkdirAll(r.spec.Dir, 0o755); err != nil {
		return err
	}
	name := string(r.party()) + "_" + kind
	path := filepath.Join(r.spec.Dir, name+".json")
	tmp, err := os.CreateTemp(r.spec.Dir, "."+name+"-*.json")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := m.Save(tmp); err != nil {
		tmp.Close()
		return fmt.Errorf("saving %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	r.spec.Logger.Info("saved this party's half of the model", "model", kind, "path", path)
	return nil
}

// treeCurveActive scores the test rows federatedly with the first k trees,
// k = 1..len(Trees), and returns the test AUC after each tree. The center
// runs treeCurvePassive.
func treeCurveActive(ctx context.Context, t fl.Transport, m *boost.ActiveModel, x []float64, d int, y []float64) ([]float64, error) {
	if err := fl.SendJSON(ctx, t, TypeCurve, len(m.Trees)); err != nil {
		return nil, err
	}
	aucs := make([]float64, len(m.Trees))
	for k := range m.Trees {
		mk := *m
		mk.Trees = m.Trees[:k+1]
		logits, err := boost.PredictActiveLogits(ctx, t, &mk, x, d)
		if err != nil {
			return nil, err
		}
		if aucs[k], err = model.AUC(logits, y); err != nil {
			return nil, err
		}
	}
	return aucs, nil
}

// maxCurveTrees bounds the trees a TypeCurve message may announce.
const maxCurveTrees = 100_000

// treeCurvePassive is the center's side of treeCurveActive: its split
// decisions for the first k trees, k = 1..trees, as in federated prediction.
func treeCurvePassive(ctx context.Context, t fl.Transport, m *boost.PassiveModel, x []float64, d int) error {
	var trees int
	if err := fl.RecvJSON(ctx, t, TypeCurve, &trees); err != nil {
		return err
	}
	if trees < 0 || trees > maxCurveTrees {
		return fmt.Errorf("%w: %s: %d trees", fl.ErrMalformed, TypeCurve, trees)
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
