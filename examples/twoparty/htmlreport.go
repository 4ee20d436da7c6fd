package main

import (
	"fmt"
	"path/filepath"
	"time"

	htmlreport "github.com/veil-fl/veil/examples/internal/report"
	"github.com/veil-fl/veil/fl"
	"github.com/veil-fl/veil/job"
	"github.com/veil-fl/veil/model"
)

// writeReport renders the bank's results next to the plaintext references
// into dir and returns the page's path.
func writeReport(dir, data string, results []modelResult, plains []*job.Twin, yTest []float64, elapsed time.Duration, st fl.Stats) (string, error) {
	rep := &htmlreport.Report{Title: "Veil two-party credit model"}
	rep.Summary = append(rep.Summary,
		"Data: "+data+".",
		fmt.Sprintf("Total time %.1f s; the bank sent %.1f MiB and received %.1f MiB. Every figure below is on the held-out test rows; the plaintext reference is the same algorithm trained on the joined columns in one place.",
			elapsed.Seconds(), float64(st.SentBytes)/(1<<20), float64(st.RecvBytes)/(1<<20)))
	for i, r := range results {
		m := htmlreport.Model{Labels: yTest, Federated: r.scores, FedCurve: r.curve}
		if plains[i] != nil {
			m.Plain, m.PlainCurve = plains[i].Scores, plains[i].Curve
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
