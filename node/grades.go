package node

import (
	"encoding/csv"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/veil-fl/veil/fl/score"
	"github.com/veil-fl/veil/model"
)

// Whitelist is the bank's pre-approval of its best grades: the Approve
// best grades (A = 0 first) are approved and priced by Pricing. Disclosed
// names the center's flags this scoring disclosed (for the whitelisted
// enterprises only), and Flags holds each scored record's (nil when none
// were disclosed; a record not whitelisted has none).
type Whitelist struct {
	Approve   int
	Pricing   Pricing
	Disclosed Flags
	Flags     []Flags
}

// Check reports a whitelist that cannot price: Approve below 1 or above
// grades, or a pricing that cannot price Approve grades (Pricing.Check).
func (w Whitelist) Check(grades int) error {
	if w.Approve < 1 || w.Approve > grades {
		return fmt.Errorf("node: approve %d grades: want 1 .. %d", w.Approve, grades)
	}
	return w.Pricing.Check(w.Approve)
}

// WriteGrades writes dir/grades.csv (id, grade: A is the lowest
// probability of default; with scores the probability of default and the
// points on card's scale) and dir/whitelist.csv (id, grade, credit line, rate of
// the enterprises in wl's approved grades). It returns the count per grade
// and the number approved. grades is the number of grades (cut points
// plus one).
func WriteGrades(dir string, res *score.Scored, grades int, scores bool, card model.Scorecard, wl Whitelist) (counts []int, approved int, err error) {
	if grades < 1 || grades > maxGrades+1 {
		return nil, 0, fmt.Errorf("node: %d grades: want 1 .. %d", grades, maxGrades+1)
	}
	if err := wl.Check(grades); err != nil {
		return nil, 0, err
	}
	if len(res.Bands) != len(res.IDs) || (scores && len(res.Logits) != len(res.IDs)) || (wl.Flags != nil && len(wl.Flags) != len(res.IDs)) {
		return nil, 0, fmt.Errorf("node: %d ids, %d grades, %d scores, %d records' flags", len(res.IDs), len(res.Bands), len(res.Logits), len(wl.Flags))
	}
	counts = make([]int, grades)
	gf, err := os.Create(filepath.Join(dir, "grades.csv"))
	if err != nil {
		return nil, 0, err
	}
	defer gf.Close()
	wf, err := os.Create(filepath.Join(dir, "whitelist.csv"))
	if err != nil {
		return nil, 0, err
	}
	defer wf.Close()
	g, w := csv.NewWriter(gf), csv.NewWriter(wf)
	head := []string{"id", "grade"}
	if scores {
		head = append(head, "probability_of_default", "points")
	}
	if err := g.Write(head); err != nil {
		return nil, 0, err
	}
	if err := w.Write([]string{"id", "grade", "credit_line_yuan", "annual_rate_percent", "coupon_discount_points", "category_discount_points", "flags"}); err != nil {
		return nil, 0, err
	}
	for i, id := range res.IDs {
		b := res.Bands[i]
		if b < 0 || b >= grades {
			return nil, 0, fmt.Errorf("node: record %d in grade %d of %d", i, b, grades)
		}
		counts[b]++
		grade := string(rune('A' + b))
		row := []string{id, grade}
		if scores {
			z := res.Logits[i]
			row = append(row, strconv.FormatFloat(model.Logistic(z), 'f', 6, 64), strconv.FormatFloat(card.PointsFromLogit(z), 'f', 1, 64))
		}
		if err := g.Write(row); err != nil {
			return nil, 0, err
		}
		if b < wl.Approve {
			var f Flags
			if wl.Flags != nil {
				f = wl.Flags[i] & wl.Disclosed
			}
			o := wl.Pricing.Price(b, wl.Approve, f)
			approved++
			pts := func(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) }
			if err := w.Write([]string{id, grade, strconv.FormatFloat(o.Line, 'f', 0, 64), pts(o.Rate), pts(o.Coupon), pts(o.Category), f.String()}); err != nil {
				return nil, 0, err
			}
		}
	}
	for _, c := range []*csv.Writer{g, w} {
		c.Flush()
		if err := c.Error(); err != nil {
			return nil, 0, err
		}
	}
	return counts, approved, errors.Join(gf.Close(), wf.Close())
}
