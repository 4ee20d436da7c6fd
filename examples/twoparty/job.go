package main

import (
	"log/slog"

	"github.com/veil-fl/veil/dataset"
	htmlreport "github.com/veil-fl/veil/examples/internal/report"
	"github.com/veil-fl/veil/fl/woe"
	"github.com/veil-fl/veil/job"
)

// modelResult is one trained model as the bank reports it (-json).
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

// spec is one party's job spec from the flags.
func (f *flags) spec(train, test *dataset.Table, log *slog.Logger, prog *progress) job.Spec {
	clip := f.clip
	if clip == 0 {
		clip = -1 // -clip 0: no clipping
	}
	s := job.Spec{Train: train, Test: test, TestFraction: f.testFrac, Seed: f.seed, LR: f.lrOptions(), SBT: f.sbtOptions(),
		WOE: f.woeOptions(), Clip: clip, Dir: f.out, Checkpoint: f.checkpoint, TreeCurve: f.report != "", Logger: log}
	for _, m := range f.modelList() {
		s.Models = append(s.Models, job.Kind(m))
	}
	if prog != nil {
		s.Progress = prog.event
		if prog.tty {
			// The bars tell the story; per-epoch info lines would break them.
			s.Logger = slog.New(slog.NewTextHandler(prog.w, &slog.HandlerOptions{Level: slog.LevelWarn}))
		}
	}
	return s
}

// results turns the bank's job result into the report's rows.
func results(r *job.Result) []modelResult {
	var out []modelResult
	for _, m := range r.Models {
		res := modelResult{Model: string(m.Kind), AUC: m.AUC, KS: m.KS, RowsAligned: r.RowsAligned, TestRows: len(m.TestScores),
			TrainSeconds: m.TrainTime.Seconds(), BytesSent: m.Bytes, Epochs: m.Epochs, Trees: m.Trees,
			scores: m.TestScores, points: m.Points, curve: m.Curve, woeSeconds: m.WOETime.Seconds()}
		if m.Kind != job.SBT {
			res.Loss = m.Curve
		}
		for _, c := range m.Columns {
			res.features = append(res.features, feature(c))
		}
		out = append(out, res)
	}
	return out
}

// feature is one column's IV for the report and, for a categorical column
// whose level names the bank knows, the WOE of each category's bin.
func feature(c woe.Column) htmlreport.Feature {
	f := htmlreport.Feature{Name: c.Name, Party: c.Party, IV: c.IV, Keep: c.Keep, Categorical: c.LevelBins != nil, MissingWOE: c.MissingWOE}
	for l, label := range c.Labels {
		if l >= len(c.LevelBins) {
			break
		}
		b := c.LevelBins[l]
		f.Levels = append(f.Levels, htmlreport.Level{Label: label, Bin: b,
			Rows: c.Counts.Events[b] + c.Counts.NonEvents[b], Events: c.Counts.Events[b], WOE: c.WOE[b]})
	}
	return f
}
