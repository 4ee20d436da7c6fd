package dataset

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"
)

// Errors a *ParseError wraps; match them with errors.Is.
var (
	ErrEmpty         = errors.New("dataset: no data")
	ErrBadHeader     = errors.New("dataset: bad header")
	ErrMissingColumn = errors.New("dataset: missing column")
	ErrRaggedRow     = errors.New("dataset: wrong number of fields")
	ErrBadQuote      = errors.New("dataset: bad quoting")
	ErrNotNumeric    = errors.New("dataset: not a number")
	ErrEmptyID       = errors.New("dataset: empty id")
	ErrDuplicateID   = errors.New("dataset: duplicate id")
	ErrBadLabel      = errors.New("dataset: label is not 0 or 1")
	// ErrAllMissing reports a feature column with no value in any row.
	ErrAllMissing = errors.New("dataset: feature column has no values")
	// ErrBadCategorical reports a column declared categorical that cannot
	// be: the id or the label column.
	ErrBadCategorical = errors.New("dataset: column cannot be categorical")
)

// ParseError says where a CSV input is wrong. Its Error method reads
//
//	default_credit_hetero_guest.csv:12:5 (PAY_6): "abc" is not a number
//
// and errors.Is sees through it to one of the Err* sentinels above.
type ParseError struct {
	File   string // the path or name given to ReadCSV or ParseCSV
	Line   int    // 1-based; 0 when the error concerns the whole input
	Column int    // 1-based field number; 0 when the error concerns the whole line
	Header string // the header name of Column, when there is one
	Err    error
}

func (e *ParseError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
		if e.Column > 0 {
			fmt.Fprintf(&b, ":%d", e.Column)
		}
	}
	if e.Header != "" {
		fmt.Fprintf(&b, " (%s)", e.Header)
	}
	b.WriteString(": ")
	b.WriteString(e.Err.Error())
	return b.String()
}

func (e *ParseError) Unwrap() error { return e.Err }

// detailError words one occurrence of a sentinel error.
type detailError struct {
	msg  string
	kind error
}

func (e *detailError) Error() string { return e.msg }
func (e *detailError) Unwrap() error { return e.kind }

func detail(kind error, format string, args ...any) error {
	return &detailError{msg: fmt.Sprintf(format, args...), kind: kind}
}

// CSVOptions describes a CSV layout. The zero value reads a file without labels
// whose ids are in a column named "id".
type CSVOptions struct {
	// IDColumn names the id column; "" means "id".
	IDColumn string
	// LabelColumn names the 0/1 label column; "" means the table has no labels.
	// The bank's files (*_guest.csv) name it "y".
	LabelColumn string
	// Comma separates fields; 0 means ','.
	Comma rune
	// Categorical names feature columns to read as categorical, whatever
	// their cells look like: each cell's label is its text as written
	// (trimmed as any cell is), so "007" stays "007" and a numeric code
	// stays a code. Columns not named here are categorical when some cell
	// is not a number, and their numbers are labelled by their shortest
	// form ("007" and "7.0" read as "7"). A name that is not a feature
	// column is an error.
	Categorical []string
}

// ReadCSV reads a CSV file: a header line, an id column, an optional label
// column, and features in every other column. Ids must be non-empty and
// unique, labels 0 or 1; empty cells and NA, N/A, NaN, null (in any letter
// case) are missing values (NaN). A feature column is numeric when all its
// cells are finite numbers or missing, and categorical (Table.Categories)
// when some cell is text or when opt.Categorical names it; a cell that
// overflows to infinity ("1e400", "inf") is an error, not a label. A feature
// column with no value at all is an error (ErrAllMissing). Blank lines are
// skipped, unquoted fields lose surrounding spaces and tabs, and a quoted
// field may hold separators and "" but not a line break. Faults in the input
// come back as *ParseError values naming the path, line and column. The
// table's Name is the file's base name; the work is spread over GOMAXPROCS
// goroutines.
func ReadCSV(path string, opt CSVOptions) (*Table, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("dataset: %w", err)
	}
	defer f.Close()
	p, err := newParser(path, opt)
	if err != nil {
		return nil, err
	}
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
		p.size = fi.Size()
	}
	t, err := p.parse(f)
	if err != nil {
		return nil, err
	}
	t.Name = filepath.Base(path)
	return t, nil
}

// ParseCSV reads a CSV table from r, as ReadCSV does; name is used as the
// table's Name and in error messages.
func ParseCSV(r io.Reader, name string, opt CSVOptions) (*Table, error) {
	p, err := newParser(name, opt)
	if err != nil {
		return nil, err
	}
	if l, ok := r.(interface{ Len() int }); ok { // bytes.Reader, strings.Reader, ...
		p.size = int64(l.Len())
	}
	t, err := p.parse(r)
	if err != nil {
		return nil, err
	}
	t.Name = name
	return t, nil
}

const (
	kindID    = -1
	kindLabel = -2
)

type parser struct {
	name    string
	opt     CSVOptions
	sep     []byte
	chunk   int // bytes of input per unit of parallel work
	workers int
	size    int64 // bytes of input, when known: sizes the feature matrix up front

	header   []string
	kind     []int // per field: a feature index, kindID or kindLabel
	d        int
	declared []bool // per feature: named in opt.Categorical; nil when none is
}

func newParser(name string, opt CSVOptions) (*parser, error) {
	if opt.IDColumn == "" {
		opt.IDColumn = "id"
	}
	if opt.Comma == 0 {
		opt.Comma = ','
	}
	if opt.LabelColumn == opt.IDColumn {
		return nil, fmt.Errorf("dataset: IDColumn and LabelColumn are both %q", opt.IDColumn)
	}
	if c := opt.Comma; c == '"' || c == '\r' || c == '\n' || !utf8.ValidRune(c) || c == utf8.RuneError {
		return nil, fmt.Errorf("dataset: %q cannot separate CSV fields", c)
	}
	if name == "" {
		name = "<input>"
	}
	return &parser{
		name:    name,
		opt:     opt,
		sep:     utf8.AppendRune(nil, opt.Comma),
		chunk:   1 << 20,
		workers: runtime.GOMAXPROCS(0),
	}, nil
}

func (p *parser) errorAt(line, field int, err error) *ParseError {
	e := &ParseError{File: p.name, Line: line, Column: field + 1, Err: err}
	if field < 0 {
		e.Column = 0
	} else if field < len(p.header) {
		e.Header = p.header[field]
	}
	return e
}

func (p *parser) parse(r io.Reader) (*Table, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	line := 0
	var head []byte
	for len(head) == 0 {
		var err error
		head, err = readLine(br)
		line++
		if line == 1 {
			head = bytes.TrimPrefix(head, []byte("\uFEFF"))
		}
		if err == io.EOF && len(head) == 0 {
			return nil, &ParseError{File: p.name, Err: detail(ErrEmpty, "empty file")}
		}
		if err != nil && err != io.EOF {
			return nil, fmt.Errorf("dataset: reading %s: %w", p.name, err)
		}
	}
	if err := p.readHeader(head, line); err != nil {
		return nil, err
	}
	parts, shared, err := p.body(br, line+1)
	if err != nil {
		return nil, err
	}
	return p.assemble(parts, shared)
}

// readLine returns the next line without its line ending, however long it is.
func readLine(br *bufio.Reader) ([]byte, error) {
	var long []byte
	for {
		s, err := br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			long = append(long, s...)
			continue
		}
		if long != nil {
			s = append(long, s...)
		}
		s = bytes.TrimSuffix(s, []byte("\n"))
		s = bytes.TrimSuffix(s, []byte("\r"))
		if err == nil && len(s) == 0 {
			return s, nil
		}
		return slices.Clone(s), err
	}
}

func (p *parser) readHeader(head []byte, line int) error {
	fields, bad, err := splitFields(nil, head, p.sep)
	if err != nil {
		return p.errorAt(line, bad, err) // no header names yet
	}
	p.header = make([]string, len(fields))
	p.kind = make([]int, len(fields))
	at := make(map[string]int, len(fields))
	idField, labelField := -1, -1
	for f, b := range fields {
		name := string(b)
		p.header[f] = name
		if name == "" {
			return p.errorAt(line, f, detail(ErrBadHeader, "empty column name"))
		}
		if g, dup := at[name]; dup {
			return p.errorAt(line, f, detail(ErrBadHeader, "column name %q also names column %d", name, g+1))
		}
		at[name] = f
		switch name {
		case p.opt.IDColumn:
			idField = f
			p.kind[f] = kindID
		case p.opt.LabelColumn:
			labelField = f
			p.kind[f] = kindLabel
		default:
			p.kind[f] = p.d
			p.d++
		}
	}
	if idField < 0 {
		return p.errorAt(line, -1, detail(ErrMissingColumn, "no id column %q in the header", p.opt.IDColumn))
	}
	if p.opt.LabelColumn != "" && labelField < 0 {
		return p.errorAt(line, -1, detail(ErrMissingColumn, "no label column %q in the header", p.opt.LabelColumn))
	}
	for _, name := range p.opt.Categorical {
		f, ok := at[name]
		switch {
		case !ok:
			return p.errorAt(line, -1, detail(ErrMissingColumn, "no column %q, which CSVOptions.Categorical names, in the header", name))
		case p.kind[f] == kindID:
			return p.errorAt(line, f, detail(ErrBadCategorical, "the id column cannot be categorical"))
		case p.kind[f] == kindLabel:
			return p.errorAt(line, f, detail(ErrBadCategorical, "the label column holds 0 or 1 and cannot be categorical"))
		}
		if p.declared == nil {
			p.declared = make([]bool, p.d)
		}
		p.declared[p.kind[f]] = true
	}
	return nil
}

// part is one chunk of input lines and what parsing them produced.
type part struct {
	buf  []byte // backing memory of data, recycled after parsing
	data []byte // whole lines
	line int    // line number of the first line in data
	rows int    // lines in data: at least its number of rows
	off  int    // row of the shared matrix where x starts, or -1 when x is its own

	ids   []byte // the ids, concatenated
	idEnd []int  // end of each row's id in ids
	lines []int  // line number of each row
	x     []float64
	y     []float64
	err   *ParseError

	// Categorical cells, recorded only when met: a numeric file pays nothing.
	// A declared column's cell holds its label's local id in x; a text cell
	// of another column holds NaN in x and its local id + 1 in texts, at its
	// row counted from the chunk's first row. One int32 per row of a column
	// that has text costs a third of a (row, column, id) record per text
	// cell, and is allocated once at its final size instead of grown.
	sets  []*labelSet // per feature: the labels met; nil until one is
	texts [][]int32   // per feature: 0, or a text cell's local id + 1; nil until text is met
}

// label interns cell as a label of feature k.
func (j *part) label(k int, cell []byte, d int) int32 {
	if j.sets == nil {
		j.sets = make([]*labelSet, d)
	}
	if j.sets[k] == nil {
		j.sets[k] = newLabelSet()
	}
	return j.sets[k].id(cell)
}

// textIDs returns feature k's per-row text ids (part.texts), made when the
// column meets its first text cell. j.rows counts lines, so every row fits.
func (j *part) textIDs(k, d int) []int32 {
	if j.texts == nil {
		j.texts = make([][]int32, d)
	}
	if j.texts[k] == nil {
		j.texts[k] = make([]int32, j.rows)
	}
	return j.texts[k]
}

// body cuts the input after the header into chunks of whole lines and parses
// them in parallel. Parsing stops at the first chunk with an error; the error
// returned is the one earliest in the input.
//
// Chunks write their rows straight into one shared matrix, at the offset their
// line counts give, while they fit in the matrix's size estimate; the rest get
// their own and are copied once at the end. Blank lines leave gaps that
// assemble closes. For a large file this saves a copy of the whole matrix, and
// first touching fresh memory is the dearest part of parsing on a VM.
func (p *parser) body(r io.Reader, firstLine int) (parts []*part, shared []float64, err error) {
	maxBufs := p.workers + 2
	jobs := make(chan *part)
	free := make(chan []byte, maxBufs)
	var failed atomic.Bool
	var wg sync.WaitGroup
	for range p.workers {
		wg.Go(func() {
			for j := range jobs {
				p.parseChunk(j)
				if j.err != nil {
					failed.Store(true)
				}
				free <- j.buf
				j.buf, j.data = nil, nil
			}
		})
	}
	allocated := 0
	getBuf := func() []byte {
		select {
		case b := <-free:
			return b
		default:
		}
		if allocated < maxBufs {
			allocated++
			return make([]byte, 0, p.chunk)
		}
		return <-free
	}

	var (
		carry   []byte
		readErr error
		line    = firstLine
		row     int // of the shared matrix, for the next chunk
		eof     bool
	)
	for !eof && !failed.Load() {
		buf := append(getBuf()[:0], carry...)
		cut := -1
		for cut < 0 && !eof {
			if len(buf) == cap(buf) {
				buf = slices.Grow(buf, cap(buf))
			}
			start := len(buf)
			n, err := io.ReadFull(r, buf[start:cap(buf)])
			buf = buf[:start+n]
			if err != nil {
				eof = true
				if err != io.EOF && err != io.ErrUnexpectedEOF {
					readErr = err
				}
			}
			if k := bytes.LastIndexByte(buf[start:], '\n'); k >= 0 {
				cut = start + k
			}
		}
		data := buf
		if !eof {
			data = buf[:cut+1]
			carry = append(carry[:0], buf[cut+1:]...)
		}
		if len(data) == 0 {
			free <- buf
			break
		}
		newlines := bytes.Count(data, []byte{'\n'})
		j := &part{buf: buf, data: data, line: line, rows: newlines, off: -1}
		if data[len(data)-1] != '\n' {
			j.rows++
		}
		line += newlines
		if parts == nil {
			shared = make([]float64, p.estimateRows(j, eof)*p.d)
		}
		if end := (row + j.rows) * p.d; end <= len(shared) {
			j.off = row
			j.x = shared[row*p.d : row*p.d : end]
		}
		row += j.rows
		parts = append(parts, j)
		jobs <- j
	}
	close(jobs)
	wg.Wait()
	for _, j := range parts {
		if j.err != nil {
			return nil, nil, j.err
		}
	}
	if readErr != nil {
		return nil, nil, fmt.Errorf("dataset: reading %s: %w", p.name, readErr)
	}
	return parts, shared, nil
}

// estimateRows guesses from the first chunk how many rows the input holds,
// erring high: untouched memory costs little, a short guess costs a copy.
func (p *parser) estimateRows(first *part, eof bool) int {
	if eof || p.size <= 0 {
		return first.rows
	}
	perLine := float64(len(first.data)) / float64(first.rows)
	est := int(1.1*float64(p.size)/perLine) + 16
	// A row takes at least one byte per field (an id, separators, a newline),
	// which bounds the guess when the first chunk is mostly blank lines.
	return min(est, int(p.size)/(len(p.kind)+1)+1)
}

func (p *parser) parseChunk(j *part) {
	d, width := p.d, len(p.kind)
	data, line := j.data, j.line-1
	if j.off < 0 {
		j.x = make([]float64, 0, j.rows*d)
	}
	j.idEnd = make([]int, 0, j.rows)
	j.lines = make([]int, 0, j.rows)
	if p.opt.LabelColumn != "" {
		j.y = make([]float64, 0, j.rows)
	}
	var fields [][]byte
	declared := p.declared
	for len(data) > 0 {
		var ln []byte
		if k := bytes.IndexByte(data, '\n'); k >= 0 {
			ln, data = data[:k], data[k+1:]
		} else {
			ln, data = data, nil
		}
		line++
		ln = bytes.TrimSuffix(ln, []byte("\r"))
		if len(ln) == 0 {
			continue
		}
		var bad int
		var err error
		fields, bad, err = splitFields(fields[:0], ln, p.sep)
		if err != nil {
			j.err = p.errorAt(line, bad, err)
			return
		}
		if len(fields) != width {
			f := min(len(fields), width)
			j.err = p.errorAt(line, f, detail(ErrRaggedRow, "row has %d fields, header has %d", len(fields), width))
			return
		}
		start := len(j.x)
		j.x = slices.Grow(j.x, d)[:start+d]
		row := j.x[start:]
		for f, cell := range fields {
			switch k := p.kind[f]; k {
			case kindID:
				if len(cell) == 0 {
					j.err = p.errorAt(line, f, detail(ErrEmptyID, "empty id"))
					return
				}
				j.ids = append(j.ids, cell...)
				j.idEnd = append(j.idEnd, len(j.ids))
			case kindLabel:
				v, ok := parseNumber(cell)
				switch {
				case ok && math.IsNaN(v):
					j.err = p.errorAt(line, f, detail(ErrBadLabel, "missing label"))
					return
				case !ok || (v != 0 && v != 1):
					j.err = p.errorAt(line, f, detail(ErrBadLabel, "label %s is not 0 or 1", quoteCell(cell)))
					return
				}
				j.y = append(j.y, v)
			default:
				if declared != nil && declared[k] {
					if isMissing(cell) {
						row[k] = math.NaN()
					} else {
						row[k] = float64(j.label(k, cell, d))
					}
					continue
				}
				v, what := parseFeature(cell)
				switch what {
				case cellNumber:
					row[k] = v
				case cellText:
					row[k] = math.NaN()
					j.textIDs(k, d)[len(j.lines)] = j.label(k, cell, d) + 1
				default:
					j.err = p.errorAt(line, f, notNumeric(cell))
					return
				}
			}
		}
		j.lines = append(j.lines, line)
	}
}

func (p *parser) assemble(parts []*part, shared []float64) (*Table, error) {
	n, idBytes := 0, 0
	for _, j := range parts {
		n += len(j.idEnd)
		idBytes += len(j.ids)
	}
	if n == 0 {
		return nil, &ParseError{File: p.name, Err: detail(ErrEmpty, "no data rows after the header")}
	}
	t := &Table{Name: p.name, IDs: make([]string, n)}
	inPlace := n*p.d <= len(shared)
	if inPlace {
		t.X = shared[:n*p.d]
	} else {
		t.X = make([]float64, n*p.d)
	}
	for f, k := range p.kind {
		if k >= 0 {
			t.Columns = append(t.Columns, p.header[f])
		}
	}
	if p.opt.LabelColumn != "" {
		t.Labels = make([]float64, 0, n)
	}
	// One string backs all ids: a million rows cost one allocation, not a million.
	var sb strings.Builder
	sb.Grow(idBytes)
	for _, j := range parts {
		sb.Write(j.ids)
	}
	all := sb.String()
	lines := make([]int, 0, n)
	starts := make([]int, len(parts)) // each part's first row in the table
	row, off := 0, 0
	for pi, j := range parts {
		starts[pi] = row
		// Rows already in place stay; the others move down over gaps left by
		// blank lines, or come in from their own matrix. Chunks that did not
		// fit the shared matrix all come after those that did, so a copy never
		// overwrites rows still to be read.
		if !inPlace || j.off != row {
			copy(t.X[row*p.d:], j.x)
		}
		prev := 0
		for _, end := range j.idEnd {
			t.IDs[row] = all[off+prev : off+end]
			prev = end
			row++
		}
		off += len(j.ids)
		t.Labels = append(t.Labels, j.y...)
		lines = append(lines, j.lines...)
	}
	seen := make(map[string]int, n)
	for i, id := range t.IDs {
		if first, dup := seen[id]; dup {
			idField := slices.Index(p.kind, kindID)
			return nil, p.errorAt(lines[i], idField,
				detail(ErrDuplicateID, "duplicate id %s (first on line %d)", quoteCell([]byte(id)), lines[first]))
		}
		seen[id] = i
	}
	t.Categories = p.categories(t.X, parts, starts)
	if k := emptyColumn(t.X, p.d); k >= 0 {
		return nil, p.errorAt(0, p.field(k), errAllMissing())
	}
	return t, nil
}

// field returns the field index of feature k.
func (p *parser) field(k int) int { return slices.Index(p.kind, k) }

// categories turns the categorical columns' local ids into indexes into
// their sorted dictionaries and returns the dictionaries, or nil when every
// column is numeric. starts[i] is parts[i]'s first row in x.
func (p *parser) categories(x []float64, parts []*part, starts []int) [][]string {
	d := p.d
	var cats [][]string
	remaps := make([][][]float64, d) // [feature][part]: local id -> index
	for k := range d {
		declared := p.declared != nil && p.declared[k]
		var sets []*labelSet
		for pi, j := range parts {
			if j.sets != nil && j.sets[k] != nil {
				if sets == nil {
					sets = make([]*labelSet, len(parts))
				}
				sets[pi] = j.sets[k]
			}
		}
		if sets == nil && !declared {
			continue
		}
		seen := make(map[string]int)
		collectLabels(seen, sets...)
		if !declared {
			numberLabels(seen, x, d, k)
		}
		if cats == nil {
			cats = make([][]string, d)
		}
		cats[k] = sortLabels(seen)
		if !declared {
			relabelNumbers(seen, x, d, k)
		}
		remaps[k] = make([][]float64, len(parts))
		for pi, set := range sets {
			if set == nil {
				continue
			}
			global := set.remap(seen)
			remaps[k][pi] = global
			if declared {
				for i := starts[pi]; i < starts[pi]+len(parts[pi].lines); i++ {
					if v := x[i*d+k]; !math.IsNaN(v) {
						x[i*d+k] = global[int(v)]
					}
				}
			}
		}
	}
	for pi, j := range parts {
		for k, ids := range j.texts {
			if ids == nil {
				continue
			}
			global := remaps[k][pi]
			at := starts[pi]*d + k
			for _, id := range ids[:len(j.lines)] {
				if id > 0 {
					x[at] = global[id-1]
				}
				at += d
			}
		}
	}
	return cats
}

// splitFields appends the fields of one line to dst. Unquoted fields lose
// surrounding blanks; a field that starts with a double quote runs to the
// closing quote, with "" standing for one quote, and may not span lines. On
// error it also returns the index of the offending field.
func splitFields(dst [][]byte, ln, sep []byte) ([][]byte, int, error) {
	quotes := bytes.IndexByte(ln, '"') >= 0
	for {
		if quotes {
			if rest := trimBlankLeft(ln); len(rest) > 0 && rest[0] == '"' {
				cell, after, err := unquote(rest[1:])
				if err != nil {
					return dst, len(dst), err
				}
				dst = append(dst, cell)
				after = trimBlankLeft(after)
				if len(after) == 0 {
					return dst, 0, nil
				}
				if !bytes.HasPrefix(after, sep) {
					return dst, len(dst) - 1, detail(ErrBadQuote, "unexpected %q after a closing quote", after[0])
				}
				ln = after[len(sep):]
				continue
			}
		}
		var k int
		if len(sep) == 1 {
			k = bytes.IndexByte(ln, sep[0])
		} else {
			k = bytes.Index(ln, sep)
		}
		if k < 0 {
			return append(dst, trimBlank(ln)), 0, nil
		}
		dst = append(dst, trimBlank(ln[:k]))
		ln = ln[k+len(sep):]
	}
}

// unquote reads a quoted field's content up to its closing quote.
func unquote(s []byte) (cell, rest []byte, err error) {
	var out []byte
	for {
		k := bytes.IndexByte(s, '"')
		if k < 0 {
			return nil, nil, detail(ErrBadQuote, "quoted field does not end on its line")
		}
		if k+1 < len(s) && s[k+1] == '"' {
			out = append(out, s[:k+1]...)
			s = s[k+2:]
			continue
		}
		if out == nil {
			return s[:k], s[k+1:], nil
		}
		return append(out, s[:k]...), s[k+1:], nil
	}
}

func isBlank(c byte) bool { return c == ' ' || c == '\t' }

func trimBlankLeft(b []byte) []byte {
	for len(b) > 0 && isBlank(b[0]) {
		b = b[1:]
	}
	return b
}

func trimBlank(b []byte) []byte {
	b = trimBlankLeft(b)
	for len(b) > 0 && isBlank(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

// trimBlank for strings, so that the writer quotes exactly what the reader would trim.
func trimBlankString(s string) string {
	return strings.TrimFunc(s, func(r rune) bool { return r == ' ' || r == '\t' })
}

// What a feature cell holds (parseFeature).
const (
	cellNumber   = iota // a finite number or a missing value (NaN)
	cellText            // anything else but an overflow: a label
	cellInfinite        // a number beyond float64's range, or "inf"
)

// parseFeature reads a feature cell of a column not declared categorical.
// An overflow is an error rather than a label: a column of numbers should
// not turn categorical because one of them is too large.
func parseFeature(b []byte) (float64, int) {
	if v, ok := parseDecimal(b); ok {
		return v, cellNumber
	}
	if isMissing(b) {
		return math.NaN(), cellNumber
	}
	if !mayBeFloat(b) {
		return 0, cellText
	}
	v, err := strconv.ParseFloat(string(b), 64)
	switch {
	case math.IsInf(v, 0) || errors.Is(err, strconv.ErrRange):
		return 0, cellInfinite
	case err != nil || math.IsNaN(v):
		return 0, cellText
	}
	return v, cellNumber
}

// mayBeFloat is false for a cell strconv.ParseFloat certainly rejects: one
// whose first character after an optional sign cannot start a Go float
// literal (a digit, '.', '_' or a hex prefix's 0), nor the whole cell spell
// inf, infinity or nan. A label such as "retail" is then text without the
// two allocations of a failed ParseFloat (its *NumError and the copy of the
// cell it holds), which made text columns dear. A true result only means
// ParseFloat decides.
func mayBeFloat(b []byte) bool {
	if len(b) > 0 && (b[0] == '+' || b[0] == '-') {
		b = b[1:]
	}
	if len(b) == 0 {
		return false
	}
	switch c := b[0]; {
	case '0' <= c && c <= '9', c == '.', c == '_':
		return true
	case c|0x20 == 'i':
		return bytes.EqualFold(b, []byte("inf")) || bytes.EqualFold(b, []byte("infinity"))
	case c|0x20 == 'n':
		return bytes.EqualFold(b, []byte("nan"))
	}
	return false
}

// parseNumber parses a feature cell: a missing-value marker gives NaN, anything
// else must be a finite number.
func parseNumber(b []byte) (float64, bool) {
	if v, ok := parseDecimal(b); ok {
		return v, true
	}
	if isMissing(b) {
		return math.NaN(), true
	}
	v, err := strconv.ParseFloat(string(b), 64)
	if err != nil || math.IsInf(v, 0) || math.IsNaN(v) {
		return 0, false
	}
	return v, true
}

func notNumeric(cell []byte) error {
	if v, err := strconv.ParseFloat(string(cell), 64); math.IsInf(v, 0) || errors.Is(err, strconv.ErrRange) {
		return detail(ErrNotNumeric, "%s is not a finite number", quoteCell(cell))
	}
	return detail(ErrNotNumeric, "%s is not a number", quoteCell(cell))
}

func isMissing(b []byte) bool {
	switch len(b) {
	case 0:
		return true
	case 2, 3, 4:
		s := string(b)
		return strings.EqualFold(s, "na") || strings.EqualFold(s, "n/a") ||
			strings.EqualFold(s, "nan") || strings.EqualFold(s, "null")
	}
	return false
}

var pow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
	1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// parseDecimal is the fast path for plain decimals such as -12.375. With at most
// 2^53 as the digit string and at most 22 fractional digits, both operands of
// the division are exact and IEEE division rounds once, so the result equals
// strconv.ParseFloat's (Clinger's fast path). Anything else falls through.
func parseDecimal(b []byte) (float64, bool) {
	i, neg := 0, false
	if len(b) > 0 && (b[0] == '-' || b[0] == '+') {
		neg, i = b[0] == '-', 1
	}
	var m uint64
	digits, frac, dot := 0, 0, false
	for ; i < len(b); i++ {
		switch c := b[i]; {
		case '0' <= c && c <= '9':
			if digits == 19 {
				return 0, false
			}
			m = m*10 + uint64(c-'0')
			digits++
			if dot {
				frac++
			}
		case c == '.' && !dot:
			dot = true
		default:
			return 0, false
		}
	}
	if digits == 0 || m > 1<<53 || frac >= len(pow10) {
		return 0, false
	}
	v := float64(m) / pow10[frac]
	if neg {
		v = -v
	}
	return v, true
}

// quoteCell quotes a cell for an error message, shortening long ones.
func quoteCell(b []byte) string {
	const max = 40
	if len(b) > max {
		return strconv.Quote(string(b[:max])) + "..."
	}
	return strconv.Quote(string(b))
}
