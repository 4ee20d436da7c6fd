package main

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/veil-fl/veil/dataset"
	htmlreport "github.com/veil-fl/veil/examples/internal/report"
	"github.com/veil-fl/veil/fl"
	"github.com/veil-fl/veil/fl/align"
	"github.com/veil-fl/veil/fl/boost"
	"github.com/veil-fl/veil/fl/vlr"
	"github.com/veil-fl/veil/fl/woe"
	"github.com/veil-fl/veil/model"
)

// jobParams is what the handshake compares: the job and the HE sets it uses.
const jobParams = "veil-job/v1:linear14,hist13"

const typeSplit = "job.split"

// jobConfig is one party's view of the job.
type jobConfig struct {
	role     fl.Role
	train    *dataset.Table
	test     *dataset.Table // nil: split train
	testFrac float64
	seed     int64
	models   []string // "lr", "sbt", "woe"
	lr       vlr.Options
	sbt      boost.Options
	clip     float64
	outDir   string // where this party saves its model half ("" = nowhere)
	log      *slog.Logger
	// The WOE scorecard ("woe") and the report.
	woe       woe.Options
	scorecard model.Scorecard
	report    bool      // both parties also compute the report's extra figures
	progress  *progress // the bank's progress bars; nil for none
}

// prepared is a party's aligned, standardized data.
type prepared struct {
	rawTrain, rawTest []float64 // before standardization (trees bin raw values)
	std               model.Standardizer
	features          []string
	xTrain, xTest     []float64
	yTrain, yTest     []float64 // bank only
	cols              int
	rowsAligned       int
}

// modelResult is one trained model as the bank reports it.
type modelResult struct {
	Model        string    `json:"model"`
	AUC          float64   `json:"auc"`
	KS           float64   `json:"ks"`
	PlainAUC     *float64  `json:"plain_auc"`
	PlainKS      *float64  `json:"plain_ks"`
	RowsAligned  int       `json:"rows_aligned"`
	TestRows     int       `json:"test_rows"`
	TrainSeconds float64   `json:"train_seconds"`
	BytesSent    uint64    `json:"bytes_sent"`
	Epochs       int       `json:"epochs,omitempty"`
	Trees        int       `json:"trees,omitempty"`
	Loss         []float64 `json:"loss,omitempty"`
	Note         string    `json:"note,omitempty"`

	// For the report (-report): test risk scores, the scorecard's points,
	// the learning curve, the IVs of both parties' columns.
	scores, points, curve []float64
	features              []htmlreport.Feature
	woeSeconds            float64
}

// jobOutcome is what a party ends with.
type jobOutcome struct {
	data      *prepared
	results   []modelResult // bank only
	lrOptions vlr.Options   // as trained, the L2 default resolved
	woeData   *prepared     // the standardized WOE columns of the scorecard
	// This party's LR and scorecard-LR trainings: the plaintext reference
	// of the single-process mode starts from both parties' initial parts.
	lrTrained, woeTrained *vlr.Result
}

// runJob runs one party's side of the whole job over t: handshake, private
// alignment of the training (and test) ids, the split, standardization,
// training and federated prediction of each model.
func runJob(ctx context.Context, t fl.Transport, cfg jobConfig) (*jobOutcome, error) {
	log := cfg.log
	sess, err := fl.Handshake(ctx, t, fl.Hello{Role: cfg.role, Params: jobParams})
	if err != nil {
		return nil, err
	}
	t = fl.Bind(t, sess) // every message stamped with the session id and its sequence number
	log.Info("session open", "role", cfg.role)

	t0 := time.Now()
	st := cfg.progress.start("aligning ids by PSI", 0)
	trainRes, err := align.Align(ctx, t, cfg.train.IDs)
	if err != nil {
		return nil, fmt.Errorf("aligning the training ids: %w", err)
	}
	st.finish()
	train := cfg.train.Select(byID(cfg.train.IDs, trainRes.Rows))
	log.Info("aligned training rows by PSI", "rows", len(trainRes.Rows), "of", cfg.train.Rows(), "seconds", time.Since(t0).Seconds())

	var test *dataset.Table
	if cfg.test != nil {
		testRes, err := align.Align(ctx, t, cfg.test.IDs)
		if err != nil {
			return nil, fmt.Errorf("aligning the test ids: %w", err)
		}
		test = cfg.test.Select(byID(cfg.test.IDs, testRes.Rows))
		log.Info("aligned test rows by PSI", "rows", len(testRes.Rows))
	} else {
		// The bank draws a stratified split on its labels and tells the
		// center which aligned rows are for testing (not their labels).
		var testRows []int
		if cfg.role == fl.RoleActive {
			_, testRows, err = dataset.StratifiedSplit(train.Labels, cfg.testFrac, cfg.seed)
			if err != nil {
				return nil, fl.Abort(ctx, t, err)
			}
			if err := t.Send(ctx, fl.Message{Type: typeSplit, Payload: encodeRows(testRows)}); err != nil {
				return nil, err
			}
		} else {
			b, err := fl.Expect(ctx, t, typeSplit)
			if err != nil {
				return nil, err
			}
			if testRows, err = decodeRows(b, train.Rows()); err != nil {
				return nil, fl.Abort(ctx, t, err)
			}
		}
		isTest := make([]bool, train.Rows())
		for _, i := range testRows {
			isTest[i] = true
		}
		var trainRows []int
		for i, tst := range isTest {
			if !tst {
				trainRows = append(trainRows, i)
			}
		}
		test = train.Select(testRows)
		train = train.Select(trainRows)
	}
	data, err := prepare(train, test, cfg.clip)
	if err != nil {
		return nil, fl.Abort(ctx, t, err)
	}
	data.rowsAligned = len(trainRes.Rows)

	out := &jobOutcome{data: data}
	for _, m := range cfg.models {
		switch m {
		case "lr":
			if cfg.lr.Optimizer.L2 < 0 { // scikit-learn's C=1 objective
				cfg.lr.Optimizer.L2 = 1 / float64(len(data.xTrain)/data.cols)
			}
			out.lrOptions = cfg.lr
			r, err := runLR(ctx, t, sess, cfg, data, out)
			if err != nil {
				return nil, err
			}
			if r != nil {
				out.results = append(out.results, *r)
			}
		case "sbt":
			r, err := runSBT(ctx, t, sess, cfg, data)
			if err != nil {
				return nil, err
			}
			if r != nil {
				out.results = append(out.results, *r)
			}
		case "woe":
			if cfg.lr.Optimizer.L2 < 0 {
				cfg.lr.Optimizer.L2 = 1 / float64(len(data.xTrain)/data.cols)
			}
			out.lrOptions = cfg.lr
			r, err := runWOE(ctx, t, sess, cfg, data, out)
			if err != nil {
				return nil, err
			}
			if r != nil {
				out.results = append(out.results, *r)
			}
		}
	}
	return out, nil
}

// saveHalf writes this party's half of the LR model: its own features,
// standardizer and weights only.
func saveHalf(cfg jobConfig, data *prepared, r *vlr.Result) error {
	if cfg.outDir == "" {
		return nil
	}
	opt, err := cfg.lr.WithDefaults()
	if err != nil {
		return err
	}
	sig, err := opt.Sigmoid()
	if err != nil {
		return err
	}
	h := &model.LRHalf{Version: model.LRVersion, Party: string(cfg.role), Features: data.features, Standardizer: data.std,
		Weights: r.Weights, Intercept: r.Intercept, Sigmoid: sig.Coeffs}
	return saveModel(cfg, "lr", h)
}

// saveModel writes this party's half of a model to outDir/ROLE_KIND.json.
func saveModel(cfg jobConfig, kind string, m interface{ Save(io.Writer) error }) error {
	if cfg.outDir == "" {
		return nil
	}
	if err := os.MkdirAll(cfg.outDir, 0o755); err != nil {
		return err
	}
	path := filepath.Join(cfg.outDir, string(cfg.role)+"_"+kind+".json")
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := m.Save(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	cfg.log.Info("saved this party's half of the model", "model", kind, "path", path)
	return nil
}

func runLR(ctx context.Context, t fl.Transport, sess *fl.Session, cfg jobConfig, data *prepared, out *jobOutcome) (*modelResult, error) {
	log := cfg.log
	start := time.Now()
	before := t.Stats()
	if cfg.role == fl.RolePassive {
		r, err := vlr.TrainPassiveWith(ctx, t, sess.Seed[:], vlr.Data{X: data.xTrain, Cols: data.cols}, vlr.PassiveOptions{Checkpoint: cfg.lr.Checkpoint})
		if err != nil {
			return nil, fmt.Errorf("training LR: %w", err)
		}
		out.lrTrained = r
		if err := saveHalf(cfg, data, r); err != nil {
			return nil, err
		}
		if err := vlr.PredictPassive(ctx, t, data.xTest, data.cols, r.Weights); err != nil {
			return nil, err
		}
		return nil, nil
	}
	setup := cfg.progress.start("LR: key generation and setup", 0)
	var epochs *step
	opt, _ := cfg.lr.WithDefaults()
	progress := func(epoch int, loss float64) {
		if cfg.progress == nil {
			log.Info("LR epoch", "epoch", epoch+1, "loss", loss, "seconds", time.Since(start).Seconds())
			return
		}
		if epochs == nil {
			setup.finish()
			epochs = cfg.progress.start("LR: epochs", opt.Epochs)
		}
		epochs.set(epoch+1, "LR epoch", "epoch", epoch+1, "loss", loss, "seconds", time.Since(start).Seconds())
	}
	r, err := vlr.TrainActive(ctx, t, sess.Seed[:], vlr.Data{X: data.xTrain, Cols: data.cols, Y: data.yTrain}, cfg.lr, progress)
	if err != nil {
		return nil, fmt.Errorf("training LR: %w", err)
	}
	out.lrTrained = r
	epochs.finish()
	trainSec := time.Since(start).Seconds()
	if err := saveHalf(cfg, data, r); err != nil {
		return nil, err
	}
	scoring := cfg.progress.start("LR: federated scoring of the test rows", 0)
	scores, err := vlr.PredictActive(ctx, t, data.xTest, data.cols, r.Weights, r.Intercept)
	if err != nil {
		return nil, err
	}
	scoring.finish()
	after := t.Stats()
	res := &modelResult{Model: "lr", RowsAligned: data.rowsAligned, TestRows: len(scores), TrainSeconds: trainSec,
		BytesSent: after.SentBytes - before.SentBytes + after.RecvBytes - before.RecvBytes, Epochs: r.Epochs, Loss: r.Loss}
	res.scores, res.curve = scores, r.Loss
	if res.AUC, err = model.AUC(scores, data.yTest); err != nil {
		return nil, fmt.Errorf("test AUC: %w", err)
	}
	if res.KS, err = model.KS(scores, data.yTest); err != nil {
		return nil, err
	}
	return res, nil
}

// runSBT trains SecureBoost and scores the test rows by federated prediction.
func runSBT(ctx context.Context, t fl.Transport, sess *fl.Session, cfg jobConfig, data *prepared) (*modelResult, error) {
	start := time.Now()
	before := t.Stats()
	if cfg.role == fl.RolePassive {
		r, err := boost.TrainPassiveWith(ctx, t, sess.Seed[:], data.rawTrain, data.cols, boost.PassiveOptions{Checkpoint: cfg.sbt.Checkpoint})
		if err != nil {
			return nil, fmt.Errorf("training SecureBoost: %w", err)
		}
		if err := saveModel(cfg, "sbt", &r.PassiveModel); err != nil {
			return nil, err
		}
		if err := boost.PredictPassive(ctx, t, &r.PassiveModel, data.rawTest, data.cols); err != nil {
			return nil, err
		}
		if cfg.report {
			return nil, sbtCurvePassive(ctx, t, &r.PassiveModel, data.rawTest, data.cols)
		}
		return nil, nil
	}
	trees := 0
	setup := cfg.progress.start("SecureBoost: key generation and setup", 0)
	var grown *step
	gopt, _ := cfg.sbt.GBDTOptions.WithDefaults()
	r, err := boost.TrainActive(ctx, t, sess.Seed[:], data.rawTrain, data.cols, data.yTrain, cfg.sbt, func(tree int) {
		trees = tree + 1
		if cfg.progress == nil {
			cfg.log.Info("SecureBoost tree", "tree", trees, "seconds", time.Since(start).Seconds())
			return
		}
		if grown == nil {
			setup.finish()
			grown = cfg.progress.start("SecureBoost: trees", gopt.Trees)
		}
		grown.set(trees, "SecureBoost tree", "tree", trees, "seconds", time.Since(start).Seconds())
	})
	if err != nil {
		return nil, fmt.Errorf("training SecureBoost: %w", err)
	}
	grown.finish()
	trainSec := time.Since(start).Seconds()
	if err := saveModel(cfg, "sbt", &r.ActiveModel); err != nil {
		return nil, err
	}
	scoring := cfg.progress.start("SecureBoost: federated scoring of the test rows", 0)
	logits, err := boost.PredictActive(ctx, t, &r.ActiveModel, data.rawTest, data.cols)
	if err != nil {
		return nil, err
	}
	scoring.finish()
	after := t.Stats()
	res := &modelResult{Model: "sbt", RowsAligned: data.rowsAligned, TestRows: len(logits), TrainSeconds: trainSec,
		BytesSent: after.SentBytes - before.SentBytes + after.RecvBytes - before.RecvBytes, Trees: trees}
	res.scores = logits
	if cfg.report {
		curve := cfg.progress.start("SecureBoost: test AUC by tree (report)", 0)
		if res.curve, err = sbtCurveActive(ctx, t, &r.ActiveModel, data.rawTest, data.cols, data.yTest); err != nil {
			return nil, err
		}
		curve.finish()
	}
	if res.AUC, err = model.AUC(logits, data.yTest); err != nil {
		return nil, fmt.Errorf("test AUC: %w", err)
	}
	if res.KS, err = model.KS(logits, data.yTest); err != nil {
		return nil, err
	}
	return res, nil
}

// prepare standardizes a party's own columns on its training rows, imputes
// missing values with the training mean and clips standardized values to
// [-clip, clip] (0: no clipping), which keeps scores inside the interval the
// sigmoid polynomial is fitted on.
func prepare(train, test *dataset.Table, clip float64) (*prepared, error) {
	d := train.Cols()
	if test.Cols() != d {
		return nil, fmt.Errorf("the test table has %d columns, the training table %d", test.Cols(), d)
	}
	if train.Rows() < 2 || test.Rows() < 1 {
		return nil, fmt.Errorf("%d training and %d test rows after alignment: too few", train.Rows(), test.Rows())
	}
	st, err := model.FitStandardizer(train.X, d)
	if err != nil {
		return nil, err
	}
	st.Clip = clip
	p := &prepared{rawTrain: train.X, rawTest: test.X, std: st, features: train.Columns, cols: d, xTrain: make([]float64, len(train.X)), xTest: make([]float64, len(test.X)), yTrain: train.Labels, yTest: test.Labels}
	if err := st.Transform(train.X, p.xTrain); err != nil {
		return nil, err
	}
	if err := st.Transform(test.X, p.xTest); err != nil {
		return nil, err
	}
	return p, nil
}

func encodeRows(rows []int) []byte {
	b := make([]byte, 0, 4*len(rows))
	for _, r := range rows {
		b = binary.LittleEndian.AppendUint32(b, uint32(r))
	}
	return b
}

func decodeRows(b []byte, n int) ([]int, error) {
	if len(b)%4 != 0 {
		return nil, fmt.Errorf("%s: %d bytes is not a list of rows", typeSplit, len(b))
	}
	rows := make([]int, len(b)/4)
	for i := range rows {
		r := int(binary.LittleEndian.Uint32(b[4*i:]))
		if r >= n || (i > 0 && r <= rows[i-1]) {
			return nil, fmt.Errorf("%s: row %d out of order or beyond the %d aligned rows", typeSplit, r, n)
		}
		rows[i] = r
	}
	return rows, nil
}

// byID puts the aligned rows in id order. PSI's common order changes with
// every session; both parties hold the ids of the intersection, so sorting
// by id gives both the same order without a message, and a rerun with the
// same data the same rows in the same order, which lets -checkpoint resume.
func byID(ids []string, rows []int) []int {
	rows = slices.Clone(rows)
	slices.SortFunc(rows, func(a, b int) int { return strings.Compare(ids[a], ids[b]) })
	return rows
}
