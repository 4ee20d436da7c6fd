// Package fltest plays a hostile or broken peer in the protocols' tests: a
// pipe with faults (NewPipe with DropAfter or Tamper), tampering functions
// that corrupt one message of a given type in the ways a broken or
// malicious party could, and a recorder of everything each party sends, for
// the wire audit. Resume is the harness of the checkpointing trainings'
// resume tests: both parties run, cut off, restarted and compared. Its PKI
// is fl/pki's pilot PKI with the tests' shorthand (NewPKI); programs use
// fl/pki itself, which links no test library.
package fltest

import (
	"bytes"
	"context"
	"encoding/binary"
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"

	"github.com/veil-fl/veil/fl"
)

// Mutation corrupts a payload; params is the id of the session's HE
// parameter set ("linear14", "hist13"), for the mutations that edit an
// encoded vector in place.
type Mutation struct {
	Name string
	Fn   func(b []byte, params string) []byte
}

// vectorBase returns the offset of the first encoded vector's body (right
// after its parameter-set id) in b, or -1, and its message kind.
func vectorBase(b []byte, params string) (int, byte) {
	i := bytes.Index(b, append([]byte{byte(len(params))}, params...))
	if i < 4 || b[i-4] != 'V' || b[i-3] != 'H' {
		return -1, 0
	}
	return i + 1 + len(params), b[i-2]
}

// Field offsets in an encoded vector's body. he.MarshalVector (kind 1):
// layout, length, chunk, stride, ciphertext count, then per ciphertext its
// level and scale. he.MarshalSeededVector (kind 5): length, chunk,
// ciphertext count, seed, then the c0 components (level and scale are the
// parameters' own, so those mutations leave it alone).
// he.MarshalSeededShares (kind 6) and he.MarshalShares (kind 7): layout,
// length, chunk, stride, scale, count, then (kind 6) the level. The packed
// kinds (he.MarshalVectorPacked 16, he.MarshalSeededSharesPacked 17,
// he.MarshalVectorC1 18) keep the fields of kinds 1, 6 and 1; the packed
// and rounded seeded vectors (25, 26) those of kind 5; the rounded c1
// vector (he.MarshalVectorRounded, 27) those of kind 1 with two bytes more
// (the bits dropped) before the first ciphertext; the rounded encrypted
// shares (he.MarshalSeededSharesRounded, 28) those of kind 6.
const (
	offLen       = 1
	offLevel     = 21
	offScale     = 22
	offSeededLen = 0

	offSharesScale = 17
	offSharesLevel = 29

	kindVector       = 1
	kindSeededVector = 5
	kindSeededShares = 6
	kindShares       = 7

	kindVectorPacked       = 16
	kindSeededSharesPacked = 17
	kindVectorC1           = 18
	kindSeededPacked       = 25
	kindSeededRounded      = 26
	kindVectorRounded      = 27
	kindSharesRounded      = 28
)

// Mutations lists the corruptions every receiving step is tested with.
var Mutations = []Mutation{
	{"garbage", func(b []byte, _ string) []byte {
		r := rand.New(rand.NewPCG(uint64(len(b)), 7))
		out := make([]byte, max(len(b), 16))
		for i := range out {
			out[i] = byte(r.Uint32())
		}
		return out
	}},
	{"truncated", func(b []byte, _ string) []byte { return b[:len(b)/2] }},
	{"empty", func([]byte, string) []byte { return nil }},
	{"appended bytes", func(b []byte, _ string) []byte { return append(b, 1, 2, 3) }},
	{"other parameter set", func(b []byte, params string) []byte {
		if i, _ := vectorBase(b, params); i >= 0 {
			b[i-1] ^= 1 // "linear14" -> "linear15", a set this build does not speak
		}
		return b
	}},
	{"wrong level", func(b []byte, params string) []byte {
		i, kind := vectorBase(b, params)
		off := map[byte]int{kindVector: offLevel, kindSeededShares: offSharesLevel, kindVectorPacked: offLevel, kindSeededSharesPacked: offSharesLevel, kindSharesRounded: offSharesLevel, kindVectorC1: offLevel, kindVectorRounded: offLevel + 2}
		if o, ok := off[kind]; ok && i+o < len(b) && b[i+o] > 0 {
			b[i+o]--
		}
		return b
	}},
	{"wrong scale", func(b []byte, params string) []byte {
		i, kind := vectorBase(b, params)
		off := map[byte]int{kindVector: offScale, kindSeededShares: offSharesScale, kindShares: offSharesScale, kindVectorPacked: offScale, kindSeededSharesPacked: offSharesScale, kindSharesRounded: offSharesScale, kindVectorC1: offScale, kindVectorRounded: offScale + 2}
		if o, ok := off[kind]; ok && i+o+8 <= len(b) {
			binary.LittleEndian.PutUint64(b[i+o:], math.Float64bits(math.Exp2(40)))
		}
		return b
	}},
	{"wrong length", func(b []byte, params string) []byte {
		if i, kind := vectorBase(b, params); i >= 0 {
			off := offLen
			if kind == kindSeededVector || kind == kindSeededPacked || kind == kindSeededRounded {
				off = offSeededLen
			}
			if i+off+8 <= len(b) {
				n := binary.LittleEndian.Uint64(b[i+off:])
				binary.LittleEndian.PutUint64(b[i+off:], n-1)
			}
		}
		return b
	}},
}

// VectorMutations are the mutations that only make sense for a payload
// holding an encoded vector.
func VectorMutation(name string) bool {
	switch name {
	case "other parameter set", "wrong level", "wrong scale", "wrong length":
		return true
	}
	return false
}

// TamperOnce returns a function for Tamper that applies m to the first
// message of type typ and passes everything else through. hit reports
// whether it fired.
func TamperOnce(typ string, params string, m Mutation) (f func(fl.Message) fl.Message, hit *atomic.Bool) {
	hit = new(atomic.Bool)
	var once sync.Once
	return func(msg fl.Message) fl.Message {
		if msg.Type == typ {
			once.Do(func() {
				hit.Store(true)
				msg.Payload = m.Fn(msg.Payload, params)
			})
		}
		return msg
	}, hit
}

// Recorder is a transport that keeps a copy of every payload sent through
// it, for the wire audit.
type Recorder struct {
	fl.Transport
	mu   sync.Mutex
	sent []fl.Message
}

// Record wraps t.
func Record(t fl.Transport) *Recorder { return &Recorder{Transport: t} }

// Send implements fl.Transport.
func (r *Recorder) Send(ctx context.Context, m fl.Message) error {
	r.mu.Lock()
	r.sent = append(r.sent, fl.Message{Type: m.Type, Payload: bytes.Clone(m.Payload)})
	r.mu.Unlock()
	return r.Transport.Send(ctx, m)
}

// Sent returns the messages sent so far.
func (r *Recorder) Sent() []fl.Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]fl.Message(nil), r.sent...)
}

// Session runs the handshake as role, binds t to the session (fl.Bind) and
// returns the bound transport and the joint seed: a protocol test's session
// setup. params names the parameter set both sides announce.
func Session(ctx context.Context, t fl.Transport, role fl.Role, params string) (fl.Transport, []byte, error) {
	s, err := fl.Handshake(ctx, t, fl.Hello{Role: role, Params: params})
	if err != nil {
		return nil, nil, err
	}
	return fl.Bind(t, s), s.Seed[:], nil
}
