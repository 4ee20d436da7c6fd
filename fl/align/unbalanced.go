package align

import (
	"context"
	"crypto/rand"
	"encoding"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/veil-fl/veil/fl"
	"github.com/veil-fl/veil/mpc/psi"
)

// alignCenter is the center's side of the unbalanced mode.
func alignCenter(ctx context.Context, t fl.Transport, ids []string, o Options, progress func(int)) (*psi.Result, error) {
	set := o.Center
	if _, err := set.Sync(ctx, ids); err != nil {
		if errors.Is(err, psi.ErrEmptySet) || errors.Is(err, psi.ErrEmptyID) || errors.Is(err, psi.ErrDuplicateID) {
			return nil, failOwnIDs(ctx, t, err)
		}
		return nil, err
	}
	progress(1)
	var st psi.CacheState
	if err := recvBinary(ctx, t, TypeCacheState, &st); err != nil {
		return nil, err
	}
	if err := sendBinary(ctx, t, TypeUpdate, set.UpdateFor(&st)); err != nil {
		return nil, err
	}
	var ask psi.Ask
	if err := recvBinary(ctx, t, TypeQuery, &ask); err != nil {
		return nil, err
	}
	if o.MaxPeerIDs > 0 && ask.IDs() > o.MaxPeerIDs {
		return nil, fl.Fail(ctx, t, fmt.Errorf("%w: %d ids, at most %d", ErrTooManyIDs, ask.IDs(), o.MaxPeerIDs))
	}
	// Ids whose answers the bank remembers from earlier sessions of the
	// epoch are not asked again: no reply when none is new.
	if ask.Len() > 0 {
		reply, err := set.Reblind(ctx, ask.Blinded())
		if err != nil {
			return nil, fl.Fail(ctx, t, peerFault(err))
		}
		if err := sendBinary(ctx, t, TypeReply, reply); err != nil {
			return nil, err
		}
	}
	progress(2)
	var slots psi.SlotList
	if err := recvBinary(ctx, t, TypeSlots, &slots); err != nil {
		return nil, err
	}
	res, err := set.Match(&slots, ask.IDs())
	if err != nil {
		return nil, fl.Fail(ctx, t, peerFault(err))
	}
	sortByID(res.Rows, ids)
	if o.BeforeReveal != nil {
		if err := o.BeforeReveal(slices.Clone(res.Rows)); err != nil {
			return nil, fl.Fail(ctx, t, fmt.Errorf("align: %w", err))
		}
	}
	return confirm(ctx, t, res, progress)
}

// alignBank is the bank's side of the unbalanced mode.
func alignBank(ctx context.Context, t fl.Transport, ids []string, o Options, progress func(int)) (*psi.Result, error) {
	q, err := psi.NewQuery(ids, rand.Reader)
	if err != nil {
		return nil, failOwnIDs(ctx, t, err)
	}
	if err := sendBinary(ctx, t, TypeCacheState, o.Cache.State()); err != nil {
		return nil, err
	}
	var u psi.Update
	if err := recvBinary(ctx, t, TypeUpdate, &u); err != nil {
		return nil, err
	}
	if err := o.Cache.Apply(ctx, &u); err != nil {
		return nil, fl.Fail(ctx, t, fmt.Errorf("%w: %s from peer: %w", ErrProtocol, TypeUpdate, err))
	}
	// Only the ids whose answers the cache does not remember for the epoch
	// are blinded and sent.
	ask, err := q.Ask(ctx, o.Cache)
	if err != nil {
		return nil, err
	}
	progress(1)
	if err := sendBinary(ctx, t, TypeQuery, ask); err != nil {
		return nil, err
	}
	var reply *psi.Message
	if ask.Len() > 0 {
		reply = new(psi.Message)
		if err := recvBinary(ctx, t, TypeReply, reply); err != nil {
			return nil, err
		}
	}
	m, err := q.Finish(ctx, reply, o.Cache)
	if err == nil || errors.Is(err, psi.ErrEmptyIntersection) {
		if u.Len() > 0 || u.Removed() > 0 || o.Cache.Changed() {
			if err := o.Cache.Save(); err != nil {
				return nil, &localError{err: fmt.Errorf("align: saving the cache: %w", err),
					told: fl.Fail(ctx, t, errors.New("align: the peer cannot keep its cache"))}
			}
		}
	}
	if errors.Is(err, psi.ErrEmptyIntersection) {
		// The center learns it from the empty list, as the balanced mode's
		// peer does from its own Finish.
		if err := sendBinary(ctx, t, TypeSlots, &psi.SlotList{}); err != nil {
			return nil, err
		}
	}
	if err != nil {
		return nil, fl.Fail(ctx, t, peerFault(err))
	}
	progress(2)
	if err := sendBinary(ctx, t, TypeSlots, m.Slots); err != nil {
		return nil, err
	}
	res := &m.Result
	sortByID(res.Rows, ids)
	return confirm(ctx, t, res, progress)
}

// confirm exchanges the digests and compares them.
func confirm(ctx context.Context, t fl.Transport, res *psi.Result, progress func(int)) (*psi.Result, error) {
	peerDigest, err := swapBytes(ctx, t, TypeDigest, res.Digest[:])
	if err != nil {
		return nil, err
	}
	if string(peerDigest) != string(res.Digest[:]) {
		return nil, fl.Fail(ctx, t, ErrDisagree)
	}
	progress(Phases)
	return res, nil
}

// sortByID puts rows in the common order: by id.
func sortByID(rows []int, ids []string) {
	slices.SortFunc(rows, func(a, b int) int { return strings.Compare(ids[a], ids[b]) })
}

func sendBinary(ctx context.Context, t fl.Transport, typ string, m encoding.BinaryMarshaler) error {
	b, err := m.MarshalBinary()
	if err != nil {
		return err
	}
	if err := t.Send(ctx, fl.Message{Type: typ, Payload: b}); err != nil {
		return fmt.Errorf("align: %w", err)
	}
	return nil
}

func recvBinary(ctx context.Context, t fl.Transport, typ string, v encoding.BinaryUnmarshaler) error {
	b, err := fl.Expect(ctx, t, typ)
	if err != nil {
		return fmt.Errorf("align: %w", err)
	}
	if err := v.UnmarshalBinary(b); err != nil {
		return fl.Fail(ctx, t, fmt.Errorf("%w: %s from peer: %w", ErrProtocol, typ, err))
	}
	return nil
}
