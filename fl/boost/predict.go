package boost

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/veil-fl/veil/fl"
	"github.com/veil-fl/veil/model"
)

// TypeDecisions carries the center's split decisions for a batch of rows;
// TypePredictSetup, before it, the bank's half's training id and rows.
const (
	TypeDecisions    = "boost.decisions"
	TypePredictSetup = "boost.predict-setup"
)

// predictVersion guards federated prediction's setup message.
const predictVersion = 1

// ErrTraining reports halves of different trainings.
var ErrTraining = errors.New("boost: halves of different trainings")

type predictSetup struct {
	Version  int    `json:"version"`
	Training string `json:"training,omitempty"`
	Rows     int    `json:"rows"`
}

// checkTraining refuses halves whose training ids differ, or of which one
// records an id and the other none (as fl/score does): the center's
// decisions for another training's trees would pair its splits with
// nodes they were not grown for. Ids are no secret: both halves of a
// model record the same.
func checkTraining(bank, center string) error {
	if bank == center {
		return nil
	}
	id := func(s string) string {
		if s == "" {
			return "no training id"
		}
		return "training " + s
	}
	return fmt.Errorf("%w: the bank's half of the trees is of %s, the center's of %s", ErrTraining, id(bank), id(center))
}

// sortSplits puts the center's splits in (tree, node) order, the order in
// which the bank enumerates its passive nodes.
func sortSplits(s []PassiveSplit) {
	slices.SortFunc(s, func(a, b PassiveSplit) int {
		return cmp.Or(cmp.Compare(a.Tree, b.Tree), cmp.Compare(a.Node, b.Node))
	})
}

// PredictPassive is the center's side of federated prediction: for every
// row of x (raw values, row-major with the training's columns; level codes
// in its categorical columns, PassiveModel.Encode) and every split it owns,
// whether the row goes left (model.GoesLeft: a missing value or a label
// unseen in training by the split's missing direction). One message per
// batch of rows; the bank learns these decisions, nothing of the values,
// thresholds or levels. It first compares the bank's half's training id
// with its own and refuses halves of different trainings (ErrTraining)
// before any decision leaves.
func PredictPassive(ctx context.Context, t fl.Transport, m *PassiveModel, x []float64, d int) (err error) {
	defer fl.AbortOnError(ctx, t, &err)
	var s predictSetup
	if err := fl.RecvJSON(ctx, t, TypePredictSetup, &s); err != nil {
		return err
	}
	if s.Version != predictVersion {
		return fl.Fail(ctx, t, fmt.Errorf("%w: the bank speaks boost prediction version %d, this center %d", ErrProtocol, s.Version, predictVersion))
	}
	if err := checkTraining(s.Training, m.Training); err != nil {
		return fl.Fail(ctx, t, err)
	}
	if d != m.Binning.Dim() || len(x)%d != 0 {
		return fl.Fail(ctx, t, fmt.Errorf("%w: %d values in rows of %d columns, the model has %d", model.ErrShape, len(x), d, m.Binning.Dim()))
	}
	if s.Rows != len(x)/d {
		return fl.Fail(ctx, t, fmt.Errorf("%w: the bank predicts %d rows, the center %d", ErrProtocol, s.Rows, len(x)/d))
	}
	bins, err := m.Binning.Bin(x, d)
	if err != nil {
		return fl.Fail(ctx, t, err)
	}
	n := len(x) / d
	parts := make([][]byte, len(m.Splits))
	for k, s := range m.Splits {
		bits := make([]byte, (n+7)/8)
		col := bins[s.Feature]
		for i := 0; i < n; i++ {
			if model.GoesLeft(col[i], s.Bin, s.MissingLeft, s.LeftBins) {
				bits[i/8] |= 1 << (i % 8)
			}
		}
		parts[k] = bits
	}
	return t.Send(ctx, fl.Message{Type: TypeDecisions, Payload: frame(parts...)})
}

// PredictActiveLogits is the bank's side: it returns the logits of the rows of x
// (its raw values, row-major; level codes in its categorical columns,
// ActiveModel.Encode), combining its own splits with the center's
// decisions. It sends its half's training id first; the center refuses
// halves of different trainings, and the error names both ids.
func PredictActiveLogits(ctx context.Context, t fl.Transport, m *ActiveModel, x []float64, d int) (_ []float64, err error) {
	defer fl.AbortOnError(ctx, t, &err)
	if d != m.Binning.Dim() || len(x)%d != 0 {
		return nil, fl.Fail(ctx, t, fmt.Errorf("%w: %d values in rows of %d columns, the model has %d", model.ErrShape, len(x), d, m.Binning.Dim()))
	}
	bins, err := m.Binning.Bin(x, d)
	if err != nil {
		return nil, fl.Fail(ctx, t, err)
	}
	n := len(x) / d
	index := map[[2]int]int{}
	for ti, tr := range m.Trees {
		for i, nd := range tr.Nodes {
			if nd.Party == model.Passive {
				index[[2]int{ti, i}] = len(index)
			}
		}
	}
	if err := fl.SendJSON(ctx, t, TypePredictSetup, predictSetup{Version: predictVersion, Training: m.Training, Rows: n}); err != nil {
		return nil, err
	}
	b, err := fl.Expect(ctx, t, TypeDecisions)
	if err != nil {
		return nil, err
	}
	parts, err := unframe(b, len(index))
	if err != nil {
		return nil, fl.Fail(ctx, t, err)
	}
	for _, p := range parts {
		if len(p) != (n+7)/8 {
			return nil, fl.Fail(ctx, t, fmt.Errorf("%w: decisions of %d bytes for %d rows", ErrProtocol, len(p), n))
		}
	}
	logits := make([]float64, n)
	for i := range logits {
		z := m.BaseScore
		for ti, tr := range m.Trees {
			k := 0
			for {
				nd := tr.Nodes[k]
				var left bool
				switch nd.Party {
				case "":
					z += nd.Weight
				case model.Active:
					left = model.GoesLeft(bins[nd.Feature][i], nd.Bin, nd.MissingLeft, nd.LeftBins)
				case model.Passive:
					p := parts[index[[2]int{ti, k}]]
					left = p[i/8]>>(i%8)&1 == 1
				}
				if nd.Party == "" {
					break
				}
				if left {
					k = nd.Left
				} else {
					k = nd.Right
				}
			}
		}
		logits[i] = z
	}
	return logits, nil
}
