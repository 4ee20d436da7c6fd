package dataset

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/stretchr/testify/require"
)

// sourceRow is a row of the typed test table: every kind of column the
// readers take, with nulls.
type sourceRow struct {
	ID     string   `parquet:"id"`
	Y      int64    `parquet:"y"`
	Income *float64 `parquet:"income,optional"`
	Age    int32    `parquet:"age"`
	Amount int64    `parquet:"amount,decimal(2:12)"`
	Flag   bool     `parquet:"flag"`
	Note   *string  `parquet:"note,optional"`
	Job    *string  `parquet:"job,optional"`
}

func ptr[T any](v T) *T { return &v }

var sourceRows = []sourceRow{
	{ID: "e1", Y: 0, Income: ptr(52000.5), Age: 41, Amount: 12345, Flag: true, Note: ptr("3.25"), Job: ptr("salaried")},
	{ID: "e2", Y: 1, Income: nil, Age: 29, Amount: -700, Flag: false, Note: ptr(""), Job: nil},
	{ID: "e3", Y: 0, Income: ptr(-0.125), Age: 63, Amount: 0, Flag: true, Note: nil, Job: ptr("freelance")},
	{ID: "e4", Y: 1, Income: ptr(1e6), Age: 35, Amount: 99999999, Flag: false, Note: ptr("NA"), Job: ptr(" retired ")},
}

// sourceCSV is sourceRows as a CSV file holds them.
const sourceCSV = `id,y,income,age,amount,flag,note,job
e1,0,52000.5,41,123.45,1,3.25,salaried
e2,1,,29,-7.00,0,,
e3,0,-0.125,63,0.00,1,,freelance
e4,1,1000000,35,999999.99,0,NA, retired 
`

// sourceOptions read sourceRows alike from all three sources: a text column
// (job) is categorical in each; note, text in Parquet and SQL but numbers in
// the CSV, is declared, and so are two numeric columns, whose labels are
// then the values as the CSV writes them ("-7.00").
var sourceOptions = TableOptions{LabelColumn: "y", Categorical: []string{"age", "amount", "note"}}

func sourceCSVTable(t *testing.T) *Table {
	t.Helper()
	want, err := ParseCSV(strings.NewReader(sourceCSV), "t.csv",
		CSVOptions{LabelColumn: sourceOptions.LabelColumn, Categorical: sourceOptions.Categorical})
	require.NoError(t, err)
	nan := math.NaN()
	require.NoError(t, sameTable(want, &Table{
		Name:    "t.csv",
		IDs:     []string{"e1", "e2", "e3", "e4"},
		Columns: []string{"income", "age", "amount", "flag", "note", "job"},
		X: []float64{
			52000.5, 2, 2, 1, 0, 2,
			nan, 0, 0, 0, nan, nan,
			-0.125, 3, 1, 1, nan, 0,
			1e6, 1, 3, 0, nan, 1,
		},
		Labels:     []float64{0, 1, 0, 1},
		Categories: [][]string{nil, {"29", "35", "41", "63"}, {"-7.00", "0.00", "123.45", "999999.99"}, nil, {"3.25"}, {"freelance", "retired", "salaried"}},
	}))
	return want
}

func writeParquet[T any](t *testing.T, rows []T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "t.parquet")
	require.NoError(t, parquet.WriteFile(path, rows))
	return path
}

func requireSameTable(t *testing.T, want, got *Table) {
	t.Helper()
	require.Equal(t, want.IDs, got.IDs)
	require.Equal(t, want.Columns, got.Columns)
	require.Equal(t, want.Labels, got.Labels)
	require.Equal(t, want.Categories, got.Categories)
	require.Len(t, got.X, len(want.X))
	for i := range want.X {
		if math.IsNaN(want.X[i]) {
			require.True(t, math.IsNaN(got.X[i]), "value %d: %v, want NaN", i, got.X[i])
			continue
		}
		require.Equal(t, want.X[i], got.X[i], "value %d", i)
	}
}

// A Parquet file and the CSV of the same data give the same Table.
func TestParquetMatchesCSV(t *testing.T) {
	want := sourceCSVTable(t)
	path := writeParquet(t, sourceRows)
	got, err := ReadParquet(path, sourceOptions)
	require.NoError(t, err)
	require.Equal(t, "t.parquet", got.Name)
	requireSameTable(t, want, got)

	// Undeclared, a text column is categorical even when its cells are
	// numbers (note), and a numeric one numeric.
	got, err = ReadParquet(path, TableOptions{LabelColumn: "y"})
	require.NoError(t, err)
	require.Equal(t, []CategoricalColumn{{"note", 4, 1}, {"job", 5, 3}}, got.Categorical())
	require.Equal(t, []float64{41, 29, 63, 35}, got.Col(1, nil))
}

func TestParquetBadInput(t *testing.T) {
	opt := TableOptions{LabelColumn: "y"}
	bad := func(mod func(r []sourceRow) []sourceRow) string {
		rows := mod(append([]sourceRow(nil), sourceRows...))
		return writeParquet(t, rows)
	}
	cases := []struct {
		name string
		path string
		opt  TableOptions
		is   error
		msg  string
	}{
		{"all missing", bad(func(r []sourceRow) []sourceRow {
			for i := range r {
				r[i].Job = ptr([]string{"", "NA", "null", " N/A "}[i])
			}
			return r
		}), opt, ErrAllMissing, `t.parquet (job): every cell is missing`},
		{"declared column absent", writeParquet(t, sourceRows), TableOptions{Categorical: []string{"branch"}}, ErrMissingColumn,
			`t.parquet: no column "branch", which TableOptions.Categorical names`},
		{"declared label", writeParquet(t, sourceRows), TableOptions{LabelColumn: "y", Categorical: []string{"y"}}, ErrBadCategorical,
			`t.parquet (y): the label column holds 0 or 1 and cannot be categorical`},
		{"declared id", writeParquet(t, sourceRows), TableOptions{Categorical: []string{"id"}}, ErrBadCategorical,
			`t.parquet (id): the id column cannot be categorical`},
		{"duplicate id", bad(func(r []sourceRow) []sourceRow { r[3].ID = "e1"; return r }), opt, ErrDuplicateID, `t.parquet:4:1 (id): duplicate id "e1" (first on row 1)`},
		{"bad label", bad(func(r []sourceRow) []sourceRow { r[1].Y = 2; return r }), opt, ErrBadLabel, `t.parquet:2:2 (y): label 2 is not 0 or 1`},
		{"empty id", bad(func(r []sourceRow) []sourceRow { r[0].ID = ""; return r }), opt, ErrEmptyID, "t.parquet:1:1 (id): empty id"},
		{"no label column", writeParquet(t, sourceRows), TableOptions{LabelColumn: "default"}, ErrMissingColumn, `no label column "default"`},
		{"no id column", writeParquet(t, sourceRows), TableOptions{IDColumn: "uscc"}, ErrMissingColumn, `no id column "uscc"`},
		{"no rows", writeParquet(t, []sourceRow{}), opt, ErrEmpty, "no data rows"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ReadParquet(c.path, c.opt)
			require.ErrorIs(t, err, c.is)
			require.ErrorContains(t, err, c.msg)
		})
	}

	// A text label.
	type textLabel struct {
		ID string  `parquet:"id"`
		Y  string  `parquet:"y"`
		X  float64 `parquet:"x"`
	}
	_, err := ReadParquet(writeParquet(t, []textLabel{{"a", "1", 1}, {"b", "yes", 2}}), opt)
	require.ErrorIs(t, err, ErrBadLabel)
	require.EqualError(t, err, `t.parquet:2:2 (y): label "yes" is not 0 or 1`)

	// A date column, a list column, a file that is not Parquet.
	type dated struct {
		ID   string    `parquet:"id"`
		Open time.Time `parquet:"open,timestamp"`
	}
	_, err = ReadParquet(writeParquet(t, []dated{{"a", time.Now()}}), TableOptions{})
	require.ErrorIs(t, err, ErrUnsupported)
	require.ErrorContains(t, err, "(open)")
	type listed struct {
		ID string    `parquet:"id"`
		V  []float64 `parquet:"v,list"`
	}
	_, err = ReadParquet(writeParquet(t, []listed{{"a", []float64{1}}}), TableOptions{})
	require.ErrorIs(t, err, ErrUnsupported)
	notParquet := filepath.Join(t.TempDir(), "bank.parquet")
	require.NoError(t, os.WriteFile(notParquet, []byte(sourceCSV), 0o644))
	_, err = ReadParquet(notParquet, TableOptions{})
	require.ErrorIs(t, err, ErrUnreadable)
	require.ErrorContains(t, err, "bank.parquet")
	// Integer ids are read exactly, past 2^53.
	type intID struct {
		ID int64   `parquet:"id"`
		X  float64 `parquet:"x"`
	}
	tab, err := ReadParquet(writeParquet(t, []intID{{912102001234567891, 1}}), TableOptions{})
	require.NoError(t, err)
	require.Equal(t, []string{"912102001234567891"}, tab.IDs)
}
