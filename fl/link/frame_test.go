package link

import (
	"bytes"
	"encoding/binary"
	"github.com/veil-fl/veil/fl"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	"github.com/veil-fl/veil/proto/veilpb"
)

// frames splits m the way the gRPC transport sends it.
func frames(m fl.Message, seq uint64, chunk int) []*veilpb.Frame {
	fs := []*veilpb.Frame{headerFrame(m.Type, seq, uint64(len(m.Payload)))}
	for p := m.Payload; len(p) > 0; {
		n := min(len(p), chunk)
		fs = append(fs, chunkFrame(p[:n]))
		p = p[n:]
	}
	return fs
}

func TestChunkFrameCost(t *testing.T) {
	for _, n := range []int{1, 127, 128, 16383, 16384, DefaultChunkSize, MaxChunkSize} {
		require.Equal(t, frameCost(chunkFrame(make([]byte, n))), chunkFrameCost(n), "n=%d", n)
	}
	require.LessOrEqual(t, proto.Size(chunkFrame(make([]byte, MaxChunkSize))), maxFrameSize)
}

func TestAssemblerRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		size, chunk int
	}{{0, 4}, {1, 4}, {4, 4}, {5, 4}, {1000, 7}, {preallocLimit + 3, 1 << 20}} {
		payload := bytes.Repeat([]byte{0xA5, 0x5A, 0x01}, tc.size/3+1)[:tc.size]
		a := newAssembler(DefaultMaxMessageSize)
		for seq := uint64(1); seq <= 2; seq++ {
			fs := frames(fl.Message{Type: "t.x", Payload: payload}, seq, tc.chunk)
			for i, f := range fs {
				m, done, err := a.push(f)
				require.NoError(t, err)
				require.Equal(t, i == len(fs)-1, done)
				if done {
					require.Equal(t, "t.x", m.Type)
					require.Equal(t, len(payload), len(m.Payload))
					require.True(t, bytes.Equal(payload, m.Payload))
					require.LessOrEqual(t, cap(m.Payload), max(len(payload), 1), "no over-allocation")
				}
			}
		}
	}
}

func TestAssemblerRejects(t *testing.T) {
	hdr := func(typ string, seq, n uint64) *veilpb.Frame { return headerFrame(typ, seq, n) }
	chunk := func(n int) *veilpb.Frame { return chunkFrame(make([]byte, n)) }
	for _, tc := range []struct {
		name   string
		frames []*veilpb.Frame
		is     error
		want   string
	}{
		{"chunk without header", []*veilpb.Frame{chunk(3)}, fl.ErrMalformed, "outside any message"},
		{"empty frame", []*veilpb.Frame{{}}, fl.ErrMalformed, "empty frame"},
		{"empty chunk", []*veilpb.Frame{hdr("t", 1, 3), chunk(0)}, fl.ErrMalformed, "empty chunk"},
		{"overrun", []*veilpb.Frame{hdr("t", 1, 3), chunk(2), chunk(2)}, fl.ErrMalformed, "overrun its announced 3 bytes"},
		{"header mid-message", []*veilpb.Frame{hdr("t.a", 1, 3), chunk(2), hdr("t.b", 2, 1)}, fl.ErrMalformed, "had 2 of 3 bytes"},
		{"first seq not 1", []*veilpb.Frame{hdr("t", 2, 0)}, fl.ErrMalformed, "sequence number 2, want 1"},
		{"repeated seq", []*veilpb.Frame{hdr("t", 1, 0), hdr("t", 1, 0)}, fl.ErrMalformed, "sequence number 1, want 2"},
		{"empty type", []*veilpb.Frame{hdr("", 1, 0)}, fl.ErrMalformed, "empty message type"},
		{"long type", []*veilpb.Frame{hdr(strings.Repeat("x", fl.MaxTypeLength+1), 1, 0)}, fl.ErrMalformed, "over the 128-byte limit"},
		{"oversized", []*veilpb.Frame{hdr("he.key", 1, 1<<20+1)}, fl.ErrTooLarge, `"he.key" of 1048577 bytes, over the 1048576-byte limit`},
		{"huge", []*veilpb.Frame{hdr("he.key", 1, 1<<63)}, fl.ErrTooLarge, "over the 1048576-byte limit"},
		{"abort", []*veilpb.Frame{{Kind: &veilpb.Frame_Abort{Abort: &veilpb.TransportAbort{Reason: "bye"}}}}, fl.ErrPeerAborted, `"bye"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := newAssembler(1 << 20)
			var err error
			for _, f := range tc.frames {
				if _, _, err = a.push(f); err != nil {
					break
				}
			}
			require.ErrorIs(t, err, tc.is)
			require.ErrorContains(t, err, tc.want)
		})
	}
}

func TestAssemblerBoundsAllocation(t *testing.T) {
	// Over the limit: refused with nothing reserved.
	a := newAssembler(1 << 20)
	_, _, err := a.push(headerFrame("t", 1, 1<<30))
	require.ErrorIs(t, err, fl.ErrTooLarge)
	require.Nil(t, a.buf)

	// Within the limit: a bare announcement reserves at most preallocLimit.
	a = newAssembler(DefaultMaxMessageSize)
	_, _, err = a.push(headerFrame("t", 1, DefaultMaxMessageSize))
	require.NoError(t, err)
	require.LessOrEqual(t, cap(a.buf), preallocLimit)
}

// FuzzAssembler feeds arbitrary frame sequences to the decoder: each frame
// is a 2-byte little-endian length and that many bytes of protobuf. It must
// never panic, never return more than the limit, and only return messages
// whose length matches their header.
func FuzzAssembler(f *testing.F) {
	enc := func(fs ...*veilpb.Frame) []byte {
		var out []byte
		for _, fr := range fs {
			b, err := proto.Marshal(fr)
			if err != nil {
				f.Fatal(err)
			}
			out = binary.LittleEndian.AppendUint16(out, uint16(len(b)))
			out = append(out, b...)
		}
		return out
	}
	f.Add(enc(frames(fl.Message{Type: "t", Payload: []byte("hello world")}, 1, 4)...))
	f.Add(enc(headerFrame("t", 1, 0), headerFrame("u", 2, 2), chunkFrame([]byte("ab"))))
	f.Add(enc(headerFrame("t", 1, 5), chunkFrame([]byte("abcdefg"))))
	f.Add(enc(chunkFrame([]byte("x"))))
	f.Add(enc(headerFrame("t", 1, 1<<40)))
	const limit = 1 << 16
	f.Fuzz(func(t *testing.T, data []byte) {
		a := newAssembler(limit)
		lengths := map[uint64]uint64{}
		for len(data) >= 2 {
			n := int(binary.LittleEndian.Uint16(data))
			data = data[2:]
			n = min(n, len(data))
			var fr veilpb.Frame
			if proto.Unmarshal(data[:n], &fr) != nil {
				return
			}
			data = data[n:]
			if h := fr.GetHeader(); h != nil {
				lengths[h.GetSeq()] = h.GetLength()
			}
			m, done, err := a.push(&fr)
			if err != nil {
				return
			}
			if cap(a.buf) > limit {
				t.Fatalf("buffer of %d bytes, limit %d", cap(a.buf), limit)
			}
			if done && uint64(len(m.Payload)) != lengths[a.seq] {
				t.Fatalf("message %d has %d bytes, header said %d", a.seq, len(m.Payload), lengths[a.seq])
			}
		}
	})
}

// FuzzFrameRoundTrip checks that any message survives chunking at any
// chunk size.
func FuzzFrameRoundTrip(f *testing.F) {
	f.Add("t.x", []byte("payload"), uint16(3))
	f.Add("he.galois-key", []byte{}, uint16(1))
	f.Fuzz(func(t *testing.T, typ string, payload []byte, chunk uint16) {
		if fl.CheckMessageType(typ) != nil || chunk == 0 {
			return
		}
		a := newAssembler(1 << 20)
		fs := frames(fl.Message{Type: typ, Payload: payload}, 1, int(chunk))
		var total uint64
		for i, fr := range fs {
			total += frameCost(fr)
			m, done, err := a.push(fr)
			if err != nil {
				t.Fatal(err)
			}
			if done != (i == len(fs)-1) {
				t.Fatalf("done=%v at frame %d of %d", done, i, len(fs))
			}
			if done && (m.Type != typ || !bytes.Equal(m.Payload, payload)) {
				t.Fatal("message changed in transit")
			}
		}
		if want := fl.WireSize(fl.Message{Type: typ, Payload: payload}, 1, int(chunk)); total != want {
			t.Fatalf("wireSize %d, frames cost %d", want, total)
		}
	})
}
