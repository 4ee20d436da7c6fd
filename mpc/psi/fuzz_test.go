package psi

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"slices"
	"testing"
)

func validMessage(f *testing.F, ids []string) []byte {
	p, err := NewParty(ids, seeded(1))
	if err != nil {
		f.Fatal(err)
	}
	m, err := p.Blind(context.Background())
	if err != nil {
		f.Fatal(err)
	}
	b, err := m.MarshalBinary()
	if err != nil {
		f.Fatal(err)
	}
	return b
}

// withHeader frames raw bytes as a message of the given kind with the point
// count they imply, so the fuzzer reaches point decoding.
func withHeader(kind Kind, points []byte) []byte {
	b := append([]byte(wireMagic), wireVersion, byte(kind), 0, 0)
	b = binary.BigEndian.AppendUint64(b, uint64(len(points)/PointSize))
	return append(b, points...)
}

func addPointSeeds(f *testing.F, good []byte) {
	f.Add(good[HeaderSize:])
	for _, bad := range badPoints {
		raw, _ := hex.DecodeString(bad)
		f.Add(append(slices.Clone(good[HeaderSize:HeaderSize+PointSize]), raw...))
	}
	f.Add([]byte{})
	f.Add(make([]byte, 40))
}

func FuzzUnmarshalBinary(f *testing.F) {
	good := validMessage(f, []string{"a", "b", "c"})
	f.Add(good)
	f.Add(good[:HeaderSize])
	f.Add(good[:len(good)-1])
	f.Add(withHeader(Reblinded, good[HeaderSize:]))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		var m Message
		if err := m.UnmarshalBinary(data); err != nil {
			return
		}
		again, err := m.MarshalBinary()
		if err != nil {
			t.Fatalf("decoded message does not encode: %v", err)
		}
		if !slices.Equal(again, data) {
			t.Fatalf("round trip changed the message")
		}
	})
}

// FuzzExchange feeds arbitrary points to Exchange, which decodes them.
func FuzzExchange(f *testing.F) {
	addPointSeeds(f, validMessage(f, []string{"a", "b", "c"}))
	f.Fuzz(func(t *testing.T, points []byte) {
		var m Message
		if err := m.UnmarshalBinary(withHeader(Blinded, points)); err != nil {
			return
		}
		p, err := NewParty([]string{"x"}, seeded(2))
		if err != nil {
			t.Fatal(err)
		}
		out, err := p.Exchange(context.Background(), &m)
		if err == nil && out.Len() != m.Len() {
			t.Fatalf("Exchange returned %d points for %d", out.Len(), m.Len())
		}
	})
}

// FuzzFinish feeds arbitrary points to Finish, which decodes and matches them.
func FuzzFinish(f *testing.F) {
	ids := []string{"a", "b", "c"}
	addPointSeeds(f, validMessage(f, ids))
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, points []byte) {
		var m Message
		if err := m.UnmarshalBinary(withHeader(Reblinded, points)); err != nil {
			return
		}
		a, err := NewParty(ids, seeded(3))
		if err != nil {
			t.Fatal(err)
		}
		peer, err := NewParty([]string{"b", "d"}, seeded(4))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.Blind(ctx); err != nil {
			t.Fatal(err)
		}
		p1, err := peer.Blind(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.Exchange(ctx, p1); err != nil {
			t.Fatal(err)
		}
		res, err := a.Finish(ctx, &m)
		if err == nil && (len(res.Rows) == 0 || len(res.Rows) > len(ids)) {
			t.Fatalf("Finish returned %d rows", len(res.Rows))
		}
	})
}
