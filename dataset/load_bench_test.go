package dataset

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"
)

// writeBenchParquet writes t (ids, labels, features) as a Parquet file of
// required columns: id text, y int64, a numeric feature double, a
// categorical one text (its label; empty where missing, which the reader
// takes as missing, as in a CSV file).
func writeBenchParquet(b *testing.B, t *Table, path string) {
	b.Helper()
	g := parquet.Group{"id": parquet.String(), "y": parquet.Int(64)}
	for j, c := range t.Columns {
		if t.IsCategorical(j) {
			g[c] = parquet.String()
		} else {
			g[c] = parquet.Leaf(parquet.DoubleType)
		}
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
				j := index[p[0]]
				v := t.X[i*d+j]
				switch {
				case !t.IsCategorical(j):
					row[k] = parquet.DoubleValue(v).Level(0, 0, k)
				case math.IsNaN(v):
					row[k] = parquet.ByteArrayValue(nil).Level(0, 0, k)
				default:
					row[k] = parquet.ByteArrayValue([]byte(t.Categories[j][int(v)])).Level(0, 0, k)
				}
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

// benchTextColumns are the text columns of BenchmarkLoad1M's text case, with
// a credit file's cardinalities (a legal form has a handful of labels, an
// industry dozens), so that the readers' dictionaries are of a real size.
var benchTextColumns = []struct {
	name   string
	labels int
}{
	{"legal_form", 5}, {"size_class", 5}, {"tax_grade", 6}, {"ownership", 7}, {"account_type", 8},
	{"channel", 10}, {"loan_product", 12}, {"region", 20}, {"district", 32}, {"industry", 40},
}

// benchTextCSV is benchCSV with the last len(benchTextColumns) of its d
// columns text: each cell a label of its column, the first labels the most
// frequent (the smaller of two uniform draws), and 1% of cells empty
// (missing), as in a real file.
func benchTextCSV(n, d int) []byte {
	numeric := d - len(benchTextColumns)
	labels := make([][]string, len(benchTextColumns))
	var b bytes.Buffer
	b.WriteString("id,y")
	for j := range numeric {
		fmt.Fprintf(&b, ",x%d", j)
	}
	for k, c := range benchTextColumns {
		fmt.Fprintf(&b, ",%s", c.name)
		for l := range c.labels {
			labels[k] = append(labels[k], fmt.Sprintf("%s_%02d", c.name, l))
		}
	}
	b.WriteByte('\n')
	r := newRNG(1, 2)
	line := make([]byte, 0, 16*d)
	for i := range n {
		line = strconv.AppendInt(line[:0], int64(i), 10)
		line = append(line, ',', byte('0'+r.intn(2)))
		for range numeric {
			line = append(line, ',')
			line = strconv.AppendFloat(line, r.norm(), 'f', 6, 64)
		}
		for k, c := range benchTextColumns {
			line = append(line, ',')
			if !r.bernoulli(0.01) {
				line = append(line, labels[k][min(r.intn(c.labels), r.intn(c.labels))]...)
			}
		}
		line = append(line, '\n')
		b.Write(line)
	}
	return b.Bytes()
}

// peakHeap runs load and returns the largest heap (bytes of live and not
// yet swept objects) seen meanwhile, sampled every millisecond. A load's
// peak is what decides the machine a party needs, and runtime/metrics reads
// without stopping the world, unlike runtime.ReadMemStats, so the sampling
// barely slows the load it measures. The sampler stops even when load
// exits through b.Fatal.
func peakHeap(load func()) (peak uint64) {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	var seen uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			metrics.Read(s)
			seen = max(seen, s[0].Value.Uint64())
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	})
	defer func() {
		close(done)
		wg.Wait()
		peak = seen
	}()
	load()
	return 0
}

// BenchmarkLoad1M loads 1,000,000 rows x 50 columns (and an id and a label)
// from a CSV file, a Parquet file and, with VEIL_TEST_POSTGRES, a
// PostgreSQL query: "numeric" has 50 numeric columns, "text" 40 numeric
// and 10 text columns of 5 to 40 labels. Besides time it reports rows/s and
// peak-heap-MB, the largest heap seen during the loads (the generated data
// is dropped before them, so the peak is the reader's and its table's).
func BenchmarkLoad1M(b *testing.B) {
	const n, d = 1_000_000, 50
	b.Run("numeric", func(b *testing.B) { benchLoad(b, n, func() []byte { return benchCSV(n, d) }) })
	b.Run("text", func(b *testing.B) { benchLoad(b, n, func() []byte { return benchTextCSV(n, d) }) })
}

// writeBenchFiles writes the CSV file gen makes to csvPath and its table to
// pqPath, and returns the table's SQL column definitions and its number of
// categorical columns. The file and the table stay inside, so that they are
// garbage when the loads begin and their peak heap is the readers' own.
func writeBenchFiles(b *testing.B, gen func() []byte, csvPath, pqPath string) (cols string, categorical int) {
	b.Helper()
	data := gen()
	if err := os.WriteFile(csvPath, data, 0o644); err != nil {
		b.Fatal(err)
	}
	t, err := ParseCSV(bytes.NewReader(data), "bench.csv", CSVOptions{LabelColumn: "y"})
	if err != nil {
		b.Fatal(err)
	}
	writeBenchParquet(b, t, pqPath)
	cols = "id text, y integer"
	for j, c := range t.Columns {
		if t.IsCategorical(j) {
			cols += ", " + c + " text"
		} else {
			cols += ", " + c + " double precision"
		}
	}
	return cols, len(t.Categorical())
}

// benchLoad writes the n-row CSV file gen makes, the same table as a
// Parquet file and a PostgreSQL table, and times the loads of each.
func benchLoad(b *testing.B, n int, gen func() []byte) {
	dir := b.TempDir()
	// A local server's COPY reads the CSV as its own user.
	for _, p := range []string{filepath.Dir(dir), dir} {
		_ = os.Chmod(p, 0o755)
	}
	csvPath, pqPath := filepath.Join(dir, "bench.csv"), filepath.Join(dir, "bench.parquet")
	cols, categorical := writeBenchFiles(b, gen, csvPath, pqPath)

	opt := TableOptions{LabelColumn: "y"}
	run := func(b *testing.B, load func() (*Table, error)) {
		b.ReportAllocs()
		runtime.GC()
		peak := peakHeap(func() {
			for b.Loop() {
				t, err := load()
				if err != nil {
					b.Fatal(err)
				}
				if t.Rows() != n || len(t.Categorical()) != categorical {
					b.Fatalf("%d rows and %d categorical columns, want %d and %d", t.Rows(), len(t.Categorical()), n, categorical)
				}
			}
		})
		b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "rows/s")
		b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
	}
	b.Run("csv", func(b *testing.B) {
		run(b, func() (*Table, error) { return ReadCSV(csvPath, CSVOptions{LabelColumn: "y"}) })
	})
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
	if _, err := db.Exec("DROP TABLE IF EXISTS veil_bench; CREATE UNLOGGED TABLE veil_bench (" + cols + ")"); err != nil {
		b.Fatal(err)
	}
	defer db.Exec("DROP TABLE veil_bench")
	if _, err := db.Exec("COPY veil_bench FROM '" + strings.ReplaceAll(csvPath, "'", "''") + "' CSV HEADER"); err != nil {
		b.Skipf("the server cannot read %s (COPY FROM a file needs the server on this machine and read access): %v", csvPath, err)
	}
	b.Run("postgres", func(b *testing.B) {
		run(b, func() (*Table, error) { return ReadSQL(context.Background(), db, "SELECT * FROM veil_bench", opt) })
	})
}
