package fl

import (
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/veil-fl/veil/proto/veilpb"
)

// DefaultChunkSize is the payload bytes per chunk frame of the gRPC link
// (package fl/link) unless its options say otherwise.
const DefaultChunkSize = 1 << 20

// grpcPrefix is gRPC's per-message prefix: a compression flag and a 4-byte
// length.
const grpcPrefix = 5

// maxReasonLength bounds abort reasons kept from the peer.
const maxReasonLength = 512

// WireSize is what the gRPC link sends for m as message number seq with
// chunk-byte chunks: a header frame and the payload's chunk frames, each
// with gRPC's 5-byte prefix (what Stats counts). The in-memory pipe counts
// with it, so that its figures and the network's compare.
func WireSize(m Message, seq uint64, chunk int) uint64 {
	h := &veilpb.Frame{Kind: &veilpb.Frame_Header{Header: &veilpb.Header{Type: m.Type, Seq: seq, Length: uint64(len(m.Payload))}}}
	n := uint64(proto.Size(h)) + grpcPrefix
	chunkCost := func(n int) uint64 { return uint64(protowire.SizeTag(2)+protowire.SizeBytes(n)) + grpcPrefix }
	full := len(m.Payload) / chunk
	n += uint64(full) * chunkCost(chunk)
	if rest := len(m.Payload) % chunk; rest > 0 {
		n += chunkCost(rest)
	}
	return n
}
