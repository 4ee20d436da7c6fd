package psi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/gtank/ristretto255"
)

// File formats. Both end with the SHA-256 of everything before, checked on
// load: a file that fails it, or that is for another center, bank or
// epoch, is not trusted.
const (
	setFileMagic   = "VPSS"
	cacheFileMagic = "VPSK"
	fileVersion    = 1
	// cacheFileVersion 2 adds the memo of the center's answers; a version
	// 1 cache loads with an empty memo.
	cacheFileVersion = 2
)

// ErrCorruptFile means a stored set or cache failed its integrity check or
// does not parse.
var ErrCorruptFile = errors.New("psi: corrupt stored set")

// fileName names a party's file for a peer without putting the peer's
// name (from a certificate) in a path.
func fileName(prefix, a, b, ext string) string {
	h := sha256.Sum256([]byte(a + "\x00" + b))
	return prefix + "-" + hex.EncodeToString(h[:12]) + ext
}

// writeFile writes b, followed by its SHA-256, to path atomically (a
// temporary file renamed), readable by the owner only.
func writeFile(path string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("psi: %w", err)
	}
	sum := sha256.Sum256(b)
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return fmt.Errorf("psi: %w", err)
	}
	defer os.Remove(f.Name())
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return fmt.Errorf("psi: %w", err)
	}
	if _, err := f.Write(append(b, sum[:]...)); err != nil {
		f.Close()
		return fmt.Errorf("psi: writing %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("psi: writing %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("psi: writing %s: %w", path, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("psi: %w", err)
	}
	return nil
}

// readFile reads path and checks its trailing SHA-256.
func readFile(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("psi: %w", err)
	}
	if len(b) < sha256.Size {
		return nil, fmt.Errorf("%w: %s is %d bytes long", ErrCorruptFile, path, len(b))
	}
	body := b[:len(b)-sha256.Size]
	if sha256.Sum256(body) != [32]byte(b[len(body):]) {
		return nil, fmt.Errorf("%w: %s fails its integrity check", ErrCorruptFile, path)
	}
	return body, nil
}

// reader parses a stored file with bounds checks.
type reader struct {
	b   []byte
	err error
}

func (r *reader) take(n uint64) []byte {
	if r.err != nil || n > uint64(len(r.b)) {
		if r.err == nil {
			r.err = fmt.Errorf("%w: truncated", ErrCorruptFile)
		}
		return make([]byte, n%(1<<20)) // a zero value; the error stops the parse
	}
	out := r.b[:n]
	r.b = r.b[n:]
	return out
}

func (r *reader) u64() uint64 { return binary.BigEndian.Uint64(r.take(8)) }
func (r *reader) u32() uint32 { return binary.BigEndian.Uint32(r.take(4)) }
func (r *reader) str() string { return string(r.take(uint64(r.u32()))) }

func appendStr(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}

// MarshalBinary encodes the set with its secret key, for [CenterSet.Save].
func (s *CenterSet) marshal() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := append([]byte(setFileMagic), fileVersion, 0, 0, 0)
	b = binary.BigEndian.AppendUint64(b, uint64(s.created.UnixNano()))
	b = append(b, s.nonce[:]...)
	b = s.key.Encode(b)
	b = appendStr(b, s.center)
	b = appendStr(b, s.bank)
	b = binary.BigEndian.AppendUint64(b, uint64(len(s.ids)))
	for p, id := range s.ids {
		b = append(b, s.slots[p*PointSize:(p+1)*PointSize]...)
		b = appendStr(b, id)
	}
	b = binary.BigEndian.AppendUint64(b, uint64(len(s.versions)))
	for _, v := range s.versions {
		b = binary.BigEndian.AppendUint64(b, uint64(v.slots))
		b = append(b, v.digest[:]...)
		b = binary.BigEndian.AppendUint64(b, uint64(len(v.removed)))
		for _, p := range v.removed {
			b = binary.BigEndian.AppendUint32(b, p)
		}
	}
	return b
}

// Save writes the set, with its secret key, to the file path (mode 0600).
func (s *CenterSet) Save(path string) error { return writeFile(path, s.marshal()) }

// LoadCenterSet reads a set that [CenterSet.Save] wrote for center and
// bank. It checks the file's integrity, the names, and the digest of every
// slot against the last version's. Call [CenterSet.Sync] before a session.
func LoadCenterSet(path, center, bank string) (*CenterSet, error) {
	body, err := readFile(path)
	if err != nil {
		return nil, err
	}
	return unmarshalCenterSet(body, center, bank)
}

func unmarshalCenterSet(body []byte, center, bank string) (*CenterSet, error) {
	r := &reader{b: body}
	head := r.take(8)
	if r.err == nil && (string(head[:4]) != setFileMagic || head[4] != fileVersion) {
		return nil, fmt.Errorf("%w: not a set file of version %d", ErrCorruptFile, fileVersion)
	}
	s := &CenterSet{created: time.Unix(0, int64(r.u64()))}
	s.nonce = [32]byte(r.take(32))
	s.key = ristretto255.NewScalar()
	if kb := r.take(32); r.err == nil {
		if err := s.key.Decode(kb); err != nil || s.key.Equal(ristretto255.NewScalar()) == 1 {
			return nil, fmt.Errorf("%w: bad key", ErrCorruptFile)
		}
	}
	s.center, s.bank = r.str(), r.str()
	if r.err == nil && (s.center != center || s.bank != bank) {
		return nil, fmt.Errorf("%w: the stored set is for another center or bank", ErrCacheMismatch)
	}
	s.epoch = EpochID(s.center, s.bank, s.nonce)
	n := r.u64()
	if r.err == nil && n > uint64(len(r.b))/(PointSize+4) {
		return nil, fmt.Errorf("%w: %d slots in %d bytes", ErrCorruptFile, n, len(r.b))
	}
	s.slots = make([]byte, 0, n*PointSize)
	s.ids = make([]string, 0, n)
	s.index = make(map[string]uint32, n)
	for p := uint64(0); p < n && r.err == nil; p++ {
		s.slots = append(s.slots, r.take(PointSize)...)
		id := r.str()
		if id != "" {
			if _, dup := s.index[id]; dup {
				return nil, fmt.Errorf("%w: an id in two slots", ErrCorruptFile)
			}
			s.index[id] = uint32(p)
		}
		s.ids = append(s.ids, id)
	}
	nv := r.u64()
	if r.err == nil && (nv == 0 || nv > uint64(len(r.b))/44) {
		return nil, fmt.Errorf("%w: %d versions", ErrCorruptFile, nv)
	}
	for range nv {
		if r.err != nil {
			break
		}
		v := version{slots: int(r.u64()), digest: [32]byte(r.take(32))}
		k := r.u64()
		if r.err == nil && k > uint64(len(r.b))/4 {
			return nil, fmt.Errorf("%w: %d removals", ErrCorruptFile, k)
		}
		for range k {
			v.removed = append(v.removed, r.u32())
		}
		s.versions = append(s.versions, v)
	}
	if r.err != nil {
		return nil, r.err
	}
	if len(r.b) != 0 {
		return nil, fmt.Errorf("%w: %d bytes after the set", ErrCorruptFile, len(r.b))
	}
	last := s.versions[len(s.versions)-1]
	if last.slots != len(s.ids) || setDigest(s.epoch, s.slots) != last.digest {
		return nil, fmt.Errorf("%w: the slots do not match the set's digest", ErrCorruptFile)
	}
	s.rows = make([]int32, len(s.ids))
	for i := range s.rows {
		s.rows[i] = -1
	}
	return s, nil
}

// CenterStore keeps a center's encoded sets, one per bank (each with its
// own key alpha), in memory and, if Dir is set, in files there that survive
// a restart. A set is encoded once per epoch; a new epoch (a fresh key,
// the whole set encoded anew, every bank's cache refreshed) starts when the
// set is older than RotateEvery, or at once with [CenterStore.Rotate].
type CenterStore struct {
	// Center is the center's name (its certificate's), to which every
	// epoch is bound.
	Center string
	// Dir is the store's own folder ("" keeps the sets in memory only).
	// Its files hold the keys: it must be the center's alone.
	Dir string
	// RotateEvery is the longest an epoch lasts (default 30 days;
	// negative: no scheduled rotation).
	RotateEvery time.Duration
	// Now is the clock of the rotations (default time.Now).
	Now func() time.Time
	// Rand is the source of keys (nil: crypto/rand).
	Rand io.Reader

	mu   sync.Mutex
	sets map[string]*storeEntry
}

type storeEntry struct {
	mu  sync.Mutex
	set *CenterSet
}

func (s *CenterStore) entry(bank string) *storeEntry {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sets == nil {
		s.sets = map[string]*storeEntry{}
	}
	e := s.sets[bank]
	if e == nil {
		e = &storeEntry{}
		s.sets[bank] = e
	}
	return e
}

func (s *CenterStore) path(bank string) string {
	return filepath.Join(s.Dir, fileName("set", s.Center, bank, ".vpss"))
}

// Set returns bank's set, synced to ids: loaded from Dir or built if there
// is none (or it is corrupt, or for another center), rotated if its epoch
// is over, and saved when it changed. Building encodes every id (about 20
// s for 800,000 ids on 2 cores); a bank's other sessions wait for it.
func (s *CenterStore) Set(ctx context.Context, bank string, ids []string) (*CenterSet, error) {
	e := s.entry(bank)
	e.mu.Lock()
	defer e.mu.Unlock()
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	every := s.RotateEvery
	if every == 0 {
		every = 30 * 24 * time.Hour
	}
	if e.set == nil && s.Dir != "" {
		// A file that fails its checks is rebuilt, not trusted.
		e.set, _ = LoadCenterSet(s.path(bank), s.Center, bank)
	}
	if e.set != nil && every > 0 && now().Sub(e.set.created) >= every {
		e.set = nil
	}
	changed := false
	if e.set == nil {
		set, err := NewCenterSet(ctx, s.Center, bank, ids, now(), s.Rand)
		if err != nil {
			return nil, err
		}
		e.set, changed = set, true
	} else {
		c, err := e.set.Sync(ctx, ids)
		if err != nil {
			return nil, err
		}
		changed = c
	}
	if changed && s.Dir != "" {
		if err := e.set.Save(s.path(bank)); err != nil {
			return nil, err
		}
	}
	return e.set, nil
}

// Rotate ends bank's epoch at once: the set and its key are dropped (and
// its file removed), so the next session starts a new epoch.
func (s *CenterStore) Rotate(bank string) error {
	e := s.entry(bank)
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.set != nil {
		e.set.mu.Lock()
		e.set.key.Zero()
		e.set.mu.Unlock()
	}
	e.set = nil
	if s.Dir != "" {
		if err := os.Remove(s.path(bank)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("psi: rotating bank %q's epoch: %w", bank, err)
		}
	}
	return nil
}

// OpenCache returns the bank's cache of center's set kept in dir (""
// keeps it in memory only): the stored one if it passes its integrity
// check and is for this center and bank, else an empty one, which the next
// session fills. discarded says why a stored cache was not trusted (nil if
// there was none or it was kept).
func OpenCache(dir, center, bank string) (c *Cache, discarded error) {
	c = NewCache(center, bank)
	if dir == "" {
		return c, nil
	}
	c.file = filepath.Join(dir, fileName("cache", center, bank, ".vpsk"))
	path := c.file
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return c, nil
	}
	body, err := readFile(path)
	if err == nil {
		err = c.unmarshal(body)
	}
	if err != nil {
		c = NewCache(center, bank)
		c.file = path
		return c, err
	}
	return c, nil
}

func (c *Cache) path() string { return c.file }

// Save writes the cache to the folder [OpenCache] opened it from (nothing
// for a cache kept in memory).
func (c *Cache) Save() error {
	if c.file == "" || c.index == nil {
		return nil
	}
	b := append([]byte(cacheFileMagic), cacheFileVersion, 0, 0, 0)
	b = append(b, c.nonce[:]...)
	b = binary.BigEndian.AppendUint64(b, c.version)
	b = append(b, c.digest[:]...)
	b = appendStr(b, c.center)
	b = appendStr(b, c.bank)
	b = binary.BigEndian.AppendUint64(b, uint64(len(c.slots)/PointSize))
	b = append(b, c.slots...)
	// The memo, in the order of its keys (the same cache, the same file).
	keys := make([][32]byte, 0, len(c.memo))
	for k := range c.memo {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b [32]byte) int { return bytes.Compare(a[:], b[:]) })
	b = binary.BigEndian.AppendUint64(b, uint64(len(keys)))
	for _, k := range keys {
		v := c.memo[k]
		b = append(b, k[:]...)
		b = append(b, v[:]...)
	}
	if err := writeFile(c.path(), b); err != nil {
		return err
	}
	c.memoDirty = false
	return nil
}

// Changed reports whether the cache's memo changed since it was loaded or
// saved (the slots change only by [Cache.Apply], whose caller knows).
func (c *Cache) Changed() bool { return c.memoDirty }

func (c *Cache) unmarshal(body []byte) error {
	r := &reader{b: body}
	head := r.take(8)
	if r.err == nil && (string(head[:4]) != cacheFileMagic || head[4] != 1 && head[4] != cacheFileVersion) {
		return fmt.Errorf("%w: not a cache file of version 1 or %d", ErrCorruptFile, cacheFileVersion)
	}
	fv := head[4]
	nonce := [32]byte(r.take(32))
	v := r.u64()
	digest := [32]byte(r.take(32))
	center, bank := r.str(), r.str()
	n := r.u64()
	if r.err == nil && (fv == 1 && n != uint64(len(r.b))/PointSize || n > uint64(len(r.b))/PointSize) {
		return fmt.Errorf("%w: %d slots in %d bytes", ErrCorruptFile, n, len(r.b))
	}
	slots := r.take(n * PointSize)
	var memo map[[32]byte][PointSize]byte
	if fv >= 2 {
		m := r.u64()
		if r.err == nil && m != uint64(len(r.b))/(32+PointSize) {
			return fmt.Errorf("%w: %d remembered answers in %d bytes", ErrCorruptFile, m, len(r.b))
		}
		if m > 0 {
			memo = make(map[[32]byte][PointSize]byte, m)
		}
		for range m {
			if r.err != nil {
				break
			}
			k := [32]byte(r.take(32))
			memo[k] = [PointSize]byte(r.take(PointSize))
		}
		if r.err == nil && uint64(len(memo)) != m {
			return fmt.Errorf("%w: the memo repeats an id", ErrCorruptFile)
		}
	}
	if r.err != nil {
		return r.err
	}
	if len(r.b) != 0 {
		return fmt.Errorf("%w: %d bytes after the cache", ErrCorruptFile, len(r.b))
	}
	if c.center != "" && center != c.center || c.bank != "" && bank != c.bank {
		return fmt.Errorf("%w: the stored cache is another center's or bank's", ErrCacheMismatch)
	}
	epoch := EpochID(center, bank, nonce)
	if setDigest(epoch, slots) != digest || v == 0 {
		return fmt.Errorf("%w: the cache does not match its digest", ErrCorruptFile)
	}
	index := make(map[[PointSize]byte]uint32, n)
	for p := range int(n) {
		pt := [PointSize]byte(slots[p*PointSize:])
		if pt == [PointSize]byte{} {
			continue
		}
		if _, dup := index[pt]; dup {
			return fmt.Errorf("%w: the cache repeats a point", ErrCorruptFile)
		}
		index[pt] = uint32(p)
	}
	c.center, c.bank = center, bank
	c.nonce, c.epoch, c.version, c.digest = nonce, epoch, v, digest
	c.slots, c.index = append([]byte(nil), slots...), index
	c.memo, c.memoDirty = memo, false
	return nil
}
