// Package align finds the customers both parties hold without revealing the
// others: it runs mpc/psi's ECDH private set intersection over an
// fl.Transport. Both parties learn the size of the intersection and which of
// their own rows are in it, in one common order; neither learns anything
// about the other's ids outside the intersection (DDH on ristretto255, ids
// hashed to the group). The two parties' results are confirmed equal by
// exchanging a digest of the common order, which reveals nothing new.
//
// # Two modes
//
// The balanced mode (Options without Center or Cache) aligns both parties'
// sets afresh every session, for parties whose sets are both fresh. It runs
// mpc/psi's KKRT OT-extension PSI by default (Options.BalancedProtocol),
// about 5 CPU-seconds for 10^6 ids a side where ECDH costs 2 x (n_bank +
// n_center) scalar multiplications (about 260), or ECDH when both parties
// ask for it. Each party first sends psi.mode: its protocol (the two must
// be the same: ErrProtocolMismatch), its number of ids (which both learn
// in either protocol; Options.MaxPeerIDs is checked on it), whether it has
// a BeforeReveal hook and whether it accepts the ECDH fallback. In KKRT
// the receiver learns the intersection first and tells the sender: the
// party with BeforeReveal, else the party with fewer ids (the cuckoo table
// is sized by the receiver's set), else a coin from both parties' random
// bytes. If the receiver's ids do not fit their cuckoo table (psi.ErrCuckoo,
// below 2^-40 for any set), it says so (psi.fallback) and both run ECDH
// afresh, unless a party set Options.NoFallback, which ends the alignment
// with ErrCuckoo instead; nothing of the failed KKRT run reaches ECDH. The
// fallback shows the sender that the receiver's set did not fit a table
// whose hash functions neither party chose alone, no more. The unbalanced mode is for a credit
// center whose large table is aligned in every session: the center keeps
// its ids encoded under a long-lived key of its own for the bank
// (Options.Center, a psi.CenterSet from a psi.CenterStore) and the bank
// keeps them cached (Options.Cache), so that a session costs O(n_bank): two
// scalar multiplications an id at the bank, one at the center, plus only
// what changed in the center's set since the bank's cache (the whole set
// once per key epoch). The center's party sets Center, the bank's Cache;
// the parties must agree on the mode (a party of the other mode fails at
// the first message).
//
// Every mode and protocol gives the same Result.Rows in the same common
// order (by id) at both parties, so everything downstream is the same. What each learns is
// the same as well: the bank, which of its ids the center holds, and the
// number of the center's ids; the center, the number of the bank's ids and,
// from the slots the bank found its ids in (psi.SlotList), which of its rows
// are in the intersection. The bank's cache adds nothing it could not learn
// by submitting ids (package psi: the unbalanced mode). Result.Digest is
// each mode's own (PSI's order, confirmed by both), not comparable across
// modes: in the unbalanced mode it is the same for the same intersection
// throughout a key epoch.
//
// The messages: balanced, psi.mode each way, then for KKRT psi.receiver
// (empty: the receiver's word that it took that role) and psi.kkrt (the
// sender's hello, the receiver's setup, the sender's base OTs, the
// receiver's codes or psi.fallback, the sender's values, the receiver's
// matches), for ECDH psi.blinded and psi.reblinded each way, then
// psi.digest each way; unbalanced, psi.cache (the bank's cache state) to the
// center, psi.update back, psi.query (the bank's blinded ids) to the
// center, psi.reply back, psi.slots to the center, then psi.digest each way.
//
// Errors reach the peer (the abort reason), so none that this package sends
// names an id or a row of either party: ids are the parties' private data,
// and a row says where an id sits in a party's table. A fault in a party's
// own ids is told to the peer by its kind only; the party's own error names
// the rows.
package align

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/veil-fl/veil/fl"
	"github.com/veil-fl/veil/mpc/psi"
)

// Message types.
const (
	TypeBlinded   = "psi.blinded"
	TypeReblinded = "psi.reblinded"
	TypeDigest    = "psi.digest"

	// The unbalanced mode's messages.
	TypeCacheState = "psi.cache"
	TypeUpdate     = "psi.update"
	TypeQuery      = "psi.query"
	TypeReply      = "psi.reply"
	TypeSlots      = "psi.slots"
)

// StepAlign names the alignment in Options.Progress, and Phases is the
// number of phases it counts there: this party's ids blinded, the peer's
// reblinded, the intersection found and confirmed. The phases, not the
// ids, are the unit: each is one call into mpc/psi, which reports nothing
// finer.
const (
	StepAlign = "align"
	Phases    = 3
)

var (
	// ErrProtocol is what every error of a peer that breaks the alignment
	// wraps (a malformed message, too many ids, a different intersection),
	// so that errors.Is(err, fl.ErrProtocol) tells them from other failures.
	ErrProtocol = fmt.Errorf("align: %w", fl.ErrProtocol)
	// ErrDisagree is returned when the two parties' intersections differ.
	ErrDisagree = fmt.Errorf("%w: the parties derived different intersections", ErrProtocol)
	// ErrTooManyIDs is returned when the peer submits more ids than
	// Options.MaxPeerIDs.
	ErrTooManyIDs = fmt.Errorf("%w: the peer submitted more ids than allowed", ErrProtocol)
)

// Options bound what the peer may send and let a service act before the
// peer learns the intersection. The zero value sets no bound and no hook.
type Options struct {
	// MaxPeerIDs refuses a peer that submits more ids (0: no bound). A
	// service sets it from the peer's quota: the intersection shows the peer
	// which of the ids it submits this party holds.
	MaxPeerIDs int
	// BeforeReveal, if set, is called with this party's rows of the
	// intersection (indices into its ids, in the common order Align
	// returns; the slice is the hook's) once this party knows them and
	// before it sends the message that shows the peer which of its ids
	// this party holds (KKRT's matches, ECDH's psi.reblinded). A service charges a quota
	// there, so that a refused peer learns no membership. An error from
	// the hook ends the alignment: AlignWith returns it, and its text is
	// the peer's abort reason, so it must name no id, row or count of the
	// intersection that the peer may not learn.
	//
	// To know the intersection first, the party with the hook is KKRT's
	// receiver, or in ECDH receives the peer's psi.reblinded before it
	// sends its own. At most one party of a session may set it (psi.mode
	// says who has one; two are refused).
	//
	// In the unbalanced mode only the center may set it, and it runs when
	// the center learns the intersection (the bank's psi.slots), before
	// the digests: the bank has then already learnt which of its ids the
	// center holds (from psi.reply and its cache), so a refusal there
	// withholds what follows the alignment (the scoring), not membership.
	BeforeReveal func(rows []int) error
	// Center makes this party the center of the unbalanced mode: the set
	// holds its ids encoded for this session's bank (the table's current
	// ids, passed to Align, are synced into it first). Cache makes this
	// party the bank of that mode: the center's set cached, brought up to
	// date by the session and saved if it was opened from a folder
	// (psi.OpenCache). Neither: the balanced mode. Both: an error.
	Center *psi.CenterSet
	Cache  *psi.Cache
	// BalancedProtocol is the balanced mode's PSI: KKRT (the zero value)
	// or ECDH. Both parties must choose the same: the first message
	// (psi.mode) refuses a peer of the other one with ErrProtocolMismatch.
	BalancedProtocol Protocol
	// NoFallback refuses to run ECDH when the KKRT receiver's ids do not
	// fit their cuckoo table (below 2^-40 for any set): the alignment then
	// fails with ErrCuckoo, and may be run again. By default, and when
	// both parties accept it, the parties run ECDH instead.
	NoFallback bool
	// Progress, if set, is told how far the alignment is: step StepAlign,
	// done of Phases, first with done 0 and last with done == total once
	// the intersection is confirmed (a failed alignment stops short). It
	// runs on the alignment's goroutine, between messages, so a slow
	// callback delays the peer. It is local, as is Logger: neither
	// changes a message.
	Progress func(step string, done, total int)
	// Logger receives the alignment's start and end at Debug level, with
	// this party's id count, the intersection's size and the time; never
	// an id, a row or an error's text, which may name them (nil: no
	// logging). The caller has the error.
	Logger *slog.Logger
}

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

// AlignWith is Align with bounds on the peer and a hook before the reveal.
func AlignWith(ctx context.Context, t fl.Transport, ids []string, o Options) (res *psi.Result, err error) {
	defer fl.AbortOnError(ctx, t, &err)
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	start := time.Now()
	log.Debug("align: start", "ids", len(ids))
	defer func() {
		if err != nil {
			log.Debug("align: failed", "seconds", time.Since(start).Seconds())
			return
		}
		log.Debug("align: done", "ids", len(ids), "rows", len(res.Rows), "seconds", time.Since(start).Seconds())
	}()
	progress := func(done int) {
		if o.Progress != nil {
			o.Progress(StepAlign, done, Phases)
		}
	}
	progress(0)
	switch {
	case o.Center != nil && o.Cache != nil:
		return nil, errors.New("align: Options.Center and Options.Cache both set: a party is the center or the bank")
	case o.Center != nil:
		return alignCenter(ctx, t, ids, o, progress)
	case o.Cache != nil:
		if o.BeforeReveal != nil {
			return nil, errors.New("align: in the unbalanced mode only the center may set BeforeReveal")
		}
		return alignBank(ctx, t, ids, o, progress)
	}
	return alignBalanced(ctx, t, ids, o, progress)
}

// alignECDH is the balanced mode's ECDH PSI, after psi.mode (peerIDs: the
// number of ids the peer announced there).
func alignECDH(ctx context.Context, t fl.Transport, ids []string, o Options, peerIDs int, progress func(int)) (res *psi.Result, err error) {
	p, err := psi.NewParty(ids, rand.Reader)
	if err != nil {
		return nil, failOwnIDs(ctx, t, err)
	}
	blinded, err := p.Blind(ctx)
	if err != nil {
		return nil, err
	}
	progress(1)
	peerBlinded, err := swap(ctx, t, TypeBlinded, blinded)
	if err != nil {
		return nil, err
	}
	if o.MaxPeerIDs > 0 && peerBlinded.Len() > o.MaxPeerIDs {
		return nil, fl.Fail(ctx, t, fmt.Errorf("%w: %d ids, at most %d", ErrTooManyIDs, peerBlinded.Len(), o.MaxPeerIDs))
	}
	if peerBlinded.Len() != peerIDs {
		return nil, fl.Fail(ctx, t, fmt.Errorf("%w: the peer announced %d ids in %s and sent %d", ErrProtocol, peerIDs, TypeMode, peerBlinded.Len()))
	}
	reblinded, err := p.Exchange(ctx, peerBlinded)
	if err != nil {
		return nil, fl.Fail(ctx, t, peerFault(err))
	}
	progress(2)
	if o.BeforeReveal == nil {
		peerReblinded, err := swap(ctx, t, TypeReblinded, reblinded)
		if err != nil {
			return nil, err
		}
		if res, err = finish(ctx, t, p, peerReblinded, ids); err != nil {
			return nil, err
		}
	} else {
		b, err := fl.Expect(ctx, t, TypeReblinded)
		if err != nil {
			return nil, fmt.Errorf("align: %w", err)
		}
		peerReblinded, err := decode(ctx, t, TypeReblinded, b)
		if err != nil {
			return nil, err
		}
		// An empty intersection fails here, before the reveal; the peer
		// finds it empty too.
		if res, err = finish(ctx, t, p, peerReblinded, ids); err != nil {
			return nil, err
		}
		if err := o.BeforeReveal(slices.Clone(res.Rows)); err != nil {
			return nil, fl.Fail(ctx, t, fmt.Errorf("align: %w", err))
		}
		rb, err := reblinded.MarshalBinary()
		if err != nil {
			return nil, err
		}
		if err := t.Send(ctx, fl.Message{Type: TypeReblinded, Payload: rb}); err != nil {
			return nil, fmt.Errorf("align: %w", err)
		}
	}
	return confirm(ctx, t, res, progress)
}

// finish finds the intersection from the peer's psi.reblinded and puts this
// party's rows in the common order (by id; the digest keeps PSI's order).
func finish(ctx context.Context, t fl.Transport, p *psi.Party, peerReblinded *psi.Message, ids []string) (*psi.Result, error) {
	res, err := p.Finish(ctx, peerReblinded)
	if err != nil {
		return nil, fl.Fail(ctx, t, peerFault(err))
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
	return decode(ctx, t, typ, got)
}

func decode(ctx context.Context, t fl.Transport, typ string, b []byte) (*psi.Message, error) {
	var peer psi.Message
	if err := peer.UnmarshalBinary(b); err != nil {
		return nil, fl.Fail(ctx, t, fmt.Errorf("%w: %s from peer: %w", ErrProtocol, typ, err))
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

// peerFault marks psi's errors about the peer's points as the peer's
// breach of the protocol; others (an empty intersection) pass with the
// package's prefix. psi's errors about points name positions in the
// messages, which are in a secret random order: no id, no row.
func peerFault(err error) error {
	if errors.Is(err, psi.ErrMalformedMessage) {
		return fmt.Errorf("%w: %w", ErrProtocol, err)
	}
	return fmt.Errorf("align: %w", err)
}

// failOwnIDs ends the alignment on an error of this party's own ids
// (psi.NewParty's). The peer hears only the kind of fault; this party's
// error keeps psi's detail (the rows), which stays local.
func failOwnIDs(ctx context.Context, t fl.Transport, err error) error {
	reason := errors.New("align: the peer cannot align its own ids")
	for _, kind := range []error{psi.ErrEmptySet, psi.ErrEmptyID, psi.ErrDuplicateID} {
		if errors.Is(err, kind) {
			reason = fmt.Errorf("align: the peer cannot align its own ids: %w", kind)
			break
		}
	}
	return &localError{err: fmt.Errorf("align: this party's ids: %w", err), told: fl.Fail(ctx, t, reason)}
}

// localError is an error whose text stays with this party: the peer was
// told the other error, told (fl.Fail's return, which marks it told, so
// fl.AbortOnError sends nothing more). It matches both.
type localError struct{ err, told error }

func (e *localError) Error() string   { return e.err.Error() }
func (e *localError) Unwrap() []error { return []error{e.err, e.told} }
