package fl

import "github.com/veil-fl/veil/model"

// Data is one party's training input, the one shape every trainer takes
// (vlr, woe and boost name it Data too), so that a party prepares its table
// once and hands the same value to each protocol.
//
// X holds the rows in the order both parties agreed (the private set
// intersection), row-major with Cols columns, NaN for a missing value. Y
// holds the 0/1 labels on the bank's side and is nil on the center's: a
// center that passes labels is refused, since labels are the bank's
// alone. Names are the column names (nil: none); they stay with their
// party unless a protocol says it shows them. Categories, when set, marks
// the categorical columns and their levels: such a column holds level
// codes as model.Categories.Encode returns them.
//
// Each protocol states what it requires beyond this shape: vlr, for
// instance, takes standardized columns without missing values and no
// categorical columns (one-hot encode them first).
type Data struct {
	X          []float64
	Cols       int
	Y          []float64
	Names      []string
	Categories *model.Categories
}

// Rows returns the number of rows, 0 when Cols is not positive.
func (d Data) Rows() int {
	if d.Cols <= 0 {
		return 0
	}
	return len(d.X) / d.Cols
}

// CategoricalMarks returns, per column, whether Categories marks it
// categorical, nil when no column is: the marks a trainer that needs only
// which columns hold levels takes.
func (d Data) CategoricalMarks() []bool {
	if !d.Categories.Any() || d.Cols <= 0 {
		return nil
	}
	out := make([]bool, d.Cols)
	for j := range out {
		out[j] = d.Categories.IsCategorical(j)
	}
	return out
}
