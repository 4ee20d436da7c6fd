// Package align finds the customers both parties hold without revealing the
// others: it runs mpc/psi's ECDH private set intersection over an
// fl.Transport. Both parties learn the size of the intersection and which of
// their own rows are in it, in one common order; neither learns anything
// about the other's ids outside the intersection (DDH on ristretto255, ids
// hashed to the group). The two parties' results are confirmed equal by
// exchanging a digest of the common order, which reveals nothing new.
package align

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/veil-fl/veil/fl"
	"github.com/veil-fl/veil/mpc/psi"
)

// Message types.
const (
	TypeBlinded   = "psi.blinded"
	TypeReblinded = "psi.reblinded"
	TypeDigest    = "psi.digest"
)

// ErrDisagree is returned when the two parties' intersections differ.
var ErrDisagree = errors.New("align: the parties derived different intersections")

// Options bound what the peer may send.
type Options struct {
	// MaxPeerIDs refuses a peer that submits more ids (0: no bound). A
	// service sets it from the peer's quota: the intersection shows the peer
	// which of the ids it submits this party holds.
	MaxPeerIDs int
}

// ErrTooManyIDs is returned when the peer submits more ids than
// Options.MaxPeerIDs.
var ErrTooManyIDs = errors.New("align: the peer submitted more ids than allowed")

// Align runs the intersection of ids with the peer's and returns this party's
// rows in the common order (Result.Rows[i] of both parties is the same id).
// The order is that of the ids (byte-wise): both parties hold the ids of the
// intersection, so sorting by id gives both the same order without a
// message, and the same rows in the same order every session, so that a
// seeded split is the same every run and checkpoints resume. (PSI's own
// order, which Result.Digest covers, changes with every session's keys.)
func Align(ctx context.Context, t fl.Transport, ids []string) (*psi.Result, error) {
	return AlignWith(ctx, t, ids, Options{})
}

// AlignWith is Align with bounds on the peer.
func AlignWith(ctx context.Context, t fl.Transport, ids []string, o Options) (_ *psi.Result, err error) {
	defer fl.AbortOnError(ctx, t, &err)
	p, err := psi.NewParty(ids, rand.Reader)
	if err != nil {
		return nil, fail(ctx, t, err)
	}
	blinded, err := p.Blind(ctx)
	if err != nil {
		return nil, err
	}
	peerBlinded, err := swap(ctx, t, TypeBlinded, blinded)
	if err != nil {
		return nil, err
	}
	if o.MaxPeerIDs > 0 && peerBlinded.Len() > o.MaxPeerIDs {
		return nil, fail(ctx, t, fmt.Errorf("%w: %d ids, at most %d", ErrTooManyIDs, peerBlinded.Len(), o.MaxPeerIDs))
	}
	reblinded, err := p.Exchange(ctx, peerBlinded)
	if err != nil {
		return nil, fail(ctx, t, err)
	}
	peerReblinded, err := swap(ctx, t, TypeReblinded, reblinded)
	if err != nil {
		return nil, err
	}
	res, err := p.Finish(ctx, peerReblinded)
	if err != nil {
		return nil, fail(ctx, t, err)
	}
	peerDigest, err := swapBytes(ctx, t, TypeDigest, res.Digest[:])
	if err != nil {
		return nil, err
	}
	if string(peerDigest) != string(res.Digest[:]) {
		return nil, fail(ctx, t, ErrDisagree)
	}
	slices.SortFunc(res.Rows, func(a, b int) int { return strings.Compare(ids[a], ids[b]) })
	return res, nil
}

func swap(ctx context.Context, t fl.Transport, typ string, m *psi.Message) (*psi.Message, error) {
	b, err := m.MarshalBinary()
	if err != nil {
		return nil, err
	}
	got, err := swapBytes(ctx, t, typ, b)
	if err != nil {
		return nil, err
	}
	var peer psi.Message
	if err := peer.UnmarshalBinary(got); err != nil {
		return nil, fail(ctx, t, fmt.Errorf("align: %s from peer: %w", typ, err))
	}
	return &peer, nil
}

// swapBytes sends b and receives the peer's message of the same type concurrently.
func swapBytes(ctx context.Context, t fl.Transport, typ string, b []byte) ([]byte, error) {
	got, err := fl.Swap(ctx, t, fl.Message{Type: typ, Payload: b}, typ)
	if err != nil {
		return nil, fmt.Errorf("align: %w", err)
	}
	return got, nil
}

func fail(ctx context.Context, t fl.Transport, err error) error {
	_ = fl.Abort(ctx, t, err)
	return fmt.Errorf("align: %w", err)
}
