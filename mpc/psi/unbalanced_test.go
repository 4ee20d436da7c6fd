package psi

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var epoch0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// wireUpdate sends u through its binary encoding.
func wireUpdate(t testing.TB, u *Update) *Update {
	t.Helper()
	b, err := u.MarshalBinary()
	require.NoError(t, err)
	require.Len(t, b, updateHeaderLen+4+len(u.center)+len(u.bank)+PointSize*u.Len()+4*u.Removed())
	var got Update
	require.NoError(t, got.UnmarshalBinary(b))
	return &got
}

func wireSlots(t testing.TB, l *SlotList) *SlotList {
	t.Helper()
	b, err := l.MarshalBinary()
	require.NoError(t, err)
	var got SlotList
	require.NoError(t, got.UnmarshalBinary(b))
	return &got
}

func wireState(t testing.TB, st *CacheState) *CacheState {
	t.Helper()
	b, err := st.MarshalBinary()
	require.NoError(t, err)
	require.Len(t, b, CacheStateSize)
	var got CacheState
	require.NoError(t, got.UnmarshalBinary(b))
	return &got
}

// session runs one unbalanced session: the cache catches up with the set,
// then the bank's ids are matched. It returns both parties' results and the
// update the center sent.
func session(t testing.TB, set *CenterSet, cache *Cache, bankIDs []string, seed uint64) (bank *Match, center *Result, u *Update, err error) {
	t.Helper()
	ctx := context.Background()
	u = wireUpdate(t, set.UpdateFor(wireState(t, cache.State())))
	require.NoError(t, cache.Apply(ctx, u))
	q, err := NewQuery(bankIDs, seeded(seed))
	require.NoError(t, err)
	blinded, err := q.Blind(ctx)
	require.NoError(t, err)
	reply, err := set.Reblind(ctx, wire(t, blinded))
	require.NoError(t, err)
	bank, err = q.Finish(ctx, wire(t, reply), cache)
	if err != nil {
		return nil, nil, u, err
	}
	center, err = set.Match(wireSlots(t, bank.Slots), len(bankIDs))
	require.NoError(t, err)
	return bank, center, u, nil
}

// TestUnbalancedMatchesBalanced: the unbalanced session finds exactly the
// balanced protocol's intersection, both parties' rows refer to the same
// ids in the same order, and their digests agree.
func TestUnbalancedMatchesBalanced(t *testing.T) {
	for _, tc := range []struct{ nBank, nCenter, overlap int }{
		{1, 1, 1}, {5, 300, 5}, {300, 1000, 120}, {700, 300, 299},
	} {
		t.Run(fmt.Sprintf("%dx%d", tc.nBank, tc.nCenter), func(t *testing.T) {
			if testing.Short() && tc.nBank+tc.nCenter > 1000 {
				t.Skip("a larger case; run without -short")
			}
			bankIDs, centerIDs, shared := makeSets(tc.nBank, tc.nCenter, tc.overlap, uint64(tc.nBank))
			set, err := NewCenterSet(context.Background(), "center", "bank", centerIDs, epoch0, seeded(3))
			require.NoError(t, err)
			cache := NewCache("center", "bank")
			bank, center, u, err := session(t, set, cache, bankIDs, 5)
			require.NoError(t, err)
			require.True(t, u.Full())
			require.Equal(t, tc.nCenter, cache.Len(), "the bank learns the center's count")
			require.Len(t, bank.Rows, tc.overlap)
			require.Equal(t, bank.Digest, center.Digest)
			for i := range bank.Rows {
				require.Equal(t, bankIDs[bank.Rows[i]], centerIDs[center.Rows[i]])
				require.True(t, shared[bankIDs[bank.Rows[i]]])
			}
			resB, resC, errB, errC := runPSI(t, bankIDs, centerIDs, 9)
			require.NoError(t, errB)
			require.NoError(t, errC)
			require.ElementsMatch(t, resB.Rows, bank.Rows)
			require.ElementsMatch(t, resC.Rows, center.Rows)
		})
	}
}

// TestUnbalancedEmpty: no shared id is ErrEmptyIntersection for the bank,
// and an empty slot list for the center.
func TestUnbalancedEmpty(t *testing.T) {
	set, err := NewCenterSet(context.Background(), "c", "b", []string{"x", "y"}, epoch0, seeded(1))
	require.NoError(t, err)
	_, _, _, err = session(t, set, NewCache("c", "b"), []string{"a"}, 2)
	require.ErrorIs(t, err, ErrEmptyIntersection)
	_, err = set.Match(&SlotList{}, 1)
	require.ErrorIs(t, err, ErrEmptyIntersection)
}

// TestUnbalancedDelta: after the center's ids change, the next session
// sends only the additions and removals, the cache reaches the center's
// digest, and the intersection follows the change.
func TestUnbalancedDelta(t *testing.T) {
	ctx := context.Background()
	bankIDs, centerIDs, _ := makeSets(50, 400, 30, 1)
	set, err := NewCenterSet(ctx, "c", "b", centerIDs, epoch0, seeded(1))
	require.NoError(t, err)
	cache := NewCache("c", "b")
	_, _, u, err := session(t, set, cache, bankIDs, 2)
	require.NoError(t, err)
	require.True(t, u.Full())

	// Unchanged: an empty delta.
	changed, err := set.Sync(ctx, centerIDs)
	require.NoError(t, err)
	require.False(t, changed)
	_, _, u, err = session(t, set, cache, bankIDs, 3)
	require.NoError(t, err)
	require.False(t, u.Full())
	require.Zero(t, u.Len())
	require.Zero(t, u.Removed())

	// Remove 10 shared ids and 20 others, add 5 of the bank's and 40 new.
	var next []string
	dropShared, dropOther := 10, 20
	for _, id := range centerIDs {
		switch {
		case id[:2] == "sh" && dropShared > 0:
			dropShared--
		case id[:2] == "b-" && dropOther > 0:
			dropOther--
		default:
			next = append(next, id)
		}
	}
	removed := len(centerIDs) - len(next)
	require.Equal(t, 30, removed)
	var addedBank []string
	for _, id := range bankIDs {
		if id[:2] == "a-" && len(addedBank) < 5 {
			addedBank = append(addedBank, id)
		}
	}
	next = append(next, addedBank...)
	for i := range 40 {
		next = append(next, fmt.Sprintf("new-%d", i))
	}
	changed, err = set.Sync(ctx, next)
	require.NoError(t, err)
	require.True(t, changed)
	bank, center, u, err := session(t, set, cache, bankIDs, 4)
	require.NoError(t, err)
	require.False(t, u.Full(), "a delta, not the whole set")
	require.Equal(t, 45, u.Len())
	require.Equal(t, removed, u.Removed())
	require.Equal(t, len(next), cache.Len())
	_, v, _, n, _ := set.Epoch()
	require.Equal(t, uint64(2), v)
	require.Equal(t, len(next), n)
	require.Equal(t, bank.Digest, center.Digest)
	want := map[string]bool{}
	inNext := map[string]bool{}
	for _, id := range next {
		inNext[id] = true
	}
	for _, id := range bankIDs {
		if inNext[id] {
			want[id] = true
		}
	}
	require.Len(t, bank.Rows, len(want))
	for i := range bank.Rows {
		require.True(t, want[bankIDs[bank.Rows[i]]])
		require.Equal(t, bankIDs[bank.Rows[i]], next[center.Rows[i]])
	}

	// A fresh cache mid-epoch gets the whole set, without the removed ids'
	// encodings, and the same slots.
	fresh := NewCache("c", "b")
	_, _, u, err = session(t, set, fresh, bankIDs, 5)
	require.NoError(t, err)
	require.True(t, u.Full())
	require.Equal(t, len(next), u.Len())
	require.Equal(t, cache.digest, fresh.digest)
	require.Equal(t, cache.slots, fresh.slots)

	// A cache two versions behind catches up in one delta.
	behind := NewCache("c", "b")
	*behind = *fresh
	behind.slots = slices.Clone(fresh.slots)
	next2 := append(slices.Clone(next[1:]), "newer")
	_, err = set.Sync(ctx, next2)
	require.NoError(t, err)
	next3 := append(slices.Clone(next2[1:]), "newest")
	_, err = set.Sync(ctx, next3)
	require.NoError(t, err)
	_, _, u, err = session(t, set, behind, bankIDs, 6)
	require.NoError(t, err)
	require.False(t, u.Full())
	require.Equal(t, 2, u.Len())
	require.Equal(t, 2, u.Removed())

	// An id added and removed again since the cache's version: its slot
	// comes as removed, without its point.
	_, err = set.Sync(ctx, append(slices.Clone(next3), "brief", "stays"))
	require.NoError(t, err)
	_, err = set.Sync(ctx, append(slices.Clone(next3), "stays"))
	require.NoError(t, err)
	_, _, u, err = session(t, set, behind, bankIDs, 7)
	require.NoError(t, err)
	require.Equal(t, 1, u.Len())
	require.Equal(t, 1, u.Removed())
	full := NewCache("c", "b")
	_, _, _, err = session(t, set, full, bankIDs, 8)
	require.NoError(t, err)
	require.Equal(t, full.slots, behind.slots)
}

// TestCacheBinding: a cache is bound to its center, its bank and its epoch.
// The attack half: a bank holding another bank's cache (the weak variant,
// one key for all banks) would find its ids in it; with a key per bank it
// finds none.
func TestCacheBinding(t *testing.T) {
	ctx := context.Background()
	bankIDs, centerIDs, _ := makeSets(40, 200, 25, 2)
	setA, err := NewCenterSet(ctx, "c", "bankA", centerIDs, epoch0, seeded(10))
	require.NoError(t, err)
	cacheA := NewCache("c", "bankA")
	_, _, _, err = session(t, setA, cacheA, bankIDs, 1)
	require.NoError(t, err)

	// Bank B replies to under its own key; looked up in A's cache, nothing.
	setB, err := NewCenterSet(ctx, "c", "bankB", centerIDs, epoch0, seeded(11))
	require.NoError(t, err)
	lookup := func(set *CenterSet, cache *Cache) error {
		q, err := NewQuery(bankIDs, seeded(3))
		require.NoError(t, err)
		m, err := q.Blind(ctx)
		require.NoError(t, err)
		r, err := set.Reblind(ctx, m)
		require.NoError(t, err)
		_, err = q.Finish(ctx, r, cache)
		return err
	}
	require.ErrorIs(t, lookup(setB, cacheA), ErrEmptyIntersection)
	// The weak variant: B's set under A's key (same random source) matches.
	weak, err := NewCenterSet(ctx, "c", "bankB", centerIDs, epoch0, seeded(10))
	require.NoError(t, err)
	require.NoError(t, lookup(weak, cacheA), "one key for all banks lets a bank use another's cache")

	// B's update does not apply to A's cache as a delta, and B's epoch does
	// not take A's state for its own.
	st := cacheA.State()
	require.True(t, setB.UpdateFor(st).Full(), "another epoch's cache gets the whole set")
	u := setA.UpdateFor(st)
	u.nonce = setB.nonce
	require.ErrorIs(t, cacheA.Apply(ctx, u), ErrCacheMismatch)
	// A cache named for another bank rejects A's whole set, and a set
	// whose names were swapped in transit fails its digest (the epoch id
	// binds them).
	wrongBank := NewCache("c", "bankB")
	err = wrongBank.Apply(ctx, setA.UpdateFor(nil))
	require.ErrorIs(t, err, ErrCacheMismatch)
	renamed := setA.UpdateFor(nil)
	renamed.bank = "bankB"
	require.ErrorIs(t, NewCache("", "").Apply(ctx, renamed), ErrMalformedMessage)
	anyName := NewCache("", "")
	require.NoError(t, anyName.Apply(ctx, setA.UpdateFor(nil)))
	require.Equal(t, "bankA", anyName.bank, "an unnamed cache takes the names the center binds")
	// A stale state (right epoch, wrong digest) gets the whole set.
	stale := *st
	stale.Digest[0] ^= 1
	require.True(t, setA.UpdateFor(&stale).Full())
	// A delta built on another version is refused.
	_, err = setA.Sync(ctx, centerIDs[1:])
	require.NoError(t, err)
	old := NewCache("c", "bankA")
	d := setA.UpdateFor(cacheA.State())
	require.NoError(t, old.Apply(ctx, setA.UpdateFor(nil)))
	require.ErrorIs(t, old.Apply(ctx, d), ErrCacheMismatch)
}

// TestHostileUpdate: the bank's Apply refuses every tampered update and
// leaves its cache as it was.
func TestHostileUpdate(t *testing.T) {
	ctx := context.Background()
	_, centerIDs, _ := makeSets(1, 20, 0, 3)
	set, err := NewCenterSet(ctx, "c", "b", centerIDs, epoch0, seeded(1))
	require.NoError(t, err)
	good := set.UpdateFor(nil)
	identity := make([]byte, PointSize)
	badPoint, _ := hex.DecodeString(badPoints[0])
	for _, tc := range []struct {
		name   string
		mutate func(u *Update)
		want   error
	}{
		{"identity point", func(u *Update) { copy(u.added[PointSize:], identity) }, ErrMalformedMessage},
		{"invalid point", func(u *Update) { copy(u.added[PointSize:], badPoint) }, ErrMalformedMessage},
		{"duplicated point", func(u *Update) { copy(u.added[PointSize:2*PointSize], u.added[:PointSize]) }, ErrMalformedMessage},
		{"other point", func(u *Update) { u.added[0] ^= 2 }, ErrMalformedMessage},
		{"missing point", func(u *Update) { u.added = u.added[PointSize:] }, ErrMalformedMessage},
		{"extra slot", func(u *Update) { u.slots++ }, ErrMalformedMessage},
		{"huge slot count", func(u *Update) { u.slots = maxPoints }, ErrMalformedMessage},
		{"removal past the end", func(u *Update) { u.removed = []uint32{uint32(u.slots)} }, ErrMalformedMessage},
		{"wrong digest", func(u *Update) { u.digest[3] ^= 1 }, ErrMalformedMessage},
		{"another epoch", func(u *Update) { u.nonce[0] ^= 1 }, ErrMalformedMessage},
		{"a delta on an empty cache", func(u *Update) { u.full, u.base = false, 1 }, ErrCacheMismatch},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := *good
			u.added = slices.Clone(good.added)
			tc.mutate(&u)
			c := NewCache("c", "b")
			require.ErrorIs(t, c.Apply(ctx, &u), tc.want)
			require.Zero(t, c.Len(), "the cache is unchanged")
			require.Equal(t, CacheState{}, *c.State())
		})
	}
	// The untampered update applies.
	c := NewCache("c", "b")
	require.NoError(t, c.Apply(ctx, good))
	// A delta removing a slot twice, or one already empty, is refused.
	_, err = set.Sync(ctx, centerIDs[1:])
	require.NoError(t, err)
	d := set.UpdateFor(c.State())
	require.Equal(t, 1, d.Removed())
	twice := *d
	twice.removed = []uint32{d.removed[0], d.removed[0]}
	b, err := twice.MarshalBinary()
	require.NoError(t, err)
	require.ErrorIs(t, new(Update).UnmarshalBinary(b), ErrMalformedMessage)
	require.NoError(t, c.Apply(ctx, d))
	before := c.digest
	again := *d
	again.base, again.version = c.version, c.version+1
	require.ErrorIs(t, c.Apply(ctx, &again), ErrMalformedMessage)
	require.Equal(t, before, c.digest)
}

// TestHostileDecoders: truncated, oversized and malformed encodings of the
// new messages are refused by their decoders.
func TestHostileDecoders(t *testing.T) {
	ctx := context.Background()
	_, centerIDs, _ := makeSets(1, 10, 0, 4)
	set, err := NewCenterSet(ctx, "c", "b", centerIDs, epoch0, seeded(1))
	require.NoError(t, err)
	ub, err := set.UpdateFor(nil).MarshalBinary()
	require.NoError(t, err)
	sb, err := (&SlotList{pos: []uint32{1, 4, 9}}).MarshalBinary()
	require.NoError(t, err)
	cb, err := (&CacheState{Epoch: set.epoch, Version: 1, Digest: [32]byte{1}}).MarshalBinary()
	require.NoError(t, err)
	set64 := func(b []byte, at int, v uint64) []byte {
		b = slices.Clone(b)
		binary.BigEndian.PutUint64(b[at:], v)
		return b
	}
	cases := map[string]struct {
		b   []byte
		dec interface{ UnmarshalBinary([]byte) error }
	}{
		"update truncated":         {ub[:len(ub)-1], new(Update)},
		"update header only":       {ub[:updateHeaderLen], new(Update)},
		"update short header":      {ub[:50], new(Update)},
		"update oversized":         {append(slices.Clone(ub), 0), new(Update)},
		"update huge count":        {set64(ub, 104, 1<<40), new(Update)},
		"update bad magic":         {append([]byte("XPSU"), ub[4:]...), new(Update)},
		"update bad version":       {append(slices.Clone(ub[:4]), append([]byte{9}, ub[5:]...)...), new(Update)},
		"update kind 3":            {append(slices.Clone(ub[:5]), append([]byte{3}, ub[6:]...)...), new(Update)},
		"update version 0":         {set64(ub, 40, 0), new(Update)},
		"full update with a base":  {set64(ub, 48, 1), new(Update)},
		"slots truncated":          {sb[:len(sb)-2], new(SlotList)},
		"slots oversized":          {append(slices.Clone(sb), 0, 0, 0, 0), new(SlotList)},
		"slots repeated":           {append(set64(sb[:slotsHeaderLen], 8, 4), append(sb[slotsHeaderLen:], 0, 0, 0, 9)...), new(SlotList)},
		"slots huge count":         {set64(sb, 8, 1<<33), new(SlotList)},
		"slots bad magic":          {append([]byte("VPSX"), sb[4:]...), new(SlotList)},
		"slots reserved":           {append(slices.Clone(sb[:7]), append([]byte{1}, sb[8:]...)...), new(SlotList)},
		"state truncated":          {cb[:CacheStateSize-1], new(CacheState)},
		"state oversized":          {append(slices.Clone(cb), 0), new(CacheState)},
		"state half empty":         {set64(cb, 40, 0), new(CacheState)},
		"state bad magic":          {append([]byte("VPSU"), cb[4:]...), new(CacheState)},
		"message instead of slots": {validMessageT(t), new(SlotList)},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			require.ErrorIs(t, tc.dec.UnmarshalBinary(tc.b), ErrMalformedMessage)
		})
	}
	require.NoError(t, new(Update).UnmarshalBinary(ub))
	require.NoError(t, new(SlotList).UnmarshalBinary(sb))
	require.NoError(t, new(CacheState).UnmarshalBinary(cb))
}

func validMessageT(t *testing.T) []byte {
	p, err := NewParty([]string{"a"}, seeded(1))
	require.NoError(t, err)
	m, err := p.Blind(context.Background())
	require.NoError(t, err)
	b, err := m.MarshalBinary()
	require.NoError(t, err)
	return b
}

// TestHostileSession: the center refuses a blinded set with the identity,
// an invalid or a repeated point; the bank refuses a reply of the wrong
// length or with an invalid point; the center refuses slots out of range,
// removed, or more than the bank submitted.
func TestHostileSession(t *testing.T) {
	ctx := context.Background()
	bankIDs, centerIDs, _ := makeSets(10, 30, 5, 5)
	set, err := NewCenterSet(ctx, "c", "b", centerIDs, epoch0, seeded(1))
	require.NoError(t, err)
	cache := NewCache("c", "b")
	require.NoError(t, cache.Apply(ctx, set.UpdateFor(nil)))
	q, err := NewQuery(bankIDs, seeded(2))
	require.NoError(t, err)
	blinded, err := q.Blind(ctx)
	require.NoError(t, err)
	badPoint, _ := hex.DecodeString(badPoints[0])
	for name, mutate := range map[string]func(b []byte){
		"identity": func(b []byte) { clear(b[PointSize : 2*PointSize]) },
		"invalid":  func(b []byte) { copy(b[PointSize:], badPoint) },
		"repeated": func(b []byte) { copy(b[PointSize:2*PointSize], b[:PointSize]) },
	} {
		m := &Message{kind: Blinded, points: slices.Clone(blinded.points)}
		mutate(m.points)
		_, err := set.Reblind(ctx, m)
		require.ErrorIs(t, err, ErrMalformedMessage, name)
	}
	_, err = set.Reblind(ctx, &Message{kind: Reblinded, points: blinded.points})
	require.ErrorIs(t, err, ErrMalformedMessage)
	reply, err := set.Reblind(ctx, blinded)
	require.NoError(t, err)

	short := &Message{kind: Reblinded, points: reply.points[PointSize:]}
	q2, _ := NewQuery(bankIDs, seeded(2))
	_, _ = q2.Blind(ctx)
	_, err = q2.Finish(ctx, short, cache)
	require.ErrorIs(t, err, ErrMalformedMessage)
	q3, _ := NewQuery(bankIDs, seeded(2))
	_, _ = q3.Blind(ctx)
	bad := &Message{kind: Reblinded, points: slices.Clone(reply.points)}
	clear(bad.points[:PointSize])
	_, err = q3.Finish(ctx, bad, cache)
	require.ErrorIs(t, err, ErrMalformedMessage)

	m, err := q.Finish(ctx, reply, cache)
	require.NoError(t, err)
	require.Len(t, m.Rows, 5)
	_, err = set.Match(&SlotList{pos: []uint32{uint32(len(centerIDs))}}, 10)
	require.ErrorIs(t, err, ErrMalformedMessage)
	_, err = set.Match(m.Slots, 4)
	require.ErrorIs(t, err, ErrMalformedMessage, "more slots than ids submitted")
	_, err = set.Sync(ctx, centerIDs[1:])
	require.NoError(t, err)
	var removed uint32
	for p, id := range set.ids {
		if id == "" {
			removed = uint32(p)
		}
	}
	_, err = set.Match(&SlotList{pos: []uint32{removed}}, 10)
	require.ErrorIs(t, err, ErrMalformedMessage)
}

// TestStore: a store keeps one epoch per bank, saves and reloads it with
// the same key, rebuilds a corrupt or foreign file, rotates on schedule and
// on demand; a bank's cache survives a restart and is refused when
// corrupt or another center's.
func TestStore(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	bankIDs, centerIDs, _ := makeSets(30, 100, 20, 6)
	now := epoch0
	store := &CenterStore{Center: "c", Dir: filepath.Join(dir, "center"), RotateEvery: 24 * time.Hour, Now: func() time.Time { return now }, Rand: seeded(1)}
	setA, err := store.Set(ctx, "bankA", centerIDs)
	require.NoError(t, err)
	setB, err := store.Set(ctx, "bankB", centerIDs)
	require.NoError(t, err)
	epA, _, _, _, _ := setA.Epoch()
	epB, _, _, _, _ := setB.Epoch()
	require.NotEqual(t, epA, epB)
	require.NotEqual(t, setA.slots, setB.slots, "a key per bank")

	// The bank's cache, saved and reopened.
	cdir := filepath.Join(dir, "bank")
	cache, discarded := OpenCache(cdir, "c", "bankA")
	require.NoError(t, discarded)
	_, _, u, err := session(t, setA, cache, bankIDs, 1)
	require.NoError(t, err)
	require.True(t, u.Full())
	require.NoError(t, cache.Save())
	info, err := os.Stat(cache.path())
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), info.Mode().Perm())

	// A restarted center loads the same epoch; the reopened cache needs
	// nothing.
	store2 := &CenterStore{Center: "c", Dir: store.Dir, RotateEvery: 24 * time.Hour, Now: store.Now}
	again, err := store2.Set(ctx, "bankA", centerIDs)
	require.NoError(t, err)
	ep2, v2, _, _, _ := again.Epoch()
	require.Equal(t, epA, ep2)
	require.Equal(t, uint64(1), v2)
	cache2, discarded := OpenCache(cdir, "c", "bankA")
	require.NoError(t, discarded)
	bank, center, u, err := session(t, again, cache2, bankIDs, 2)
	require.NoError(t, err)
	require.False(t, u.Full())
	require.Zero(t, u.Len())
	require.Len(t, bank.Rows, 20)
	require.Equal(t, bank.Digest, center.Digest)

	// Another center's cache, or a corrupt one, is not trusted.
	_, discarded = OpenCache(cdir, "other", "bankA")
	require.NoError(t, discarded, "another center's cache is another file")
	require.NoError(t, os.Rename(cache.path(), filepath.Join(cdir, fileName("cache", "other", "bankA", ".vpsk"))))
	other, discarded := OpenCache(cdir, "other", "bankA")
	require.ErrorIs(t, discarded, ErrCacheMismatch)
	require.Zero(t, other.Len())
	require.NoError(t, cache2.Save())
	b, err := os.ReadFile(cache2.path())
	require.NoError(t, err)
	b[100] ^= 1
	require.NoError(t, os.WriteFile(cache2.path(), b, 0o600))
	corrupt, discarded := OpenCache(cdir, "c", "bankA")
	require.ErrorIs(t, discarded, ErrCorruptFile)
	require.Zero(t, corrupt.Len())

	// A corrupt set file is rebuilt with a new epoch.
	p := store.path("bankA")
	b, err = os.ReadFile(p)
	require.NoError(t, err)
	b[len(b)/2] ^= 1
	require.NoError(t, os.WriteFile(p, b, 0o600))
	_, err = LoadCenterSet(p, "c", "bankA")
	require.ErrorIs(t, err, ErrCorruptFile)
	store3 := &CenterStore{Center: "c", Dir: store.Dir, Now: store.Now}
	rebuilt, err := store3.Set(ctx, "bankA", centerIDs)
	require.NoError(t, err)
	ep3, _, _, _, _ := rebuilt.Epoch()
	require.NotEqual(t, epA, ep3)
	_, err = LoadCenterSet(p, "c", "bankB")
	require.ErrorIs(t, err, ErrCacheMismatch, "another bank's set")

	// Scheduled rotation: a day later, bank B's epoch is new; the cache
	// then gets the whole set.
	now = now.Add(25 * time.Hour)
	rotB, err := store.Set(ctx, "bankB", centerIDs)
	require.NoError(t, err)
	epB2, _, _, _, created := rotB.Epoch()
	require.NotEqual(t, epB, epB2)
	require.Equal(t, now, created)
	cacheB := NewCache("c", "bankB")
	require.NoError(t, cacheB.Apply(ctx, setB.UpdateFor(nil)))
	require.True(t, rotB.UpdateFor(cacheB.State()).Full())

	// Rotation on demand.
	require.NoError(t, store.Rotate("bankB"))
	_, err = os.Stat(store.path("bankB"))
	require.True(t, errors.Is(err, os.ErrNotExist))
	rotB2, err := store.Set(ctx, "bankB", centerIDs)
	require.NoError(t, err)
	epB3, _, _, _, _ := rotB2.Epoch()
	require.NotEqual(t, epB2, epB3)
}
