package psi

import (
	"context"
	"errors"
	"testing"
)

// FuzzKKRTMessage: any bytes either decode to a message that encodes back
// to the same bytes or are refused with ErrMalformedMessage.
func FuzzKKRTMessage(f *testing.F) {
	idsS, idsR := hostileSets()
	_, _, msgs := kkrtUpTo(f, idsS, idsR, 6)
	for _, m := range msgs {
		if m.kind == KKRTCodes {
			continue // 350 KB: too big a seed
		}
		b, err := m.MarshalBinary()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add(withKKRTHeader(KKRTMatches, make([]byte, 12)))
	f.Fuzz(func(t *testing.T, data []byte) {
		var m KKRTMessage
		if err := m.UnmarshalBinary(data); err != nil {
			if !errors.Is(err, ErrMalformedMessage) {
				t.Fatalf("error without ErrMalformedMessage: %v", err)
			}
			return
		}
		b, err := m.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != string(data) {
			t.Fatal("the round trip changed the message")
		}
	})
}

// FuzzKKRTHello feeds a fresh receiver's Setup a fuzzed hello body.
func FuzzKKRTHello(f *testing.F) {
	idsS, idsR := hostileSets()
	_, _, msgs := kkrtUpTo(f, idsS, idsR, 1)
	f.Add(msgs[0].body)
	f.Add(msgs[0].body[:100])
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := NewKKRTReceiver(idsR, seeded(3))
		if err != nil {
			t.Fatal(err)
		}
		_, err = r.Setup(context.Background(), &KKRTMessage{kind: KKRTHello, body: body})
		if err != nil && !errors.Is(err, ErrMalformedMessage) {
			t.Fatalf("error without ErrMalformedMessage: %v", err)
		}
	})
}

// FuzzKKRTEncoded feeds a receiver that has sent its codes a fuzzed
// KKRTEncoded body: refused, or matches of distinct rows and positions.
func FuzzKKRTEncoded(f *testing.F) {
	idsS, idsR := hostileSets()
	_, r, msgs := kkrtUpTo(f, idsS, idsR, 5)
	f.Add(msgs[4].body)
	f.Add(msgs[4].body[:len(msgs[4].body)-1])
	f.Fuzz(func(t *testing.T, body []byte) {
		rc := *r // Match reads the shared value map and sets fields of its copy only
		m, err := rc.Match(context.Background(), &KKRTMessage{kind: KKRTEncoded, body: body})
		if err != nil {
			if !errors.Is(err, ErrMalformedMessage) {
				t.Fatalf("error without ErrMalformedMessage: %v", err)
			}
			return
		}
		pos, err := readMatches(m.body, len(idsS), len(idsR))
		if err != nil {
			t.Fatalf("the receiver's own matches: %v", err)
		}
		rows := map[int]bool{}
		for _, row := range rc.res.Rows {
			if rows[row] || row < 0 || row >= len(idsR) {
				t.Fatalf("row %d twice or out of range", row)
			}
			rows[row] = true
		}
		if len(pos) != len(rows) {
			t.Fatalf("%d positions for %d rows", len(pos), len(rows))
		}
	})
}

// FuzzKKRTMatches feeds a sender that has sent its values a fuzzed
// KKRTMatches body: refused, or distinct rows in range.
func FuzzKKRTMatches(f *testing.F) {
	idsS, idsR := hostileSets()
	s, _, msgs := kkrtUpTo(f, idsS, idsR, 6)
	f.Add(msgs[5].body)
	f.Add(msgs[5].body[:12])
	f.Fuzz(func(t *testing.T, body []byte) {
		sc := *s
		var m KKRTMessage
		if err := m.UnmarshalBinary(withKKRTHeader(KKRTMatches, body)); err != nil {
			return
		}
		res, err := sc.Finish(context.Background(), &m)
		if err != nil {
			if !errors.Is(err, ErrMalformedMessage) && !errors.Is(err, ErrEmptyIntersection) {
				t.Fatalf("unexpected error: %v", err)
			}
			return
		}
		rows := map[int]bool{}
		for _, row := range res.Rows {
			if rows[row] || row < 0 || row >= len(idsS) {
				t.Fatalf("row %d twice or out of range", row)
			}
			rows[row] = true
		}
	})
}
