package dataset

import (
	"bytes"
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func smallTable() *Table {
	return &Table{
		Name:    "t",
		IDs:     []string{"a", "b", "c"},
		Columns: []string{"x", "y2"},
		X:       []float64{1, 2, 3, math.NaN(), 5, 6},
		Labels:  []float64{0, 1, 0},
	}
}

func TestTableAccessors(t *testing.T) {
	tb := smallTable()
	require.Equal(t, 3, tb.Rows())
	require.Equal(t, 2, tb.Cols())

	row := tb.Row(2)
	require.Equal(t, []float64{5, 6}, row)
	require.Equal(t, 2, cap(row), "Row's capacity must end at the row")

	buf := make([]float64, 0, 10)
	col := tb.Col(0, buf)
	require.Equal(t, []float64{1, 3, 5}, col)
	require.Same(t, &buf[:1][0], &col[0], "Col must reuse dst")
	col = tb.Col(1, nil)
	require.Len(t, col, 3)
	require.True(t, math.IsNaN(col[1]))

	j, ok := tb.ColumnIndex("y2")
	require.True(t, ok)
	require.Equal(t, 1, j)
	_, ok = tb.ColumnIndex("nope")
	require.False(t, ok)
}

func TestSelect(t *testing.T) {
	tb := smallTable()
	got := tb.Select([]int{2, 0})
	want := &Table{Name: "t", IDs: []string{"c", "a"}, Columns: []string{"x", "y2"},
		X: []float64{5, 6, 1, 2}, Labels: []float64{0, 0}}
	require.NoError(t, sameTable(got, want))
	got.X[0] = 100
	require.Equal(t, 5.0, tb.X[4], "Select must not share memory with its source")

	byID, err := tb.SelectIDs([]string{"b", "c"})
	require.NoError(t, err)
	require.NoError(t, sameTable(byID, tb.Select([]int{1, 2})))
	_, err = tb.SelectIDs([]string{"a", "zz"})
	require.ErrorContains(t, err, `no row with id "zz"`)
}

func TestAlign(t *testing.T) {
	a := &Table{IDs: []string{"p", "q", "r", "s"}}
	b := &Table{IDs: []string{"s", "x", "p", "r"}}
	ra, rb := Align(a, b)
	require.Equal(t, []int{0, 2, 3}, ra)
	require.Equal(t, []int{2, 3, 0}, rb)
	ra, rb = Align(a, &Table{})
	require.Empty(t, ra)
	require.Empty(t, rb)
}

func TestWriteCSV(t *testing.T) {
	tb := &Table{
		Name:    "w",
		IDs:     []string{"plain", "com,ma", `quo"te`, " padded ", "cr\r"},
		Columns: []string{"amount", "tiny", "huge", "neg zero", "x,y"},
		X: []float64{
			1234567.89, 1e-7, 1e300, math.Copysign(0, -1), 0.1,
			math.NaN(), 5e-324, math.MaxFloat64, 0, -3,
			1, 2, 3, 4, 5,
			0.30000000000000004, 1e15, 123456789012345678, math.NaN(), math.NaN(),
			-1e-4, 9.999e-5, 1e14, 7, 8,
		},
		Labels: []float64{0, 1, 1, 0, 0},
	}
	out := csvBytes(t, tb)
	lines := strings.Split(string(out), "\n")
	require.Equal(t, `id,y,amount,tiny,huge,neg zero,"x,y"`, lines[0])
	require.Equal(t, "plain,0,1234567.89,1e-07,1e+300,-0,0.1", lines[1])
	require.Equal(t, `"com,ma",1,,5e-324,1.7976931348623157e+308,0,-3`, lines[2])
	back, err := ParseCSV(bytes.NewReader(out), "w", CSVOptions{LabelColumn: "y"})
	require.NoError(t, err)
	require.NoError(t, sameTable(back, tb))

	// Without labels a column may be called y.
	noLabels := &Table{Name: "n", IDs: []string{"1"}, Columns: []string{"y"}, X: []float64{2}}
	back, err = ParseCSV(bytes.NewReader(csvBytes(t, noLabels)), "n", CSVOptions{})
	require.NoError(t, err)
	require.NoError(t, sameTable(back, noLabels))
}

func TestWriteCSVRefuses(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Table)
	}{
		{"short X", func(tb *Table) { tb.X = tb.X[:5] }},
		{"short labels", func(tb *Table) { tb.Labels = tb.Labels[:2] }},
		{"empty id", func(tb *Table) { tb.IDs[1] = "" }},
		{"newline in id", func(tb *Table) { tb.IDs[1] = "a\nb" }},
		{"duplicate id", func(tb *Table) { tb.IDs[2] = "a" }},
		{"empty column name", func(tb *Table) { tb.Columns[0] = "" }},
		{"duplicate column name", func(tb *Table) { tb.Columns[1] = "x" }},
		{"column named id", func(tb *Table) { tb.Columns[1] = "id" }},
		{"column named y", func(tb *Table) { tb.Columns[1] = "y" }},
		{"label 2", func(tb *Table) { tb.Labels[0] = 2 }},
		{"NaN label", func(tb *Table) { tb.Labels[0] = math.NaN() }},
		{"infinity", func(tb *Table) { tb.X[3] = math.Inf(-1) }},
	}
	for _, tt := range tests {
		tb := smallTable()
		tt.edit(tb)
		require.ErrorIs(t, tb.WriteCSV(new(bytes.Buffer)), errNotWritable, tt.name)
	}
}

func TestSyntheticRoundTrip(t *testing.T) {
	bank, center, err := Synthesize(SynthOptions{Rows: 2000, Seed: 9, MissingRate: 0.05})
	require.NoError(t, err)
	for _, tb := range []*Table{bank, center} {
		opt := CSVOptions{}
		if tb.Labels != nil {
			opt.LabelColumn = "y"
		}
		back, err := ParseCSV(bytes.NewReader(csvBytes(t, tb)), tb.Name, opt)
		require.NoError(t, err)
		require.NoError(t, sameTable(back, tb), tb.Name)
	}
}

// catTable has a numeric and two categorical columns, one with a label no
// row holds.
func catTable() *Table {
	nan := math.NaN()
	return &Table{
		Name:    "c",
		IDs:     []string{"a", "b", "c"},
		Columns: []string{"income", "job", "grade"},
		X: []float64{
			1, 2, 0,
			nan, 0, nan,
			3, 1, 2,
		},
		Labels:     []float64{0, 1, 0},
		Categories: [][]string{nil, {" padded", "a,b", `say "hi"`}, {"A", "B", "D"}},
	}
}

func TestCategoricalColumns(t *testing.T) {
	tb := catTable()
	require.Equal(t, []CategoricalColumn{{Name: "job", Index: 1, NumLabels: 3}, {Name: "grade", Index: 2, NumLabels: 3}}, tb.Categorical())
	require.False(t, tb.IsCategorical(0))
	require.True(t, tb.IsCategorical(2))
	require.False(t, tb.IsCategorical(3))
	require.Nil(t, smallTable().Categorical())
}

func TestSelectKeepsCategories(t *testing.T) {
	tb := catTable()
	got := tb.Select([]int{2})
	want := &Table{Name: "c", IDs: []string{"c"}, Columns: tb.Columns, X: []float64{3, 1, 2}, Labels: []float64{0},
		Categories: [][]string{nil, {" padded", "a,b", `say "hi"`}, {"A", "B", "D"}}}
	require.NoError(t, sameTable(got, want), "Select keeps whole dictionaries: an index means the same label")
	got.Categories[2][0] = "changed"
	require.Equal(t, "A", tb.Categories[2][0], "Select must not share dictionaries with its source")

	byID, err := tb.SelectIDs([]string{"c"})
	require.NoError(t, err)
	require.NoError(t, sameTable(byID, want))
	require.Nil(t, smallTable().Select([]int{0}).Categories)
}

func TestWriteCSVCategorical(t *testing.T) {
	tb := catTable()
	tb.X[5] = 1 // every label used, so that reading back gives the same dictionaries
	out := csvBytes(t, tb)
	lines := strings.Split(string(out), "\n")
	require.Equal(t, "id,y,income,job,grade", lines[0])
	require.Equal(t, `a,0,1,"say ""hi""",A`, lines[1])
	require.Equal(t, `b,1,," padded",B`, lines[2])
	require.Equal(t, `c,0,3,"a,b",D`, lines[3])
	back, err := ParseCSV(bytes.NewReader(out), "c", CSVOptions{LabelColumn: "y", Categorical: []string{"job", "grade"}})
	require.NoError(t, err)
	require.NoError(t, sameTable(back, tb))

	// Labels that look like numbers survive when the column is declared.
	codes := &Table{Name: "n", IDs: []string{"1", "2"}, Columns: []string{"branch"}, X: []float64{1, 0},
		Categories: [][]string{{"007", "7"}}}
	back, err = ParseCSV(bytes.NewReader(csvBytes(t, codes)), "n", CSVOptions{Categorical: []string{"branch"}})
	require.NoError(t, err)
	require.NoError(t, sameTable(back, codes))
}

func TestWriteCSVRefusesCategories(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Table)
	}{
		{"too few lists", func(tb *Table) { tb.Categories = tb.Categories[:2] }},
		{"no labels", func(tb *Table) { tb.Categories[2] = []string{}; tb.X[2], tb.X[8] = math.NaN(), math.NaN() }},
		{"unsorted", func(tb *Table) { tb.Categories[2] = []string{"B", "A", "D"} }},
		{"repeated", func(tb *Table) { tb.Categories[2] = []string{"A", "A", "D"} }},
		{"empty label", func(tb *Table) { tb.Categories[2] = []string{"", "B", "D"} }},
		{"missing marker", func(tb *Table) { tb.Categories[2] = []string{"A", "B", "NA"} }},
		{"line break", func(tb *Table) { tb.Categories[2] = []string{"A", "B", "D\nE"} }},
		{"index too large", func(tb *Table) { tb.X[2] = 3 }},
		{"negative index", func(tb *Table) { tb.X[2] = -1 }},
		{"fractional index", func(tb *Table) { tb.X[2] = 0.5 }},
	}
	for _, tt := range tests {
		tb := catTable()
		tt.edit(tb)
		err := tb.WriteCSV(new(bytes.Buffer))
		require.ErrorIs(t, err, errNotWritable, tt.name)
	}
	require.NoError(t, catTable().WriteCSV(new(bytes.Buffer)))
}

func TestCheckSameSchema(t *testing.T) {
	base := func() *Table { return catTable() }
	tests := []struct {
		name string
		edit func(train, test *Table)
		msg  string // "" when the schemas match
	}{
		{"same", func(_, _ *Table) {}, ""},
		{"labels differ, not the schema", func(_, test *Table) { test.Categories[1] = []string{"x"}; test.Labels = nil }, ""},
		{"numeric in test", func(_, test *Table) { test.Categories[1] = nil },
			`dataset: tables have different columns: train table "train", test table "test": column "job" is categorical in the train table, numeric in the test table`},
		{"no categories in test", func(_, test *Table) { test.Categories = nil },
			`column "job" is categorical in the train table, numeric in the test table; column "grade" is categorical in the train table, numeric in the test table`},
		{"categorical in test only", func(train, _ *Table) { train.Categories[2] = nil },
			`column "grade" is numeric in the train table, categorical in the test table`},
		{"missing from test", func(_, test *Table) { test.Columns[0] = "salary" },
			`column "income" is missing from the test table; column "salary" is missing from the train table`},
		{"another order", func(_, test *Table) {
			test.Columns[1], test.Columns[2] = test.Columns[2], test.Columns[1]
		}, `column "job" is column 2 in the train table, 3 in the test table; column "grade" is column 3 in the train table, 2 in the test table`},
	}
	for _, tt := range tests {
		train, test := base(), base()
		train.Name, test.Name = "train", "test"
		tt.edit(train, test)
		err := CheckSameSchema(train, test)
		if tt.msg == "" {
			require.NoError(t, err, tt.name)
			continue
		}
		require.ErrorIs(t, err, ErrSchemaMismatch, tt.name)
		require.ErrorContains(t, err, tt.msg, tt.name)
	}
}
