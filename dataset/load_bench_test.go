package dataset

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/parquet-go/parquet-go"
)

// writeBenchParquet writes t (ids, labels, features) as a Parquet file of
// required columns: id text, y int64, the features doubles.
func writeBenchParquet(b *testing.B, t *Table, path string) {
	b.Helper()
	g := parquet.Group{"id": parquet.String(), "y": parquet.Int(64)}
	for _, c := range t.Columns {
		g[c] = parquet.Leaf(parquet.DoubleType)
	}
	schema := parquet.NewSchema("bench", g)
	cols := schema.Columns()
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	w := parquet.NewWriter(f, schema)
	d := t.Cols()
	index := map[string]int{}
	for j, c := range t.Columns {
		index[c] = j
	}
	batch := make([]parquet.Row, 0, 1024)
	for i := range t.Rows() {
		row := make(parquet.Row, len(cols))
		for k, p := range cols {
			switch p[0] {
			case "id":
				row[k] = parquet.ByteArrayValue([]byte(t.IDs[i])).Level(0, 0, k)
			case "y":
				row[k] = parquet.Int64Value(int64(t.Labels[i])).Level(0, 0, k)
			default:
				row[k] = parquet.DoubleValue(t.X[i*d+index[p[0]]]).Level(0, 0, k)
			}
		}
		if batch = append(batch, row); len(batch) == cap(batch) || i == t.Rows()-1 {
			if _, err := w.WriteRows(batch); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkLoad1M loads 1,000,000 rows x 50 numeric columns (and an id and
// a label) from a CSV file, a Parquet file and, with VEIL_TEST_POSTGRES, a
// PostgreSQL query.
func BenchmarkLoad1M(b *testing.B) {
	const n, d = 1_000_000, 50
	data := benchCSV(n, d)
	dir := b.TempDir()
	// A local server's COPY reads the CSV as its own user.
	for _, p := range []string{filepath.Dir(dir), dir} {
		_ = os.Chmod(p, 0o755)
	}
	csvPath := filepath.Join(dir, "bench.csv")
	if err := os.WriteFile(csvPath, data, 0o644); err != nil {
		b.Fatal(err)
	}
	want, err := ParseCSV(bytes.NewReader(data), "bench.csv", CSVOptions{LabelColumn: "y"})
	if err != nil {
		b.Fatal(err)
	}
	opt := TableOptions{LabelColumn: "y"}
	run := func(b *testing.B, load func() (*Table, error)) {
		b.ReportAllocs()
		for b.Loop() {
			t, err := load()
			if err != nil {
				b.Fatal(err)
			}
			if t.Rows() != n {
				b.Fatalf("%d rows", t.Rows())
			}
		}
		b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "rows/s")
	}
	b.Run("csv", func(b *testing.B) {
		run(b, func() (*Table, error) { return ReadCSV(csvPath, CSVOptions{LabelColumn: "y"}) })
	})
	pqPath := filepath.Join(dir, "bench.parquet")
	writeBenchParquet(b, want, pqPath)
	b.Run("parquet", func(b *testing.B) { run(b, func() (*Table, error) { return ReadParquet(pqPath, opt) }) })
	url := os.Getenv("VEIL_TEST_POSTGRES")
	if url == "" {
		b.Log("no VEIL_TEST_POSTGRES: the PostgreSQL case skips")
		return
	}
	db, err := sql.Open("pgx", url)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	cols := "id text, y integer"
	for j := range d {
		cols += fmt.Sprintf(", x%d double precision", j)
	}
	if _, err := db.Exec("DROP TABLE IF EXISTS veil_bench; CREATE UNLOGGED TABLE veil_bench (" + cols + ")"); err != nil {
		b.Fatal(err)
	}
	defer db.Exec("DROP TABLE veil_bench")
	if _, err := db.Exec(fmt.Sprintf("COPY veil_bench FROM '%s' CSV HEADER", csvPath)); err != nil {
		b.Skipf("the server cannot read %s (COPY FROM a file needs the server on this machine and read access): %v", csvPath, err)
	}
	b.Run("postgres", func(b *testing.B) {
		run(b, func() (*Table, error) { return ReadSQL(context.Background(), db, "SELECT * FROM veil_bench", opt) })
	})
}
