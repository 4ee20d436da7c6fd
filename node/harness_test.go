package node

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/veil-fl/veil/dataset"
	"github.com/veil-fl/veil/fl/pki"
	"github.com/veil-fl/veil/node/audit"
	"github.com/veil-fl/veil/node/config"
	"github.com/veil-fl/veil/node/registry"
)

// This file holds the fault tests' harness: a center whose log the test
// watches (logWatch), and a loopback TCP proxy between a bank and the
// center that cuts the connection at a chosen byte (cutProxy).

// logEvent is one line of the center's log: its message and attributes
// (the logger's own With attributes included).
type logEvent struct {
	at    time.Time
	msg   string
	attrs map[string]slog.Value
}

// str is an attribute's text ("" when absent).
func (e logEvent) str(key string) string {
	v, ok := e.attrs[key]
	if !ok {
		return ""
	}
	return v.String()
}

// err is the error an attribute holds, nil when it holds none.
func (e logEvent) err(key string) error {
	v, ok := e.attrs[key]
	if !ok {
		return nil
	}
	if err, ok := v.Any().(error); ok {
		return err
	}
	return nil
}

// logWatch is a slog handler that keeps every line and calls the hooks
// registered with on, synchronously, as lines are logged: a test can act
// at a precise point of a session (the center has aligned the rows, a
// scoring has started) without sleeping.
type logWatch struct {
	*watchState
	attrs []slog.Attr
}

type watchState struct {
	mu     sync.Mutex
	events []logEvent
	hooks  []watchHook
	wake   chan struct{} // closed and replaced at every line
	echo   slog.Handler  // -v: the lines on stderr too
}

type watchHook struct {
	msg  string
	once bool
	done bool
	fn   func(logEvent)
}

func newLogWatch(t *testing.T) *logWatch {
	w := &logWatch{watchState: &watchState{wake: make(chan struct{})}}
	if testing.Verbose() {
		w.echo = slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo})
	}
	return w
}

func (w *logWatch) Enabled(context.Context, slog.Level) bool { return true }

func (w *logWatch) WithAttrs(as []slog.Attr) slog.Handler {
	return &logWatch{watchState: w.watchState, attrs: append(append([]slog.Attr(nil), w.attrs...), as...)}
}

func (w *logWatch) WithGroup(string) slog.Handler { return w }

func (w *logWatch) Handle(ctx context.Context, r slog.Record) error {
	e := logEvent{at: r.Time, msg: r.Message, attrs: map[string]slog.Value{}}
	for _, a := range w.attrs {
		e.attrs[a.Key] = a.Value.Resolve()
	}
	r.Attrs(func(a slog.Attr) bool {
		e.attrs[a.Key] = a.Value.Resolve()
		return true
	})
	if w.echo != nil {
		_ = w.echo.WithAttrs(w.attrs).Handle(ctx, r)
	}
	w.mu.Lock()
	w.events = append(w.events, e)
	var run []func(logEvent)
	for i := range w.hooks {
		h := &w.hooks[i]
		if h.msg == e.msg && !h.done {
			run = append(run, h.fn)
			h.done = h.once
		}
	}
	close(w.wake)
	w.wake = make(chan struct{})
	w.mu.Unlock()
	for _, fn := range run {
		fn(e)
	}
	return nil
}

// once calls fn at the next line whose message is msg.
func (w *logWatch) once(msg string, fn func(logEvent)) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.hooks = append(w.hooks, watchHook{msg: msg, once: true, fn: fn})
}

// waitFor returns the first line logged from index from on whose message
// is msg and that match accepts (nil: any), or fails the test after
// timeout.
func (w *logWatch) waitFor(t *testing.T, from int, msg string, match func(logEvent) bool, timeout time.Duration) logEvent {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		w.mu.Lock()
		for _, e := range w.events[min(from, len(w.events)):] {
			if e.msg == msg && (match == nil || match(e)) {
				w.mu.Unlock()
				return e
			}
		}
		wake := w.wake
		w.mu.Unlock()
		select {
		case <-wake:
		case <-deadline.C:
			t.Fatalf("no %q in the center's log within %s:\n%s", msg, timeout, w.dump())
		}
	}
}

// mark is the index of the next line: waitFor(mark(), ...) looks at what
// comes after.
func (w *logWatch) mark() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.events)
}

// count is how many lines from index from on have the message msg.
func (w *logWatch) count(from int, msg string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for _, e := range w.events[min(from, len(w.events)):] {
		if e.msg == msg {
			n++
		}
	}
	return n
}

func (w *logWatch) dump() string {
	var b strings.Builder
	for _, e := range w.events {
		fmt.Fprintf(&b, "%s %s", e.at.Format("15:04:05.000"), e.msg)
		for k, v := range e.attrs {
			fmt.Fprintf(&b, " %s=%v", k, v)
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// newWatchedFixture is newFixture's center (bank-a and bank-b on
// loopback, synthetic tables of rows enterprises) logging into a
// logWatch, with the given idle timeout and its audit log in
// audit.jsonl.
func newWatchedFixture(t *testing.T, rows int, idle time.Duration) (*fixture, *logWatch) {
	return newWatchedFixtureTimeouts(t, rows, idle, 5*time.Minute)
}

// newWatchedFixtureTimeouts is newWatchedFixture with a session timeout.
func newWatchedFixtureTimeouts(t *testing.T, rows int, idle, session time.Duration) (*fixture, *logWatch) {
	t.Helper()
	dir := t.TempDir()
	pilot, err := pki.NewPilot("center", "bank-a", "bank-b", "bank-x")
	require.NoError(t, err)
	require.NoError(t, pilot.WritePEM(dir))
	bank, center, err := dataset.Synthesize(dataset.SynthOptions{Rows: rows, Seed: 7})
	require.NoError(t, err)
	writeCSV(t, filepath.Join(dir, "center.csv"), center)
	writeCSV(t, filepath.Join(dir, "bank.csv"), bank)
	applicants := *bank
	applicants.Labels = nil
	writeCSV(t, filepath.Join(dir, "applicants.csv"), &applicants)
	yaml := strings.Replace(fmt.Sprintf(centerYAML, strings.Join(bankBColumns, ", "), 2, 4), "idle_timeout: 30s", "idle_timeout: "+idle.String(), 1)
	yaml = strings.Replace(yaml, "session_timeout: 5m", "session_timeout: "+session.String(), 1)
	yaml += "audit: audit.jsonl\n"
	path := filepath.Join(dir, "center.yaml")
	require.NoError(t, os.WriteFile(path, []byte(yaml), 0o644))
	cfg, err := config.LoadCenter(path)
	require.NoError(t, err)
	watch := newLogWatch(t)
	c, err := NewCenter(cfg, slog.New(watch))
	require.NoError(t, err)
	require.NoError(t, c.Listen())
	ctx, cancel := context.WithCancel(context.Background())
	f := &fixture{dir: dir, center: c, addr: c.Addr().String(), cancel: cancel, served: make(chan error, 1), bank: bank}
	go func() { f.served <- c.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-f.served:
		case <-time.After(time.Minute):
			t.Error("the center did not stop within a minute")
		}
	})
	return f, watch
}

// cutProxy forwards loopback TCP connections to target and, once cutAt
// bytes have gone from the center to the bank over one of them, resets
// both sides of that connection (SO_LINGER 0: an RST, as when a host or
// the network drops the link, not a clean close), or with freeze stops
// forwarding the center's bytes and holds the connection open (a hung
// peer or link) until the test ends. cutAt 0 never cuts.
type cutProxy struct {
	ln     net.Listener
	target string
	cutAt  int64
	freeze bool
	cuts   atomic.Int32
	done   chan struct{} // closed at the test's end
	wg     sync.WaitGroup
}

func newCutProxy(t *testing.T, target string, cutAt int64) *cutProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &cutProxy{ln: ln, target: target, cutAt: cutAt, done: make(chan struct{})}
	p.wg.Add(1)
	go p.serve()
	t.Cleanup(func() {
		ln.Close()
		close(p.done)
		p.wg.Wait()
	})
	return p
}

func (p *cutProxy) addr() string { return p.ln.Addr().String() }

func (p *cutProxy) serve() {
	defer p.wg.Done()
	for {
		bank, err := p.ln.Accept()
		if err != nil {
			return
		}
		center, err := net.Dial("tcp", p.target)
		if err != nil {
			bank.Close()
			continue
		}
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			p.pipe(bank.(*net.TCPConn), center.(*net.TCPConn))
		}()
	}
}

// pipe copies both ways until either side ends, or cuts both at cutAt.
func (p *cutProxy) pipe(bank, center *net.TCPConn) {
	var once sync.Once
	reset := func() {
		once.Do(func() {
			bank.SetLinger(0)
			center.SetLinger(0)
			bank.Close()
			center.Close()
		})
	}
	defer reset()
	up := make(chan struct{})
	go func() {
		defer close(up)
		io.Copy(center, bank)
		center.CloseWrite()
	}()
	var sent int64
	buf := make([]byte, 32<<10)
	for {
		n := len(buf)
		if p.cutAt > 0 {
			n = int(min(int64(n), p.cutAt-sent))
		}
		k, err := center.Read(buf[:n])
		if k > 0 {
			if _, werr := bank.Write(buf[:k]); werr != nil {
				return
			}
			sent += int64(k)
		}
		if p.cutAt > 0 && sent >= p.cutAt {
			p.cuts.Add(1)
			if p.freeze {
				<-p.done
			}
			reset()
			<-up
			return
		}
		if err != nil {
			bank.CloseWrite()
			<-up
			return
		}
	}
}

// auditRecords verifies the audit log at path (its whole chain) and
// returns its records.
func auditRecords(t *testing.T, path string) []audit.Record {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	recs, _, err := audit.Read(f)
	require.NoError(t, err, "the audit log verifies")
	return recs
}

// auditRecordsNow is auditRecords for a log the center may be appending
// to as the test reads it: a last line still being written (audit.ErrTorn)
// is not there yet (ok false: look again); any other error fails the test.
func auditRecordsNow(t *testing.T, path string) (recs []audit.Record, ok bool) {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	recs, _, err = audit.Read(f)
	if errors.Is(err, audit.ErrTorn) {
		return nil, false
	}
	require.NoError(t, err, "the audit log verifies")
	return recs, true
}

// sessionRecords are the session records among recs, in order.
func sessionRecords(recs []audit.Record) []audit.Session {
	var out []audit.Session
	for _, r := range recs {
		if r.Type == audit.TypeSession {
			out = append(out, *r.Session)
		}
	}
	return out
}

// noDebris checks that a registry folder holds only whole versions: List
// reads, no temporary folder of a write is left, and the versions are
// exactly want (owner/name/version on a center, name/version on a bank).
func noDebris(t *testing.T, dir string, want ...string) {
	t.Helper()
	var tmp []string
	filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err == nil && strings.HasPrefix(d.Name(), ".tmp") {
			tmp = append(tmp, path)
		}
		return nil
	})
	require.Empty(t, tmp, "a registry write left its temporary folder")
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		require.Empty(t, want, "no registry at %s", dir)
		return
	}
	reg, err := registry.Open(dir)
	require.NoError(t, err)
	ms, err := reg.List()
	require.NoError(t, err, "a registry's versions all read back")
	got := []string{}
	for _, m := range ms {
		if m.Owner != "" {
			got = append(got, fmt.Sprintf("%s/%s/%d", m.Owner, m.Name, m.Version))
		} else {
			got = append(got, fmt.Sprintf("%s/%d", m.Name, m.Version))
		}
	}
	if want == nil {
		want = []string{}
	}
	require.Equal(t, want, got, "the registry %s", dir)
}
