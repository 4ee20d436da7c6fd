package fl

import (
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/veil-fl/veil/model"
)

func TestDataShape(t *testing.T) {
	d := Data{X: []float64{1, 2, 3, 4, 5, 6}, Cols: 3}
	require.Equal(t, 2, d.Rows())
	require.Nil(t, d.CategoricalMarks(), "no categories, no marks")
	require.Zero(t, Data{X: d.X}.Rows(), "no columns: no rows rather than a division by zero")

	cats := &model.Categories{Columns: []*model.Levels{nil, {Column: "kind"}, nil}}
	d.Categories = cats
	require.Equal(t, []bool{false, true, false}, d.CategoricalMarks())
	d.Categories = &model.Categories{Columns: []*model.Levels{nil, nil, nil}}
	require.Nil(t, d.CategoricalMarks(), "an encoding that marks no column")
}
