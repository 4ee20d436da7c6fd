package dataset

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
)

func TestParseCSV(t *testing.T) {
	nan := math.NaN()
	tests := []struct {
		name  string
		input string
		opt   CSVOptions
		want  *Table
	}{{
		name:  "guest layout",
		input: "id,y,x0,x1\n133,1,0.254879,-1.046633\n273,0,-1.142928,-0.781198\n",
		opt:   CSVOptions{LabelColumn: "y"},
		want: &Table{IDs: []string{"133", "273"}, Columns: []string{"x0", "x1"},
			X: []float64{0.254879, -1.046633, -1.142928, -0.781198}, Labels: []float64{1, 0}},
	}, {
		name:  "host layout, label column present but not asked for",
		input: "id,y,x0\na,1,2\nb,0,3\n",
		want:  &Table{IDs: []string{"a", "b"}, Columns: []string{"y", "x0"}, X: []float64{1, 2, 0, 3}},
	}, {
		name:  "id and label anywhere, custom names",
		input: "f1,target,key,f2\n1,0,k1,2\n3,1,k2,4\n",
		opt:   CSVOptions{IDColumn: "key", LabelColumn: "target"},
		want: &Table{IDs: []string{"k1", "k2"}, Columns: []string{"f1", "f2"},
			X: []float64{1, 2, 3, 4}, Labels: []float64{0, 1}},
	}, {
		name:  "missing markers",
		input: "id,a,b,c,d,e,f,g\n1,,NA,N/A,NaN,nan,null,NULL\n2,1,2,3,4,5,6,7\n",
		want: &Table{IDs: []string{"1", "2"}, Columns: strings.Split("a,b,c,d,e,f,g", ","),
			X: []float64{nan, nan, nan, nan, nan, nan, nan, 1, 2, 3, 4, 5, 6, 7}},
	}, {
		name:  "number forms",
		input: "id,a,b,c,d,e,f,g,h\n1,1e3,-0,.5,5.,+3,0x1p-2,12345678901234567890,0.1000000000000000055511151231257827\n",
		want: &Table{IDs: []string{"1"}, Columns: strings.Split("a,b,c,d,e,f,g,h", ","),
			X: []float64{1000, math.Copysign(0, -1), 0.5, 5, 3, 0.25, 12345678901234567890, 0.1}},
	}, {
		name:  "BOM, CRLF, blank lines, blanks around cells, no final newline",
		input: "\uFEFF\r\nid , x\r\n\r\n a ,\t1.5 \r\n\r\nb,2",
		want:  &Table{IDs: []string{"a", "b"}, Columns: []string{"x"}, X: []float64{1.5, 2}},
	}, {
		name:  "quoted fields",
		input: "\"id\",\"x,1\"\n\"a,b\",\"2\"\n\" c \" , 3\n\"d\"\"e\",4\n",
		want:  &Table{IDs: []string{"a,b", " c ", `d"e`}, Columns: []string{"x,1"}, X: []float64{2, 3, 4}},
	}, {
		name:  "semicolons",
		input: "id;y;x\n1;1;2.5\n",
		opt:   CSVOptions{LabelColumn: "y", Comma: ';'},
		want:  &Table{IDs: []string{"1"}, Columns: []string{"x"}, X: []float64{2.5}, Labels: []float64{1}},
	}, {
		name:  "tabs",
		input: "id\ty\tx\n1\t1\t2.5\n",
		opt:   CSVOptions{LabelColumn: "y", Comma: '\t'},
		want:  &Table{IDs: []string{"1"}, Columns: []string{"x"}, X: []float64{2.5}, Labels: []float64{1}},
	}, {
		name:  "multi-byte separator",
		input: "id│x\n1│2\n",
		opt:   CSVOptions{Comma: '│'},
		want:  &Table{IDs: []string{"1"}, Columns: []string{"x"}, X: []float64{2}},
	}, {
		name:  "ids only",
		input: "id\n1\n2\n",
		want:  &Table{IDs: []string{"1", "2"}, X: []float64{}},
	}, {
		name:  "text makes the column categorical, labels sorted in byte order",
		input: "id,y,income,job\n1,0,5200,salaried\n2,1,,freelance\n3,0,7100,NA\n4,1,3,Retired\n5,0,4,freelance\n",
		opt:   CSVOptions{LabelColumn: "y"},
		want: &Table{IDs: []string{"1", "2", "3", "4", "5"}, Columns: []string{"income", "job"},
			X:          []float64{5200, 2, nan, 1, 7100, nan, 3, 0, 4, 1},
			Labels:     []float64{0, 1, 0, 1, 0},
			Categories: [][]string{nil, {"Retired", "freelance", "salaried"}}},
	}, {
		name:  "numbers in a detected column labelled by their shortest form",
		input: "id,code\n1,007\n2,7.0\n3,A7\n4,1e3\n5,\n6,-0.50\n",
		want: &Table{IDs: []string{"1", "2", "3", "4", "5", "6"}, Columns: []string{"code"},
			X: []float64{2, 2, 3, 1, nan, 0}, Categories: [][]string{{"-0.5", "1000", "7", "A7"}}},
	}, {
		name:  "declared columns keep the text as written",
		input: "id,code,grade,x\n1, 007 ,B,1\n2,7.0,A,2\n3,null,\"A \",3\n",
		opt:   CSVOptions{Categorical: []string{"code", "grade", "code"}},
		want: &Table{IDs: []string{"1", "2", "3"}, Columns: []string{"code", "grade", "x"},
			X:          []float64{0, 2, 1, 1, 0, 2, nan, 1, 3},
			Categories: [][]string{{"007", "7.0"}, {"A", "A ", "B"}, nil}},
	}, {
		name:  "quoted labels keep separators and blanks",
		input: "id,city\n1,\"Dalian, Liaoning\"\n2,\" Dalian\"\n3,Dalian\n",
		want: &Table{IDs: []string{"1", "2", "3"}, Columns: []string{"city"},
			X: []float64{2, 0, 1}, Categories: [][]string{{" Dalian", "Dalian", "Dalian, Liaoning"}}},
	}, {
		name:  "a decimal comma reads as text: the column is categorical",
		input: "id;x\n1;2,5\n2;3\n",
		opt:   CSVOptions{Comma: ';'},
		want:  &Table{IDs: []string{"1", "2"}, Columns: []string{"x"}, X: []float64{0, 1}, Categories: [][]string{{"2,5", "3"}}},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseCSV(strings.NewReader(tt.input), "t.csv", tt.opt)
			require.NoError(t, err)
			tt.want.Name = "t.csv"
			require.NoError(t, sameTable(got, tt.want))
		})
	}
}

func TestParseCSVErrors(t *testing.T) {
	guest := CSVOptions{LabelColumn: "y"}
	tests := []struct {
		name  string
		input string
		opt   CSVOptions
		kind  error
		msg   string
	}{
		{"infinite", "id,a\n1,inf\n", CSVOptions{}, ErrNotNumeric,
			`t.csv:2:2 (a): "inf" is not a finite number`},
		{"overflow", "id,a\n1,1e400\n", CSVOptions{}, ErrNotNumeric,
			`t.csv:2:2 (a): "1e400" is not a finite number`},
		{"overflow in a text column", "id,a\n1,x\n2,-1e400\n", CSVOptions{}, ErrNotNumeric,
			`t.csv:3:2 (a): "-1e400" is not a finite number`},
		{"long cell shortened", "id,y\n1," + strings.Repeat("z", 100) + "\n", guest, ErrBadLabel,
			`t.csv:2:2 (y): label "` + strings.Repeat("z", 40) + `"... is not 0 or 1`},
		{"text label", "id,y,job\n1,0,clerk\n2,bad,clerk\n", guest, ErrBadLabel,
			`t.csv:3:2 (y): label "bad" is not 0 or 1`},
		{"all missing", "id,y,a,job\n1,0,1,\n2,1,2,NA\n", guest, ErrAllMissing,
			`t.csv (job): every cell is missing: the column carries nothing (an export that lost it?)`},
		{"all missing, declared", "id,a,job\n1,1,\n", CSVOptions{Categorical: []string{"job"}}, ErrAllMissing,
			`t.csv (job): every cell is missing: the column carries nothing (an export that lost it?)`},
		{"declared column absent", "id,a\n1,1\n", CSVOptions{Categorical: []string{"job"}}, ErrMissingColumn,
			`t.csv:1: no column "job", which CSVOptions.Categorical names, in the header`},
		{"declared id", "id,a\n1,1\n", CSVOptions{Categorical: []string{"id"}}, ErrBadCategorical,
			`t.csv:1:1 (id): the id column cannot be categorical`},
		{"declared label", "id,y\n1,1\n", CSVOptions{LabelColumn: "y", Categorical: []string{"y"}}, ErrBadCategorical,
			`t.csv:1:2 (y): the label column holds 0 or 1 and cannot be categorical`},
		{"too many fields", "id,a\n1,2\n2,3,4\n", CSVOptions{}, ErrRaggedRow,
			`t.csv:3:3: row has 3 fields, header has 2`},
		{"too few fields", "id,a,b\n1,2\n", CSVOptions{}, ErrRaggedRow,
			`t.csv:2:3 (b): row has 2 fields, header has 3`},
		{"no id column", "key,a\n1,2\n", CSVOptions{}, ErrMissingColumn,
			`t.csv:1: no id column "id" in the header`},
		{"no label column", "id,a\n1,2\n", guest, ErrMissingColumn,
			`t.csv:1: no label column "y" in the header`},
		{"empty id", "id,a\n1,2\n,3\n", CSVOptions{}, ErrEmptyID,
			`t.csv:3:1 (id): empty id`},
		{"duplicate id", "id,a\n1,2\n2,3\n\n1,4\n", CSVOptions{}, ErrDuplicateID,
			`t.csv:5:1 (id): duplicate id "1" (first on line 2)`},
		{"label 2", "id,y\n1,1\n2,2\n", guest, ErrBadLabel,
			`t.csv:3:2 (y): label "2" is not 0 or 1`},
		{"label word", "x,id,y\n1,1,yes\n", guest, ErrBadLabel,
			`t.csv:2:3 (y): label "yes" is not 0 or 1`},
		{"missing label", "id,y\n1,NA\n", guest, ErrBadLabel,
			`t.csv:2:2 (y): missing label`},
		{"empty file", "", CSVOptions{}, ErrEmpty, `t.csv: empty file`},
		{"blank lines only", "\n\r\n\n", CSVOptions{}, ErrEmpty, `t.csv: empty file`},
		{"header only", "id,y,a\n", guest, ErrEmpty, `t.csv: no data rows after the header`},
		{"header and blank lines", "id,a\n\n\n", CSVOptions{}, ErrEmpty, `t.csv: no data rows after the header`},
		{"empty column name", "id,,a\n1,2,3\n", CSVOptions{}, ErrBadHeader, `t.csv:1:2: empty column name`},
		{"duplicate column name", "id,a,a\n1,2,3\n", CSVOptions{}, ErrBadHeader,
			`t.csv:1:3 (a): column name "a" also names column 2`},
		{"quote not closed", "id,a\n1,\"2\n", CSVOptions{}, ErrBadQuote,
			`t.csv:2:2 (a): quoted field does not end on its line`},
		{"text after quote", "id,a\n\"1\"x,2\n", CSVOptions{}, ErrBadQuote,
			`t.csv:2:1 (id): unexpected 'x' after a closing quote`},
		{"bad quote in header", "id,\"a\n", CSVOptions{}, ErrBadQuote,
			`t.csv:1:2: quoted field does not end on its line`},
		{"line numbers count CRLF and blank lines", "id,a\r\n\r\n1,2\r\n\r\n2,inf\r\n", CSVOptions{}, ErrNotNumeric,
			`t.csv:5:2 (a): "inf" is not a finite number`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseCSV(strings.NewReader(tt.input), "t.csv", tt.opt)
			require.EqualError(t, err, tt.msg)
			require.ErrorIs(t, err, tt.kind)
			var pe *ParseError
			require.ErrorAs(t, err, &pe)
			require.Equal(t, "t.csv", pe.File)
		})
	}
}

func TestParseErrorFields(t *testing.T) {
	_, err := ParseCSV(strings.NewReader("id,y,x0,PAY_6\n1,0,1,2\n2,1,3,1e999\n"), "default_credit_hetero_guest.csv", CSVOptions{LabelColumn: "y"})
	var pe *ParseError
	require.ErrorAs(t, err, &pe)
	require.Equal(t, "default_credit_hetero_guest.csv", pe.File)
	require.Equal(t, [3]any{3, 4, "PAY_6"}, [3]any{pe.Line, pe.Column, pe.Header})
}

func TestParseCSVBadOptions(t *testing.T) {
	for _, opt := range []CSVOptions{
		{LabelColumn: "id"},
		{IDColumn: "k", LabelColumn: "k"},
		{Comma: '"'},
		{Comma: '\n'},
		{Comma: utf8.RuneError},
	} {
		_, err := ParseCSV(strings.NewReader("id,y\n1,1\n"), "t.csv", opt)
		require.Error(t, err, "options %+v", opt)
	}
}

// TestParseChunking parses inputs in chunks of every small size and with several
// workers: the result, or the error, must not depend on where chunks end.
func TestParseChunking(t *testing.T) {
	inputs := []string{
		"id,y,a,b\n1,0,1.5,2\r\n\n2,1,,3\n3,0,4,\"5\"\n4,1,6,7",
		"id,y,a,b\n1,0,1.5,2\n2,1,x,3\n3,0,4,5\n4,1,6,y\n",
		"id,y,a\n1,0,1\n2,1,2\n1,0,3\n",
		"id,y,a\n1,0,1\n2,1,2,3\n3,0\n",
		"id,y,a\n\n\n\n\n\n\n\n\n1,0,1\n2,1,2\n3,0,3\n4,1,4\n5,0,5\n6,1,6\n7,0,7\n",
		"id,y,a\n1,0,1\n2,1,2\n3,0,3.25\n4,1,4.125\n5,0,5.0625\n6,1,6.03125\n7,0,7.015625\n",
		"id,y,a\n1,0,1.015625\n2,1,2.03125\n3,0,3.0625\n4,1,4.125\n5,0,5.25\n6,1,6.5\n7,0,7\n",
		// Categorical columns: labels first met in different chunks, numbers
		// before and after the first text, blank lines between.
		"id,y,a,b,c\n1,0,1,z,07\n2,1,2,y,7\n\n3,0,x,,8\n4,1,4,y,NA\n5,0,05,x,b\n6,1,y,z,7.0\n7,0,,w,a\n",
		"id,y,c\n1,0,1\n2,1,\n3,0,2\n4,1,3\n5,0,3\n6,1,\"q,r\"\n7,0,1\n",
		"id,y,c,d\n1,0,NA,1\n2,1,NA,2\n3,0,NA,3\n4,1,NA,4\n5,0,NA,5\n",
		"id,y,c\n1,0,a\n2,1,b\n3,0,inf\n",
	}
	for _, in := range inputs {
		opt := CSVOptions{LabelColumn: "y"}
		if strings.HasPrefix(in, "id,y,c") {
			opt.Categorical = []string{"c"} // a declared column
		}
		want, wantErr := ParseCSV(strings.NewReader(in), "t.csv", opt)
		for chunk := 1; chunk <= len(in)+1; chunk++ {
			for workers := 1; workers <= 3; workers++ {
				// Without a size the matrix fits the first chunk only; with
				// one, the first chunk's guess may be short or long.
				for _, size := range []int64{0, int64(len(in))} {
					p, err := newParser("t.csv", opt)
					require.NoError(t, err)
					p.chunk, p.workers, p.size = chunk, workers, size
					got, err := p.parse(strings.NewReader(in))
					require.Equal(t, fmt.Sprint(wantErr), fmt.Sprint(err), "chunk %d, %d workers, size %d", chunk, workers, size)
					if err == nil {
						require.NoError(t, sameTable(got, want), "chunk %d, %d workers, size %d", chunk, workers, size)
					}
				}
			}
		}
	}
}

func TestParseDecimalMatchesStrconv(t *testing.T) {
	for _, s := range []string{"0", "-0", "1", "0.1", "0.3", "123.456", "-1.046633", "9007199254740992",
		"9007199254740993", "0.0000000000000000000001", "1.00000000000000000000001", "+7.", ".25",
		"4503599627370497.5", "99999999999999999999"} {
		want, err := strconv.ParseFloat(s, 64)
		require.NoError(t, err)
		got, ok := parseNumber([]byte(s))
		require.True(t, ok, s)
		require.Equal(t, math.Float64bits(want), math.Float64bits(got), s)
	}
}

func FuzzParseDecimal(f *testing.F) {
	for _, s := range []string{"0", "-1.5", "123456.789", ".5", "5.", "+0.000001", "9007199254740993"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, ok := parseDecimal([]byte(s))
		if !ok {
			return
		}
		want, err := strconv.ParseFloat(s, 64)
		if err != nil || math.Float64bits(v) != math.Float64bits(want) {
			t.Errorf("parseDecimal(%q) = %v; strconv gives %v, %v", s, v, want, err)
		}
	})
}

// mayBeFloatCases are cells near the line mayBeFloat draws: numbers in
// every form ParseFloat takes, the words it takes, and labels that start
// like them.
var mayBeFloatCases = []string{"1", "+1", "-.5", ".5", "1e5", "1_000", "0x1p-2", "0X1P3", "_1", "inf", "-Inf",
	"+INFINITY", "infinity", "nan", "NaN", "+nan", "-nan", "infinite", "info", "nano", "n", "i", "+", "-", ".",
	"e5", "p3", "x1", "a", "retail", "legal_form_03", "industry_12", "north", "éa", "\vx", "1e400", "-1e400"}

// TestParseFeatureText checks that the pre-filter of parseFeature changes
// no answer (a cell it calls text is one strconv.ParseFloat rejects, and
// the cell's kind is what ParseFloat alone gives), and that a text cell
// costs no allocation: allocations per text cell were what made text
// columns twice as dear as numeric ones to read.
func TestParseFeatureText(t *testing.T) {
	for _, s := range mayBeFloatCases {
		v, err := strconv.ParseFloat(s, 64)
		want := cellNumber
		switch {
		case math.IsInf(v, 0) || errors.Is(err, strconv.ErrRange):
			want = cellInfinite
		case err != nil || math.IsNaN(v):
			want = cellText
		}
		if isMissing([]byte(s)) {
			want = cellNumber
		}
		if !mayBeFloat([]byte(s)) {
			require.Error(t, err, "mayBeFloat(%q) is false but ParseFloat takes it", s)
		}
		_, got := parseFeature([]byte(s))
		require.Equal(t, want, got, s)
	}
	cell := []byte("legal_form_03")
	allocs := testing.AllocsPerRun(100, func() {
		if _, what := parseFeature(cell); what != cellText {
			t.Fatalf("%q is not text", cell)
		}
	})
	require.Zero(t, allocs, "allocations per text cell")
}

// FuzzMayBeFloat checks that whatever mayBeFloat rules out, ParseFloat
// rejects too.
func FuzzMayBeFloat(f *testing.F) {
	for _, s := range mayBeFloatCases {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if v, err := strconv.ParseFloat(s, 64); err == nil && !mayBeFloat([]byte(s)) {
			t.Errorf("mayBeFloat(%q) is false but ParseFloat gives %v", s, v)
		}
	})
}

// FuzzParseCSV feeds arbitrary bytes to the parser: it must never panic, cut
// into small chunks it must give the same answer, and whatever it accepts must
// survive WriteCSV and a second parse (declaring its categorical columns)
// unchanged. A chunk value of 128 or more declares a column "c" categorical.
func FuzzParseCSV(f *testing.F) {
	f.Add([]byte("id,y,x0,x1\n133,1,0.254879,-1.046633\n273,0,-1.142928,\n"), true, uint8(3))
	f.Add([]byte("id,x\n\"a,b\",NA\r\n\n c ,1e3\n"), false, uint8(0))
	f.Add([]byte("\uFEFFid;x\n1;2\n"), false, uint8(1))
	f.Add([]byte("id,y\n1,2\n"), true, uint8(7))
	f.Add([]byte("id,a,a\n1,2,3\n"), false, uint8(2))
	f.Add([]byte("id,\"a\n1,2\n"), false, uint8(5))
	f.Add([]byte("id,y,job,c\n1,0,clerk,007\n2,1,,\" 7\"\n3,0,7.0,x\n"), true, uint8(130))
	f.Add([]byte("id,job\n1,\"a,b\"\n2,5\n3,05\n"), false, uint8(4))
	f.Fuzz(func(t *testing.T, data []byte, label bool, chunk uint8) {
		opt := CSVOptions{}
		if label {
			opt.LabelColumn = "y"
		}
		if chunk >= 128 {
			opt.Categorical = []string{"c"}
		}
		tb, err := ParseCSV(bytes.NewReader(data), "fuzz.csv", opt)

		p, perr := newParser("fuzz.csv", opt)
		if perr != nil {
			t.Fatal(perr)
		}
		p.chunk, p.workers, p.size = 1+int(chunk%32), 2, int64(len(data))
		small, smallErr := p.parse(bytes.NewReader(data))
		if fmt.Sprint(err) != fmt.Sprint(smallErr) {
			t.Fatalf("in %d-byte chunks: error %v, want %v", p.chunk, smallErr, err)
		}
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %v is not a *ParseError", err)
			}
			return
		}
		small.Name = tb.Name
		if err := sameTable(small, tb); err != nil {
			t.Fatalf("in %d-byte chunks: %v", p.chunk, err)
		}
		if len(tb.X) != tb.Rows()*tb.Cols() || (label && len(tb.Labels) != tb.Rows()) {
			t.Fatalf("bad shape: %d ids, %d columns, %d values, %d labels", tb.Rows(), tb.Cols(), len(tb.X), len(tb.Labels))
		}
		if tb.Categories != nil && len(tb.Categories) != tb.Cols() {
			t.Fatalf("%d category lists for %d columns", len(tb.Categories), tb.Cols())
		}
		var buf bytes.Buffer
		if err := tb.WriteCSV(&buf); err != nil {
			t.Fatalf("WriteCSV of a parsed table: %v", err)
		}
		var declared []string
		for _, c := range tb.Categorical() {
			declared = append(declared, c.Name)
		}
		back, err := ParseCSV(&buf, "fuzz.csv", CSVOptions{LabelColumn: opt.LabelColumn, Categorical: declared})
		if err != nil {
			t.Fatalf("reading back %q: %v", buf.String(), err)
		}
		if err := sameTable(back, tb); err != nil {
			t.Fatalf("round trip: %v", err)
		}
	})
}

// sameTable compares two tables exactly, NaN equal to NaN and -0 unequal to 0,
// a nil category list unequal to an empty one.
func sameTable(got, want *Table) error {
	same := func(a, b []float64) bool {
		return slices.EqualFunc(a, b, func(x, y float64) bool {
			return math.Float64bits(x) == math.Float64bits(y) || (math.IsNaN(x) && math.IsNaN(y))
		})
	}
	switch {
	case got.Name != want.Name:
		return fmt.Errorf("name %q, want %q", got.Name, want.Name)
	case !slices.Equal(got.IDs, want.IDs):
		return fmt.Errorf("ids %q, want %q", got.IDs, want.IDs)
	case !slices.Equal(got.Columns, want.Columns):
		return fmt.Errorf("columns %q, want %q", got.Columns, want.Columns)
	case !same(got.X, want.X):
		return fmt.Errorf("X %v, want %v", got.X, want.X)
	case (got.Labels == nil) != (want.Labels == nil) || !same(got.Labels, want.Labels):
		return fmt.Errorf("labels %v, want %v", got.Labels, want.Labels)
	case !slices.EqualFunc(got.Categories, want.Categories, func(a, b []string) bool { return (a == nil) == (b == nil) && slices.Equal(a, b) }) ||
		(got.Categories == nil) != (want.Categories == nil):
		return fmt.Errorf("categories %q, want %q", got.Categories, want.Categories)
	}
	return nil
}

// benchCSV returns n rows of d columns written the way the FATE files are:
// six decimals, a label in the second column.
func benchCSV(n, d int) []byte {
	r := newRNG(1, 1)
	var b bytes.Buffer
	b.WriteString("id,y")
	for j := range d {
		fmt.Fprintf(&b, ",x%d", j)
	}
	b.WriteByte('\n')
	line := make([]byte, 0, 16*d)
	for i := range n {
		line = strconv.AppendInt(line[:0], int64(i), 10)
		line = append(line, ',', byte('0'+r.intn(2)))
		for range d {
			line = append(line, ',')
			line = strconv.AppendFloat(line, r.norm(), 'f', 6, 64)
		}
		line = append(line, '\n')
		b.Write(line)
	}
	return b.Bytes()
}

func BenchmarkReadCSV(b *testing.B) {
	for _, size := range []struct{ rows, cols int }{{30_000, 13}, {1_000_000, 50}} {
		data := benchCSV(size.rows, size.cols)
		b.Run(fmt.Sprintf("%dx%d", size.rows, size.cols), func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				if _, err := ParseCSV(bytes.NewReader(data), "bench.csv", CSVOptions{LabelColumn: "y"}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*size.rows)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}
