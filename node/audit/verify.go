package audit

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
)

// ErrCorrupt reports a log that fails verification: a line altered,
// removed, inserted or reordered, or not a record at all. The errors of
// Verify, Read and Open are *LineError values, which match it (or ErrTorn).
var ErrCorrupt = errors.New("audit: log fails verification")

// ErrTorn reports a last line without its newline: a write cut by a crash
// (Open cuts it away and says so in the log; Verify reports it).
var ErrTorn = errors.New("audit: torn last line")

// LineError names the first line of a log that fails verification
// (1-based) and what failed.
type LineError struct {
	Line   int
	Reason string
	torn   bool
}

func (e *LineError) Error() string {
	return fmt.Sprintf("%v: line %d: %s", e.Unwrap(), e.Line, e.Reason)
}

// Unwrap makes errors.Is match ErrCorrupt, or ErrTorn for a torn line.
func (e *LineError) Unwrap() error {
	if e.torn {
		return ErrTorn
	}
	return ErrCorrupt
}

// Head is the last record of a verified log: its sequence number (which
// is also its line number) and its hash. Kept apart from the file (sent to
// a regulator, logged elsewhere), it anchors the log: records cut from the
// tail, or a chain rewritten from scratch, no longer lead to it.
type Head struct {
	Seq  uint64 `json:"seq"`
	Hash string `json:"hash"`
}

// hashSuffix is what a line ends with after its record's body:
// `,"hash":"<64 hex>"}`.
const (
	hashKey    = `,"hash":"`
	hashSuffix = len(hashKey) + 2*sha256.Size + len(`"}`)
)

// encode returns the line of r (newline included) and its hash.
func encode(r Record) ([]byte, string, error) {
	body, err := json.Marshal(r)
	if err != nil {
		return nil, "", fmt.Errorf("audit: encode record %d: %w", r.Seq, err)
	}
	h := digest(body)
	line := make([]byte, 0, len(body)+hashSuffix+1)
	line = append(line, body[:len(body)-1]...)
	line = append(line, hashKey...)
	line = append(line, h...)
	line = append(line, "\"}\n"...)
	return line, h, nil
}

// decodeLine decodes one line (without its newline): the hash it carries
// must be the SHA-256 of the rest, the rest a Record in the exact bytes
// that encode writes (so a line cannot hold anything a Record cannot), and
// the record well formed. It checks nothing about the chain.
func decodeLine(line []byte) (Record, error) {
	n := len(line)
	if n < hashSuffix+2 || line[0] != '{' || !bytes.Equal(line[n-hashSuffix:n-hashSuffix+len(hashKey)], []byte(hashKey)) || !bytes.HasSuffix(line, []byte(`"}`)) {
		return Record{}, errors.New(`not a record: it does not end with ,"hash":"<hex SHA-256>"}`)
	}
	h := string(line[n-hashSuffix+len(hashKey) : n-2])
	if !isDigest(h) {
		return Record{}, errors.New("not a record: its hash is not a lower-case hex SHA-256")
	}
	body := make([]byte, 0, n-hashSuffix+1)
	body = append(body, line[:n-hashSuffix]...)
	body = append(body, '}')
	sum := sha256.Sum256(body)
	if hex.EncodeToString(sum[:]) != h {
		return Record{}, errors.New("hash mismatch: the line was altered")
	}
	var r Record
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return Record{}, fmt.Errorf("not a record: %v", err)
	}
	if dec.More() {
		return Record{}, errors.New("not a record: data after the record")
	}
	again, err := json.Marshal(r)
	if err != nil || !bytes.Equal(again, body) {
		return Record{}, errors.New("not a record as this program writes it (fields, order or spelling differ)")
	}
	r.Hash = h
	if err := r.wellFormed(); err != nil {
		return Record{}, err
	}
	return r, nil
}

// wellFormed checks that r holds exactly the payload its type says, and a
// valid one (the chain's checks, Seq and Prev, are the caller's).
func (r Record) wellFormed() error {
	set := 0
	for _, p := range []bool{r.Open != nil, r.Begin != nil, r.Step != nil, r.Session != nil} {
		if p {
			set++
		}
	}
	var err error
	switch {
	case set != 1:
		err = fmt.Errorf("%d payloads, want 1", set)
	case r.Type == TypeOpen && r.Open != nil:
		err = r.Open.validate(r.Seq == 1)
	case r.Type == TypeBegin && r.Begin != nil:
		err = r.Begin.validate()
	case r.Type == TypeStep && r.Step != nil:
		err = r.Step.validate()
	case r.Type == TypeSession && r.Session != nil:
		err = r.Session.validate()
	default:
		err = fmt.Errorf("type %q does not match its payload", r.Type)
	}
	if err != nil {
		return fmt.Errorf("not a valid %s record: %w", r.Type, err)
	}
	return nil
}

// chain checks records in order: sequence numbers from 1, each prev the
// previous hash (Genesis for the first), and tracks the sessions begun and
// not ended.
type chain struct {
	line    int
	head    Head
	pending map[string]*Unfinished
	order   []string // session ids in begin order (some may have ended)
}

func newChain() *chain {
	return &chain{head: Head{Hash: Genesis}, pending: map[string]*Unfinished{}}
}

// check verifies r as the chain's next record (without adding it).
func (c *chain) check(r Record) error {
	switch {
	case r.Seq != c.head.Seq+1:
		return fmt.Errorf("sequence number %d, want %d: a line was removed, inserted or reordered here", r.Seq, c.head.Seq+1)
	case r.Prev != c.head.Hash && c.head.Seq == 0:
		return errors.New("prev is not the genesis value: the log does not start here")
	case r.Prev != c.head.Hash:
		return fmt.Errorf("prev does not match the hash of line %d: a line was removed, inserted, reordered or rewritten here", c.head.Seq)
	case r.Seq == 1 && r.Type != TypeOpen:
		return fmt.Errorf("the first record is a %s record, want an open record", r.Type)
	}
	return nil
}

// add moves the chain past r (checked).
func (c *chain) add(r Record) {
	c.head = Head{Seq: r.Seq, Hash: r.Hash}
	switch r.Type {
	case TypeBegin:
		if _, dup := c.pending[r.Begin.ID]; !dup {
			c.order = append(c.order, r.Begin.ID)
		}
		c.pending[r.Begin.ID] = &Unfinished{Begin: *r.Begin, Time: r.Time}
	case TypeStep:
		if u := c.pending[r.Step.Session]; u != nil {
			u.Disclosures = addDisclosures(u.Disclosures, r.Step.Disclosures)
		}
	case TypeSession:
		delete(c.pending, r.Session.ID)
	}
	if len(c.order) > 2*len(c.pending)+64 { // drop ended ids now and then
		kept := c.order[:0]
		for _, id := range c.order {
			if c.pending[id] != nil {
				kept = append(kept, id)
			}
		}
		c.order = kept
	}
}

// unfinished lists the sessions begun and not ended, in begin order.
func (c *chain) unfinished() []Unfinished {
	var out []Unfinished
	seen := map[string]bool{}
	for _, id := range c.order {
		if u := c.pending[id]; u != nil && !seen[id] {
			seen[id] = true
			v := *u
			v.Disclosures = append([]Disclosure(nil), u.Disclosures...)
			out = append(out, v)
		}
	}
	return out
}

// addDisclosures adds the counts of ds to those of sum with the same
// receiver, step, what, shape and masking, appending new ones.
func addDisclosures(sum, ds []Disclosure) []Disclosure {
	for _, d := range ds {
		found := false
		for i := range sum {
			if sameKind(sum[i], d) {
				sum[i].Count += d.Count
				sum[i].Values += d.Values
				found = true
				break
			}
		}
		if !found {
			d.Shape = append([]int(nil), d.Shape...)
			sum = append(sum, d)
		}
	}
	return sum
}

func sameKind(a, b Disclosure) bool {
	if a.To != b.To || a.Step != b.Step || a.What != b.What || a.Masked != b.Masked || len(a.Shape) != len(b.Shape) {
		return false
	}
	for i := range a.Shape {
		if a.Shape[i] != b.Shape[i] {
			return false
		}
	}
	return true
}

// Unfinished is a session the log shows begun and not ended: its begin
// record, that record's time, and what its step records say it disclosed.
type Unfinished struct {
	Begin       Begin
	Time        time.Time
	Disclosures []Disclosure
}

// lineReader reads lines of at most MaxLine bytes.
type lineReader struct {
	br   *bufio.Reader
	line int
	off  int64 // bytes of the complete lines read
	buf  []byte
}

func newLineReader(r io.Reader) *lineReader {
	return &lineReader{br: bufio.NewReaderSize(r, 64<<10)}
}

// next returns the next line without its newline; io.EOF after the last.
// A last line without a newline is a torn *LineError, and a line longer
// than MaxLine a corrupt one; other errors are the reader's.
func (lr *lineReader) next() ([]byte, error) {
	lr.buf = lr.buf[:0]
	for {
		chunk, err := lr.br.ReadSlice('\n')
		if len(lr.buf)+len(chunk) > MaxLine {
			return nil, &LineError{Line: lr.line + 1, Reason: fmt.Sprintf("longer than %d bytes", MaxLine)}
		}
		lr.buf = append(lr.buf, chunk...)
		switch {
		case err == nil:
			lr.line++
			lr.off += int64(len(lr.buf))
			return lr.buf[:len(lr.buf)-1], nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF) && len(lr.buf) == 0:
			return nil, io.EOF
		case errors.Is(err, io.EOF):
			return lr.buf, &LineError{Line: lr.line + 1, Reason: fmt.Sprintf("torn: %d bytes without a newline at the end of the file (a write cut short)", len(lr.buf)), torn: true}
		default:
			return nil, fmt.Errorf("audit: read line %d: %w", lr.line+1, err)
		}
	}
}

// scan reads and verifies a whole log, calling each for every record; it
// returns the chain, and the first failure. A torn last line is returned
// as a torn *LineError with the chain up to the line before it and the
// torn bytes.
func scan(r io.Reader, each func(Record)) (c *chain, torn []byte, off int64, err error) {
	c = newChain()
	lr := newLineReader(r)
	for {
		line, err := lr.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var le *LineError
			if errors.As(err, &le) && le.torn {
				return c, line, lr.off, err
			}
			return c, nil, lr.off, err
		}
		rec, err := decodeLine(line)
		if err == nil {
			err = c.check(rec)
		}
		if err != nil {
			return c, nil, lr.off, &LineError{Line: lr.line, Reason: err.Error()}
		}
		c.add(rec)
		if each != nil {
			each(rec)
		}
	}
	if c.head.Seq == 0 {
		return c, nil, lr.off, &LineError{Line: 1, Reason: "no records (an empty file)"}
	}
	return c, nil, lr.off, nil
}

// Verify reads a whole log and checks it: every line a record as this
// package writes it, carrying the SHA-256 of its own bytes, numbered from
// 1, each naming the previous record's hash (the first the Genesis value)
// and the first an open record. It returns the head (the last record), or
// a *LineError naming the first line that fails and why: an altered line
// fails its own hash; a removed, inserted or reordered one breaks the
// numbering or the chain at the line where it happened; a last line cut
// by a crash is torn (ErrTorn). Records cut from the end, or a chain
// rewritten whole, are found only by comparing the head with one kept
// apart (Log.Head).
func Verify(r io.Reader) (Head, error) {
	c, _, _, err := scan(r, nil)
	return c.head, err
}

// Read verifies a whole log as Verify does and returns its records.
func Read(r io.Reader) ([]Record, Head, error) {
	var recs []Record
	c, _, _, err := scan(r, func(rec Record) { recs = append(recs, rec) })
	if err != nil {
		return nil, c.head, err
	}
	return recs, c.head, nil
}
