package link

import (
	"fmt"
	"github.com/veil-fl/veil/fl"
	"sync/atomic"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/veil-fl/veil/proto/veilpb"
)

// Framing: a message travels as one Header frame followed by payload chunk
// frames adding up to exactly Header.Length bytes. See proto/veil/v1/veil.proto.
const (
	// DefaultChunkSize is the payload bytes per chunk frame unless
	// GRPCOptions.ChunkSize says otherwise.
	DefaultChunkSize = fl.DefaultChunkSize
	// MaxChunkSize is the largest allowed chunk: a chunk frame must stay
	// under maxFrameSize, gRPC's default per-message limit, which both ends
	// enforce.
	MaxChunkSize = maxFrameSize - 1<<10
	// DefaultMaxMessageSize is the receive limit per message unless
	// GRPCOptions.MaxMessageSize says otherwise. The largest messages Veil
	// sends are key sets and PSI batches of tens to hundreds of MiB; 1 GiB
	// leaves headroom while bounding what one peer can make the other hold.
	DefaultMaxMessageSize = 1 << 30

	maxFrameSize = 4 << 20
	// grpcPrefix is gRPC's per-message prefix: a compression flag and a
	// 4-byte length.
	grpcPrefix = 5
	// preallocLimit bounds the buffer reserved when a header arrives; larger
	// messages grow as their chunks arrive, so an announcement alone never
	// costs more than this.
	preallocLimit = 8 << 20
	// maxReasonLength bounds abort reasons kept from the peer (as fl's).
	maxReasonLength = 512
)

func headerFrame(typ string, seq, length uint64) *veilpb.Frame {
	return &veilpb.Frame{Kind: &veilpb.Frame_Header{Header: &veilpb.Header{Type: typ, Seq: seq, Length: length}}}
}

func chunkFrame(b []byte) *veilpb.Frame {
	return &veilpb.Frame{Kind: &veilpb.Frame_Chunk{Chunk: b}}
}

// frameCost is what a frame adds to Stats byte counts.
func frameCost(f *veilpb.Frame) uint64 {
	return uint64(proto.Size(f)) + grpcPrefix
}

// chunkFrameCost is frameCost(chunkFrame(make([]byte, n))) without building it.
func chunkFrameCost(n int) uint64 {
	return uint64(protowire.SizeTag(2)+protowire.SizeBytes(n)) + grpcPrefix
}

// assembler turns received frames back into messages, checking every wire
// rule on the way. It is the decoder the fuzz tests drive.
type assembler struct {
	limit uint64        // largest acceptable payload
	lower *atomic.Int64 // a session's lower limit, when set (SetMessageLimit)
	seq   uint64        // sequence number of the last header accepted

	inMsg bool // a header was accepted and its chunks are still arriving
	typ   string
	want  uint64
	buf   []byte
}

func newAssembler(limit int64) *assembler {
	return &assembler{limit: uint64(limit)}
}

// push consumes one frame. done reports that f completed a message, which
// is then returned in m. A peer's abort comes back as an error matching
// ErrPeerAborted; any other error matches ErrMalformed or ErrTooLarge.
// After an error the assembler must not be used again.
func (a *assembler) push(f *veilpb.Frame) (m fl.Message, done bool, err error) {
	switch k := f.GetKind().(type) {
	case *veilpb.Frame_Header:
		h := k.Header
		if a.inMsg {
			return fl.Message{}, false, fmt.Errorf("%w: header of message %d (%.64q) arrived while message %d (%.64q) had %d of %d bytes",
				fl.ErrMalformed, h.GetSeq(), h.GetType(), a.seq, a.typ, len(a.buf), a.want)
		}
		if err := fl.CheckMessageType(h.GetType()); err != nil {
			return fl.Message{}, false, fmt.Errorf("%w: message %d: %v", fl.ErrMalformed, h.GetSeq(), err)
		}
		if h.GetSeq() != a.seq+1 {
			return fl.Message{}, false, fmt.Errorf("%w: %w", fl.ErrMalformed, &fl.SequenceError{Type: h.GetType(), Want: a.seq + 1, Got: h.GetSeq()})
		}
		if h.GetLength() > a.limit {
			return fl.Message{}, false, fmt.Errorf("%w: peer announced message %q of %d bytes, over the %d-byte limit (GRPCOptions.MaxMessageSize)",
				fl.ErrTooLarge, h.GetType(), h.GetLength(), a.limit)
		}
		if a.lower != nil {
			if l := a.lower.Load(); l > 0 && h.GetLength() > uint64(l) {
				return fl.Message{}, false, fmt.Errorf("%w: peer announced message %q of %d bytes, over this session's %d-byte limit",
					fl.ErrTooLarge, h.GetType(), h.GetLength(), l)
			}
		}
		a.seq = h.GetSeq()
		if h.GetLength() == 0 {
			return fl.Message{Type: h.GetType()}, true, nil
		}
		a.inMsg, a.typ, a.want = true, h.GetType(), h.GetLength()
		a.buf = make([]byte, 0, min(a.want, preallocLimit))
		return fl.Message{}, false, nil

	case *veilpb.Frame_Chunk:
		c := k.Chunk
		if !a.inMsg {
			return fl.Message{}, false, fmt.Errorf("%w: chunk of %d bytes outside any message (after message %d)", fl.ErrMalformed, len(c), a.seq)
		}
		if len(c) == 0 {
			return fl.Message{}, false, fmt.Errorf("%w: empty chunk in message %d (%q)", fl.ErrMalformed, a.seq, a.typ)
		}
		have := uint64(len(a.buf))
		if uint64(len(c)) > a.want-have {
			return fl.Message{}, false, fmt.Errorf("%w: chunks of message %d (%q) overrun its announced %d bytes (%d + %d)",
				fl.ErrMalformed, a.seq, a.typ, a.want, have, len(c))
		}
		if need := len(a.buf) + len(c); need > cap(a.buf) {
			// Double, but never past the announced length.
			grown := make([]byte, len(a.buf), min(max(2*cap(a.buf), need), int(a.want)))
			copy(grown, a.buf)
			a.buf = grown
		}
		a.buf = append(a.buf, c...)
		if uint64(len(a.buf)) < a.want {
			return fl.Message{}, false, nil
		}
		m = fl.Message{Type: a.typ, Payload: a.buf}
		a.inMsg, a.typ, a.want, a.buf = false, "", 0, nil
		return m, true, nil

	case *veilpb.Frame_Abort:
		return fl.Message{}, false, fmt.Errorf("%w the session: %s", fl.ErrPeerAborted, peerText(k.Abort.GetReason()))

	default:
		return fl.Message{}, false, fmt.Errorf("%w: empty frame", fl.ErrMalformed)
	}
}

// pending describes a half-received message, or returns "" if none.
func (a *assembler) pending() string {
	if !a.inMsg {
		return ""
	}
	return fmt.Sprintf("message %d (%q) had %d of %d bytes", a.seq, a.typ, len(a.buf), a.want)
}

// peerText quotes a peer-supplied string for an error message, bounded.
func peerText(s string) string {
	if len(s) > maxReasonLength {
		return fmt.Sprintf("%q...", s[:maxReasonLength])
	}
	return fmt.Sprintf("%q", s)
}
