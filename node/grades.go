package node

import (
	"encoding/csv"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"

	"github.com/veil-fl/veil/fl/score"
	"github.com/veil-fl/veil/model"
)

// Whitelist is the bank's pricing of pre-approved enterprises: the Approve
// best grades are approved; grade k (A = 0) gets a collateral-free credit
// line of MaxLine*(Approve-k)/Approve yuan, rounded, and an annual rate
// going linearly from RateMin percent (grade A) to RateMax (the last
// approved grade).
type Whitelist struct {
	Approve          int
	MaxLine          float64
	RateMin, RateMax float64
}

// Check reports a whitelist that cannot price: Approve below 1 or above
// grades, a line not positive, rates not 0 < RateMin <= RateMax.
func (w Whitelist) Check(grades int) error {
	switch {
	case w.Approve < 1 || w.Approve > grades:
		return fmt.Errorf("node: approve %d grades: want 1 .. %d", w.Approve, grades)
	case !(w.MaxLine > 0) || math.IsInf(w.MaxLine, 0):
		return fmt.Errorf("node: credit line %v: want a positive number", w.MaxLine)
	case !(w.RateMin > 0) || !(w.RateMax >= w.RateMin) || math.IsInf(w.RateMax, 0):
		return fmt.Errorf("node: rates %v .. %v: want 0 < min <= max", w.RateMin, w.RateMax)
	}
	return nil
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
	if len(res.Bands) != len(res.IDs) || (scores && len(res.Logits) != len(res.IDs)) {
		return nil, 0, fmt.Errorf("node: %d ids, %d grades, %d scores", len(res.IDs), len(res.Bands), len(res.Logits))
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
	if err := w.Write([]string{"id", "grade", "credit_line_yuan", "annual_rate_percent"}); err != nil {
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
			line := wl.MaxLine * float64(wl.Approve-b) / float64(wl.Approve)
			rate := wl.RateMin
			if wl.Approve > 1 {
				rate += (wl.RateMax - wl.RateMin) * float64(b) / float64(wl.Approve-1)
			}
			approved++
			if err := w.Write([]string{id, grade, strconv.FormatFloat(math.Round(line), 'f', 0, 64), strconv.FormatFloat(rate, 'f', 2, 64)}); err != nil {
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
