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
}

func ptr[T any](v T) *T { return &v }

var sourceRows = []sourceRow{
	{ID: "e1", Y: 0, Income: ptr(52000.5), Age: 41, Amount: 12345, Flag: true, Note: ptr("3.25")},
	{ID: "e2", Y: 1, Income: nil, Age: 29, Amount: -700, Flag: false, Note: ptr("")},
	{ID: "e3", Y: 0, Income: ptr(-0.125), Age: 63, Amount: 0, Flag: true, Note: nil},
	{ID: "e4", Y: 1, Income: ptr(1e6), Age: 35, Amount: 99999999, Flag: false, Note: ptr("NA")},
}

// sourceCSV is sourceRows as a CSV file holds them.
const sourceCSV = `id,y,income,age,amount,flag,note
e1,0,52000.5,41,123.45,1,3.25
e2,1,,29,-7.00,0,
e3,0,-0.125,63,0.00,1,
e4,1,1000000,35,999999.99,0,NA
`

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
	opt := TableOptions{LabelColumn: "y"}
	want, err := ParseCSV(strings.NewReader(sourceCSV), "t.csv", CSVOptions{LabelColumn: "y"})
	require.NoError(t, err)
	got, err := ReadParquet(writeParquet(t, sourceRows), opt)
	require.NoError(t, err)
	require.Equal(t, "t.parquet", got.Name)
	requireSameTable(t, want, got)
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
		{"text feature", bad(func(r []sourceRow) []sourceRow { r[2].Note = ptr("freelance"); return r }), opt, ErrNotNumeric, `t.parquet:3:7 (note): "freelance" is not a number`},
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

	// A date column, a list column, a file that is not Parquet.
	type dated struct {
		ID   string    `parquet:"id"`
		Open time.Time `parquet:"open,timestamp"`
	}
	_, err := ReadParquet(writeParquet(t, []dated{{"a", time.Now()}}), TableOptions{})
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
