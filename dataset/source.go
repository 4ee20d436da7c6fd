package dataset

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// TableOptions names the id, label and categorical columns of a Parquet file
// or a SQL query's result (ReadParquet, ReadSQL), as CSVOptions does for a
// CSV file.
type TableOptions struct {
	// IDColumn names the id column; "" means "id".
	IDColumn string
	// LabelColumn names the 0/1 label column; "" means the table has no labels.
	LabelColumn string
	// Categorical names feature columns to read as categorical even when
	// their type is numeric: a cell's label is its value as written (an
	// integer in decimal, a DECIMAL(p, s) with s decimals, a CSV cell as
	// CSVOptions.Categorical reads it). Text columns are categorical
	// without being named. A name that is not a feature column is an error.
	Categorical []string
}

// cell is one value of a typed source: a number, a text, or missing.
type cell struct {
	num      float64
	text     string
	isText   bool
	missing  bool
	digits   string // an unsigned integer cell's exact decimal form, for ids
	isInt    bool   // a signed integer cell, ival exact
	ival     int64
	decimals int // a DECIMAL(p, s) cell: s, the decimals its label shows
}

// builder assembles a Table from a typed source cell by cell, with the CSV
// reader's rules: ids non-empty and unique, labels 0 or 1, features numbers,
// labels or missing.
type builder struct {
	where    string // "file.parquet" or "query ..."
	header   []string
	kind     []int // kindID, kindLabel or the feature index
	labelled bool
	t        *Table

	// numericText marks fields whose text cells are numbers written out
	// (a SQL NUMERIC arrives as text): they parse as a CSV cell does.
	numericText []bool
	declared    []bool      // per feature: named in opt.Categorical
	sets        []*labelSet // per feature: the labels met; nil until one is
	texts       [][]rowID   // per feature: the text cells, with their label's local id
}

// rowID is a text cell of a builder's column: 0-based row, local label id.
type rowID struct {
	row int
	id  int32
}

// newBuilder checks the column names and finds the id and label columns.
// at names a column for errors: "column 3" in a file, "result column 3" in
// a query.
func newBuilder(where string, names []string, opt TableOptions) (*builder, error) {
	if opt.IDColumn == "" {
		opt.IDColumn = "id"
	}
	b := &builder{where: where, header: names, kind: make([]int, len(names)), labelled: opt.LabelColumn != "",
		t: &Table{Name: where}}
	at := map[string]int{}
	idCol, labelCol := -1, -1
	for f, name := range names {
		if name == "" {
			return nil, b.errAt(0, f, detail(ErrBadHeader, "empty column name"))
		}
		if g, dup := at[name]; dup {
			return nil, b.errAt(0, f, detail(ErrBadHeader, "column name %q also names column %d", name, g+1))
		}
		at[name] = f
		switch name {
		case opt.IDColumn:
			idCol, b.kind[f] = f, kindID
		case opt.LabelColumn:
			labelCol, b.kind[f] = f, kindLabel
		default:
			b.kind[f] = len(b.t.Columns)
			b.t.Columns = append(b.t.Columns, name)
		}
	}
	if idCol < 0 {
		return nil, b.errAt(0, -1, detail(ErrMissingColumn, "no id column %q", opt.IDColumn))
	}
	if b.labelled {
		if labelCol < 0 {
			return nil, b.errAt(0, -1, detail(ErrMissingColumn, "no label column %q", opt.LabelColumn))
		}
		b.t.Labels = []float64{}
	}
	d := len(b.t.Columns)
	b.declared = make([]bool, d)
	b.sets = make([]*labelSet, d)
	b.texts = make([][]rowID, d)
	b.numericText = make([]bool, len(names))
	for _, name := range opt.Categorical {
		f, ok := at[name]
		switch {
		case !ok:
			return nil, b.errAt(0, -1, detail(ErrMissingColumn, "no column %q, which TableOptions.Categorical names", name))
		case b.kind[f] == kindID:
			return nil, b.errAt(0, f, detail(ErrBadCategorical, "the id column cannot be categorical"))
		case b.kind[f] == kindLabel:
			return nil, b.errAt(0, f, detail(ErrBadCategorical, "the label column holds 0 or 1 and cannot be categorical"))
		}
		b.declared[b.kind[f]] = true
	}
	return b, nil
}

// errAt is a *ParseError at 1-based row (0: the whole source) and 0-based
// column f (-1: no column).
func (b *builder) errAt(row, f int, err error) *ParseError {
	e := &ParseError{File: b.where, Line: row, Err: err}
	if f >= 0 {
		e.Column = f + 1
		e.Header = b.header[f]
	}
	return e
}

// grow makes room for n rows in all.
func (b *builder) grow(n int) {
	b.t.IDs = make([]string, 0, n)
	b.t.X = make([]float64, 0, n*len(b.t.Columns))
	if b.labelled {
		b.t.Labels = make([]float64, 0, n)
	}
}

// extend adds n rows of zeros; set then fills them cell by cell.
func (b *builder) extend(n int) {
	b.t.IDs = append(b.t.IDs, make([]string, n)...)
	b.t.X = append(b.t.X, make([]float64, n*len(b.t.Columns))...)
	if b.labelled {
		b.t.Labels = append(b.t.Labels, make([]float64, n)...)
	}
}

// add appends one row (1-based number row) of cells, one per column.
func (b *builder) add(row int, cells []cell) error {
	b.extend(1)
	for f, c := range cells {
		if err := b.set(row, f, c); err != nil {
			return err
		}
	}
	return nil
}

// set writes cell c of column f in row (1-based, already extended to).
// Duplicate ids are found by table, in row order.
func (b *builder) set(row, f int, c cell) error {
	switch k := b.kind[f]; k {
	case kindID:
		id := c.text
		if !c.isText {
			if c.missing {
				return b.errAt(row, f, detail(ErrEmptyID, "empty id"))
			}
			if id = c.digits; c.isInt {
				id = strconv.FormatInt(c.ival, 10)
			}
			if id == "" {
				return b.errAt(row, f, detail(ErrEmptyID, "id %s is not text or an integer", c.quoted()))
			}
		}
		if id == "" {
			return b.errAt(row, f, detail(ErrEmptyID, "empty id"))
		}
		b.t.IDs[row-1] = id
	case kindLabel:
		v, ok := c.number()
		switch {
		case ok && math.IsNaN(v):
			return b.errAt(row, f, detail(ErrBadLabel, "missing label"))
		case !ok || (v != 0 && v != 1):
			return b.errAt(row, f, detail(ErrBadLabel, "label %s is not 0 or 1", c.quoted()))
		}
		b.t.Labels[row-1] = v
	default:
		at := (row-1)*len(b.t.Columns) + k
		switch {
		case c.missing:
			b.t.X[at] = math.NaN()
		case c.isText && (b.declared[k] || !b.numericText[f]):
			text := trimBlankString(c.text)
			if isMissing([]byte(text)) {
				b.t.X[at] = math.NaN()
				return nil
			}
			b.addText(row, k, text)
		case b.declared[k]:
			if _, ok := c.number(); !ok {
				return b.errAt(row, f, detail(ErrNotNumeric, "%s is not a finite number", c.quoted()))
			}
			b.addText(row, k, c.label())
		default:
			v, ok := c.number()
			if !ok {
				if c.isText {
					return b.errAt(row, f, notNumeric([]byte(c.text)))
				}
				return b.errAt(row, f, detail(ErrNotNumeric, "%s is not a finite number", c.quoted()))
			}
			b.t.X[at] = v
		}
	}
	return nil
}

// addText records a label in feature k of row (1-based); its cell holds NaN
// until the dictionary is known.
func (b *builder) addText(row, k int, label string) {
	if b.sets[k] == nil {
		b.sets[k] = newLabelSet()
	}
	b.texts[k] = append(b.texts[k], rowID{row - 1, b.sets[k].id([]byte(label))})
	b.t.X[(row-1)*len(b.t.Columns)+k] = math.NaN()
}

// label is a number cell's label in a declared categorical column: its value
// as a CSV export writes it.
func (c cell) label() string {
	switch {
	case c.isInt:
		return strconv.FormatInt(c.ival, 10)
	case c.digits != "":
		return c.digits
	case c.decimals > 0:
		return strconv.FormatFloat(c.num, 'f', c.decimals, 64)
	}
	return strconv.FormatFloat(c.num, 'g', -1, 64)
}

// number returns the cell as a feature value (NaN when missing); a text
// parses as a CSV cell does.
func (c cell) number() (float64, bool) {
	switch {
	case c.missing:
		return math.NaN(), true
	case c.isText:
		return parseNumber([]byte(strings.TrimSpace(c.text)))
	}
	return c.num, !math.IsInf(c.num, 0) && !math.IsNaN(c.num)
}

func (c cell) quoted() string {
	if c.isText {
		return quoteCell([]byte(c.text))
	}
	return strconv.FormatFloat(c.num, 'g', -1, 64)
}

// table checks the ids' uniqueness, builds the categorical columns'
// dictionaries, checks that every feature has a value and returns the table.
func (b *builder) table() (*Table, error) {
	if b.t.Rows() == 0 {
		return nil, &ParseError{File: b.where, Err: detail(ErrEmpty, "no data rows")}
	}
	seen := make(map[string]int, len(b.t.IDs))
	idCol := slices.Index(b.kind, kindID)
	for i, id := range b.t.IDs {
		if first, dup := seen[id]; dup {
			return nil, b.errAt(i+1, idCol, detail(ErrDuplicateID, "duplicate id %s (first on row %d)", quoteCell([]byte(id)), first+1))
		}
		seen[id] = i
	}
	x, d := b.t.X, b.t.Cols()
	for k := range d {
		if b.sets[k] == nil && !b.declared[k] {
			continue
		}
		// A column with a text cell is categorical; its numbers (a
		// database without column types can mix them in) are labelled by
		// their shortest form, as in a CSV column. A declared column's
		// numbers were labelled as they came.
		labels := make(map[string]int)
		collectLabels(labels, b.sets[k])
		numberLabels(labels, x, d, k)
		if b.t.Categories == nil {
			b.t.Categories = make([][]string, d)
		}
		b.t.Categories[k] = sortLabels(labels)
		relabelNumbers(labels, x, d, k)
		if b.sets[k] != nil {
			global := b.sets[k].remap(labels)
			for _, c := range b.texts[k] {
				x[c.row*d+k] = global[c.id]
			}
		}
	}
	if k := emptyColumn(x, d); k >= 0 {
		return nil, b.errAt(0, slices.Index(b.kind, k), errAllMissing())
	}
	return b.t, nil
}

// sourceName shortens a query for error messages and Table.Name.
func sourceName(query string) string {
	q := strings.Join(strings.Fields(query), " ")
	if len(q) > 60 {
		q = q[:57] + "..."
	}
	return fmt.Sprintf("query %q", q)
}
