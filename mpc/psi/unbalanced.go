package psi

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/gtank/ristretto255"
)

// ErrCacheMismatch means a bank's cache is not the one the center's update
// builds on (another epoch, another center, another version or digest); the
// bank discards it and asks for the whole set.
var ErrCacheMismatch = errors.New("psi: the cache does not match the center's epoch")

// EpochID names one key epoch of one center for one bank: SHA-256 over the
// center's name, the bank's name and the epoch's random nonce. A bank
// derives it from the names it expects and the nonce the center sends, so a
// cache or an update meant for another bank or from another center does not
// verify.
func EpochID(center, bank string, nonce [32]byte) [32]byte {
	h := sha256.New()
	h.Write([]byte("veil psi epoch v1\x00"))
	for _, s := range []string{center, bank} {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(s)))
		h.Write(n[:])
		h.Write([]byte(s))
	}
	h.Write(nonce[:])
	return [32]byte(h.Sum(nil))
}

// setDigest is the digest of an epoch's encoded set at one version: the
// slots in order, a removed one as 32 zero bytes (never a valid point).
func setDigest(epoch [32]byte, slots []byte) [32]byte {
	h := sha256.New()
	h.Write([]byte("veil psi set v1\x00"))
	h.Write(epoch[:])
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(len(slots)/PointSize))
	h.Write(n[:])
	h.Write(slots)
	return [32]byte(h.Sum(nil))
}

// intersectionDigest is the digest both parties compute over the matched
// slots, in increasing position.
func intersectionDigest(epoch [32]byte, slots []byte, pos []uint32) [32]byte {
	h := sha256.New()
	h.Write([]byte("veil psi unbalanced v1 intersection\x00"))
	h.Write(epoch[:])
	var b [4]byte
	for _, p := range pos {
		binary.BigEndian.PutUint32(b[:], p)
		h.Write(b[:])
		h.Write(slots[int(p)*PointSize : (int(p)+1)*PointSize])
	}
	return [32]byte(h.Sum(nil))
}

// version is one version of a center's encoded set within its epoch.
type version struct {
	slots   int      // number of slots
	removed []uint32 // slots removed by this version
	digest  [32]byte
}

// CenterSet is the center's side of the unbalanced protocol for one bank
// and one key epoch: the secret key alpha and H(x)^alpha for each of its
// ids x, in slots. The slots start in the order of their encodings (which
// says nothing of the center's table); ids added later take new slots at
// the end, in the order of their encodings, and a removed id leaves its
// slot empty until the next epoch. Each change is a new version, which a
// bank's cache catches up with from the additions and removals alone.
//
// A CenterSet is safe for concurrent use.
type CenterSet struct {
	center, bank string
	nonce        [32]byte
	epoch        [32]byte
	created      time.Time

	mu       sync.Mutex
	key      *ristretto255.Scalar
	slots    []byte   // PointSize bytes a slot, zero for a removed one
	ids      []string // the id of each slot, "" for a removed one
	index    map[string]uint32
	versions []version // versions[v-1] is version v
	rows     []int32   // rows[slot]: the row of the slot's id in the ids of the last Sync
}

// NewCenterSet starts a key epoch for bank: it draws the key alpha and the
// epoch's nonce from rng (nil: crypto/rand) and encodes ids (non-empty,
// distinct) on all cores. Encoding costs one hash to the group and one
// scalar multiplication an id: about 20 s for 800,000 ids on 2 cores.
func NewCenterSet(ctx context.Context, center, bank string, ids []string, created time.Time, rng io.Reader) (*CenterSet, error) {
	if err := checkIDs(ids); err != nil {
		return nil, err
	}
	if rng == nil {
		rng = rand.Reader
	}
	var seed [64 + 32]byte
	defer clear(seed[:])
	if _, err := io.ReadFull(rng, seed[:]); err != nil {
		return nil, fmt.Errorf("psi: reading randomness: %w", err)
	}
	key := ristretto255.NewScalar().FromUniformBytes(seed[:64])
	if key.Equal(ristretto255.NewScalar()) == 1 {
		return nil, errors.New("psi: the random source gave a zero key")
	}
	s := &CenterSet{center: center, bank: bank, nonce: [32]byte(seed[64:]), created: created, key: key}
	s.epoch = EpochID(center, bank, s.nonce)
	s.index = make(map[string]uint32, len(ids))
	if err := s.add(ctx, ids); err != nil {
		return nil, err
	}
	s.rows = make([]int32, len(ids))
	for i, id := range ids {
		s.rows[s.index[id]] = int32(i)
	}
	return s, nil
}

func checkIDs(ids []string) error {
	if len(ids) == 0 {
		return ErrEmptySet
	}
	if len(ids) > maxPoints {
		return fmt.Errorf("psi: %d ids, more than the limit of %d", len(ids), maxPoints)
	}
	seen := make(map[string]int, len(ids))
	for i, id := range ids {
		if id == "" {
			return fmt.Errorf("%w at row %d", ErrEmptyID, i)
		}
		if j, ok := seen[id]; ok {
			return fmt.Errorf("%w at rows %d and %d", ErrDuplicateID, j, i)
		}
		seen[id] = i
	}
	return nil
}

// add encodes ids (new to the set), appends them in the order of their
// encodings, and records the version (with removed, already emptied).
// s.mu held or s unshared.
func (s *CenterSet) add(ctx context.Context, ids []string, removed ...uint32) error {
	if len(s.slots)/PointSize+len(ids) > maxPoints {
		return fmt.Errorf("psi: the epoch would hold more than %d slots; start a new one", maxPoints)
	}
	pts := make([]byte, len(ids)*PointSize)
	err := parallel(ctx, len(ids), func(sc *scratch, lo, hi int) error {
		for j := lo; j < hi; j++ {
			hashToElement(&sc.a, ids[j])
			sc.b.ScalarMult(s.key, &sc.a)
			sc.b.Encode(pts[j*PointSize : j*PointSize : (j+1)*PointSize])
		}
		return nil
	})
	if err != nil {
		return err
	}
	order := make([]int, len(ids))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int {
		return bytes.Compare(pts[a*PointSize:(a+1)*PointSize], pts[b*PointSize:(b+1)*PointSize])
	})
	base := len(s.ids)
	s.slots = slices.Grow(s.slots, len(pts))
	for k, j := range order {
		s.slots = append(s.slots, pts[j*PointSize:(j+1)*PointSize]...)
		s.ids = append(s.ids, ids[j])
		s.index[ids[j]] = uint32(base + k)
	}
	s.versions = append(s.versions, version{slots: len(s.ids), removed: removed, digest: setDigest(s.epoch, s.slots)})
	return nil
}

// Sync brings the set to ids (the center's table now): ids no longer there
// lose their slots, new ones are encoded into new slots, and the change is a
// new version (none if the set is unchanged). It also records each slot's
// row in ids, which [CenterSet.Match] returns; call it with the ids of the
// table a session aligns. It reports whether the set changed.
func (s *CenterSet) Sync(ctx context.Context, ids []string) (bool, error) {
	if err := checkIDs(ids); err != nil {
		return false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rows := make([]int32, len(s.ids))
	for i := range rows {
		rows[i] = -1
	}
	var added []string
	for i, id := range ids {
		if p, ok := s.index[id]; ok {
			rows[p] = int32(i)
		} else {
			added = append(added, id)
		}
	}
	var removed []uint32
	for p, r := range rows {
		if r < 0 && s.ids[p] != "" {
			removed = append(removed, uint32(p))
		}
	}
	if len(added) == 0 && len(removed) == 0 {
		s.rows = rows
		return false, nil
	}
	for _, p := range removed {
		delete(s.index, s.ids[p])
		s.ids[p] = ""
		clear(s.slots[int(p)*PointSize : (int(p)+1)*PointSize])
	}
	if err := s.add(ctx, added, removed...); err != nil {
		return false, err
	}
	rows = append(rows, make([]int32, len(added))...)
	for i, id := range ids {
		rows[s.index[id]] = int32(i)
	}
	s.rows = rows
	return true, nil
}

// Epoch returns the epoch's id ([EpochID]), its version, its number of
// slots and of ids, and when it started.
func (s *CenterSet) Epoch() (id [32]byte, version uint64, slots, ids int, created time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.epoch, uint64(len(s.versions)), len(s.ids), len(s.index), s.created
}

// Names returns the center's and the bank's names the epoch is bound to.
func (s *CenterSet) Names() (center, bank string) { return s.center, s.bank }

// UpdateFor returns what a bank whose cache is in state st needs: only the
// additions and removals since its version if st is a version of this
// epoch whose digest matches, else the whole set (an empty cache, or one
// from another epoch, center or bank, or one that does not match).
func (s *CenterSet) UpdateFor(st *CacheState) *Update {
	s.mu.Lock()
	defer s.mu.Unlock()
	cur := uint64(len(s.versions))
	u := &Update{center: s.center, bank: s.bank, nonce: s.nonce, version: cur, slots: uint64(len(s.ids)), digest: s.versions[cur-1].digest}
	base := uint64(0)
	if st != nil && st.Epoch == s.epoch && st.Version >= 1 && st.Version <= cur && st.Digest == s.versions[st.Version-1].digest {
		base = st.Version
	}
	u.base = base
	var removed []uint32
	if base == 0 {
		u.full = true
		for p, id := range s.ids {
			if id == "" {
				removed = append(removed, uint32(p))
			}
		}
	} else {
		u.baseSlots = uint64(s.versions[base-1].slots)
		for _, v := range s.versions[base:] {
			removed = append(removed, v.removed...)
		}
		slices.Sort(removed)
	}
	u.removed = removed
	// Additions: the live slots from baseSlots on, in order.
	for p := int(u.baseSlots); p < len(s.ids); p++ {
		if s.ids[p] != "" {
			u.added = append(u.added, s.slots[p*PointSize:(p+1)*PointSize]...)
		}
	}
	return u
}

// Reblind raises each point of the bank's [Blinded] message, H(b)^beta for
// its ids b, to the key alpha and returns them in the same order (a
// [Reblinded] message). It costs one scalar multiplication a point. It
// refuses a message with an invalid point, the identity, or a repeated
// point.
func (s *CenterSet) Reblind(ctx context.Context, m *Message) (*Message, error) {
	if m == nil || m.kind != Blinded {
		return nil, fmt.Errorf("%w: Reblind wants a %v message, got %v", ErrMalformedMessage, Blinded, kindOf(m))
	}
	s.mu.Lock()
	key := ristretto255.NewScalar().Add(s.key, ristretto255.NewScalar())
	s.mu.Unlock()
	defer key.Zero()
	n := m.Len()
	out := make([]byte, n*PointSize)
	err := parallel(ctx, n, func(sc *scratch, lo, hi int) error {
		for j := lo; j < hi; j++ {
			if err := decodePoint(&sc.a, m.point(j)); err != nil {
				return fmt.Errorf("%w: point %d of the bank's blinded set: %v", ErrMalformedMessage, j, err)
			}
			sc.b.ScalarMult(key, &sc.a)
			sc.b.Encode(out[j*PointSize : j*PointSize : (j+1)*PointSize])
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	seen := make(map[[PointSize]byte]struct{}, n)
	for j := range n {
		seen[[PointSize]byte(out[j*PointSize:])] = struct{}{}
	}
	if len(seen) != n {
		return nil, fmt.Errorf("%w: the bank's blinded set repeats a point", ErrMalformedMessage)
	}
	return &Message{kind: Reblinded, points: out}, nil
}

// Match takes the slots the bank found its ids in (its [SlotList]) and the
// number of ids the bank submitted, and returns the rows of those slots' ids
// in the ids of the last [CenterSet.Sync], in increasing slot order (the
// bank's [Match.Rows] order), with the digest of the intersection. It
// refuses slots out of range or empty, or more slots than the bank
// submitted ids. It returns [ErrEmptyIntersection] for no slot.
func (s *CenterSet) Match(l *SlotList, submitted int) (*Result, error) {
	if l == nil {
		return nil, fmt.Errorf("%w: no slot list", ErrMalformedMessage)
	}
	if len(l.pos) > submitted {
		return nil, fmt.Errorf("%w: %d slots matched, more than the %d ids the bank submitted", ErrMalformedMessage, len(l.pos), submitted)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	res := &Result{Rows: make([]int, len(l.pos))}
	for i, p := range l.pos {
		if int(p) >= len(s.ids) || s.ids[p] == "" || s.rows[p] < 0 {
			return nil, fmt.Errorf("%w: slot %d is not one of the set's", ErrMalformedMessage, p)
		}
		res.Rows[i] = int(s.rows[p])
	}
	if len(l.pos) == 0 {
		return nil, ErrEmptyIntersection
	}
	res.Digest = intersectionDigest(s.epoch, s.slots, l.pos)
	return res, nil
}

// Rotate returns a new epoch of the set (a fresh key and nonce, the slots
// encoded anew in a fresh order) for the ids of the last Sync.
func (s *CenterSet) Rotate(ctx context.Context, created time.Time, rng io.Reader) (*CenterSet, error) {
	s.mu.Lock()
	ids := make([]string, 0, len(s.index))
	for _, id := range s.ids {
		if id != "" {
			ids = append(ids, id)
		}
	}
	center, bank := s.center, s.bank
	s.mu.Unlock()
	return NewCenterSet(ctx, center, bank, ids, created, rng)
}

// CacheState is what a bank's cache holds, which the bank sends to the
// center so that the center sends only what changed (see
// [CenterSet.UpdateFor]). The zero value is an empty cache.
type CacheState struct {
	Epoch   [32]byte
	Version uint64
	Digest  [32]byte
}

// Cache is the bank's cache of one center's encoded set for one epoch: 32
// bytes a slot, with an index from encoding to slot. The zero value is
// not usable: use [NewCache] or [LoadCache].
type Cache struct {
	center, bank string
	nonce        [32]byte
	epoch        [32]byte // zero: empty
	version      uint64
	digest       [32]byte
	slots        []byte
	index        map[[PointSize]byte]uint32
	file         string // where Save writes ("": nowhere)
	// memo holds the center's answers H(b)^alpha for the bank's ids it
	// has asked in this epoch, by memoKey; a whole set (a new epoch)
	// drops it.
	memo      map[[32]byte][PointSize]byte
	memoDirty bool // memo changed since the last Save or load
}

// NewCache returns an empty cache for the center's set, for bank: the
// names the center's epoch must be bound to, "" for either accepting the
// name the center's first update binds (and keeping it after).
func NewCache(center, bank string) *Cache {
	return &Cache{center: center, bank: bank}
}

// State returns the cache's state for the center.
func (c *Cache) State() *CacheState {
	return &CacheState{Epoch: c.epoch, Version: c.version, Digest: c.digest}
}

// Len returns the number of the center's ids the cache holds.
func (c *Cache) Len() int { return len(c.index) }

// Remembered returns the number of the bank's ids whose answers the cache
// holds for its epoch (see [Query.Ask]).
func (c *Cache) Remembered() int { return len(c.memo) }

// Apply brings the cache to the center's update: a whole set replaces it,
// a delta adds and removes slots. It checks everything: the epoch is bound
// to the cache's center and bank names, a delta builds on the cache's
// version, every added point is a valid non-identity encoding found
// nowhere else in the set, every removed slot was live, and the result has
// the digest the center announced. On error the cache is unchanged; an
// error wrapping [ErrCacheMismatch] means the update does not build on this
// cache (ask again with an empty state), others wrap [ErrMalformedMessage].
func (c *Cache) Apply(ctx context.Context, u *Update) error {
	if u == nil {
		return fmt.Errorf("%w: no update", ErrMalformedMessage)
	}
	if c.center != "" && u.center != c.center || c.bank != "" && u.bank != c.bank {
		return fmt.Errorf("%w: the update is bound to another center or bank", ErrCacheMismatch)
	}
	epoch := EpochID(u.center, u.bank, u.nonce)
	var old []byte
	if !u.full {
		switch {
		case epoch != c.epoch:
			return fmt.Errorf("%w: the update is for another epoch (or another center or bank)", ErrCacheMismatch)
		case u.base != c.version:
			return fmt.Errorf("%w: the update builds on version %d, the cache holds %d", ErrCacheMismatch, u.base, c.version)
		case u.baseSlots != uint64(len(c.slots)/PointSize):
			return fmt.Errorf("%w: the update builds on %d slots, the cache holds %d", ErrCacheMismatch, u.baseSlots, len(c.slots)/PointSize)
		}
		old = c.slots
	}
	if u.version < u.base || u.version == 0 {
		return fmt.Errorf("%w: update to version %d from %d", ErrMalformedMessage, u.version, u.base)
	}
	total := int(u.slots)
	base := len(old) / PointSize
	// Removed slots: those below base must be live; those from base on are
	// slots added and removed since, which get no point.
	fresh := total - base
	for _, p := range u.removed {
		if int(p) >= total {
			return fmt.Errorf("%w: removed slot %d beyond the %d slots", ErrMalformedMessage, p, total)
		}
		if int(p) < base {
			if isZero(old[int(p)*PointSize : (int(p)+1)*PointSize]) {
				return fmt.Errorf("%w: slot %d removed twice", ErrMalformedMessage, p)
			}
		} else {
			fresh--
		}
	}
	if fresh != u.Len() {
		return fmt.Errorf("%w: %d points added for %d new live slots", ErrMalformedMessage, u.Len(), fresh)
	}
	slots := make([]byte, total*PointSize)
	copy(slots, old)
	next, r := base, 0
	for _, p := range u.removed {
		if int(p) < base {
			clear(slots[int(p)*PointSize : (int(p)+1)*PointSize])
		}
	}
	// Place the added points in the new slots that are not removed.
	for k := range u.Len() {
		for r < len(u.removed) && int(u.removed[r]) < next {
			r++
		}
		for r < len(u.removed) && int(u.removed[r]) == next {
			next++
			r++
		}
		copy(slots[next*PointSize:], u.added[k*PointSize:(k+1)*PointSize])
		next++
	}
	// Validate the added points (decoding is the cost: about 2 µs a point
	// on each core) and build the index.
	err := parallel(ctx, u.Len(), func(sc *scratch, lo, hi int) error {
		for k := lo; k < hi; k++ {
			if err := decodePoint(&sc.a, u.added[k*PointSize:(k+1)*PointSize]); err != nil {
				return fmt.Errorf("%w: added point %d: %v", ErrMalformedMessage, k, err)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	index := make(map[[PointSize]byte]uint32, total)
	for p := range total {
		pt := slots[p*PointSize : (p+1)*PointSize]
		if isZero(pt) {
			continue
		}
		if _, dup := index[[PointSize]byte(pt)]; dup {
			return fmt.Errorf("%w: the set repeats a point", ErrMalformedMessage)
		}
		index[[PointSize]byte(pt)] = uint32(p)
	}
	if len(index) == 0 {
		return fmt.Errorf("%w: the center's set is empty", ErrMalformedMessage)
	}
	if d := setDigest(epoch, slots); d != u.digest {
		return fmt.Errorf("%w: the set's digest is not the one the center announced", ErrMalformedMessage)
	}
	c.center, c.bank = u.center, u.bank
	c.nonce, c.epoch, c.version, c.digest, c.slots, c.index = u.nonce, epoch, u.version, u.digest, slots, index
	if u.full && len(c.memo) > 0 {
		// A whole set starts afresh: the answers may be under another
		// key (a new epoch), so none is trusted.
		c.memo, c.memoDirty = nil, true
	}
	return nil
}

// Query is the bank's side of one session of the unbalanced protocol: it
// blinds the bank's ids with a fresh key beta, and finds them in the cache
// once the center has raised them to alpha. Call [Query.Ask] (or
// [Query.Blind]) and then [Query.Finish], once each.
//
// The center's answer for an id b, H(b)^alpha, is the same for the whole
// key epoch, so [Query.Finish] remembers it in the cache (its memo), and
// [Query.Ask] blinds only the ids whose answer the cache does not hold for
// its epoch: a later session with the same ids costs the bank lookups only
// and the center nothing.
type Query struct {
	ids     []string
	keys    [][32]byte // memoKey of each id
	key     *ristretto255.Scalar
	perm    []int32 // the rows blinded, in the sending order
	answers []byte  // PointSize bytes a row: its H(b)^alpha once known
	known   []bool
	epoch   [32]byte // the cache's epoch when Ask took answers from its memo
	memo    bool     // answers were taken from a memo
	blinded bool
	done    bool
}

// memoKey names an id in a cache's memo (a fixed size; the memo is the
// bank's, beside its own ids).
func memoKey(id string) [32]byte {
	h := sha256.New()
	h.Write([]byte("veil psi memo v1\x00"))
	h.Write([]byte(id))
	return [32]byte(h.Sum(nil))
}

// NewQuery checks ids (non-empty, distinct) and returns a Query with a
// fresh key and a secret sending order drawn from rng (nil: crypto/rand).
func NewQuery(ids []string, rng io.Reader) (*Query, error) {
	if err := checkIDs(ids); err != nil {
		return nil, err
	}
	if rng == nil {
		rng = rand.Reader
	}
	var seed [64 + 32]byte
	defer clear(seed[:])
	if _, err := io.ReadFull(rng, seed[:]); err != nil {
		return nil, fmt.Errorf("psi: reading randomness: %w", err)
	}
	key := ristretto255.NewScalar().FromUniformBytes(seed[:64])
	if key.Equal(ristretto255.NewScalar()) == 1 {
		return nil, errors.New("psi: the random source gave a zero key")
	}
	perm := make([]int32, len(ids))
	for i := range perm {
		perm[i] = int32(i)
	}
	shuffle := mrand.New(mrand.NewChaCha8([32]byte(seed[64:])))
	shuffle.Shuffle(len(perm), func(i, j int) { perm[i], perm[j] = perm[j], perm[i] })
	keys := make([][32]byte, len(ids))
	for i, id := range ids {
		keys[i] = memoKey(id)
	}
	return &Query{ids: ids, keys: keys, key: key, perm: perm,
		answers: make([]byte, len(ids)*PointSize), known: make([]bool, len(ids))}, nil
}

// Blind returns H(b)^beta for all the bank's ids, in a secret order, for
// [CenterSet.Reblind].
func (q *Query) Blind(ctx context.Context) (*Message, error) {
	if q.blinded {
		return nil, errors.New("psi: Blind called twice")
	}
	return q.blind(ctx)
}

func (q *Query) blind(ctx context.Context) (*Message, error) {
	pts := make([]byte, len(q.perm)*PointSize)
	err := parallel(ctx, len(q.perm), func(s *scratch, lo, hi int) error {
		for j := lo; j < hi; j++ {
			hashToElement(&s.a, q.ids[q.perm[j]])
			s.b.ScalarMult(q.key, &s.a)
			s.b.Encode(pts[j*PointSize : j*PointSize : (j+1)*PointSize])
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	q.ids, q.blinded = nil, true
	return &Message{kind: Blinded, points: pts}, nil
}

// Ask returns the bank's request of the session (an [Ask]): the number of
// its ids and H(b)^beta, in a secret order, for those of its ids b whose
// answer c's memo does not hold for c's epoch (all of them for an empty
// cache or a new epoch). Call it once c holds the center's current epoch
// ([Cache.Apply]). When every answer is remembered, the Ask carries no
// point and the session needs no reply: call [Query.Finish] with nil.
func (q *Query) Ask(ctx context.Context, c *Cache) (*Ask, error) {
	if q.blinded {
		return nil, errors.New("psi: Ask called after Blind or twice")
	}
	if c == nil || c.index == nil {
		return nil, errors.New("psi: Ask needs a filled cache")
	}
	n := len(q.known)
	if len(c.memo) > 0 {
		fresh := q.perm[:0]
		for _, row := range q.perm {
			if enc, ok := c.memo[q.keys[row]]; ok {
				copy(q.answers[int(row)*PointSize:], enc[:])
				q.known[row] = true
			} else {
				fresh = append(fresh, row)
			}
		}
		q.perm = fresh
		q.epoch, q.memo = c.epoch, true
	}
	m, err := q.blind(ctx)
	if err != nil {
		return nil, err
	}
	return &Ask{ids: uint64(n), blinded: m}, nil
}

// Match is the bank's view of an unbalanced session's intersection.
type Match struct {
	// Result holds the bank's rows whose ids the center holds, in
	// increasing slot order (the order [CenterSet.Match] gives the
	// center's rows), and the intersection's digest.
	Result
	// Slots lists, for the center's [CenterSet.Match], the slots of the
	// matched ids.
	Slots *SlotList
	// Asked is the number of ids the session sent the center; the others'
	// answers came from the cache's memo.
	Asked int
}

// Finish takes the center's [Reblinded] reply (the points the bank sent
// raised to alpha, in the bank's order; nil if it sent none), removes
// beta, remembers each answer H(b)^alpha in c's memo, and looks every id's
// answer up in the cache. It costs one scalar multiplication an id sent.
// It returns [ErrEmptyIntersection] if no id matches (the answers are
// remembered all the same); it wipes the key.
func (q *Query) Finish(ctx context.Context, reply *Message, c *Cache) (*Match, error) {
	switch {
	case q.done:
		return nil, errors.New("psi: Finish called twice")
	case !q.blinded:
		return nil, errors.New("psi: Finish called before Blind")
	case c == nil || c.index == nil:
		return nil, errors.New("psi: Finish needs a filled cache")
	case q.memo && c.epoch != q.epoch:
		return nil, errors.New("psi: the cache changed epoch between Ask and Finish")
	}
	n := len(q.perm)
	if n > 0 || reply != nil {
		if reply == nil || reply.kind != Reblinded {
			return nil, fmt.Errorf("%w: Finish wants a %v message, got %v", ErrMalformedMessage, Reblinded, kindOf(reply))
		}
		if reply.Len() != n {
			return nil, fmt.Errorf("%w: the center's reply has %d points, want %d (one per id blinded)", ErrMalformedMessage, reply.Len(), n)
		}
	}
	inv := ristretto255.NewScalar().Invert(q.key)
	defer inv.Zero()
	err := parallel(ctx, n, func(s *scratch, lo, hi int) error {
		for j := lo; j < hi; j++ {
			if err := decodePoint(&s.a, reply.point(j)); err != nil {
				return fmt.Errorf("%w: point %d of the center's reply: %v", ErrMalformedMessage, j, err)
			}
			s.b.ScalarMult(inv, &s.a)
			row := int(q.perm[j])
			s.b.Encode(q.answers[row*PointSize : row*PointSize : (row+1)*PointSize])
		}
		return nil
	})
	q.done = true
	q.key.Zero()
	if err != nil {
		return nil, err
	}
	if n > 0 {
		if c.memo == nil {
			c.memo = make(map[[32]byte][PointSize]byte, n)
		}
		for _, row := range q.perm {
			q.known[row] = true
			c.memo[q.keys[row]] = [PointSize]byte(q.answers[int(row)*PointSize:])
		}
		c.memoDirty = true
	}
	type hit struct {
		slot uint32
		row  int32
	}
	var hits []hit
	for row := range q.known {
		if p, ok := c.index[[PointSize]byte(q.answers[row*PointSize:])]; ok {
			hits = append(hits, hit{p, int32(row)})
		}
	}
	if len(hits) == 0 {
		return nil, ErrEmptyIntersection
	}
	slices.SortFunc(hits, func(a, b hit) int { return int64Cmp(int64(a.slot), int64(b.slot)) })
	m := &Match{Result: Result{Rows: make([]int, len(hits))}, Slots: &SlotList{pos: make([]uint32, len(hits))}, Asked: n}
	for i, h := range hits {
		if i > 0 && h.slot == hits[i-1].slot {
			return nil, fmt.Errorf("%w: the center's reply maps two ids to one slot", ErrMalformedMessage)
		}
		m.Rows[i] = int(h.row)
		m.Slots.pos[i] = h.slot
	}
	m.Digest = intersectionDigest(c.epoch, c.slots, m.Slots.pos)
	return m, nil
}

func int64Cmp(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
