package dataset

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// postgresURL returns the test server's URL (VEIL_TEST_POSTGRES, set by
// .ci/run, which starts a throwaway cluster), or skips.
func postgresURL(t *testing.T) string {
	t.Helper()
	u := os.Getenv("VEIL_TEST_POSTGRES")
	if u == "" {
		t.Skip("no PostgreSQL server: set VEIL_TEST_POSTGRES to a postgres:// URL (.ci/run starts a throwaway cluster and sets it)")
	}
	return u
}

// loadSourceTable creates a table holding sourceRows with numeric, text and
// NULL cells, and returns its name.
func loadSourceTable(t *testing.T, db *sql.DB) string {
	t.Helper()
	name := fmt.Sprintf("veil_test_%d", time.Now().UnixNano())
	_, err := db.Exec(`CREATE TABLE ` + name + ` (id text, y integer, income double precision, age integer,
		amount numeric(12, 2), flag boolean, note text, job varchar(20), opened date)`)
	require.NoError(t, err)
	t.Cleanup(func() { _, _ = db.Exec(`DROP TABLE ` + name) })
	for _, r := range sourceRows {
		_, err := db.Exec(`INSERT INTO `+name+` VALUES ($1, $2, $3, $4, $5::numeric / 100, $6, $7, $8, '2024-01-31')`,
			r.ID, r.Y, r.Income, r.Age, r.Amount, r.Flag, r.Note, r.Job)
		require.NoError(t, err)
	}
	return name
}

// A query's result, through pgx, gives the same Table as the CSV of the
// same data (and the Parquet file: TestParquetMatchesCSV).
func TestSQLMatchesCSV(t *testing.T) {
	url := postgresURL(t)
	ctx := context.Background()
	db, err := sql.Open("pgx", url)
	require.NoError(t, err)
	defer db.Close()
	tab := loadSourceTable(t, db)
	want := sourceCSVTable(t)
	query := `SELECT id, y, income, age, amount, flag, note, job FROM ` + tab + ` ORDER BY id`
	got, err := ReadSQL(ctx, db, query, sourceOptions)
	require.NoError(t, err)
	requireSameTable(t, want, got)

	// Load takes URL#QUERY.
	got, err = Load(ctx, url+"#"+query, sourceOptions)
	require.NoError(t, err)
	requireSameTable(t, want, got)

	// Undeclared, text columns are categorical, numbers (a NUMERIC arrives
	// as text) numeric.
	got, err = ReadSQL(ctx, db, query, TableOptions{LabelColumn: "y"})
	require.NoError(t, err)
	require.Equal(t, []CategoricalColumn{{"note", 4, 1}, {"job", 5, 3}}, got.Categorical())
	require.Equal(t, []float64{123.45, -7, 0, 999999.99}, got.Col(2, nil))

	cases := []struct {
		name, query string
		is          error
		msg         string
	}{
		{"text label", `SELECT id, CASE WHEN id = 'e3' THEN 'yes' ELSE y::text END AS y FROM ` + tab + ` ORDER BY id`, ErrBadLabel, `:3:2 (y): label "yes" is not 0 or 1`},
		{"all missing", `SELECT id, y, age, CASE WHEN id = 'e1' THEN 'NA' END AS job FROM ` + tab + ` ORDER BY id`, ErrAllMissing, ` (job): every cell is missing`},
		{"null label", `SELECT id, CASE WHEN id = 'e2' THEN NULL ELSE y END AS y FROM ` + tab + ` ORDER BY id`, ErrBadLabel, ":2:2 (y): missing label"},
		{"null id", `SELECT NULLIF(id, 'e4') AS id, y FROM ` + tab + ` ORDER BY y, id`, ErrEmptyID, "empty id"},
		{"duplicate column", `SELECT id, y, age, age FROM ` + tab, ErrBadHeader, `column name "age" also names column 3`},
		{"date", `SELECT id, y, opened FROM ` + tab, ErrUnsupported, ":1:3 (opened): a date or time is not a number"},
		{"no rows", `SELECT id, y FROM ` + tab + ` WHERE false`, ErrEmpty, "no data rows"},
		{"sql error", `SELECT id, y FROM no_such_table`, ErrUnreadable, `relation "no_such_table" does not exist`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ReadSQL(ctx, db, c.query, TableOptions{LabelColumn: "y"})
			require.ErrorIs(t, err, c.is)
			require.ErrorContains(t, err, c.msg)
			require.ErrorContains(t, err, "query ")
		})
	}
	_, err = ReadSQL(ctx, db, query, TableOptions{LabelColumn: "y", Categorical: []string{"branch"}})
	require.ErrorIs(t, err, ErrMissingColumn)
	require.ErrorContains(t, err, `no column "branch", which TableOptions.Categorical names`)
	_, err = ReadSQL(ctx, db, query, TableOptions{LabelColumn: "y", Categorical: []string{"id"}})
	require.ErrorIs(t, err, ErrBadCategorical)
	require.ErrorContains(t, err, `(id): the id column cannot be categorical`)
}

func TestLoadForms(t *testing.T) {
	_, err := Load(context.Background(), "postgres://veil:secret@db.example/credit", TableOptions{})
	require.ErrorContains(t, err, "URL#QUERY")
	require.NotContains(t, err.Error(), "secret")
	path := writeParquet(t, sourceRows)
	tab, err := Load(context.Background(), path, TableOptions{LabelColumn: "y"})
	require.NoError(t, err)
	require.Equal(t, 4, tab.Rows())
}

// The builder behind ReadSQL, fed driver values directly: a database
// without column types (SQLite) may mix numbers and text in a column, and a
// driver may send numbers as text (a NUMERIC; MySQL's text protocol).
func TestSQLCells(t *testing.T) {
	rows := [][]any{
		{"e1", int64(0), int64(7), []byte("-7.00"), "x"},
		{"e2", int64(1), "A7", "12.5", nil},
		{"e3", int64(0), 1000.0, nil, "NULL"},
		{"e4", int64(1), nil, []byte(" 3 "), " y"},
	}
	build := func(opt TableOptions, typed bool) (*Table, error) {
		b, err := newBuilder("query", []string{"id", "y", "code", "amount", "tag"}, opt)
		require.NoError(t, err)
		b.numericText[3] = typed // as ReadSQL sets it from a DECIMAL column type
		for i, r := range rows {
			cells := make([]cell, len(r))
			for f, v := range r {
				if cells[f], err = sqlCell(v); err != nil {
					return nil, err
				}
			}
			if err := b.add(i+1, cells); err != nil {
				return nil, err
			}
		}
		return b.table()
	}
	nan := math.NaN()
	got, err := build(TableOptions{LabelColumn: "y"}, true)
	require.NoError(t, err)
	require.NoError(t, sameTable(got, &Table{Name: "query", IDs: []string{"e1", "e2", "e3", "e4"}, Columns: []string{"code", "amount", "tag"},
		X:          []float64{1, -7, 0, 2, 12.5, nan, 0, nan, nan, nan, 3, 1},
		Labels:     []float64{0, 1, 0, 1},
		Categories: [][]string{{"1000", "7", "A7"}, nil, {"x", "y"}}}))

	// Declared, a numeric column's text is its label as written.
	got, err = build(TableOptions{LabelColumn: "y", Categorical: []string{"amount"}}, true)
	require.NoError(t, err)
	require.Equal(t, []string{"-7.00", "12.5", "3"}, got.Categories[1])

	// Without the column type, text that reads as numbers is text.
	got, err = build(TableOptions{LabelColumn: "y"}, false)
	require.NoError(t, err)
	require.Equal(t, []string{"-7.00", "12.5", "3"}, got.Categories[1])

	rows[1][3] = "n/a 2"
	_, err = build(TableOptions{LabelColumn: "y"}, true)
	require.ErrorIs(t, err, ErrNotNumeric)
	require.EqualError(t, err, `query:2:4 (amount): "n/a 2" is not a number`)
}

func TestNumericSQLType(t *testing.T) {
	for name, want := range map[string]bool{
		"NUMERIC": true, "DECIMAL(12,2)": true, "double precision": true, "UNSIGNED BIGINT": true, "INT4": true,
		"TEXT": false, "VARCHAR": false, "BPCHAR": false, "UUID": false, "": false, "INTERVAL": false,
	} {
		require.Equal(t, want, numericSQLType(name), name)
	}
}
