package registry

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Errors of the registry, matched with errors.Is; the messages name the
// model and version.
var (
	ErrNotFound = errors.New("registry: not found")
	ErrExists   = errors.New("registry: version exists")
	ErrBadName  = errors.New("registry: bad name")
	ErrCorrupt  = errors.New("registry: corrupt entry")
)

// MetaFile is the name of a version's metadata file.
const MetaFile = "meta.json"

// maxMetaSize bounds a meta.json read back.
const maxMetaSize = 1 << 20

// Meta describes one stored half.
type Meta struct {
	// Owner is the bank the half belongs to on the center ("" on a bank).
	Owner string `json:"owner,omitempty"`
	// Name and Version identify the model; Version counts from 1.
	Name    string `json:"name"`
	Version int    `json:"version"`
	// Kind is the model kind: lr, sbt or woe.
	Kind    string    `json:"kind"`
	Created time.Time `json:"created"`
	// Training is the training id both halves share (job.Model.Training).
	Training string `json:"training"`
	// ConfigDigest is the hex SHA-256 of the bank's job config,
	// AlignedDigest that of the aligned ids (job.Result's).
	ConfigDigest  string `json:"config_digest"`
	AlignedDigest string `json:"aligned_digest"`
	// Peer is the other party's certificate name.
	Peer string `json:"peer,omitempty"`
	// Table is the center's table trained on, Columns this party's
	// columns the model uses.
	Table   string   `json:"table,omitempty"`
	Columns []string `json:"columns,omitempty"`
	// Metrics are the bank's test metrics (auc, ks, ...).
	Metrics map[string]float64 `json:"metrics,omitempty"`
	// Files are the half's files in the version folder, sorted.
	Files []string `json:"files"`
}

// Registry is a folder of model halves. Its methods are safe for
// concurrent use, also by several processes on one folder.
type Registry struct {
	dir string
	mu  sync.Mutex // orders this process's Puts; renames order the rest
}

// Open opens (creating it if need be) the registry in dir.
func Open(dir string) (*Registry, error) {
	if dir == "" {
		return nil, fmt.Errorf("%w: no folder", ErrBadName)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("registry: open: %w", err)
	}
	return &Registry{dir: dir}, nil
}

// Dir is the registry's folder.
func (r *Registry) Dir() string { return r.dir }

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// checkName refuses a name that is not one path component, or is all
// digits (versions are).
func checkName(what, s string) error {
	if !nameRE.MatchString(s) || strings.Trim(s, "0123456789") == "" {
		return fmt.Errorf("%w: %s %q: want 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit, not all digits", ErrBadName, what, s)
	}
	return nil
}

var fileRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

func checkFile(s string) error {
	if !fileRE.MatchString(s) || s == MetaFile {
		return fmt.Errorf("%w: file %q", ErrBadName, s)
	}
	return nil
}

func (r *Registry) modelDir(owner, name string) (string, error) {
	if owner != "" {
		if err := checkName("owner", owner); err != nil {
			return "", err
		}
	}
	if err := checkName("model name", name); err != nil {
		return "", err
	}
	return filepath.Join(r.dir, owner, name), nil
}

// what names a model for messages: "bank-a/sme-credit v3".
func what(owner, name string, version int) string {
	s := name
	if owner != "" {
		s = owner + "/" + name
	}
	if version > 0 {
		s += " v" + strconv.Itoa(version)
	}
	return s
}

// versions lists the version numbers stored under dir, ascending.
func versions(dir string) ([]int, error) {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("registry: %w", err)
	}
	var vs []int
	for _, e := range ents {
		if v, ok := parseVersion(e.Name()); ok && e.IsDir() {
			vs = append(vs, v)
		}
	}
	sort.Ints(vs)
	return vs, nil
}

func parseVersion(s string) (int, bool) {
	if s == "" || s[0] == '0' || strings.Trim(s, "0123456789") != "" || len(s) > 9 {
		return 0, false
	}
	v, err := strconv.Atoi(s)
	return v, err == nil && v > 0
}

// Put stores a half: meta (Owner, Name, Kind and the rest; Version 0 takes
// the next free version, Created zero takes now) and its files by name.
// It returns the meta as stored. A Version that exists is ErrExists; the
// folder is written whole or not at all.
func (r *Registry) Put(meta Meta, files map[string][]byte) (Meta, error) {
	dir, err := r.modelDir(meta.Owner, meta.Name)
	if err != nil {
		return Meta{}, err
	}
	if meta.Version < 0 {
		return Meta{}, fmt.Errorf("%w: %s: negative version %d", ErrBadName, what(meta.Owner, meta.Name, 0), meta.Version)
	}
	meta.Files = meta.Files[:0:0]
	for f := range files {
		if err := checkFile(f); err != nil {
			return Meta{}, err
		}
		meta.Files = append(meta.Files, f)
	}
	sort.Strings(meta.Files)
	if meta.Created.IsZero() {
		meta.Created = time.Now().UTC().Truncate(time.Second)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Meta{}, fmt.Errorf("registry: put %s: %w", what(meta.Owner, meta.Name, 0), err)
	}
	tmp, err := os.MkdirTemp(dir, ".tmp-")
	if err != nil {
		return Meta{}, fmt.Errorf("registry: put %s: %w", what(meta.Owner, meta.Name, 0), err)
	}
	defer os.RemoveAll(tmp) // gone after the rename; else the debris of a failure
	for _, f := range meta.Files {
		if err := writeSync(filepath.Join(tmp, f), files[f]); err != nil {
			return Meta{}, fmt.Errorf("registry: put %s: %w", what(meta.Owner, meta.Name, 0), err)
		}
	}
	auto := meta.Version == 0
	for attempt := 0; attempt < 100; attempt++ {
		if auto {
			vs, err := versions(dir)
			if err != nil {
				return Meta{}, err
			}
			meta.Version = 1
			if len(vs) > 0 {
				meta.Version = vs[len(vs)-1] + 1
			}
		}
		b, err := json.MarshalIndent(meta, "", "  ")
		if err != nil {
			return Meta{}, fmt.Errorf("registry: put %s: %w", what(meta.Owner, meta.Name, meta.Version), err)
		}
		os.Remove(filepath.Join(tmp, MetaFile)) // an earlier attempt's
		if err := writeSync(filepath.Join(tmp, MetaFile), append(b, '\n')); err != nil {
			return Meta{}, fmt.Errorf("registry: put %s: %w", what(meta.Owner, meta.Name, meta.Version), err)
		}
		if err := syncDir(tmp); err != nil {
			return Meta{}, fmt.Errorf("registry: put %s: %w", what(meta.Owner, meta.Name, meta.Version), err)
		}
		final := filepath.Join(dir, strconv.Itoa(meta.Version))
		// A rename onto an existing non-empty folder fails, so a version,
		// once there, is never replaced, even by another process.
		if _, err := os.Lstat(final); err == nil {
			if !auto {
				return Meta{}, fmt.Errorf("%w: %s", ErrExists, what(meta.Owner, meta.Name, meta.Version))
			}
			continue
		}
		if err := os.Rename(tmp, final); err != nil {
			if _, serr := os.Lstat(final); serr == nil {
				if !auto {
					return Meta{}, fmt.Errorf("%w: %s", ErrExists, what(meta.Owner, meta.Name, meta.Version))
				}
				continue
			}
			return Meta{}, fmt.Errorf("registry: put %s: %w", what(meta.Owner, meta.Name, meta.Version), err)
		}
		if err := syncDir(dir); err != nil {
			return Meta{}, fmt.Errorf("registry: put %s: %w", what(meta.Owner, meta.Name, meta.Version), err)
		}
		return meta, nil
	}
	return Meta{}, fmt.Errorf("registry: put %s: no free version after 100 attempts", what(meta.Owner, meta.Name, 0))
}

func writeSync(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, errors.ErrUnsupported) {
		return err
	}
	return nil
}

// Get returns the meta of owner's model name at version (0: the latest).
func (r *Registry) Get(owner, name string, version int) (Meta, error) {
	dir, err := r.modelDir(owner, name)
	if err != nil {
		return Meta{}, err
	}
	if version < 0 {
		return Meta{}, fmt.Errorf("%w: %s: negative version %d", ErrBadName, what(owner, name, 0), version)
	}
	if version == 0 {
		vs, err := versions(dir)
		if err != nil {
			return Meta{}, err
		}
		if len(vs) == 0 {
			return Meta{}, fmt.Errorf("%w: no model %s in %s", ErrNotFound, what(owner, name, 0), r.dir)
		}
		version = vs[len(vs)-1]
	}
	return r.readMeta(owner, name, version)
}

func (r *Registry) readMeta(owner, name string, version int) (Meta, error) {
	p := filepath.Join(r.dir, owner, name, strconv.Itoa(version), MetaFile)
	b, err := readLimited(p, maxMetaSize)
	if errors.Is(err, fs.ErrNotExist) {
		return Meta{}, fmt.Errorf("%w: no model %s in %s", ErrNotFound, what(owner, name, version), r.dir)
	}
	if err != nil {
		return Meta{}, fmt.Errorf("registry: %s: %w", what(owner, name, version), err)
	}
	var m Meta
	if err := json.Unmarshal(b, &m); err != nil {
		return Meta{}, fmt.Errorf("%w: %s: %v", ErrCorrupt, p, err)
	}
	if m.Owner != owner || m.Name != name || m.Version != version {
		return Meta{}, fmt.Errorf("%w: %s describes %s", ErrCorrupt, p, what(m.Owner, m.Name, m.Version))
	}
	for _, f := range m.Files {
		if err := checkFile(f); err != nil {
			return Meta{}, fmt.Errorf("%w: %s: %v", ErrCorrupt, p, err)
		}
	}
	return m, nil
}

func readLimited(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.Size() > limit {
		return nil, fmt.Errorf("%s: %d bytes, over the %d-byte limit", path, st.Size(), limit)
	}
	b := make([]byte, st.Size())
	if _, err := f.ReadAt(b, 0); err != nil && st.Size() > 0 {
		return nil, err
	}
	return b, nil
}

// FindTraining returns the version of owner's model name that holds the
// half of training.
func (r *Registry) FindTraining(owner, name, training string) (Meta, error) {
	dir, err := r.modelDir(owner, name)
	if err != nil {
		return Meta{}, err
	}
	vs, err := versions(dir)
	if err != nil {
		return Meta{}, err
	}
	for i := len(vs) - 1; i >= 0; i-- {
		m, err := r.readMeta(owner, name, vs[i])
		if err != nil {
			return Meta{}, err
		}
		if m.Training == training {
			return m, nil
		}
	}
	return Meta{}, fmt.Errorf("%w: no version of %s holds training %s", ErrNotFound, what(owner, name, 0), training)
}

// MaxFileSize bounds a half's file read back (ReadFile).
const MaxFileSize = 1 << 30

// ReadFile reads one of m's files.
func (r *Registry) ReadFile(m Meta, file string) ([]byte, error) {
	if !slices.Contains(m.Files, file) {
		return nil, fmt.Errorf("%w: %s has no file %q (has %s)", ErrNotFound, what(m.Owner, m.Name, m.Version), file, strings.Join(m.Files, ", "))
	}
	if _, err := r.modelDir(m.Owner, m.Name); err != nil {
		return nil, err
	}
	if err := checkFile(file); err != nil {
		return nil, err
	}
	b, err := readLimited(filepath.Join(r.dir, m.Owner, m.Name, strconv.Itoa(m.Version), file), MaxFileSize)
	if err != nil {
		return nil, fmt.Errorf("registry: %s: %w", what(m.Owner, m.Name, m.Version), err)
	}
	return b, nil
}

// List returns every stored version's meta, sorted by owner, name and
// version. It reads both layouts: <owner>/<name>/<version> (a center's)
// and <name>/<version> (a bank's).
func (r *Registry) List() ([]Meta, error) {
	var out []Meta
	top, err := os.ReadDir(r.dir)
	if err != nil {
		return nil, fmt.Errorf("registry: list: %w", err)
	}
	for _, a := range top {
		if !a.IsDir() || checkName("name", a.Name()) != nil {
			continue
		}
		sub, err := os.ReadDir(filepath.Join(r.dir, a.Name()))
		if err != nil {
			return nil, fmt.Errorf("registry: list: %w", err)
		}
		for _, b := range sub {
			if !b.IsDir() {
				continue
			}
			if v, ok := parseVersion(b.Name()); ok { // a bank's <name>/<version>
				m, err := r.readMeta("", a.Name(), v)
				if err != nil {
					return nil, err
				}
				out = append(out, m)
				continue
			}
			if checkName("name", b.Name()) != nil {
				continue
			}
			vs, err := versions(filepath.Join(r.dir, a.Name(), b.Name()))
			if err != nil {
				return nil, err
			}
			for _, v := range vs {
				m, err := r.readMeta(a.Name(), b.Name(), v)
				if err != nil {
					return nil, err
				}
				out = append(out, m)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Owner != b.Owner {
			return a.Owner < b.Owner
		}
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		return a.Version < b.Version
	})
	return out, nil
}
