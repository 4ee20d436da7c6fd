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
type Prepared struct {
	Features          []string
	Cols              int
	Std               model.Standardizer
	RawTrain, RawTest []float64
	XTrain, XTest     []float64
	YTrain, YTest     []float64 // the bank's; nil on the center's side
}

// TrainRows returns the number of training rows.
func (p *Prepared) TrainRows() int { return len(p.RawTrain) / p.Cols }

// TestRows returns the number of test rows.
func (p *Prepared) TestRows() int { return len(p.RawTest) / p.Cols }

// Prepare standardizes a party's own columns on its training rows, imputes
// missing values with the training mean and clips standardized values to
// [-clip, clip] (0: no clipping).
func Prepare(train, test *dataset.Table, clip float64) (*Prepared, error) {
	d := train.Cols()
	if test.Cols() != d {
		return nil, fmt.Errorf("job: the test table has %d columns, the training table %d", test.Cols(), d)
	}
	if train.Rows() < 2 || test.Rows() < 1 {
		return nil, fmt.Errorf("job: %d training and %d test rows after alignment: too few", train.Rows(), test.Rows())
	}
	st, err := model.FitStandardizer(train.X, d)
	if err != nil {
		return nil, err
	}
	st.Clip = clip
	p := &Prepared{RawTrain: train.X, RawTest: test.X, Std: st, Features: train.Columns, Cols: d,
		XTrain: make([]float64, len(train.X)), XTest: make([]float64, len(test.X)), YTrain: train.Labels, YTest: test.Labels}
	if err := st.Transform(train.X, p.XTrain); err != nil {
		return nil, err
	}
	if err := st.Transform(test.X, p.XTest); err != nil {
		return nil, err
	}
	return p, nil
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
	p := &Prepared{Std: std, Cols: m, RawTrain: xtr, RawTest: xte, XTrain: make([]float64, len(xtr)), XTest: make([]float64, len(xte)), YTrain: data.YTrain, YTest: data.YTest}
	for _, s := range tr.Source {
		p.Features = append(p.Features, data.Features[s])
	}
	if err := std.Transform(xtr, p.XTrain); err != nil {
		return nil, err
	}
	if err := std.Transform(xte, p.XTest); err != nil {
		return nil, err
	}
	return p, nil
}
