package psi

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"slices"

	"github.com/gtank/ristretto255"
)

var (
	// ErrEmptySet means a party has no ids.
	ErrEmptySet = errors.New("psi: empty id set")
	// ErrEmptyID means an id is the empty string; the error names its row.
	ErrEmptyID = errors.New("psi: empty id")
	// ErrDuplicateID means an id appears twice; the error names both rows
	// but not the id (the caller holds it at either row): a protocol's
	// errors may reach the peer, and ids are private.
	ErrDuplicateID = errors.New("psi: duplicate id")
	// ErrEmptyIntersection means the parties share no id. Both parties get it.
	ErrEmptyIntersection = errors.New("psi: empty intersection")
	// ErrMalformedMessage means a peer's message is truncated, has the wrong
	// kind or number of points, or holds bytes that are not a valid
	// ristretto255 point; the error says which.
	ErrMalformedMessage = errors.New("psi: malformed message")
)

// Party is one side of the protocol. Call [Party.Blind] and
// [Party.Exchange] (in either order) and then [Party.Finish], each once. A
// Party is not safe for concurrent use; its methods use all cores themselves.
type Party struct {
	ids  []string // nil once blinded
	key  *ristretto255.Scalar
	perm []int32 // perm[j] is the row whose point went out in position j

	blinded, exchanged, finished bool
	// peer holds the peer's ids under both keys, as computed by Exchange.
	peer map[[PointSize]byte]struct{}
}

// NewParty checks ids (non-empty, distinct) and returns a Party for them,
// with a fresh secret key and a secret sending order drawn from rng (nil means
// crypto/rand; tests may pass a seeded source). ids is read by
// [Party.Blind] and must not change before.
func NewParty(ids []string, rng io.Reader) (*Party, error) {
	if len(ids) == 0 {
		return nil, ErrEmptySet
	}
	if len(ids) > maxPoints {
		return nil, fmt.Errorf("psi: %d ids, more than the limit of %d", len(ids), maxPoints)
	}
	seen := make(map[string]int, len(ids))
	for i, id := range ids {
		if id == "" {
			return nil, fmt.Errorf("%w at row %d", ErrEmptyID, i)
		}
		if j, ok := seen[id]; ok {
			return nil, fmt.Errorf("%w at rows %d and %d", ErrDuplicateID, j, i)
		}
		seen[id] = i
	}

	if rng == nil {
		rng = rand.Reader
	}
	var seed [64 + 32]byte // key material, then the shuffle's seed
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
	return &Party{ids: ids, key: key, perm: perm}, nil
}

// Blind computes H(x)^k for each id x, in the party's secret order, for the
// peer's [Party.Exchange].
func (p *Party) Blind(ctx context.Context) (*Message, error) {
	if p.blinded {
		return nil, errors.New("psi: Blind called twice")
	}
	pts := make([]byte, len(p.perm)*PointSize)
	err := parallel(ctx, len(p.perm), func(s *scratch, lo, hi int) error {
		for j := lo; j < hi; j++ {
			hashToElement(&s.a, p.ids[p.perm[j]])
			s.b.ScalarMult(p.key, &s.a)
			s.b.Encode(pts[j*PointSize : j*PointSize : (j+1)*PointSize])
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	p.ids, p.blinded = nil, true
	return &Message{kind: Blinded, points: pts}, nil
}

// Exchange raises each point of the peer's [Blinded] message to this
// party's key and returns them in the same order, for the peer's
// [Party.Finish]. It keeps the results to find the intersection in Finish.
func (p *Party) Exchange(ctx context.Context, peer *Message) (*Message, error) {
	if p.exchanged {
		return nil, errors.New("psi: Exchange called twice")
	}
	if peer == nil || peer.kind != Blinded {
		return nil, fmt.Errorf("%w: Exchange wants a %v message, got %v", ErrMalformedMessage, Blinded, kindOf(peer))
	}
	n := peer.Len()
	out := make([]byte, n*PointSize)
	err := parallel(ctx, n, func(s *scratch, lo, hi int) error {
		for j := lo; j < hi; j++ {
			if err := decodePoint(&s.a, peer.point(j)); err != nil {
				return fmt.Errorf("%w: point %d of the peer's blinded set: %v", ErrMalformedMessage, j, err)
			}
			s.b.ScalarMult(p.key, &s.a)
			s.b.Encode(out[j*PointSize : j*PointSize : (j+1)*PointSize])
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	set := make(map[[PointSize]byte]struct{}, n)
	for j := range n {
		set[[PointSize]byte(out[j*PointSize:])] = struct{}{}
	}
	if len(set) != n {
		return nil, fmt.Errorf("%w: the peer's blinded set repeats a point", ErrMalformedMessage)
	}
	p.peer, p.exchanged = set, true
	return &Message{kind: Reblinded, points: out}, nil
}

// Result is a party's view of the intersection.
type Result struct {
	// Rows holds this party's rows (indices into the ids given to NewParty)
	// whose ids the peer also holds, in the order both parties derive: Rows[i]
	// of party A and Rows[i] of party B refer to the same id.
	Rows []int
	// Digest is the same for both parties when they agree on the intersection
	// and its order. Comparing Digests tells neither party anything new.
	Digest [32]byte
}

// Finish takes the peer's [Reblinded] message (this party's points raised to
// both keys, in this party's order) and returns the intersection. It returns
// [ErrEmptyIntersection] if the parties share no id. Finish wipes the key.
func (p *Party) Finish(ctx context.Context, peer *Message) (*Result, error) {
	switch {
	case p.finished:
		return nil, errors.New("psi: Finish called twice")
	case !p.blinded:
		return nil, errors.New("psi: Finish called before Blind")
	case !p.exchanged:
		return nil, errors.New("psi: Finish called before Exchange")
	}
	if peer == nil || peer.kind != Reblinded {
		return nil, fmt.Errorf("%w: Finish wants a %v message, got %v", ErrMalformedMessage, Reblinded, kindOf(peer))
	}
	n := len(p.perm)
	if peer.Len() != n {
		return nil, fmt.Errorf("%w: the peer's reblinded set has %d points, want %d (one per id this party blinded)",
			ErrMalformedMessage, peer.Len(), n)
	}
	// A point that matches equals a valid encoding computed here. The others
	// must be decoded: an invalid one would silently never match, and a
	// broken peer would pass for a small intersection.
	matched := make([]bool, n)
	err := parallel(ctx, n, func(s *scratch, lo, hi int) error {
		for j := lo; j < hi; j++ {
			if _, ok := p.peer[[PointSize]byte(peer.point(j))]; ok {
				matched[j] = true
			} else if err := decodePoint(&s.a, peer.point(j)); err != nil {
				return fmt.Errorf("%w: point %d of the peer's reblinded set: %v", ErrMalformedMessage, j, err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}

	type match struct {
		key [PointSize]byte
		row int32
	}
	var matches []match
	for j, ok := range matched {
		if ok {
			matches = append(matches, match{[PointSize]byte(peer.point(j)), p.perm[j]})
		}
	}
	p.finished, p.peer = true, nil
	p.key.Zero()
	if len(matches) == 0 {
		return nil, ErrEmptyIntersection
	}
	slices.SortFunc(matches, func(a, b match) int { return bytes.Compare(a.key[:], b.key[:]) })

	res := &Result{Rows: make([]int, len(matches))}
	h := sha256.New()
	h.Write([]byte("veil psi v1 intersection\x00"))
	for i, m := range matches {
		if i > 0 && m.key == matches[i-1].key {
			return nil, fmt.Errorf("%w: the peer's reblinded set repeats a point", ErrMalformedMessage)
		}
		res.Rows[i] = int(m.row)
		h.Write(m.key[:])
	}
	h.Sum(res.Digest[:0])
	return res, nil
}

func kindOf(m *Message) string {
	if m == nil {
		return "nil"
	}
	return m.kind.String()
}
