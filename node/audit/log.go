package audit

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// ErrClosed reports an append to a closed log, and ErrFailed one to a log
// whose earlier append failed (reopen it: Open repairs what the failure
// left).
var (
	ErrClosed = errors.New("audit: log closed")
	ErrFailed = errors.New("audit: an earlier append failed")
)

// ErrLocked reports a log file another process (or Log) holds open.
var ErrLocked = errors.New("audit: log file in use")

// Options configure Open. The zero value is usable.
type Options struct {
	// Now is the clock of record times; nil means time.Now. Times are
	// written in UTC.
	Now func() time.Time
}

// Log is an append-only audit log file. It is safe for concurrent use:
// appends are serialised, each written and fsync'd before it returns.
type Log struct {
	mu         sync.Mutex
	f          *os.File
	path       string
	now        func() time.Time
	size       int64 // bytes of the records written
	c          *chain
	unfinished []Unfinished // as Open found them
	err        error        // sticky: ErrClosed or the failed append
}

// Open opens the log at path for appending, creating it (mode 0600) if it
// does not exist, and holds it locked (ErrLocked for a second opener).
//
// An existing file is verified whole, as Verify does; a file that fails is
// refused with the *LineError naming its first bad line (keep it as
// evidence, start a new file). A torn last line (ErrTorn: a crash during
// an append, whose session's result was therefore never released) is cut
// away, not kept: the file is truncated after the last complete record and
// the open record that follows says so (the torn line's number, length
// and SHA-256). The chain continues from the last record.
//
// Every Open appends an open record: the first record of a new file, a
// continued one after a restart, with how many sessions the file shows
// begun and not ended (Unfinished lists them; the node closes each with an
// aborted session record).
func Open(path string, opt Options) (*Log, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("audit: open %s: %w", path, err)
	}
	l, err := open(f, path, opt)
	if err != nil {
		_ = f.Close()
		return nil, err
	}
	return l, nil
}

func open(f *os.File, path string, opt Options) (*Log, error) {
	if err := lock(f); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrLocked, path, err)
	}
	l := &Log{f: f, path: path, now: opt.Now}
	if l.now == nil {
		l.now = time.Now
	}
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("audit: open %s: %w", path, err)
	}
	rec := Opened{Format: Format}
	if st.Size() == 0 {
		l.c = newChain()
		// The new file's name must survive a crash with its first record.
		if err := syncDir(path); err != nil {
			return nil, err
		}
	} else {
		c, torn, off, err := scan(f, nil)
		if errors.Is(err, ErrTorn) {
			rec.Torn = &Torn{Line: int(c.head.Seq) + 1, Bytes: len(torn), SHA256: digest(torn)}
			if err := f.Truncate(off); err != nil {
				return nil, fmt.Errorf("audit: %s: cut torn line %d: %w", path, rec.Torn.Line, err)
			}
			if err := f.Sync(); err != nil {
				return nil, fmt.Errorf("audit: %s: cut torn line %d: %w", path, rec.Torn.Line, err)
			}
		} else if err != nil {
			return nil, fmt.Errorf("audit: %s: %w", path, err)
		}
		l.c, l.size = c, off
		l.unfinished = c.unfinished()
		// A file whose only line was torn starts afresh: its first record
		// is still the first.
		rec.Continued, rec.Unfinished = c.head.Seq > 0, len(l.unfinished)
	}
	if _, err := f.Seek(l.size, io.SeekStart); err != nil {
		return nil, fmt.Errorf("audit: %s: %w", path, err)
	}
	if _, err := l.append(func(r *Record) { r.Type, r.Open = TypeOpen, &rec }); err != nil {
		return nil, err
	}
	return l, nil
}

// syncDir fsyncs the directory holding path, so that a new file's entry
// is on disk.
func syncDir(path string) error {
	d, err := os.Open(filepath.Dir(path))
	if err != nil {
		return fmt.Errorf("audit: sync directory of %s: %w", path, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("audit: sync directory of %s: %w", path, err)
	}
	return nil
}

// Append writes one record, a Begin, Step or Session, and fsyncs the file
// before it returns the record's place in the chain: the node releases a
// session's result only after its session record's Append returned nil. A
// record that breaks a limit (a name too long, a negative count, an empty
// session id, ...) is refused and nothing is written; a Session's error
// text longer than 2 KiB is cut. After a failed write or fsync the log
// refuses every append (ErrFailed) until it is reopened.
func (l *Log) Append(p Payload) (Head, error) {
	if s, ok := p.(Session); ok {
		s.Error = cutError(s.Error)
		p = s
	}
	if err := p.validate(); err != nil {
		return Head{}, err
	}
	return l.append(p.set)
}

func (l *Log) append(set func(*Record)) (Head, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err != nil {
		return Head{}, l.err
	}
	r := Record{Seq: l.c.head.Seq + 1, Prev: l.c.head.Hash, Time: l.now().UTC().Round(0)}
	set(&r)
	line, h, err := encode(r)
	if err != nil {
		return Head{}, err
	}
	r.Hash = h
	n, err := l.f.Write(line)
	if err == nil {
		err = l.f.Sync()
	}
	if err != nil {
		// What reached the disk is unknown (a failed fsync may have
		// dropped the pages): cut back, best effort, and refuse more.
		if terr := l.f.Truncate(l.size); terr == nil {
			_, _ = l.f.Seek(l.size, io.SeekStart)
		}
		l.err = fmt.Errorf("%w: record %d (%s) to %s: %w", ErrFailed, r.Seq, r.Type, l.path, err)
		return Head{}, l.err
	}
	l.size += int64(n)
	l.c.add(r)
	return l.c.head, nil
}

// Head returns the log's last record: its number and hash.
func (l *Log) Head() Head {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.c.head
}

// Unfinished returns the sessions the file showed begun and not ended when
// Open read it (sessions of the previous run, cut by a crash or a kill),
// with what their step records say they disclosed.
func (l *Log) Unfinished() []Unfinished {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]Unfinished, len(l.unfinished))
	copy(out, l.unfinished)
	return out
}

// Path returns the log file's path.
func (l *Log) Path() string { return l.path }

// Close closes the file (and releases its lock); later appends fail with
// ErrClosed.
func (l *Log) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if errors.Is(l.err, ErrClosed) {
		return nil
	}
	l.err = ErrClosed
	if err := l.f.Close(); err != nil {
		return fmt.Errorf("audit: close %s: %w", l.path, err)
	}
	return nil
}
