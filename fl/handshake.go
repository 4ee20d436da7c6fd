package fl

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"strconv"

	"google.golang.org/protobuf/proto"

	"github.com/veil-fl/veil/model"
	"github.com/veil-fl/veil/proto/veilpb"
)

// ProtocolVersion is the version of Veil's party-to-party protocol. Parties
// refuse a peer with another version.
const ProtocolVersion = 1

// Message types the session layer uses. Protocol code should name its own
// types with a package prefix ("he.", "psi.", "vlr.") to stay clear of these.
const (
	TypeHello   = "veil.hello"
	TypeReveal  = "veil.reveal"
	TypeConfirm = "veil.confirm"
	TypeAbort   = "veil.abort"
)

// Role says which side of the joint model a party is. It is model.Role, so
// that the role a session announces and the one a model half records are
// one type with one spelling.
type Role = model.Role

const (
	// RoleActive holds the labels (the bank).
	RoleActive = model.Active
	// RolePassive holds features only (the credit center).
	RolePassive = model.Passive
)

// Limits on handshake strings, for the local side and for what a peer sends.
const (
	maxRoleLength   = 32
	maxParamsLength = 64
	contribLength   = 32
)

// Hello is what a party announces at the start of a session.
type Hello struct {
	// Version is the protocol version; zero means ProtocolVersion.
	Version uint32
	// Role is RoleActive or RolePassive; the two parties must differ.
	Role Role
	// Params names the HE parameter set (for example "hist13"); it must match.
	Params string
	// Rows is the size of the aligned set, 0 if not yet known. If both
	// parties know it, it must match.
	Rows uint64
}

// Session is the outcome of a successful Handshake.
type Session struct {
	Local, Peer Hello
	// Rows is the agreed row count: the one both announced, or the one that
	// the side that knew it announced, or 0.
	Rows uint64
	// Seed is the joint seed for the common reference polynomial:
	// SHA-256(active contribution || passive contribution), where each party
	// committed to its 32 random bytes before seeing the other's, so neither
	// chose it.
	Seed [32]byte
	// ID names the session in public (a hash of Seed): Bind stamps it on
	// every message, and logs may quote it.
	ID [SessionIDLength]byte
}

// Sentinels for handshake mismatches. A *MismatchError matches the one for
// its field. Each wraps ErrProtocol: the peer is not one this party can run
// the protocol with.
var (
	ErrPeerVersion    = protocolSentinel("fl: protocol version mismatch")
	ErrRoleConflict   = protocolSentinel("fl: role conflict")
	ErrParamsMismatch = protocolSentinel("fl: HE parameter set mismatch")
	ErrRowsMismatch   = protocolSentinel("fl: row count mismatch")
	// ErrCommitment reports a seed contribution that does not open the
	// peer's commitment.
	ErrCommitment = protocolSentinel("fl: seed reveal does not match commitment")
)

// Fields of MismatchError.
const (
	FieldVersion = "protocol version"
	FieldRole    = "role"
	FieldParams  = "parameter set"
	FieldRows    = "row count"
)

var fieldErrs = map[string]error{
	FieldVersion: ErrPeerVersion,
	FieldRole:    ErrRoleConflict,
	FieldParams:  ErrParamsMismatch,
	FieldRows:    ErrRowsMismatch,
}

var fieldHints = map[string]string{
	FieldVersion: "both parties must run the same Veil protocol version",
	FieldRole:    fmt.Sprintf("one party must be %q and the other %q", RoleActive, RolePassive),
	FieldParams:  "both parties must use the same HE parameter set",
	FieldRows:    "both parties must have aligned the same records",
}

// MismatchError reports a handshake setting on which the parties disagree.
// It matches ErrPeerVersion, ErrRoleConflict, ErrParamsMismatch or
// ErrRowsMismatch according to Field, and ErrProtocol whatever the field.
type MismatchError struct {
	Field       string // one of the Field constants
	Local, Peer string // this party's value and the peer's
}

func (e *MismatchError) Error() string {
	s := fmt.Sprintf("fl: handshake: %s mismatch: local %q, peer %q", e.Field, e.Local, e.Peer)
	if h := fieldHints[e.Field]; h != "" {
		s += " (" + h + ")"
	}
	return s
}

// Is makes errors.Is(err, ErrParamsMismatch) and friends work, and
// errors.Is(err, ErrProtocol) whatever the field (one a peer's abort names
// included).
func (e *MismatchError) Is(target error) bool {
	return target != nil && (fieldErrs[e.Field] == target || target == ErrProtocol)
}

// AbortError is a deliberate abort received from the peer. It matches
// ErrPeerAborted and, when the peer reported a mismatch, the sentinel of
// that mismatch (seen from this side: Local is this party's value).
type AbortError struct {
	Reason   string
	Mismatch *MismatchError // nil unless the peer reported one
}

func (e *AbortError) Error() string {
	return fmt.Sprintf("fl: peer aborted: %s", e.Reason)
}

func (e *AbortError) Unwrap() []error {
	if e.Mismatch != nil {
		return []error{ErrPeerAborted, e.Mismatch}
	}
	return []error{ErrPeerAborted}
}

// Abort tells the peer that this party gives up because of cause, so the
// peer's next Expect fails with an *AbortError instead of waiting. A
// *MismatchError in cause travels in structured form; of a failure of this
// party's checkpoint storage the peer learns only that it failed, since its
// text may name local paths or the application's storage. Abort does not
// close the transport.
func Abort(ctx context.Context, t Transport, cause error) error {
	rec := &veilpb.Abort{Reason: cause.Error()}
	if me := (*MismatchError)(nil); errors.As(cause, &me) {
		rec.Field, rec.SenderValue, rec.ReceiverValue = me.Field, me.Local, me.Peer
	}
	if se := (*storeError)(nil); errors.As(cause, &se) {
		rec.Reason = storeReason
	}
	b, err := proto.Marshal(rec)
	if err != nil {
		return fmt.Errorf("fl: encode abort: %w", err)
	}
	return t.Send(ctx, Message{Type: TypeAbort, Payload: b})
}

// decodeAbort turns an abort payload from the peer into an *AbortError,
// whatever the payload holds.
func decodeAbort(b []byte) *AbortError {
	var rec veilpb.Abort
	err := proto.Unmarshal(b, &rec)
	if err != nil || len(rec.ProtoReflect().GetUnknown()) > 0 {
		// Not a record as Abort writes it (no unknown fields): perhaps the
		// peer bound its transport and this side did not, and the record
		// follows the session header.
		var tail veilpb.Abort
		decodes := func(b []byte) bool {
			return proto.Unmarshal(b, &tail) == nil && tail.GetReason() != "" && len(tail.ProtoReflect().GetUnknown()) == 0
		}
		if boundPayload(b, decodes) {
			return &AbortError{Reason: bounded(tail.GetReason()) + " (the peer bound its messages to the session with fl.Bind; this side did not)"}
		}
	}
	if err != nil {
		return &AbortError{Reason: fmt.Sprintf("(undecodable abort record: %v)", err)}
	}
	e := &AbortError{Reason: bounded(rec.GetReason())}
	if rec.GetField() != "" {
		e.Mismatch = &MismatchError{
			Field: bounded(rec.GetField()),
			Local: bounded(rec.GetReceiverValue()),
			Peer:  bounded(rec.GetSenderValue()),
		}
	}
	return e
}

func bounded(s string) string {
	if len(s) > maxReasonLength {
		return s[:maxReasonLength] + "..."
	}
	return s
}

// Handshake opens a session: the parties exchange Hellos, check that they
// agree (same protocol version and parameter set, opposite roles, equal row
// counts where both know them), and derive a joint seed by
// commit-then-reveal, then confirm they hold the same seed. Both parties
// call it at the start of every session; it costs three message exchanges.
//
// A disagreement fails on both sides: this party returns a *MismatchError
// naming both values, and tells the peer, which fails the same way (its
// checks are symmetric, and if it is still waiting it receives an abort).
// A peer whose seed reveal does not open its commitment fails the handshake
// on both sides with ErrCommitment here and ErrPeerAborted there.
// The transport stays open either way; the caller closes it.
func Handshake(ctx context.Context, t Transport, local Hello) (*Session, error) {
	if local.Version == 0 {
		local.Version = ProtocolVersion
	}
	if !local.Role.Valid() {
		return nil, fmt.Errorf("fl: handshake: local role %q is neither %q nor %q", local.Role, RoleActive, RolePassive)
	}
	if local.Params == "" || len(local.Params) > maxParamsLength {
		return nil, fmt.Errorf("fl: handshake: parameter set id %q must be 1 to %d bytes", local.Params, maxParamsLength)
	}

	var mine [contribLength]byte
	rand.Read(mine[:]) // never fails (crypto/rand, Go 1.24+)
	commit := sha256.Sum256(mine[:])

	b, err := proto.Marshal(&veilpb.Hello{
		Version: local.Version, Role: string(local.Role), Params: local.Params,
		Rows: local.Rows, Commitment: commit[:],
	})
	if err != nil {
		return nil, fmt.Errorf("fl: handshake: encode hello: %w", err)
	}
	if err := t.Send(ctx, Message{Type: TypeHello, Payload: b}); err != nil {
		return nil, fmt.Errorf("fl: handshake: %w", err)
	}
	payload, err := Expect(ctx, t, TypeHello)
	if err != nil {
		return nil, fmt.Errorf("fl: handshake: %w", err)
	}
	peer, peerCommit, err := decodeHello(payload)
	if err != nil {
		return nil, failHandshake(ctx, t, err)
	}
	if err := compareHellos(local, peer); err != nil {
		return nil, failHandshake(ctx, t, err)
	}

	b, err = proto.Marshal(&veilpb.Reveal{Contribution: mine[:]})
	if err != nil {
		return nil, fmt.Errorf("fl: handshake: encode reveal: %w", err)
	}
	if err := t.Send(ctx, Message{Type: TypeReveal, Payload: b}); err != nil {
		return nil, fmt.Errorf("fl: handshake: %w", err)
	}
	if payload, err = Expect(ctx, t, TypeReveal); err != nil {
		return nil, fmt.Errorf("fl: handshake: %w", err)
	}
	theirs, err := decodeReveal(payload)
	if err != nil {
		return nil, failHandshake(ctx, t, err)
	}
	if got := sha256.Sum256(theirs); !bytes.Equal(got[:], peerCommit) {
		return nil, failHandshake(ctx, t, fmt.Errorf("%w: the peer's revealed contribution hashes to %x, it committed to %x", ErrCommitment, got, peerCommit))
	}

	s := &Session{Local: local, Peer: peer, Rows: max(local.Rows, peer.Rows)}
	first, second := mine[:], theirs
	if local.Role == RolePassive {
		first, second = second, first
	}
	h := sha256.New()
	h.Write(first)
	h.Write(second)
	h.Sum(s.Seed[:0])
	s.ID = sessionID(s.Seed)

	// Confirm, so that a party whose peer found a bad reveal fails here too
	// (it receives an abort instead), and both know they hold the same seed.
	confirm := seedConfirmation(s.Seed)
	if b, err = proto.Marshal(&veilpb.Confirm{SeedHash: confirm[:]}); err != nil {
		return nil, fmt.Errorf("fl: handshake: encode confirm: %w", err)
	}
	if err := t.Send(ctx, Message{Type: TypeConfirm, Payload: b}); err != nil {
		return nil, fmt.Errorf("fl: handshake: %w", err)
	}
	if payload, err = Expect(ctx, t, TypeConfirm); err != nil {
		return nil, fmt.Errorf("fl: handshake: %w", err)
	}
	var rec veilpb.Confirm
	if err := proto.Unmarshal(payload, &rec); err != nil {
		return nil, failHandshake(ctx, t, fmt.Errorf("%w: confirm: %v", ErrMalformed, err))
	}
	if !bytes.Equal(rec.GetSeedHash(), confirm[:]) {
		return nil, failHandshake(ctx, t, fmt.Errorf("%w: the peer derived a different seed", ErrCommitment))
	}
	return s, nil
}

func seedConfirmation(seed [32]byte) [32]byte {
	h := sha256.New()
	h.Write([]byte("veil/v1 seed confirmation"))
	h.Write(seed[:])
	return [32]byte(h.Sum(nil))
}

// failHandshake tells the peer why and returns err for the caller.
func failHandshake(ctx context.Context, t Transport, err error) error {
	if aerr := Abort(ctx, t, err); aerr != nil {
		return fmt.Errorf("%w (telling the peer failed too: %v)", err, aerr)
	}
	if errors.Is(err, ErrMalformed) || errors.Is(err, ErrCommitment) {
		return fmt.Errorf("fl: handshake: %w", err)
	}
	return err // a *MismatchError already says where it comes from
}

// compareHellos returns every disagreement, version first: with another
// version the rest may not mean the same, so it is not compared.
func compareHellos(local, peer Hello) error {
	if local.Version != peer.Version {
		return &MismatchError{Field: FieldVersion,
			Local: strconv.FormatUint(uint64(local.Version), 10), Peer: strconv.FormatUint(uint64(peer.Version), 10)}
	}
	var errs []error
	if peer.Role == local.Role || !peer.Role.Valid() {
		errs = append(errs, &MismatchError{Field: FieldRole, Local: string(local.Role), Peer: string(peer.Role)})
	}
	if peer.Params != local.Params {
		errs = append(errs, &MismatchError{Field: FieldParams, Local: local.Params, Peer: peer.Params})
	}
	if local.Rows != 0 && peer.Rows != 0 && local.Rows != peer.Rows {
		errs = append(errs, &MismatchError{Field: FieldRows,
			Local: strconv.FormatUint(local.Rows, 10), Peer: strconv.FormatUint(peer.Rows, 10)})
	}
	return errors.Join(errs...)
}

// decodeHello parses and bounds a Hello from the peer.
func decodeHello(b []byte) (Hello, []byte, error) {
	var rec veilpb.Hello
	if err := proto.Unmarshal(b, &rec); err != nil {
		return Hello{}, nil, fmt.Errorf("%w: hello: %v", ErrMalformed, err)
	}
	if n := len(rec.GetRole()); n > maxRoleLength {
		return Hello{}, nil, fmt.Errorf("%w: hello: role of %d bytes, limit %d", ErrMalformed, n, maxRoleLength)
	}
	if n := len(rec.GetParams()); n > maxParamsLength {
		return Hello{}, nil, fmt.Errorf("%w: hello: parameter set id of %d bytes, limit %d", ErrMalformed, n, maxParamsLength)
	}
	if n := len(rec.GetCommitment()); n != sha256.Size {
		return Hello{}, nil, fmt.Errorf("%w: hello: commitment of %d bytes, want %d", ErrMalformed, n, sha256.Size)
	}
	h := Hello{Version: rec.GetVersion(), Role: Role(rec.GetRole()), Params: rec.GetParams(), Rows: rec.GetRows()}
	return h, rec.GetCommitment(), nil
}

// decodeReveal parses a Reveal from the peer.
func decodeReveal(b []byte) ([]byte, error) {
	var rec veilpb.Reveal
	if err := proto.Unmarshal(b, &rec); err != nil {
		return nil, fmt.Errorf("%w: reveal: %v", ErrMalformed, err)
	}
	if n := len(rec.GetContribution()); n != contribLength {
		return nil, fmt.Errorf("%w: reveal: contribution of %d bytes, want %d", ErrMalformed, n, contribLength)
	}
	return rec.GetContribution(), nil
}
