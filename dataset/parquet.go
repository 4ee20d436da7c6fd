package dataset

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"
)

// ErrUnreadable reports an input that is not a file of its format, or a
// source that failed while it was read (a truncated file, a broken query).
var ErrUnreadable = errors.New("dataset: unreadable input")

// ErrUnsupported reports a column type a reader cannot turn into a feature,
// an id or a label (a Parquet list, a date, a nested group).
var ErrUnsupported = errors.New("dataset: unsupported column type")

// ReadParquet reads a Parquet file into a Table with the CSV reader's rules
// (ReadCSV): an id column, an optional label column, features in every other
// column. The schema must be flat. Ids may be text or integers (written in
// decimal); labels 0 or 1 in any numeric or text column. A feature column
// of integers, floating-point numbers, decimals (DECIMAL(p, s) scaled) or
// booleans (0 or 1) is numeric unless opt.Categorical names it; a text
// (BYTE_ARRAY, UTF8) column is categorical, its labels the cells' text
// without surrounding spaces and tabs. Null cells, and text cells that are
// a CSV missing-value marker (empty, NA, N/A, NaN, null), are missing values
// (NaN); a null id or label is an error, and so is a feature column with no
// value (ErrAllMissing). Dates, times, timestamps and nested or repeated
// columns are refused (ErrUnsupported). Errors are *ParseError values naming
// the file, the 1-based row and the column.
func ReadParquet(path string, opt TableOptions) (*Table, error) {
	name := filepath.Base(path)
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	pf, err := parquet.OpenFile(f, st.Size())
	if err != nil {
		return nil, &ParseError{File: name, Err: fmt.Errorf("%w: not a Parquet file: %v", ErrUnreadable, err)}
	}
	return readParquet(name, pf, opt)
}

// parquetColumn converts one leaf column's values.
type parquetColumn struct {
	kind  parquet.Kind
	div   float64 // decimal columns: 10^scale
	scale int
	text  bool
	uint  bool
}

func readParquet(name string, pf *parquet.File, opt TableOptions) (*Table, error) {
	schema := pf.Schema()
	paths := schema.Columns()
	names := make([]string, len(paths))
	for i, p := range paths {
		names[i] = strings.Join(p, ".")
	}
	b, err := newBuilder(name, names, opt)
	if err != nil {
		return nil, err
	}
	cols := make([]parquetColumn, len(paths))
	for i, p := range paths {
		leaf, _ := schema.Lookup(p...)
		if len(p) != 1 || leaf.MaxRepetitionLevel > 0 {
			return nil, b.errAt(0, i, detail(ErrUnsupported, "nested or repeated column"))
		}
		if cols[i], err = parquetConverter(leaf.Node.Type()); err != nil {
			return nil, b.errAt(0, i, err)
		}
	}
	// Column by column, page by page: each value lands in its cell of the
	// table (a flat column has one value per row, nulls included).
	b.grow(int(pf.NumRows()))
	row0 := 0
	buf := make([]parquet.Value, 4096)
	for _, rg := range pf.RowGroups() {
		n := int(rg.NumRows())
		b.extend(n)
		for ci, chunk := range rg.ColumnChunks() {
			read, err := readChunk(b, chunk, cols[ci], ci, row0, n, buf)
			if err != nil {
				return nil, err
			}
			if read != n {
				return nil, b.errAt(row0+read+1, ci, detail(ErrUnreadable, "column has %d values in a row group of %d rows", read, n))
			}
		}
		row0 += n
	}
	return b.table()
}

// readChunk sets the cells of column ci from one column chunk of n rows,
// rows row0+1 on, and returns how many values it read.
func readChunk(b *builder, chunk parquet.ColumnChunk, col parquetColumn, ci, row0, n int, buf []parquet.Value) (int, error) {
	pages := chunk.Pages()
	defer pages.Close()
	r := row0
	for {
		page, err := pages.ReadPage()
		if errors.Is(err, io.EOF) {
			return r - row0, nil
		}
		if err != nil {
			return 0, b.errAt(r+1, ci, fmt.Errorf("%w: %v", ErrUnreadable, err))
		}
		values := page.Values()
		for {
			k, err := values.ReadValues(buf)
			for _, v := range buf[:k] {
				if r == row0+n {
					parquet.Release(page)
					return 0, b.errAt(r, ci, detail(ErrUnreadable, "column has more values than its row group's %d rows", n))
				}
				r++
				if err := b.set(r, ci, col.cell(v)); err != nil {
					parquet.Release(page)
					return 0, err
				}
			}
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				parquet.Release(page)
				return 0, b.errAt(r+1, ci, fmt.Errorf("%w: %v", ErrUnreadable, err))
			}
		}
		parquet.Release(page)
	}
}

func parquetConverter(t parquet.Type) (parquetColumn, error) {
	c := parquetColumn{kind: t.Kind(), div: 1}
	if lt := t.LogicalType(); lt != nil {
		switch v := lt.Value.(type) {
		case *format.DecimalType:
			if c.kind != parquet.Int32 && c.kind != parquet.Int64 {
				return c, detail(ErrUnsupported, "a decimal stored as %s", c.kind)
			}
			c.div = math.Pow(10, float64(v.Scale))
			c.scale = int(v.Scale)
		case *format.IntType:
			c.uint = !v.IsSigned
		case *format.StringType, *format.EnumType, *format.JsonType:
			c.text = true
		case *format.DateType, *format.TimeType, *format.TimestampType:
			return c, detail(ErrUnsupported, "a %s column is not a number: convert it to one (days, a year) first", lt)
		case *format.NullType:
		default:
			return c, detail(ErrUnsupported, "a %s column", lt)
		}
	}
	switch c.kind {
	case parquet.Boolean, parquet.Int32, parquet.Int64, parquet.Float, parquet.Double:
	case parquet.ByteArray, parquet.FixedLenByteArray:
		c.text = true
	default:
		return c, detail(ErrUnsupported, "a %s column", c.kind)
	}
	return c, nil
}

// signed is a signed integer cell; a decimal column's is scaled and is no id.
func (c parquetColumn) signed(v int64) cell {
	if c.div != 1 {
		return cell{num: float64(v) / c.div, decimals: c.scale}
	}
	return cell{num: float64(v), isInt: true, ival: v}
}

// integer is an unsigned integer cell; a decimal column's is scaled and is
// no id.
func (c parquetColumn) integer(v float64, digits string) cell {
	if c.div != 1 {
		return cell{num: v / c.div, decimals: c.scale}
	}
	return cell{num: v, digits: digits}
}

func (c parquetColumn) cell(v parquet.Value) cell {
	if v.IsNull() {
		return cell{missing: true}
	}
	switch {
	case c.text:
		return cell{text: string(v.ByteArray()), isText: true}
	case c.kind == parquet.Boolean:
		if v.Boolean() {
			return cell{num: 1}
		}
		return cell{num: 0}
	case c.kind == parquet.Int32 && c.uint:
		return c.integer(float64(uint32(v.Int32())), strconv.FormatUint(uint64(uint32(v.Int32())), 10))
	case c.kind == parquet.Int32:
		return c.signed(int64(v.Int32()))
	case c.kind == parquet.Int64 && c.uint:
		return c.integer(float64(uint64(v.Int64())), strconv.FormatUint(uint64(v.Int64()), 10))
	case c.kind == parquet.Int64:
		return c.signed(v.Int64())
	case c.kind == parquet.Float:
		return cell{num: float64(v.Float())}
	}
	return cell{num: v.Double()}
}
