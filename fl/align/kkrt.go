package align

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/veil-fl/veil/fl"
	"github.com/veil-fl/veil/mpc/psi"
)

// Protocol is the PSI of the balanced mode (both sets fresh).
type Protocol uint8

const (
	// KKRT is the OT-extension PSI of mpc/psi (KKRTSender, KKRTReceiver):
	// symmetric-key work and 116 bytes an id on the wire at 10^6 a side,
	// against two scalar multiplications an id a party for ECDH. The
	// default.
	KKRT Protocol = iota
	// ECDH is the Diffie-Hellman PSI of mpc/psi (Party).
	ECDH
)

func (p Protocol) String() string {
	switch p {
	case KKRT:
		return "kkrt"
	case ECDH:
		return "ecdh"
	}
	return fmt.Sprintf("protocol(%d)", uint8(p))
}

// ParseProtocol reads a Protocol's name ("kkrt" or "ecdh"; "" is KKRT).
func ParseProtocol(s string) (Protocol, error) {
	switch s {
	case "", "kkrt":
		return KKRT, nil
	case "ecdh":
		return ECDH, nil
	}
	return 0, fmt.Errorf("align: unknown PSI protocol %q (kkrt or ecdh)", s)
}

// The balanced mode's messages besides ECDH's.
const (
	// TypeMode opens the balanced mode, each way: the protocol, whether
	// the party accepts ECDH after a cuckoo failure, whether it has a
	// BeforeReveal hook, its number of ids and a random tie-break.
	TypeMode = "psi.mode"
	// TypeKKRT carries each KKRT step's psi.KKRTMessage.
	TypeKKRT = "psi.kkrt"
	// TypeReceiver is the KKRT receiver's word, empty, that it took that
	// role: sent before it waits for the sender's hello, and expected by
	// the sender before the receiver's setup. Each party chooses its role
	// from the psi.mode it sent and the one it received; if a peer lies
	// there (or the wire alters it) both may choose one role, and this word
	// makes them stop with ErrProtocol rather than wait for each other.
	TypeReceiver = "psi.receiver"
	// TypeFallback is the KKRT receiver's word, in place of its codes,
	// that its ids did not fit their cuckoo table and the parties run ECDH
	// instead (both having accepted it in psi.mode).
	TypeFallback = "psi.fallback"
)

// ErrCuckoo is returned when the KKRT receiver's ids did not fit in their
// cuckoo table (psi.ErrCuckoo: below 2^-40 for any set) and a party set
// Options.NoFallback, so that the parties do not run ECDH instead.
var ErrCuckoo = fmt.Errorf("align: %w, and a party refuses the ECDH fallback (Options.NoFallback); run the alignment again", psi.ErrCuckoo)

// ErrProtocolMismatch is returned when the parties of the balanced mode
// chose different protocols (Options.BalancedProtocol).
var ErrProtocolMismatch = fmt.Errorf("%w: the parties chose different balanced PSI protocols", ErrProtocol)

// mode is the psi.mode message: "VPSM", version 2 (with psi.receiver),
// the protocol, the flags, a zero byte, the number of ids (8 bytes) and 16
// random bytes.
type mode struct {
	proto    Protocol
	fallback bool
	hook     bool
	ids      uint64
	nonce    [16]byte
}

const (
	modeMagic = "VPSM"
	modeSize  = 32
	// modeVersion 2 added psi.receiver; a peer of version 1 is refused.
	modeVersion = 2
)

func (m *mode) MarshalBinary() ([]byte, error) {
	var flags byte
	if m.fallback {
		flags |= 1
	}
	if m.hook {
		flags |= 2
	}
	b := append([]byte(modeMagic), modeVersion, byte(m.proto), flags, 0)
	b = binary.BigEndian.AppendUint64(b, m.ids)
	return append(b, m.nonce[:]...), nil
}

func (m *mode) UnmarshalBinary(b []byte) error {
	switch {
	case len(b) != modeSize:
		return fmt.Errorf("%w: %d bytes, want %d", psi.ErrMalformedMessage, len(b), modeSize)
	case string(b[:4]) != modeMagic || b[4] != modeVersion:
		return fmt.Errorf("%w: not a mode message of version %d", psi.ErrMalformedMessage, modeVersion)
	case b[5] > byte(ECDH):
		return fmt.Errorf("%w: unknown protocol %d", psi.ErrMalformedMessage, b[5])
	case b[6]&^3 != 0 || b[7] != 0:
		return fmt.Errorf("%w: unknown flags", psi.ErrMalformedMessage)
	}
	ids := binary.BigEndian.Uint64(b[8:16])
	if ids == 0 || ids > psi.MaxKKRTIDs && Protocol(b[5]) == KKRT {
		return fmt.Errorf("%w: %d ids", psi.ErrMalformedMessage, ids)
	}
	*m = mode{proto: Protocol(b[5]), fallback: b[6]&1 != 0, hook: b[6]&2 != 0, ids: ids, nonce: [16]byte(b[16:32])}
	return nil
}

// alignBalanced opens the balanced mode: both parties send psi.mode, and
// refuse a peer of the other protocol, over the bound, or also with a
// BeforeReveal hook; then ECDH or KKRT runs.
func alignBalanced(ctx context.Context, t fl.Transport, ids []string, o Options, progress func(int)) (*psi.Result, error) {
	if o.BalancedProtocol > ECDH {
		return nil, fmt.Errorf("align: unknown Options.BalancedProtocol %d", o.BalancedProtocol)
	}
	if err := checkOwnIDs(ids); err != nil {
		return nil, failOwnIDs(ctx, t, err)
	}
	local := mode{proto: o.BalancedProtocol, fallback: !o.NoFallback, hook: o.BeforeReveal != nil, ids: uint64(len(ids))}
	if _, err := rand.Read(local.nonce[:]); err != nil {
		return nil, fmt.Errorf("align: %w", err)
	}
	b, err := local.MarshalBinary()
	if err != nil {
		return nil, err
	}
	got, err := swapBytes(ctx, t, TypeMode, b)
	if err != nil {
		return nil, err
	}
	var peer mode
	if err := peer.UnmarshalBinary(got); err != nil {
		return nil, fl.Fail(ctx, t, fmt.Errorf("%w: %s from peer: %w", ErrProtocol, TypeMode, err))
	}
	if peer.proto != local.proto {
		return nil, fl.Fail(ctx, t, fmt.Errorf("%w: this party runs %s, the peer %s (align.Options.BalancedProtocol)", ErrProtocolMismatch, local.proto, peer.proto))
	}
	if o.MaxPeerIDs > 0 && peer.ids > uint64(o.MaxPeerIDs) {
		return nil, fl.Fail(ctx, t, fmt.Errorf("%w: %d ids, at most %d", ErrTooManyIDs, peer.ids, o.MaxPeerIDs))
	}
	if peer.hook && local.hook {
		return nil, fl.Fail(ctx, t, fmt.Errorf("%w: both parties set BeforeReveal; at most one may", ErrProtocol))
	}
	if local.proto == ECDH {
		return alignECDH(ctx, t, ids, o, int(peer.ids), progress)
	}
	// The receiver learns the intersection first: the party with the hook,
	// else the smaller set (the cuckoo table is sized by the receiver's
	// set), else the smaller nonce.
	var receive bool
	switch c := bytes.Compare(local.nonce[:], peer.nonce[:]); {
	case local.hook || peer.hook:
		receive = local.hook
	case local.ids != peer.ids:
		receive = local.ids < peer.ids
	case c == 0:
		return nil, fl.Fail(ctx, t, fmt.Errorf("%w: the peer repeats this party's random tie-break", ErrProtocol))
	default:
		receive = c < 0
	}
	fallback := local.fallback && peer.fallback
	if receive {
		return kkrtReceive(ctx, t, ids, o, int(peer.ids), fallback, progress)
	}
	return kkrtSend(ctx, t, ids, o, int(peer.ids), fallback, progress)
}

// kkrtCodes is the receiver's codes step; tests replace it to force a
// cuckoo failure, which no real set shows.
var kkrtCodes = func(ctx context.Context, r *psi.KKRTReceiver, base *psi.KKRTMessage) (*psi.KKRTMessage, error) {
	return r.Codes(ctx, base)
}

// kkrtReceive is the KKRT receiver's side: it learns the intersection
// first, runs BeforeReveal, and then tells the sender.
func kkrtReceive(ctx context.Context, t fl.Transport, ids []string, o Options, peerIDs int, fallback bool, progress func(int)) (*psi.Result, error) {
	r, err := psi.NewKKRTReceiver(ids, rand.Reader)
	if err != nil {
		return nil, failOwnIDs(ctx, t, err)
	}
	if err := t.Send(ctx, fl.Message{Type: TypeReceiver}); err != nil {
		return nil, fmt.Errorf("align: %w", err)
	}
	hello, err := recvKKRT(ctx, t)
	if err != nil {
		return nil, err
	}
	setup, err := r.Setup(ctx, hello)
	if err != nil {
		return nil, fl.Fail(ctx, t, peerFault(err))
	}
	if r.PeerIDs() != peerIDs {
		return nil, fl.Fail(ctx, t, fmt.Errorf("%w: the peer announced %d ids in %s and %d in %s", ErrProtocol, peerIDs, TypeMode, r.PeerIDs(), TypeKKRT))
	}
	if err := sendBinary(ctx, t, TypeKKRT, setup); err != nil {
		return nil, err
	}
	progress(1)
	base, err := recvKKRT(ctx, t)
	if err != nil {
		return nil, err
	}
	codes, err := kkrtCodes(ctx, r, base)
	if errors.Is(err, psi.ErrCuckoo) {
		if !fallback {
			return nil, fl.Fail(ctx, t, ErrCuckoo)
		}
		// Nothing of the KKRT run is used: ECDH starts afresh.
		if err := t.Send(ctx, fl.Message{Type: TypeFallback}); err != nil {
			return nil, fmt.Errorf("align: %w", err)
		}
		return alignECDH(ctx, t, ids, o, peerIDs, progress)
	}
	if err != nil {
		return nil, fl.Fail(ctx, t, peerFault(err))
	}
	if err := sendBinary(ctx, t, TypeKKRT, codes); err != nil {
		return nil, err
	}
	enc, err := recvKKRT(ctx, t)
	if err != nil {
		return nil, err
	}
	matches, err := r.Match(ctx, enc)
	if err != nil {
		return nil, fl.Fail(ctx, t, peerFault(err))
	}
	progress(2)
	res, err := r.Result()
	if errors.Is(err, psi.ErrEmptyIntersection) {
		// The sender learns it from the empty list, as in ECDH each party
		// finds it empty; no hook runs for an empty intersection.
		if err := sendBinary(ctx, t, TypeKKRT, matches); err != nil {
			return nil, err
		}
	}
	if err != nil {
		return nil, fl.Fail(ctx, t, peerFault(err))
	}
	sortByID(res.Rows, ids)
	if o.BeforeReveal != nil {
		if err := o.BeforeReveal(slices.Clone(res.Rows)); err != nil {
			return nil, fl.Fail(ctx, t, fmt.Errorf("align: %w", err))
		}
	}
	if err := sendBinary(ctx, t, TypeKKRT, matches); err != nil {
		return nil, err
	}
	return confirm(ctx, t, res, progress)
}

// kkrtSend is the KKRT sender's side.
func kkrtSend(ctx context.Context, t fl.Transport, ids []string, o Options, peerIDs int, fallback bool, progress func(int)) (*psi.Result, error) {
	s, err := psi.NewKKRTSender(ids, rand.Reader)
	if err != nil {
		return nil, failOwnIDs(ctx, t, err)
	}
	hello, err := s.Hello(ctx)
	if err != nil {
		return nil, err
	}
	if err := sendBinary(ctx, t, TypeKKRT, hello); err != nil {
		return nil, err
	}
	word, err := fl.Expect(ctx, t, TypeReceiver)
	if err != nil {
		return nil, fmt.Errorf("align: the peer did not take the KKRT receiver's role: %w", err)
	}
	if len(word) != 0 {
		return nil, fl.Fail(ctx, t, fmt.Errorf("%w: %s with a payload", ErrProtocol, TypeReceiver))
	}
	setup, err := recvKKRT(ctx, t)
	if err != nil {
		return nil, err
	}
	base, err := s.Base(ctx, setup)
	if err != nil {
		return nil, fl.Fail(ctx, t, peerFault(err))
	}
	if s.PeerIDs() != peerIDs {
		return nil, fl.Fail(ctx, t, fmt.Errorf("%w: the peer announced %d ids in %s and %d in %s", ErrProtocol, peerIDs, TypeMode, s.PeerIDs(), TypeKKRT))
	}
	if err := sendBinary(ctx, t, TypeKKRT, base); err != nil {
		return nil, err
	}
	progress(1)
	m, err := t.Recv(ctx)
	if err != nil {
		return nil, fmt.Errorf("align: waiting for %q: %w", TypeKKRT, err)
	}
	if m.Type == TypeFallback {
		if !fallback {
			return nil, fl.Fail(ctx, t, fmt.Errorf("%w: %s, which this party refused in %s", ErrProtocol, TypeFallback, TypeMode))
		}
		if len(m.Payload) != 0 {
			return nil, fl.Fail(ctx, t, fmt.Errorf("%w: %s with a payload", ErrProtocol, TypeFallback))
		}
		return alignECDH(ctx, t, ids, o, peerIDs, progress)
	}
	codes, err := recvKKRT(ctx, &pushback{Transport: t, m: &m})
	if err != nil {
		return nil, err
	}
	enc, err := s.Encode(ctx, codes)
	if err != nil {
		return nil, fl.Fail(ctx, t, peerFault(err))
	}
	if err := sendBinary(ctx, t, TypeKKRT, enc); err != nil {
		return nil, err
	}
	progress(2)
	matches, err := recvKKRT(ctx, t)
	if err != nil {
		return nil, err
	}
	res, err := s.Finish(ctx, matches)
	if err != nil {
		return nil, fl.Fail(ctx, t, peerFault(err))
	}
	sortByID(res.Rows, ids)
	return confirm(ctx, t, res, progress)
}

func recvKKRT(ctx context.Context, t fl.Transport) (*psi.KKRTMessage, error) {
	var m psi.KKRTMessage
	if err := recvBinary(ctx, t, TypeKKRT, &m); err != nil {
		return nil, err
	}
	return &m, nil
}

// pushback hands a received message back to fl.Expect, which reads the
// peer's abort or refuses an unexpected type.
type pushback struct {
	fl.Transport
	m *fl.Message
}

func (p *pushback) Recv(ctx context.Context) (fl.Message, error) {
	if p.m != nil {
		m := *p.m
		p.m = nil
		return m, nil
	}
	return p.Transport.Recv(ctx)
}

// checkOwnIDs checks this party's ids as psi's parties do (non-empty,
// distinct), before psi.mode announces their number.
func checkOwnIDs(ids []string) error {
	if len(ids) == 0 {
		return psi.ErrEmptySet
	}
	seen := make(map[string]int, len(ids))
	for i, id := range ids {
		if id == "" {
			return fmt.Errorf("%w at row %d", psi.ErrEmptyID, i)
		}
		if j, ok := seen[id]; ok {
			return fmt.Errorf("%w at rows %d and %d", psi.ErrDuplicateID, j, i)
		}
		seen[id] = i
	}
	return nil
}
