package dataset

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Table is one party's data: an id per row, feature columns and, for the
// active party, a 0/1 label per row. A feature column is numeric or
// categorical; a categorical column's cells are indexes into its labels.
type Table struct {
	// Name says where the table came from (a file's base name, "bank", ...).
	Name string
	// IDs holds one unique, non-empty id per row.
	IDs []string
	// Columns holds the feature names, in file order.
	Columns []string
	// X holds the features row-major: X[i*Cols()+j] is row i, column j.
	// NaN marks a missing value. In a categorical column the value is the
	// index of the row's label in Categories[j] (0, 1, ...), as a float64.
	X []float64
	// Labels holds one 0/1 label per row, or is nil for a party without labels.
	Labels []float64
	// Categories is nil when every feature column is numeric. Otherwise it
	// has one entry per column: nil for a numeric column, and for a
	// categorical column its labels, each once, sorted in byte order, so
	// that an index means the same label however the rows were read or
	// ordered. A label no row holds may stay (after Select, say): models
	// index by it, so Select keeps the dictionary whole.
	Categories [][]string
}

// CategoricalColumn describes one categorical column, for logs and checks.
type CategoricalColumn struct {
	Name      string // the column's name
	Index     int    // its index in Columns
	NumLabels int    // len(Categories[Index])
}

// Categorical lists the categorical columns in column order; nil when there
// are none.
func (t *Table) Categorical() []CategoricalColumn {
	var out []CategoricalColumn
	for j, labels := range t.Categories {
		if labels != nil && j < len(t.Columns) {
			out = append(out, CategoricalColumn{Name: t.Columns[j], Index: j, NumLabels: len(labels)})
		}
	}
	return out
}

// IsCategorical reports whether column j is categorical.
func (t *Table) IsCategorical(j int) bool {
	return j >= 0 && j < len(t.Categories) && t.Categories[j] != nil
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
		Name:       t.Name,
		IDs:        make([]string, len(rows)),
		Columns:    append([]string(nil), t.Columns...),
		X:          make([]float64, len(rows)*d),
		Categories: cloneCategories(t.Categories),
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

// cloneCategories copies the dictionaries whole (the indexes in X stay
// valid), so that the copy shares no memory with its source.
func cloneCategories(c [][]string) [][]string {
	if c == nil {
		return nil
	}
	out := make([][]string, len(c))
	for j, labels := range c {
		if labels != nil {
			out[j] = slices.Clone(labels)
		}
	}
	return out
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
// "id[,y],features...", then one line per row, missing values as empty cells,
// every number in the shortest form that parses back to the same float64 and
// a categorical cell as its label (quoted where the reader would split or trim
// it). ParseCSV, with LabelColumn "y" when the table has labels and
// Categorical naming the table's categorical columns (a label such as "7"
// would otherwise read as a number), returns an identical table, provided
// every label occurs in some row, as in every table a reader returns.
// A table that could not be read back is refused: a shape that does not
// match, an empty, duplicate or multi-line id or column name, a column named
// "id" (or "y" when the table has labels), a label other than 0 or 1, an
// infinite value, or a categorical column whose labels are not sorted and
// distinct, are empty, hold a line break or a missing-value marker, or whose
// cells are not indexes into its labels.
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
		for j, v := range t.X[i*d : (i+1)*d] {
			line = append(line, ',')
			switch {
			case math.IsNaN(v):
			case t.IsCategorical(j):
				line = appendField(line, t.Categories[j][int(v)])
			default:
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
	if t.Categories == nil {
		return nil
	}
	if len(t.Categories) != d {
		return fail("%d category lists for %d columns", len(t.Categories), d)
	}
	for j, labels := range t.Categories {
		if labels == nil {
			continue
		}
		if len(labels) == 0 {
			return fail("categorical column %q has no labels", t.Columns[j])
		}
		for k, l := range labels {
			switch {
			case isMissing([]byte(l)) || strings.Contains(l, "\n"):
				return fail("categorical column %q has label %q", t.Columns[j], l)
			case k > 0 && labels[k-1] >= l:
				return fail("categorical column %q has labels %q before %q: not sorted and distinct", t.Columns[j], labels[k-1], l)
			}
		}
		for i := range n {
			if v := t.X[i*d+j]; !math.IsNaN(v) && (v != math.Trunc(v) || v < 0 || v >= float64(len(labels))) {
				return fail("row %d column %q holds %v, not an index into its %d labels", i, t.Columns[j], v, len(labels))
			}
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

// ErrSchemaMismatch reports two tables whose feature columns do not match
// (CheckSameSchema).
var ErrSchemaMismatch = errors.New("dataset: tables have different columns")

// CheckSameSchema reports whether a model trained on train's features can
// read test's: the same feature columns in the same order, each numeric in
// both or categorical in both. A text cell in one export makes its column
// categorical there only, and a model fitted on a code cannot read a label,
// so the mismatch is stopped here rather than found as a wrong score. The
// error wraps ErrSchemaMismatch and names both tables, every column that
// differs and how. Labels are not compared: each table's dictionary is its
// own, and a categorical index means the same label only through
// Categories.
func CheckSameSchema(train, test *Table) error {
	var problems []string
	inTest := make(map[string]int, test.Cols())
	for j, c := range test.Columns {
		inTest[c] = j
	}
	inTrain := make(map[string]bool, train.Cols())
	kind := func(t *Table, j int) string {
		if t.IsCategorical(j) {
			return "categorical"
		}
		return "numeric"
	}
	for j, c := range train.Columns {
		inTrain[c] = true
		k, ok := inTest[c]
		switch {
		case !ok:
			problems = append(problems, fmt.Sprintf("column %q is missing from the test table", c))
		case kind(train, j) != kind(test, k):
			problems = append(problems, fmt.Sprintf("column %q is %s in the train table, %s in the test table", c, kind(train, j), kind(test, k)))
		case j != k:
			problems = append(problems, fmt.Sprintf("column %q is column %d in the train table, %d in the test table", c, j+1, k+1))
		}
	}
	for _, c := range test.Columns {
		if !inTrain[c] {
			problems = append(problems, fmt.Sprintf("column %q is missing from the train table", c))
		}
	}
	if problems == nil {
		return nil
	}
	return fmt.Errorf("%w: train table %q, test table %q: %s", ErrSchemaMismatch, train.Name, test.Name, strings.Join(problems, "; "))
}
