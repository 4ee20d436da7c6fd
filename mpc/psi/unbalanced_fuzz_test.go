package psi

import (
	"bytes"
	"context"
	"errors"
	"testing"
)

func fuzzSet(f *testing.F) (*CenterSet, *Cache) {
	ctx := context.Background()
	set, err := NewCenterSet(ctx, "c", "b", []string{"a", "b", "c", "d", "e"}, epoch0, seeded(1))
	if err != nil {
		f.Fatal(err)
	}
	cache := NewCache("c", "b")
	if err := cache.Apply(ctx, set.UpdateFor(nil)); err != nil {
		f.Fatal(err)
	}
	if _, err := set.Sync(ctx, []string{"b", "c", "d", "e", "f", "g"}); err != nil {
		f.Fatal(err)
	}
	return set, cache
}

// FuzzUpdate: any bytes either fail to decode with ErrMalformedMessage or
// decode to an update that re-encodes to the same bytes; applying it to an
// empty and to a filled cache never panics and, on error, changes nothing.
func FuzzUpdate(f *testing.F) {
	set, cache := fuzzSet(f)
	full, _ := set.UpdateFor(nil).MarshalBinary()
	delta, _ := set.UpdateFor(cache.State()).MarshalBinary()
	f.Add(full)
	f.Add(delta)
	f.Add(full[:updateHeaderLen])
	f.Add(delta[:len(delta)-1])
	f.Fuzz(func(t *testing.T, b []byte) {
		var u Update
		if err := u.UnmarshalBinary(b); err != nil {
			if !errors.Is(err, ErrMalformedMessage) {
				t.Fatalf("error does not wrap ErrMalformedMessage: %v", err)
			}
			return
		}
		again, err := u.MarshalBinary()
		if err != nil || !bytes.Equal(again, b) {
			t.Fatalf("re-encoding differs (%v)", err)
		}
		for _, c := range []*Cache{NewCache("c", "b"), cloneCache(cache)} {
			before := *c.State()
			if err := c.Apply(context.Background(), &u); err != nil && *c.State() != before {
				t.Fatalf("a refused update changed the cache: %v", err)
			}
		}
	})
}

func cloneCache(c *Cache) *Cache {
	d := *c
	d.slots = bytes.Clone(c.slots)
	d.index = make(map[[PointSize]byte]uint32, len(c.index))
	for k, v := range c.index {
		d.index[k] = v
	}
	return &d
}

// FuzzSlotList: decoding and matching arbitrary slot lists never panics.
func FuzzSlotList(f *testing.F) {
	set, _ := fuzzSet(f)
	good, _ := (&SlotList{pos: []uint32{0, 2, 3}}).MarshalBinary()
	f.Add(good)
	f.Add(good[:slotsHeaderLen])
	f.Add(good[:len(good)-1])
	f.Fuzz(func(t *testing.T, b []byte) {
		var l SlotList
		if err := l.UnmarshalBinary(b); err != nil {
			if !errors.Is(err, ErrMalformedMessage) {
				t.Fatalf("error does not wrap ErrMalformedMessage: %v", err)
			}
			return
		}
		again, _ := l.MarshalBinary()
		if !bytes.Equal(again, b) {
			t.Fatal("re-encoding differs")
		}
		res, err := set.Match(&l, 4)
		if err == nil && len(res.Rows) != l.Len() {
			t.Fatalf("%d rows for %d slots", len(res.Rows), l.Len())
		}
	})
}

// FuzzCacheState: the decoder refuses with ErrMalformedMessage or
// round-trips.
func FuzzCacheState(f *testing.F) {
	_, cache := fuzzSet(f)
	good, _ := cache.State().MarshalBinary()
	empty, _ := (&CacheState{}).MarshalBinary()
	f.Add(good)
	f.Add(empty)
	f.Add(good[:40])
	f.Fuzz(func(t *testing.T, b []byte) {
		var st CacheState
		if err := st.UnmarshalBinary(b); err != nil {
			if !errors.Is(err, ErrMalformedMessage) {
				t.Fatalf("error does not wrap ErrMalformedMessage: %v", err)
			}
			return
		}
		again, _ := st.MarshalBinary()
		if !bytes.Equal(again, b) {
			t.Fatal("re-encoding differs")
		}
	})
}

// FuzzStoredFiles: the parsers of a stored set and a stored cache (the
// part after the integrity check) never panic on any bytes.
func FuzzStoredFiles(f *testing.F) {
	set, cache := fuzzSet(f)
	f.Add(set.marshal())
	cache.file = f.TempDir() + "/cache"
	if err := cache.Save(); err != nil {
		f.Fatal(err)
	}
	body, err := readFile(cache.path())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(body)
	f.Add(body[:20])
	f.Fuzz(func(t *testing.T, b []byte) {
		if s, err := unmarshalCenterSet(b, "c", "b"); err == nil {
			if _, err := s.Sync(context.Background(), []string{"a"}); err != nil {
				t.Fatal(err)
			}
		}
		c := NewCache("c", "b")
		if err := c.unmarshal(b); err == nil && c.Len() == 0 && c.version != 0 {
			t.Fatal("an empty cache with a version")
		}
	})
}
