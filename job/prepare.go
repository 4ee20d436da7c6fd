package job

import (
	"fmt"

	"github.com/veil-fl/veil/dataset"
	"github.com/veil-fl/veil/model"
)

// Prepared is one party's aligned data, ready for the protocols: the raw
// columns (trees and WOE bin raw values) and the standardized ones (LR),
// training and test rows in the order both parties share, and the bank's
// labels.
//
// A categorical column's raw values are its levels (Categories, fitted on
// the training rows; model.Categories.Encode), the same codes in the
// training and the test rows whatever each table's own dictionary, with
// NaN for a missing cell or a label the training rows do not hold. LR reads
// it one-hot (model.Categories.OneHot): X has one 0/1 column per level,
// standardized like any other, which XColumns names.
type Prepared struct {
	// Features names the raw columns, Cols of them.
	Features []string
	Cols     int
	// Categories is the party's encoding of its categorical columns; it
	// encodes nothing (no entry) when every column is numeric.
	Categories        *model.Categories
	RawTrain, RawTest []float64
	// XColumns names the columns of XTrain and XTest, XCols of them:
	// Features with each categorical column one-hot. Std is their
	// standardizer, fitted on the training rows.
	XColumns      []string
	XCols         int
	Std           model.Standardizer
	XTrain, XTest []float64
	YTrain, YTest []float64 // the bank's; nil on the center's side
}

// TrainRows returns the number of training rows.
func (p *Prepared) TrainRows() int { return len(p.RawTrain) / p.Cols }

// TestRows returns the number of test rows.
func (p *Prepared) TestRows() int { return len(p.RawTest) / p.Cols }

// Prepare encodes a party's categorical columns with levels fitted on its
// training rows (at most model.DefaultMaxLevels per column), one-hot
// encodes them, standardizes every column on the training rows, imputes
// missing values with the training mean and clips standardized values to
// [-clip, clip] (0: no clipping). The test table must have the training
// table's columns (dataset.CheckSameSchema); its labels are mapped to the
// training levels by name.
func Prepare(train, test *dataset.Table, clip float64) (*Prepared, error) {
	d := train.Cols()
	if err := dataset.CheckSameSchema(train, test); err != nil {
		return nil, fmt.Errorf("job: %w", err)
	}
	if train.Rows() < 2 || test.Rows() < 1 {
		return nil, fmt.Errorf("job: %d training and %d test rows after alignment: too few", train.Rows(), test.Rows())
	}
	cats, err := model.FitCategories(train.Columns, train.Categories, train.X, 0)
	if err != nil {
		return nil, fmt.Errorf("job: the training table's categorical columns: %w", err)
	}
	p := &Prepared{Features: train.Columns, Cols: d, Categories: cats, YTrain: train.Labels, YTest: test.Labels}
	if p.RawTrain, err = encode(cats, train); err != nil {
		return nil, err
	}
	if p.RawTest, err = encode(cats, test); err != nil {
		return nil, err
	}
	xtr, err := cats.OneHot(p.RawTrain, d)
	if err != nil {
		return nil, err
	}
	xte, err := cats.OneHot(p.RawTest, d)
	if err != nil {
		return nil, err
	}
	p.XColumns, p.XCols = cats.OneHotNames(train.Columns), cats.OneHotWidth(d)
	st, err := model.FitStandardizer(xtr, p.XCols)
	if err != nil {
		return nil, err
	}
	st.Clip = clip
	p.Std = st
	p.XTrain, p.XTest = make([]float64, len(xtr)), make([]float64, len(xte))
	if err := st.Transform(xtr, p.XTrain); err != nil {
		return nil, err
	}
	if err := st.Transform(xte, p.XTest); err != nil {
		return nil, err
	}
	return p, nil
}

// encode returns t's features with its categorical columns as c's levels;
// a table of numeric columns is returned as it is, without a copy.
func encode(c *model.Categories, t *dataset.Table) ([]float64, error) {
	if !c.Any() && t.Categories == nil {
		return t.X, nil
	}
	x, err := c.Encode(t.Categories, t.X, t.Cols())
	if err != nil {
		return nil, fmt.Errorf("job: table %q: %w", t.Name, err)
	}
	return x, nil
}

// prepareWOE transforms a party's raw columns into its kept WOE columns and
// standardizes them on the training rows (clipped like the raw LR's).
func prepareWOE(tr model.WOETransform, data *Prepared, clip float64) (*Prepared, error) {
	m := len(tr.Columns)
	xtr, err := tr.Transform(data.RawTrain, data.Cols)
	if err != nil {
		return nil, err
	}
	xte, err := tr.Transform(data.RawTest, data.Cols)
	if err != nil {
		return nil, err
	}
	std, err := model.FitStandardizer(xtr, m)
	if err != nil {
		return nil, err
	}
	std.Clip = clip
	p := &Prepared{Std: std, Cols: m, XCols: m, Categories: &model.Categories{}, RawTrain: xtr, RawTest: xte, XTrain: make([]float64, len(xtr)), XTest: make([]float64, len(xte)), YTrain: data.YTrain, YTest: data.YTest}
	for _, s := range tr.Source {
		p.Features = append(p.Features, data.Features[s])
	}
	p.XColumns = p.Features
	if err := std.Transform(xtr, p.XTrain); err != nil {
		return nil, err
	}
	if err := std.Transform(xte, p.XTest); err != nil {
		return nil, err
	}
	return p, nil
}
