package model

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

// Levels keep the labels in byte order, fold the rarest past the cap, and
// encode another table's dictionary by label: unseen labels are missing.
func TestLevels(t *testing.T) {
	nan := math.NaN()
	dict := []string{"A", "B", "C", "D", "M"}
	codes := []float64{0, 0, 0, 1, 1, 2, 3, 3, 3, 3, nan, 4}
	l, err := FitLevels("grade", dict, codes, 3)
	require.NoError(t, err)
	// D (4 rows) and A (3) kept; B (2), C (1) and M (1) folded.
	require.Equal(t, []string{"A", "D"}, l.Labels)
	require.Equal(t, []string{"B", "C", "M"}, l.Folded)
	require.Equal(t, 3, l.NumLevels())
	require.Equal(t, []string{"A", "D", OtherLabel}, l.Names())
	require.Equal(t, 1.0, l.Code("D"))
	require.Equal(t, 2.0, l.Code("C"))
	require.True(t, math.IsNaN(l.Code("Z")))

	all, err := FitLevels("grade", dict, codes, 0)
	require.NoError(t, err)
	require.Equal(t, dict, all.Labels)
	require.Nil(t, all.Folded)

	_, err = FitLevels("grade", dict, []float64{5}, 0)
	require.ErrorIs(t, err, ErrCategories)
	_, err = FitLevels("grade", dict, codes, 1)
	require.ErrorIs(t, err, ErrOptions)
}

func TestCategoriesEncode(t *testing.T) {
	nan := math.NaN()
	names := []string{"income", "industry"}
	train := []float64{1.5, 0, 2.5, 1, 3.5, 0, 4.5, nan}
	c, err := FitCategories(names, [][]string{nil, {"retail", "software"}}, train, 0)
	require.NoError(t, err)
	require.True(t, c.Any())
	require.False(t, c.IsCategorical(0))
	require.True(t, c.IsCategorical(1))

	// A test table with its own dictionary: "catering" was never seen.
	test := []float64{1, 0, 2, 1, 3, 2, 4, nan}
	got, err := c.Encode([][]string{nil, {"catering", "retail", "software"}}, test, 2)
	require.NoError(t, err)
	require.Equal(t, []float64{1, 2, 3, 4}, []float64{got[0], got[2], got[4], got[6]}, "numeric column unchanged")
	require.True(t, math.IsNaN(got[1]))
	require.Equal(t, 0.0, got[3])
	require.Equal(t, 1.0, got[5])
	require.True(t, math.IsNaN(got[7]))
	require.Equal(t, 2.0, test[2], "the input is not changed")

	_, err = c.Encode(nil, test, 2)
	require.ErrorIs(t, err, ErrCategories)
	_, err = c.Encode([][]string{{"x"}, {"retail"}}, test, 2)
	require.ErrorIs(t, err, ErrCategories)
	_, err = c.Encode([][]string{nil, {"retail"}}, []float64{1, 3}, 2)
	require.ErrorIs(t, err, ErrCategories)

	none, err := FitCategories(names, nil, train, 0)
	require.NoError(t, err)
	require.False(t, none.Any())
	same, err := none.Encode(nil, test, 2)
	require.NoError(t, err)
	require.Equal(t, test[:1], same[:1])
}
