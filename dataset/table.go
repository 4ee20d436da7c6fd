package dataset

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// Table is one party's data: an id per row, numeric feature columns and, for the
// active party, a 0/1 label per row.
type Table struct {
	// Name says where the table came from (a file's base name, "bank", ...).
	Name string
	// IDs holds one unique, non-empty id per row.
	IDs []string
	// Columns holds the feature names, in file order.
	Columns []string
	// X holds the features row-major: X[i*Cols()+j] is row i, column j.
	// NaN marks a missing value.
	X []float64
	// Labels holds one 0/1 label per row, or is nil for a party without labels.
	Labels []float64
}

// Rows returns the number of rows.
func (t *Table) Rows() int { return len(t.IDs) }

// Cols returns the number of feature columns.
func (t *Table) Cols() int { return len(t.Columns) }

// Row returns row i of X. The slice aliases X; its capacity ends at the row so
// an append cannot overwrite the next row.
func (t *Table) Row(i int) []float64 {
	d := len(t.Columns)
	return t.X[i*d : (i+1)*d : (i+1)*d]
}

// Col copies column j into dst, reusing dst's memory when it is large enough,
// and returns the filled slice of length Rows().
func (t *Table) Col(j int, dst []float64) []float64 {
	n, d := t.Rows(), t.Cols()
	if j < 0 || j >= d {
		panic(fmt.Sprintf("dataset: column %d out of range [0, %d)", j, d))
	}
	if cap(dst) < n {
		dst = make([]float64, n)
	}
	dst = dst[:n]
	for i := range dst {
		dst[i] = t.X[i*d+j]
	}
	return dst
}

// ColumnIndex returns the index of the feature column with the given name.
func (t *Table) ColumnIndex(name string) (int, bool) {
	for j, c := range t.Columns {
		if c == name {
			return j, true
		}
	}
	return -1, false
}

// Select returns a new table holding the given rows, in the order given. Rows may
// repeat; the result then has repeated ids and is meant for resampling, not for
// WriteCSV.
func (t *Table) Select(rows []int) *Table {
	d := t.Cols()
	out := &Table{
		Name:    t.Name,
		IDs:     make([]string, len(rows)),
		Columns: append([]string(nil), t.Columns...),
		X:       make([]float64, len(rows)*d),
	}
	if t.Labels != nil {
		out.Labels = make([]float64, len(rows))
	}
	for k, i := range rows {
		out.IDs[k] = t.IDs[i]
		copy(out.X[k*d:(k+1)*d], t.X[i*d:(i+1)*d])
		if t.Labels != nil {
			out.Labels[k] = t.Labels[i]
		}
	}
	return out
}

// SelectIDs returns a new table holding the rows with the given ids, in the order
// given: the step after alignment, when both parties order their rows by the
// agreed list of common ids. An id the table lacks is an error.
func (t *Table) SelectIDs(ids []string) (*Table, error) {
	index := t.idIndex()
	rows := make([]int, len(ids))
	for k, id := range ids {
		i, ok := index[id]
		if !ok {
			return nil, fmt.Errorf("dataset: table %q has no row with id %q", t.Name, id)
		}
		rows[k] = i
	}
	return t.Select(rows), nil
}

func (t *Table) idIndex() map[string]int {
	index := make(map[string]int, len(t.IDs))
	for i, id := range t.IDs {
		index[id] = i
	}
	return index
}

// Align returns the rows of a and b that share an id, in a's row order:
// a.IDs[rowsA[k]] == b.IDs[rowsB[k]] for every k. It is the plaintext reference
// that private set intersection must reproduce.
func Align(a, b *Table) (rowsA, rowsB []int) {
	index := b.idIndex()
	for i, id := range a.IDs {
		if j, ok := index[id]; ok {
			rowsA = append(rowsA, i)
			rowsB = append(rowsB, j)
		}
	}
	return rowsA, rowsB
}

// WriteCSV writes the table in the layout ReadCSV reads: a header line
// "id[,y],features...", then one line per row, missing values as empty cells and
// every number in the shortest form that parses back to the same float64, so
// ParseCSV (with LabelColumn "y" when the table has labels) returns an identical
// table. A table that could not be read back is refused: a shape that does not
// match, an empty, duplicate or multi-line id or column name, a column named
// "id" (or "y" when the table has labels), a label other than 0 or 1, or an
// infinite value.
func (t *Table) WriteCSV(w io.Writer) error {
	if err := t.checkWritable(); err != nil {
		return err
	}
	bw := bufio.NewWriterSize(w, 1<<16)
	line := make([]byte, 0, 256)
	line = append(line, "id"...)
	if t.Labels != nil {
		line = append(line, ",y"...)
	}
	for _, c := range t.Columns {
		line = append(line, ',')
		line = appendField(line, c)
	}
	line = append(line, '\n')
	if _, err := bw.Write(line); err != nil {
		return err
	}
	d := t.Cols()
	for i, id := range t.IDs {
		line = appendField(line[:0], id)
		if t.Labels != nil {
			line = append(line, ',')
			line = appendNumber(line, t.Labels[i])
		}
		for _, v := range t.X[i*d : (i+1)*d] {
			line = append(line, ',')
			if !math.IsNaN(v) {
				line = appendNumber(line, v)
			}
		}
		line = append(line, '\n')
		if _, err := bw.Write(line); err != nil {
			return err
		}
	}
	return bw.Flush()
}

var errNotWritable = errors.New("dataset: table cannot be written as CSV")

func (t *Table) checkWritable() error {
	n, d := t.Rows(), t.Cols()
	fail := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", errNotWritable, fmt.Sprintf(format, args...))
	}
	if len(t.X) != n*d {
		return fail("X has %d values, want %d rows x %d columns", len(t.X), n, d)
	}
	if t.Labels != nil && len(t.Labels) != n {
		return fail("%d labels for %d rows", len(t.Labels), n)
	}
	names := make(map[string]bool, d+2)
	names["id"] = true
	if t.Labels != nil {
		names["y"] = true
	}
	for j, c := range t.Columns {
		switch {
		case c == "" || strings.Contains(c, "\n"):
			return fail("column %d has name %q", j, c)
		case names[c]:
			return fail("column name %q appears twice", c)
		}
		names[c] = true
	}
	seen := make(map[string]int, n)
	for i, id := range t.IDs {
		if id == "" || strings.Contains(id, "\n") {
			return fail("row %d has id %q", i, id)
		}
		if k, dup := seen[id]; dup {
			return fail("rows %d and %d have the same id %q", k, i, id)
		}
		seen[id] = i
	}
	for i, y := range t.Labels {
		if y != 0 && y != 1 {
			return fail("row %d has label %v", i, y)
		}
	}
	for k, v := range t.X {
		if math.IsInf(v, 0) {
			return fail("row %d column %q is %v", k/d, t.Columns[k%d], v)
		}
	}
	return nil
}

// appendNumber writes v in the shortest form that parses back exactly, in fixed
// notation for everyday magnitudes so that amounts read as amounts.
func appendNumber(b []byte, v float64) []byte {
	if a := math.Abs(v); a == 0 || (a >= 1e-4 && a < 1e15) {
		return strconv.AppendFloat(b, v, 'f', -1, 64)
	}
	return strconv.AppendFloat(b, v, 'g', -1, 64)
}

// appendField writes s, quoted when the reader would otherwise split it, trim
// it or take a final carriage return for part of the line ending.
func appendField(b []byte, s string) []byte {
	if !strings.ContainsAny(s, ",\"\r") && s == trimBlankString(s) {
		return append(b, s...)
	}
	b = append(b, '"')
	b = append(b, strings.ReplaceAll(s, `"`, `""`)...)
	return append(b, '"')
}
