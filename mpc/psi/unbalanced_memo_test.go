package psi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// askSession runs one unbalanced session the way fl/align does: the cache
// catches up, the bank asks only for the ids its memo lacks, the center
// answers those (if any) and matches the slots.
func askSession(t testing.TB, set *CenterSet, cache *Cache, bankIDs []string, seed uint64) (bank *Match, center *Result, asked int, err error) {
	t.Helper()
	ctx := context.Background()
	require.NoError(t, cache.Apply(ctx, wireUpdate(t, set.UpdateFor(wireState(t, cache.State())))))
	q, err := NewQuery(bankIDs, seeded(seed))
	require.NoError(t, err)
	a, err := q.Ask(ctx, cache)
	require.NoError(t, err)
	b, err := a.MarshalBinary()
	require.NoError(t, err)
	var got Ask
	require.NoError(t, got.UnmarshalBinary(b))
	require.Equal(t, len(bankIDs), got.IDs())
	var reply *Message
	if got.Len() > 0 {
		r, err := set.Reblind(ctx, got.Blinded())
		require.NoError(t, err)
		reply = wire(t, r)
	}
	bank, err = q.Finish(ctx, reply, cache)
	if err != nil {
		return nil, nil, got.Len(), err
	}
	require.Equal(t, got.Len(), bank.Asked)
	center, err = set.Match(wireSlots(t, bank.Slots), got.IDs())
	require.NoError(t, err)
	return bank, center, got.Len(), nil
}

// matchedIDs lists the ids of a session's matched rows, in its order.
func matchedIDs(ids []string, rows []int) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = ids[r]
	}
	return out
}

// TestMemo: within an epoch a later session asks the center only for the
// ids the bank has not asked before, and finds exactly the intersection a
// session without the memo finds (the same rows, order and digest at both
// parties), also after the center's set changed (an id the bank asked
// about earlier and the center added since is found without asking
// again); a new epoch drops the memo and the bank asks for every id.
func TestMemo(t *testing.T) {
	ctx := context.Background()
	bankIDs, centerIDs, _ := makeSets(200, 600, 80, 7)
	set, err := NewCenterSet(ctx, "c", "b", centerIDs, epoch0, seeded(1))
	require.NoError(t, err)
	cache := NewCache("c", "b")

	first, firstC, asked, err := askSession(t, set, cache, bankIDs, 2)
	require.NoError(t, err)
	require.Equal(t, len(bankIDs), asked, "the first session asks every id")
	require.Equal(t, len(bankIDs), cache.Remembered())

	later, laterC, asked, err := askSession(t, set, cache, bankIDs, 3)
	require.NoError(t, err)
	require.Zero(t, asked, "a later session with the same ids asks nothing")
	require.Equal(t, first.Rows, later.Rows)
	require.Equal(t, firstC.Rows, laterC.Rows)
	require.Equal(t, first.Digest, later.Digest)
	require.Equal(t, laterC.Digest, later.Digest)

	// 10% of the bank's ids new (half of them the center's): only those
	// are asked; the result is the one a fresh cache (no memo) gets.
	inBank := map[string]bool{}
	for _, id := range bankIDs {
		inBank[id] = true
	}
	var centerOnly []string
	for _, id := range centerIDs {
		if !inBank[id] {
			centerOnly = append(centerOnly, id)
		}
	}
	moved := append([]string(nil), bankIDs...)
	for i := range 20 {
		moved[i] = fmt.Sprintf("new-%d", i)
		if i%2 == 0 {
			moved[i] = centerOnly[i]
		}
	}
	m, mc, asked, err := askSession(t, set, cache, moved, 4)
	require.NoError(t, err)
	require.Equal(t, 20, asked)
	require.Equal(t, len(bankIDs)+20, cache.Remembered())
	fresh := NewCache("c", "b")
	f, fc, asked, err := askSession(t, set, fresh, moved, 5)
	require.NoError(t, err)
	require.Equal(t, len(moved), asked)
	require.Equal(t, f.Rows, m.Rows)
	require.Equal(t, fc.Rows, mc.Rows)
	require.Equal(t, f.Digest, m.Digest)

	// The center adds ids the bank asked about in the first session (and
	// did not hold then) and drops one it held: found, and lost, without
	// asking.
	var notHeld []string
	in := map[string]bool{}
	for _, id := range centerIDs {
		in[id] = true
	}
	for _, id := range bankIDs {
		if !in[id] {
			notHeld = append(notHeld, id)
		}
	}
	grown := append(append([]string(nil), centerIDs[1:]...), notHeld[:5]...)
	_, err = set.Sync(ctx, grown)
	require.NoError(t, err)
	g, gc, asked, err := askSession(t, set, cache, bankIDs, 6)
	require.NoError(t, err)
	require.Zero(t, asked)
	got := matchedIDs(bankIDs, g.Rows)
	require.Equal(t, got, matchedIDs(grown, gc.Rows))
	require.Subset(t, got, notHeld[:5])
	want := NewCache("c", "b")
	w, _, _, err := askSession(t, set, want, bankIDs, 7)
	require.NoError(t, err)
	require.Equal(t, w.Rows, g.Rows)
	require.Equal(t, w.Digest, g.Digest)

	// A new epoch: a fresh key; the memo goes with the old one.
	rot, err := set.Rotate(ctx, epoch0, seeded(9))
	require.NoError(t, err)
	r, rc, asked, err := askSession(t, rot, cache, bankIDs, 8)
	require.NoError(t, err)
	require.Equal(t, len(bankIDs), asked, "a new epoch asks every id again")
	require.Equal(t, len(bankIDs), cache.Remembered())
	require.ElementsMatch(t, got, matchedIDs(bankIDs, r.Rows))
	require.Equal(t, r.Digest, rc.Digest)
}

// TestMemoAcrossEpochsWeak shows what dropping the memo guards against: the
// old epoch's answers, kept, match nothing of the new epoch's set (the
// bank would find an empty intersection and the center learn nothing
// right), so a whole set must drop them.
func TestMemoAcrossEpochsWeak(t *testing.T) {
	ctx := context.Background()
	bankIDs, centerIDs, _ := makeSets(50, 100, 30, 3)
	set, err := NewCenterSet(ctx, "c", "b", centerIDs, epoch0, seeded(1))
	require.NoError(t, err)
	cache := NewCache("c", "b")
	_, _, _, err = askSession(t, set, cache, bankIDs, 2)
	require.NoError(t, err)
	old := cache.memo
	rot, err := set.Rotate(ctx, epoch0, seeded(4))
	require.NoError(t, err)
	require.NoError(t, cache.Apply(ctx, rot.UpdateFor(cache.State())))
	require.Zero(t, cache.Remembered(), "a whole set drops the memo")
	// The weak variant: the old answers kept.
	cache.memo = old
	q, err := NewQuery(bankIDs, seeded(5))
	require.NoError(t, err)
	a, err := q.Ask(ctx, cache)
	require.NoError(t, err)
	require.Zero(t, a.Len())
	_, err = q.Finish(ctx, nil, cache)
	require.ErrorIs(t, err, ErrEmptyIntersection, "stale answers find none of the 30 shared ids")
}

// TestMemoStored: the memo is saved with the cache and loaded with it
// (a later session after a restart asks nothing), and a stored cache of
// version 1 (no memo) still loads; a changed byte discards the file.
func TestMemoStored(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	bankIDs, centerIDs, _ := makeSets(40, 90, 20, 5)
	set, err := NewCenterSet(ctx, "c", "b", centerIDs, epoch0, seeded(1))
	require.NoError(t, err)
	cache, discarded := OpenCache(dir, "c", "b")
	require.NoError(t, discarded)
	first, _, _, err := askSession(t, set, cache, bankIDs, 2)
	require.NoError(t, err)
	require.True(t, cache.Changed())
	require.NoError(t, cache.Save())
	require.False(t, cache.Changed())

	again, discarded := OpenCache(dir, "c", "b")
	require.NoError(t, discarded)
	require.Equal(t, len(bankIDs), again.Remembered())
	later, _, asked, err := askSession(t, set, again, bankIDs, 3)
	require.NoError(t, err)
	require.Zero(t, asked)
	require.Equal(t, first.Rows, later.Rows)
	require.Equal(t, first.Digest, later.Digest)

	// Version 1: the same file without the memo.
	files, _ := filepath.Glob(filepath.Join(dir, "cache-*"))
	require.Len(t, files, 1)
	body, err := readFile(files[0])
	require.NoError(t, err)
	v1 := bytes.Clone(body[:len(body)-8-len(bankIDs)*64])
	v1[4] = 1
	require.NoError(t, writeFile(files[0], v1))
	old, discarded := OpenCache(dir, "c", "b")
	require.NoError(t, discarded)
	require.Zero(t, old.Remembered())
	require.Equal(t, cache.State(), old.State())

	// A flipped byte in the memo fails the integrity check.
	require.NoError(t, again.Save())
	raw, err := os.ReadFile(files[0])
	require.NoError(t, err)
	raw[len(raw)-40] ^= 1
	require.NoError(t, os.WriteFile(files[0], raw, 0o600))
	bad, discarded := OpenCache(dir, "c", "b")
	require.ErrorIs(t, discarded, ErrCorruptFile)
	require.Zero(t, bad.Remembered())
	require.Zero(t, bad.Len())
}

// TestAskHostile: the center refuses malformed asks by their encoding.
func TestAskHostile(t *testing.T) {
	ctx := context.Background()
	bankIDs, centerIDs, _ := makeSets(10, 20, 5, 1)
	set, err := NewCenterSet(ctx, "c", "b", centerIDs, epoch0, seeded(1))
	require.NoError(t, err)
	cache := NewCache("c", "b")
	require.NoError(t, cache.Apply(ctx, set.UpdateFor(cache.State())))
	q, err := NewQuery(bankIDs, seeded(2))
	require.NoError(t, err)
	a, err := q.Ask(ctx, cache)
	require.NoError(t, err)
	good, err := a.MarshalBinary()
	require.NoError(t, err)
	mutate := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(good)) }
	for name, b := range map[string][]byte{
		"empty":     nil,
		"truncated": good[:len(good)-1],
		"header":    good[:20],
		"oversized": append(bytes.Clone(good), make([]byte, PointSize)...),
		"magic":     mutate(func(b []byte) []byte { b[0] = 'X'; return b }),
		"version":   mutate(func(b []byte) []byte { b[4] = 9; return b }),
		"reserved":  mutate(func(b []byte) []byte { b[7] = 1; return b }),
		"no ids":    mutate(func(b []byte) []byte { clear(b[8:16]); return b }),
		"more points than ids": mutate(func(b []byte) []byte {
			b[15] = byte(len(bankIDs) - 1)
			return b
		}),
		"huge count": mutate(func(b []byte) []byte { b[16] = 0xff; return b }),
	} {
		var got Ask
		err := got.UnmarshalBinary(b)
		require.ErrorIs(t, err, ErrMalformedMessage, name)
	}
	// Valid encodings whose points are not: the identity, a repeat.
	for name, f := range map[string]func(b []byte){
		"identity":  func(b []byte) { clear(b[askHeaderLen : askHeaderLen+PointSize]) },
		"duplicate": func(b []byte) { copy(b[askHeaderLen+PointSize:], b[askHeaderLen:askHeaderLen+PointSize]) },
		"invalid":   func(b []byte) { b[askHeaderLen] = 0xff },
	} {
		b := bytes.Clone(good)
		f(b)
		var got Ask
		require.NoError(t, got.UnmarshalBinary(b), name)
		_, err := set.Reblind(ctx, got.Blinded())
		require.ErrorIs(t, err, ErrMalformedMessage, name)
	}
	// Finish refuses a reply when nothing was asked, and a missing one
	// when something was.
	_, err = q.Finish(ctx, nil, cache)
	require.ErrorIs(t, err, ErrMalformedMessage)
	if errors.Is(err, ErrEmptyIntersection) {
		t.Fatal("a missing reply is not an empty intersection")
	}
}

// FuzzAsk: the Ask decoder never panics, every error wraps
// ErrMalformedMessage, and what it accepts re-encodes to the same bytes.
func FuzzAsk(f *testing.F) {
	set, cache := fuzzSet(f)
	_ = set
	q, _ := NewQuery([]string{"a", "b", "c"}, seeded(1))
	a, err := q.Ask(context.Background(), cache)
	if err != nil {
		f.Fatal(err)
	}
	good, _ := a.MarshalBinary()
	f.Add(good)
	f.Add(good[:24])
	none, _ := (&Ask{ids: 5}).MarshalBinary()
	f.Add(none)
	f.Fuzz(func(t *testing.T, b []byte) {
		var a Ask
		if err := a.UnmarshalBinary(b); err != nil {
			if !errors.Is(err, ErrMalformedMessage) {
				t.Fatalf("error does not wrap ErrMalformedMessage: %v", err)
			}
			return
		}
		again, err := a.MarshalBinary()
		if err != nil || !bytes.Equal(again, b) {
			t.Fatalf("re-encoding differs: %v", err)
		}
	})
}
