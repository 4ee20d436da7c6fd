package model

import (
	"bytes"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// categoricalFixture is a party's training table of three columns, the
// middle one categorical (dictionary in byte order), with its encoding.
func categoricalFixture(t *testing.T) (names []string, dict [][]string, x []float64, c *Categories) {
	t.Helper()
	nan := math.NaN()
	names = []string{"income", "district", "age"}
	dict = [][]string{nil, {"east", "north", "west"}, nil}
	x = []float64{
		10, 0, 30,
		20, 2, 40,
		30, nan, 50,
		nan, 1, 60,
		50, 2, 70,
	}
	c, err := FitCategories(names, dict, x, 0)
	require.NoError(t, err)
	return names, dict, x, c
}

// One-hot encoding gives one 0/1 column per level in the column's place;
// a missing level is all zeros, numeric columns (NaN included) pass.
func TestOneHot(t *testing.T) {
	nan := math.NaN()
	names, _, x, c := categoricalFixture(t)
	require.Equal(t, 5, c.OneHotWidth(3))
	require.Equal(t, []string{"income", "district=east", "district=north", "district=west", "age"}, c.OneHotNames(names))
	got, err := c.OneHot(x, 3)
	require.NoError(t, err)
	want := []float64{
		10, 1, 0, 0, 30,
		20, 0, 0, 1, 40,
		30, 0, 0, 0, 50,
		nan, 0, 1, 0, 60,
		50, 0, 0, 1, 70,
	}
	require.Len(t, got, len(want))
	for i := range want {
		if math.IsNaN(want[i]) {
			require.True(t, math.IsNaN(got[i]), "cell %d", i)
			continue
		}
		require.Equal(t, want[i], got[i], "cell %d", i)
	}

	// No categorical column: x itself, no copy.
	none := &Categories{}
	same, err := none.OneHot(x, 3)
	require.NoError(t, err)
	require.Same(t, &x[0], &same[0])
	require.Equal(t, names, (*Categories)(nil).OneHotNames(names))

	// A code that is not a level is refused, naming column and row.
	bad := append([]float64(nil), x...)
	bad[3*3+1] = 3
	_, err = c.OneHot(bad, 3)
	require.ErrorIs(t, err, ErrCategories)
	require.ErrorContains(t, err, `column "district", row 3`)
	bad[3*3+1] = 0.5
	_, err = c.OneHot(bad, 3)
	require.ErrorIs(t, err, ErrCategories)
	_, err = c.OneHot(x, 2)
	require.ErrorIs(t, err, ErrShape)
}

// lrFixture is an LR half over the fixture's one-hot columns.
func lrFixture(t *testing.T) (*LRHalf, [][]string, []float64) {
	t.Helper()
	names, dict, x, c := categoricalFixture(t)
	oh, err := c.OneHot(x, 3)
	require.NoError(t, err)
	st, err := FitStandardizer(oh, 5)
	require.NoError(t, err)
	h := &LRHalf{Version: LRVersion, Party: Active, Features: names, Categories: c, OneHot: c.OneHotNames(names),
		Standardizer: st, Weights: []float64{0.1, 0.7, -0.4, 0.2, -0.05}, Intercept: -1}
	require.NoError(t, h.Validate())
	return h, dict, x
}

// A half with categorical features scores a table with its own
// dictionary by label: the same rows score the same whatever the codes,
// and a label unseen in training scores as no level (all zeros before
// standardizing), like a missing cell.
func TestLRHalfCategorical(t *testing.T) {
	h, _, x := lrFixture(t)
	want := make([]float64, 5)
	require.NoError(t, h.PartialScore(x, want))
	// By hand for row 1 (district west): standardize the one-hot row.
	row := []float64{20, 0, 0, 1, 40}
	z := h.Intercept
	for j, v := range row {
		z += h.Weights[j] * (v - h.Standardizer.Mean[j]) / h.Standardizer.Std[j]
	}
	require.InDelta(t, z, want[1], 1e-12)

	// A new table: another dictionary, codes of its own, an unseen label.
	nan := math.NaN()
	dict := [][]string{nil, {"central", "east", "north", "west"}, nil}
	newX := []float64{
		10, 1, 30, // east
		20, 3, 40, // west
		30, nan, 50, // missing
		25, 0, 60, // central: unseen in training
	}
	enc, err := h.Encode(dict, newX)
	require.NoError(t, err)
	got := make([]float64, 4)
	require.NoError(t, h.PartialScore(enc, got))
	require.InDelta(t, want[0], got[0], 1e-12)
	require.InDelta(t, want[1], got[1], 1e-12)
	require.InDelta(t, want[2], got[2], 1e-12)
	missing := []float64{25, nan, 60}
	one := make([]float64, 1)
	require.NoError(t, h.PartialScore(missing, one))
	require.InDelta(t, one[0], got[3], 1e-12, "an unseen label scores as a missing one")

	// Text where the half was numeric, and the reverse, are named.
	_, err = h.Encode([][]string{{"a"}, dict[1], nil}, newX)
	require.ErrorIs(t, err, ErrCategories)
	require.ErrorContains(t, err, `"income"`)
	_, err = h.Encode(nil, newX)
	require.ErrorIs(t, err, ErrCategories)
	require.ErrorContains(t, err, `"district"`)

	// A numeric half refuses a table with text in one of its columns.
	numeric := &LRHalf{Version: LRVersion, Party: Passive, Features: []string{"district"},
		Standardizer: Standardizer{Mean: []float64{0}, Std: []float64{1}}, Weights: []float64{1}}
	_, err = numeric.Encode([][]string{{"east"}}, []float64{0})
	require.ErrorIs(t, err, ErrCategories)
}

// The encoding travels in the file and comes back; a half of numeric
// features writes no trace of it, so its file is as before.
func TestLRHalfCategoricalFile(t *testing.T) {
	h, dict, x := lrFixture(t)
	var buf bytes.Buffer
	require.NoError(t, h.Save(&buf))
	require.Contains(t, buf.String(), `"district=north"`)
	got, err := LoadLRHalf(&buf)
	require.NoError(t, err)
	require.Equal(t, h.Categories, got.Categories)
	enc, err := got.Encode(dict, x)
	require.NoError(t, err)
	a, b := make([]float64, 5), make([]float64, 5)
	require.NoError(t, h.PartialScore(x, a))
	require.NoError(t, got.PartialScore(enc, b))
	require.Equal(t, a, b)

	active, _ := testHalves()
	buf.Reset()
	require.NoError(t, active.Save(&buf))
	require.NotContains(t, buf.String(), "categories")
	require.NotContains(t, buf.String(), "one_hot")
	// A file written before categories existed loads.
	old := `{"version": 1, "party": "passive", "features": ["a"], "standardizer": {"mean": [0], "std": [1]}, "weights": [0.5], "intercept": 0}`
	_, err = LoadLRHalf(strings.NewReader(old))
	require.NoError(t, err)
}

func TestLRHalfCategoricalRejects(t *testing.T) {
	for _, tc := range []struct {
		name  string
		edit  func(h *LRHalf)
		field string
	}{
		{"layout", func(h *LRHalf) { h.OneHot[1] = "district=south" }, "one_hot"},
		{"layout without categories", func(h *LRHalf) { h.Categories = nil }, "one_hot"},
		{"weights per feature", func(h *LRHalf) { h.Weights = h.Weights[:3] }, "weights"},
		{"encodings per feature", func(h *LRHalf) { h.Categories.Columns = h.Categories.Columns[:2] }, "encodings"},
		{"no categorical", func(h *LRHalf) { h.Categories.Columns[1] = nil }, "no feature is categorical"},
		{"levels named apart", func(h *LRHalf) { h.Categories.Columns[1].Column = "zone" }, `named "zone"`},
		{"unsorted labels", func(h *LRHalf) {
			l := h.Categories.Columns[1].Labels
			l[0], l[1] = l[1], l[0]
		}, "not sorted"},
		{"kept and folded", func(h *LRHalf) { h.Categories.Columns[1].Folded = []string{"east"} }, "kept and folded"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, _, _ := lrFixture(t)
			tc.edit(h)
			err := h.Save(new(bytes.Buffer))
			if !errors.Is(err, ErrBadModel) || !strings.Contains(err.Error(), tc.field) {
				t.Errorf("Save: %v, want ErrBadModel naming %q", err, tc.field)
			}
		})
	}
}

// Optimal binning of a categorical column merges levels of similar risk,
// however far apart their codes are; merging neighbours by code would
// join the safest and the riskiest.
func TestOptimalLevelBins(t *testing.T) {
	// Event rates by level: 2%, 30%, 3%, 31%, 10% of 1000 rows each.
	rates := []float64{0.02, 0.30, 0.03, 0.31, 0.10}
	c := BinCounts{MissingEvents: 5, MissingNonEvents: 45}
	for _, r := range rates {
		c.Events = append(c.Events, 1000*r)
		c.NonEvents = append(c.NonEvents, 1000*(1-r))
	}
	bins, err := OptimalLevelBins(c, MergeOptions{MaxBins: 3})
	require.NoError(t, err)
	require.Equal(t, []int{0, 2, 0, 2, 1}, bins, "levels 0 and 2, 1 and 3 merge; bins numbered from the lowest event rate")
	m, err := c.MergeLevels(bins, 3)
	require.NoError(t, err)
	require.Equal(t, []float64{50, 100, 610}, m.Events)
	require.Equal(t, 5.0, m.MissingEvents, "the missing bin is never merged")
	w, err := m.WOE(0)
	require.NoError(t, err)
	require.Greater(t, w.WOE[0], w.WOE[1])
	require.Greater(t, w.WOE[1], w.WOE[2])

	// The adjacent merge in code order, for contrast, joins level 1 (30%)
	// with level 2 (3%).
	ends, err := OptimalBins(c, MergeOptions{MaxBins: 3})
	require.NoError(t, err)
	require.Equal(t, []int{0, 2, 4}, ends)

	_, err = c.MergeLevels([]int{0, 0, 0, 0, 2}, 3)
	require.ErrorIs(t, err, ErrShape, "merged bin 1 holds no level")
	_, err = c.MergeLevels([]int{0, 1}, 2)
	require.ErrorIs(t, err, ErrShape)
}

// A categorical WOE column bins by level; missing, unseen and non-level
// values take the missing bin (Transform refuses the last).
func TestCategoricalWOEColumn(t *testing.T) {
	nan := math.NaN()
	w := ColumnWOE{WOE: []float64{0.8, -0.6}, MissingWOE: 0.1}
	col, err := NewCategoricalWOEColumn([]int{0, 1, 0}, w)
	require.NoError(t, err)
	require.True(t, col.Categorical())
	require.Equal(t, []float64{0.8, -0.6, 0.8, 0.1, 0.1}, []float64{col.Value(0), col.Value(1), col.Value(2), col.Value(nan), col.Value(3)})

	_, err = NewCategoricalWOEColumn([]int{0, 2}, w)
	require.ErrorIs(t, err, ErrBadModel)
	require.Error(t, WOEColumn{Cuts: []float64{1}, LevelBins: []int{0}, Values: []float64{1}}.Validate())

	_, _, _, c := categoricalFixture(t)
	tr := WOETransform{Source: []int{1}, Columns: []WOEColumn{col}, Categories: c}
	x := []float64{1, 0, 1, 5, 2, 2, 3, nan, 4}
	got, err := tr.Transform(x, 3)
	require.NoError(t, err)
	require.Equal(t, []float64{0.8, 0.8, 0.1}, got)
	x[1] = 7
	_, err = tr.Transform(x, 3)
	require.ErrorIs(t, err, ErrCategories)
	// The encoding and the column must agree on the levels.
	tr.Source = []int{0}
	_, err = tr.Transform([]float64{1, 0, 1}, 3)
	require.ErrorIs(t, err, ErrCategories)
}

// A scorecard half with a categorical feature keeps its levels, scores a
// new table by label (unseen labels take the missing points) and survives
// a round trip through its file.
func TestScorecardCategorical(t *testing.T) {
	nan := math.NaN()
	names, dict, x, c := categoricalFixture(t)
	num, err := NewWOEColumn([]float64{25}, ColumnWOE{WOE: []float64{-0.2, 0.3}, MissingWOE: 0})
	require.NoError(t, err)
	cat, err := NewCategoricalWOEColumn([]int{1, 0, 1}, ColumnWOE{WOE: []float64{0.5, -0.4}, MissingWOE: -0.1})
	require.NoError(t, err)
	tr := WOETransform{Source: []int{0, 1}, Columns: []WOEColumn{num, cat}, Categories: c}
	enc, err := c.Encode(dict, x, 3)
	require.NoError(t, err)
	z, err := tr.Transform(enc, 3)
	require.NoError(t, err)
	std, err := FitStandardizer(z, 2)
	require.NoError(t, err)
	card := Scorecard{}
	h, err := NewScorecardHalf(Active, names, tr, std, []float64{-0.6, -0.9}, -1.1, card)
	require.NoError(t, err)
	f := h.Features[1]
	require.Equal(t, "district", f.Name)
	require.Equal(t, []string{"east", "north", "west"}, f.Levels.Labels)
	require.Equal(t, []int{1, 0, 1}, f.LevelBins)
	require.Empty(t, f.Cuts)

	var buf bytes.Buffer
	require.NoError(t, h.Save(&buf))
	h2, err := LoadScorecardHalf(&buf)
	require.NoError(t, err)
	require.Equal(t, h.Features, h2.Features)

	pts := make([]float64, 5)
	require.NoError(t, h.PartialPoints(enc, 3, pts))
	// A new table, its own dictionary, an unseen label ("south") and a
	// missing cell.
	newDict := [][]string{nil, {"north", "south", "west"}, nil}
	newX := []float64{20, 2, 40, 30, 1, 50, 30, nan, 50}
	enc2, err := h2.Encode(newDict, newX, 3)
	require.NoError(t, err)
	got := make([]float64, 3)
	require.NoError(t, h2.PartialPoints(enc2, 3, got))
	require.InDelta(t, pts[1], got[0], 1e-9, "west scores as in training")
	require.InDelta(t, pts[2], got[1], 1e-9, "an unseen label scores the missing points")
	require.InDelta(t, pts[2], got[2], 1e-9)

	// Table codes that did not go through Encode are caught when they are
	// not levels; a table whose kind differs is named.
	_, err = h2.Encode([][]string{{"x"}, nil, nil}, newX, 3)
	require.ErrorIs(t, err, ErrCategories)
	_, err = h2.Encode(nil, newX, 3)
	require.ErrorContains(t, err, `"district" was categorical`)
	require.ErrorIs(t, h2.PartialPoints([]float64{20, 9, 40}, 3, got[:1]), ErrCategories)

	// No encoding in the transform: no scorecard of its levels.
	tr.Categories = nil
	_, err = NewScorecardHalf(Active, names, tr, std, []float64{-0.6, -0.9}, -1.1, card)
	require.ErrorIs(t, err, ErrCategories)

	bad := *h2
	bad.Features = append([]ScorecardFeature(nil), h2.Features...)
	bad.Features[1].LevelBins = []int{0, 1}
	require.ErrorIs(t, bad.Validate(), ErrBadModel)
}
