package dataset

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// TableOptions names the id and label columns of a Parquet file or a SQL
// query's result (ReadParquet, ReadSQL), as CSVOptions does for a CSV file.
type TableOptions struct {
	// IDColumn names the id column; "" means "id".
	IDColumn string
	// LabelColumn names the 0/1 label column; "" means the table has no labels.
	LabelColumn string
}

// cell is one value of a typed source: a number, a text, or missing.
type cell struct {
	num     float64
	text    string
	isText  bool
	missing bool
	digits  string // an unsigned integer cell's exact decimal form, for ids
	isInt   bool   // a signed integer cell, ival exact
	ival    int64
}

// builder assembles a Table from a typed source row by row, with the CSV
// reader's rules: ids non-empty and unique, labels 0 or 1, features numbers
// or missing; a text feature parses as the CSV reader parses a cell.
type builder struct {
	where    string // "file.parquet" or "query ..."
	header   []string
	kind     []int // kindID, kindLabel or the feature index
	labelled bool
	t        *Table
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
		v, ok := c.number()
		if !ok {
			return b.errAt(row, f, notNumeric([]byte(c.text)))
		}
		b.t.X[(row-1)*len(b.t.Columns)+k] = v
	}
	return nil
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

// table checks the ids' uniqueness and returns the table.
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
