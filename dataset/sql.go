package dataset

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// ReadSQL runs query on db (any database/sql driver; Veil's commands use
// github.com/jackc/pgx/v5's) and reads its result into a Table with the CSV
// reader's rules (ReadCSV): the id, label and feature columns are the
// result's columns by name. NULL is a missing value (an error for an id or
// a label); integers, floating-point numbers, numerics and booleans are
// numbers, and their columns numeric unless opt.Categorical names them; a
// text cell (a string or []byte driver value in a column whose database type
// is not numeric) is a label, without surrounding spaces and tabs, and makes
// its column categorical, unless it is a CSV missing-value marker (empty, NA,
// N/A, NaN, null). A driver that sends numbers as text (a NUMERIC, or every
// value in MySQL's text protocol) is read by the column's database type
// name. Ids may be text or integers. A feature column with no value is an
// error (ErrAllMissing); dates and times are refused (ErrUnsupported).
// Errors are *ParseError values naming the query (shortened), the 1-based
// result row and the column; a failing query wraps ErrUnreadable and the
// driver's error. The table's Name is the shortened query.
func ReadSQL(ctx context.Context, db *sql.DB, query string, opt TableOptions) (*Table, error) {
	name := sourceName(query)
	rows, err := db.QueryContext(ctx, query)
	if err != nil {
		return nil, &ParseError{File: name, Err: fmt.Errorf("%w: %w", ErrUnreadable, err)}
	}
	defer rows.Close()
	names, err := rows.Columns()
	if err != nil {
		return nil, &ParseError{File: name, Err: fmt.Errorf("%w: %w", ErrUnreadable, err)}
	}
	b, err := newBuilder(name, names, opt)
	if err != nil {
		return nil, err
	}
	if types, err := rows.ColumnTypes(); err == nil && len(types) == len(names) {
		for i, ct := range types {
			b.numericText[i] = numericSQLType(ct.DatabaseTypeName())
		}
	}
	// Scanning into any keeps the driver's values as they are (database/sql
	// boxes each one anyway); typed targets measured slower.
	vals := make([]any, len(names))
	ptrs := make([]any, len(names))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	n := 0
	for rows.Next() {
		n++
		if err := rows.Scan(ptrs...); err != nil {
			return nil, &ParseError{File: name, Line: n, Err: fmt.Errorf("%w: %w", ErrUnreadable, err)}
		}
		b.extend(1)
		for i, v := range vals {
			c, err := sqlCell(v)
			if err != nil {
				return nil, b.errAt(n, i, err)
			}
			if err := b.set(n, i, c); err != nil {
				return nil, err
			}
		}
	}
	if err := rows.Err(); err != nil {
		return nil, &ParseError{File: name, Line: n + 1, Err: fmt.Errorf("%w: %w", ErrUnreadable, err)}
	}
	return b.table()
}

// sqlCell converts a driver value (database/sql's driver.Value: nil, int64,
// float64, bool, []byte, string or time.Time; numerics arrive as text).
func sqlCell(v any) (cell, error) {
	switch v := v.(type) {
	case nil:
		return cell{missing: true}, nil
	case int64:
		return cell{num: float64(v), isInt: true, ival: v}, nil
	case float64:
		return cell{num: v}, nil
	case bool:
		if v {
			return cell{num: 1}, nil
		}
		return cell{num: 0}, nil
	case string:
		return cell{text: v, isText: true}, nil
	case []byte:
		return cell{text: string(v), isText: true}, nil
	case time.Time:
		return cell{}, detail(ErrUnsupported, "a date or time is not a number: convert it to one (days, a year) in the query")
	}
	return cell{}, detail(ErrUnsupported, "a value of type %T", v)
}

// numericSQLType reports whether a column's database type name (as
// database/sql's ColumnType gives it: "NUMERIC", "DECIMAL(12,2)", "UNSIGNED
// BIGINT", "double precision") is a number type, whose values a driver may
// send as text.
func numericSQLType(name string) bool {
	name = strings.ToUpper(strings.TrimSpace(name))
	if i := strings.IndexByte(name, '('); i >= 0 {
		name = strings.TrimSpace(name[:i])
	}
	name = strings.TrimSpace(strings.TrimPrefix(name, "UNSIGNED "))
	name = strings.TrimSpace(strings.TrimSuffix(name, " UNSIGNED"))
	switch name {
	case "NUMERIC", "DECIMAL", "NUMBER", "DEC", "FIXED",
		"INT", "INTEGER", "INT2", "INT4", "INT8", "TINYINT", "SMALLINT", "MEDIUMINT", "BIGINT",
		"SERIAL", "BIGSERIAL", "SMALLSERIAL",
		"FLOAT", "FLOAT4", "FLOAT8", "REAL", "DOUBLE", "DOUBLE PRECISION",
		"BOOL", "BOOLEAN":
		return true
	}
	return false
}
