package audit

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Format is the version of the file format this package writes and reads
// (the Format of every open record).
const Format = 1

// Genesis is the prev of a log's first record: the hex SHA-256 of the
// constant "veil-fl/veil audit log, format 1".
var Genesis = digest([]byte("veil-fl/veil audit log, format 1"))

func digest(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// Type is a record's kind.
type Type string

// The record types. Open records are written by the log itself (Open);
// the node appends the others.
const (
	TypeOpen    Type = "open"    // the log was opened (created, or continued after a restart)
	TypeBegin   Type = "begin"   // a session started
	TypeStep    Type = "step"    // a disclosure-step summary of a running session
	TypeSession Type = "session" // a session ended: the session's record
)

// Outcomes of a session.
const (
	OutcomeOK      = "ok"      // the session's result was released
	OutcomeError   = "error"   // a protocol, data or peer error
	OutcomeRefused = "refused" // refused after it began (a model or table it may not use, ...)
	OutcomeAborted = "aborted" // the peer aborted or vanished, or this node restarted during it
)

// Limits on what a record holds, so that a line stays small (lines over
// MaxLine are refused when read) and a record cannot smuggle a table in.
const (
	MaxLine    = 1 << 20 // bytes of one line, newline included
	maxName    = 256     // bytes of a name (peer, table, column, model, step, what)
	maxID      = 128     // bytes of a session id
	maxError   = 2048    // bytes of an error text; longer texts are cut (ending in "...")
	maxColumns = 4096    // column names of one session
	maxDiscl   = 256     // disclosures of one record
	maxShape   = 8       // dimensions of a shape
)

// Record is one line of the log. The log sets Seq, Prev, Time and Hash;
// exactly one of Open, Begin, Step and Session is set, as Type says.
//
// The line is the record's JSON (encoding/json of this struct: fields in
// this order, deterministic) with a last member "hash" added: the hex
// SHA-256 of the line without that member (that is, of the bytes before
// `,"hash":"` followed by `}`). Prev is the previous record's Hash, and
// Genesis for the first.
type Record struct {
	Seq     uint64    `json:"seq"`
	Prev    string    `json:"prev"`
	Time    time.Time `json:"time"`
	Type    Type      `json:"type"`
	Open    *Opened   `json:"open,omitempty"`
	Begin   *Begin    `json:"begin,omitempty"`
	Step    *Step     `json:"step,omitempty"`
	Session *Session  `json:"session,omitempty"`
	Hash    string    `json:"-"`
}

// Opened is the record the log writes each time it is opened for appending.
type Opened struct {
	Format int `json:"format"`
	// Continued: the file already held records (a restart); false only for
	// the first record of a file.
	Continued bool `json:"continued,omitempty"`
	// Torn is the incomplete last line that Open cut from the file.
	Torn *Torn `json:"torn,omitempty"`
	// Unfinished is how many sessions the file showed begun and not
	// ended (Log.Unfinished lists them).
	Unfinished int `json:"unfinished,omitempty"`
}

// Torn describes an incomplete last line (a crash in the middle of a
// write) that Open cut away: its line number, its length and the SHA-256
// of its bytes (not the bytes).
type Torn struct {
	Line   int    `json:"line"`
	Bytes  int    `json:"bytes"`
	SHA256 string `json:"sha256"`
}

// Peer is the other party of a session, as its certificate names it.
type Peer struct {
	// Name is the certificate's subject common name (the bank's name).
	Name string `json:"name"`
	// Fingerprint is the hex SHA-256 of the certificate (DER); see
	// PeerOf.
	Fingerprint string `json:"fingerprint,omitempty"`
}

// PeerOf returns the peer identity of a certificate: its common name and
// the SHA-256 of its DER bytes.
func PeerOf(cert *x509.Certificate) Peer {
	if cert == nil {
		return Peer{}
	}
	return Peer{Name: cert.Subject.CommonName, Fingerprint: digest(cert.Raw)}
}

// Begin is what a session is about, known when it starts: it opens the
// session in the log (a begin record), so that a session the node never
// ends, because it was killed, can be found after a restart
// (Log.Unfinished) and closed with an aborted session record.
type Begin struct {
	// ID is the session's id (the node's, not a data id).
	ID   string `json:"id"`
	Peer Peer   `json:"peer"`
	// Protocol is the session's protocol ("vlr", "boost", "woe", "score",
	// "align") and Model the model it trains or uses (its registry name).
	Protocol string `json:"protocol"`
	Model    string `json:"model,omitempty"`
	// Table is the logging party's table, Columns the names of its columns
	// the session uses (names, never values) and PeerColumns how many
	// columns the peer uses (its names are its own).
	Table       string   `json:"table,omitempty"`
	Columns     []string `json:"columns,omitempty"`
	PeerColumns int      `json:"peer_columns,omitempty"`
}

// Session is a session's record, written when it ends (and before its
// result is released): what Begin says, plus what happened.
type Session struct {
	Begin
	// Rows is the rows the session worked on: aligned, for a training;
	// scored, for a scoring.
	Rows int `json:"rows"`
	// Disclosures is what was decrypted or opened to whom, in counts and
	// shapes, as the joint-decryption plans admitted it.
	Disclosures   []Disclosure  `json:"disclosures,omitempty"`
	BytesSent     uint64        `json:"bytes_sent"`
	BytesReceived uint64        `json:"bytes_received"`
	Duration      time.Duration `json:"duration_ns"`
	// Outcome is OutcomeOK, OutcomeError, OutcomeRefused or
	// OutcomeAborted; Error the error's text (errors of fl and its
	// protocols name shapes and roles, never values).
	Outcome string `json:"outcome"`
	Error   string `json:"error,omitempty"`
}

// Step is a disclosure-step summary of a running session: what it
// revealed since its previous step record (counts add up). A session's
// record carries its totals; step records are what the log holds of a
// session the node never ended.
type Step struct {
	Session     string       `json:"session"`
	Disclosures []Disclosure `json:"disclosures"`
}

// Disclosure is one kind of value revealed to one party, in counts and
// shapes: Count vectors of What, each of the given Shape, Values values in
// all.
type Disclosure struct {
	// To is the party that learned the values ("bank-a", "center").
	To string `json:"to"`
	// Step is the protocol step that revealed them ("vlr.gradient"), and
	// What says what they are ("LR gradient of its 13 columns").
	Step string `json:"step"`
	What string `json:"what"`
	// Count is the vectors revealed, Values the values in all.
	Count  int   `json:"count"`
	Values int64 `json:"values"`
	// Shape is the shape of one vector ([13]; [212 10 32]), if fixed.
	Shape []int `json:"shape,omitempty"`
	// Masked: the values reached the receiver as shares masked with
	// uniform randomness, which reveal nothing by themselves.
	Masked bool `json:"masked,omitempty"`
}

// String says the disclosure in words: "to bank-a: 30 x LR gradient of its
// 13 columns".
func (d Disclosure) String() string {
	return "to " + d.To + ": " + d.phrase()
}

func (d Disclosure) phrase() string {
	what := d.What
	if what == "" {
		what = d.Step
	}
	s := Count(int64(d.Count)) + " x " + what
	if d.Masked {
		s += " (masked shares)"
	}
	return s
}

// Summary says a session's disclosures in words, grouped by receiver:
// "to bank-a: 30 x LR gradient of its 13 columns; 30 x loss sum; to
// center: 30 x LR gradient of its 10 columns" ("nothing disclosed" for
// none).
func (s Session) Summary() string {
	if len(s.Disclosures) == 0 {
		return "nothing disclosed"
	}
	var b strings.Builder
	to := ""
	for i, d := range s.Disclosures {
		if i > 0 {
			b.WriteString("; ")
		}
		if i == 0 || d.To != to {
			to = d.To
			b.WriteString("to " + d.To + ": ")
		}
		b.WriteString(d.phrase())
	}
	return b.String()
}

// Count formats a count with thousands separators ("18,000").
func Count(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// Payload is what the node appends: a Begin, Step or Session value.
type Payload interface {
	set(r *Record)
	validate() error
}

func (b Begin) set(r *Record)   { r.Type, r.Begin = TypeBegin, &b }
func (s Step) set(r *Record)    { r.Type, r.Step = TypeStep, &s }
func (s Session) set(r *Record) { r.Type, r.Session = TypeSession, &s }

var errInvalid = errors.New("audit: invalid record")

func checkName(field, s string, max int, required bool) error {
	switch {
	case required && s == "":
		return fmt.Errorf("%w: %s is empty", errInvalid, field)
	case len(s) > max:
		return fmt.Errorf("%w: %s is %d bytes, at most %d", errInvalid, field, len(s), max)
	case !utf8.ValidString(s):
		return fmt.Errorf("%w: %s is not UTF-8", errInvalid, field)
	}
	return nil
}

func (p Peer) validate() error {
	if err := checkName("peer name", p.Name, maxName, true); err != nil {
		return err
	}
	if p.Fingerprint != "" && !isDigest(p.Fingerprint) {
		return fmt.Errorf("%w: peer fingerprint %q is not a hex SHA-256", errInvalid, p.Fingerprint)
	}
	return nil
}

func (b Begin) validate() error {
	if err := checkName("session id", b.ID, maxID, true); err != nil {
		return err
	}
	if err := b.Peer.validate(); err != nil {
		return fmt.Errorf("session %s: %w", b.ID, err)
	}
	for _, f := range []struct {
		name, v  string
		required bool
	}{{"protocol", b.Protocol, true}, {"model", b.Model, false}, {"table", b.Table, false}} {
		if err := checkName(f.name, f.v, maxName, f.required); err != nil {
			return fmt.Errorf("session %s: %w", b.ID, err)
		}
	}
	if len(b.Columns) > maxColumns {
		return fmt.Errorf("%w: session %s: %d columns, at most %d", errInvalid, b.ID, len(b.Columns), maxColumns)
	}
	for i, c := range b.Columns {
		if err := checkName(fmt.Sprintf("column %d", i), c, maxName, true); err != nil {
			return fmt.Errorf("session %s: %w", b.ID, err)
		}
	}
	if b.PeerColumns < 0 {
		return fmt.Errorf("%w: session %s: peer columns %d", errInvalid, b.ID, b.PeerColumns)
	}
	return nil
}

func (s Session) validate() error {
	if err := s.Begin.validate(); err != nil {
		return err
	}
	if s.Rows < 0 || s.Duration < 0 {
		return fmt.Errorf("%w: session %s: rows %d, duration %v: negative", errInvalid, s.ID, s.Rows, s.Duration)
	}
	if err := checkName("outcome", s.Outcome, maxName, true); err != nil {
		return fmt.Errorf("session %s: %w", s.ID, err)
	}
	if len(s.Error) > maxError || !utf8.ValidString(s.Error) {
		return fmt.Errorf("%w: session %s: error text of %d bytes, at most %d of UTF-8", errInvalid, s.ID, len(s.Error), maxError)
	}
	return validateDisclosures(s.ID, s.Disclosures)
}

func (s Step) validate() error {
	if err := checkName("step's session id", s.Session, maxID, true); err != nil {
		return err
	}
	return validateDisclosures(s.Session, s.Disclosures)
}

func validateDisclosures(id string, ds []Disclosure) error {
	if len(ds) > maxDiscl {
		return fmt.Errorf("%w: session %s: %d disclosures, at most %d", errInvalid, id, len(ds), maxDiscl)
	}
	for i, d := range ds {
		if err := d.validate(); err != nil {
			return fmt.Errorf("session %s: disclosure %d: %w", id, i, err)
		}
	}
	return nil
}

func (d Disclosure) validate() error {
	if err := checkName("to", d.To, maxName, true); err != nil {
		return err
	}
	if err := checkName("step", d.Step, maxName, true); err != nil {
		return err
	}
	if err := checkName("what", d.What, maxName, false); err != nil {
		return err
	}
	if d.Count < 0 || d.Values < 0 {
		return fmt.Errorf("%w: step %s: count %d, values %d: negative", errInvalid, d.Step, d.Count, d.Values)
	}
	if len(d.Shape) > maxShape {
		return fmt.Errorf("%w: step %s: shape of %d dimensions, at most %d", errInvalid, d.Step, len(d.Shape), maxShape)
	}
	for _, n := range d.Shape {
		if n < 0 {
			return fmt.Errorf("%w: step %s: shape %v", errInvalid, d.Step, d.Shape)
		}
	}
	return nil
}

func (o Opened) validate(first bool) error {
	if o.Format != Format {
		return fmt.Errorf("format %d, this program reads format %d", o.Format, Format)
	}
	if o.Continued == first {
		if first {
			return errors.New("the first record says it continues a log")
		}
		return errors.New("an open record past the first says it starts a log")
	}
	if o.Unfinished < 0 {
		return fmt.Errorf("unfinished %d", o.Unfinished)
	}
	if t := o.Torn; t != nil && (t.Line < 1 || t.Bytes < 1 || !isDigest(t.SHA256)) {
		return fmt.Errorf("torn line %d of %d bytes, digest %q", t.Line, t.Bytes, t.SHA256)
	}
	return nil
}

// isDigest reports whether s is a lower-case hex SHA-256.
func isDigest(s string) bool {
	if len(s) != 2*sha256.Size {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// cutError shortens an error text to maxError bytes at a rune boundary.
func cutError(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= maxError {
		return s
	}
	cut := maxError - len("...")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}
