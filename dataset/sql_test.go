package dataset

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"strings"
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
		amount numeric(12, 2), flag boolean, note text, opened date)`)
	require.NoError(t, err)
	t.Cleanup(func() { _, _ = db.Exec(`DROP TABLE ` + name) })
	for _, r := range sourceRows {
		_, err := db.Exec(`INSERT INTO `+name+` VALUES ($1, $2, $3, $4, $5::numeric / 100, $6, $7, '2024-01-31')`,
			r.ID, r.Y, r.Income, r.Age, r.Amount, r.Flag, r.Note)
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
	want, err := ParseCSV(strings.NewReader(sourceCSV), "t.csv", CSVOptions{LabelColumn: "y"})
	require.NoError(t, err)
	query := `SELECT id, y, income, age, amount, flag, note FROM ` + tab + ` ORDER BY id`
	got, err := ReadSQL(ctx, db, query, TableOptions{LabelColumn: "y"})
	require.NoError(t, err)
	requireSameTable(t, want, got)

	// Load takes URL#QUERY.
	got, err = Load(ctx, url+"#"+query, TableOptions{LabelColumn: "y"})
	require.NoError(t, err)
	requireSameTable(t, want, got)

	cases := []struct {
		name, query string
		is          error
		msg         string
	}{
		{"text feature", `SELECT id, y, CASE WHEN id = 'e3' THEN 'freelance' ELSE note END AS job FROM ` + tab + ` ORDER BY id`, ErrNotNumeric, `:3:3 (job): "freelance" is not a number`},
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
