package psi

import (
	"encoding/binary"
	"fmt"
)

// Wire encodings of the unbalanced protocol's messages (besides the
// [Blinded] and [Reblinded] [Message]s it shares with the balanced one).
// Each starts with 4 magic bytes, the version 1 and reserved zero bytes;
// integers are big-endian.
const (
	updateMagic     = "VPSU"
	slotsMagic      = "VPSL"
	stateMagic      = "VPSC"
	epochWire       = 1
	updateHeaderLen = 120
	slotsHeaderLen  = 16
	maxName         = 1024
	// CacheStateSize is the size of an encoded [CacheState].
	CacheStateSize = 80
)

// MarshalBinary encodes the state: "VPSC", version 1, three zero bytes, the
// epoch id, the version (8 bytes) and the digest.
func (st *CacheState) MarshalBinary() ([]byte, error) {
	b := make([]byte, 0, CacheStateSize)
	b = append(b, stateMagic...)
	b = append(b, epochWire, 0, 0, 0)
	b = append(b, st.Epoch[:]...)
	b = binary.BigEndian.AppendUint64(b, st.Version)
	return append(b, st.Digest[:]...), nil
}

// UnmarshalBinary decodes a state made by MarshalBinary; every error wraps
// [ErrMalformedMessage].
func (st *CacheState) UnmarshalBinary(data []byte) error {
	if len(data) != CacheStateSize {
		return fmt.Errorf("%w: cache state of %d bytes, want %d", ErrMalformedMessage, len(data), CacheStateSize)
	}
	if err := checkHead(data, stateMagic, 3); err != nil {
		return err
	}
	var z [32]byte
	epoch, v, digest := [32]byte(data[8:40]), binary.BigEndian.Uint64(data[40:48]), [32]byte(data[48:80])
	if (epoch == z) != (v == 0) || (v == 0) != (digest == z) {
		return fmt.Errorf("%w: cache state is neither empty nor whole", ErrMalformedMessage)
	}
	st.Epoch, st.Version, st.Digest = epoch, v, digest
	return nil
}

func checkHead(data []byte, magic string, reserved int) error {
	if string(data[:4]) != magic {
		return fmt.Errorf("%w: bad magic %q, want %q", ErrMalformedMessage, data[:4], magic)
	}
	if data[4] != epochWire {
		return fmt.Errorf("%w: version %d, this package speaks version %d", ErrMalformedMessage, data[4], epochWire)
	}
	if !isZero(data[8-reserved : 8]) {
		return fmt.Errorf("%w: reserved header bytes are not zero", ErrMalformedMessage)
	}
	return nil
}

// Update is what the center sends a bank to bring its [Cache] to the
// epoch's current version ([CenterSet.UpdateFor]): the whole set, or the
// encodings of the ids added and the slots of those removed since the
// cache's version. Never more: a delta does not resend the set.
//
// Its encoding is a 120-byte header ("VPSU", version 1, 1 for a whole set
// or 2 for a delta, two zero bytes; the epoch's nonce; the version, the
// version it builds on and that version's number of slots; the number of
// slots after it; the set's digest then; the number of points added and of
// slots removed), the center's and the bank's names the epoch is bound to
// (each a 2-byte length, at most 1024, and the bytes), then 32 bytes a point
// added and 4 a slot removed (strictly increasing).
type Update struct {
	full         bool
	center, bank string
	nonce        [32]byte
	version      uint64
	base         uint64
	baseSlots    uint64
	slots        uint64
	digest       [32]byte
	added        []byte
	removed      []uint32
}

// Full reports whether u carries the whole set.
func (u *Update) Full() bool { return u.full }

// Len returns the number of points u adds.
func (u *Update) Len() int { return len(u.added) / PointSize }

// Removed returns the number of slots u removes.
func (u *Update) Removed() int { return len(u.removed) }

// Version returns the version u brings a cache to.
func (u *Update) Version() uint64 { return u.version }

// MarshalBinary encodes u.
func (u *Update) MarshalBinary() ([]byte, error) {
	if u.version == 0 || len(u.center) > maxName || len(u.bank) > maxName {
		return nil, fmt.Errorf("psi: cannot marshal an Update that no CenterSet made")
	}
	b := make([]byte, 0, updateHeaderLen+len(u.added)+4*len(u.removed))
	kind := byte(2)
	if u.full {
		kind = 1
	}
	b = append(b, updateMagic...)
	b = append(b, epochWire, kind, 0, 0)
	b = append(b, u.nonce[:]...)
	for _, v := range []uint64{u.version, u.base, u.baseSlots, u.slots} {
		b = binary.BigEndian.AppendUint64(b, v)
	}
	b = append(b, u.digest[:]...)
	b = binary.BigEndian.AppendUint64(b, uint64(u.Len()))
	b = binary.BigEndian.AppendUint64(b, uint64(len(u.removed)))
	for _, name := range []string{u.center, u.bank} {
		b = binary.BigEndian.AppendUint16(b, uint16(len(name)))
		b = append(b, name...)
	}
	b = append(b, u.added...)
	for _, p := range u.removed {
		b = binary.BigEndian.AppendUint32(b, p)
	}
	return b, nil
}

// UnmarshalBinary decodes an update made by MarshalBinary, checking its
// header, its length and the order of the removed slots; [Cache.Apply]
// checks the points. Every error wraps [ErrMalformedMessage].
func (u *Update) UnmarshalBinary(data []byte) error {
	if len(data) < updateHeaderLen {
		return fmt.Errorf("%w: update of %d bytes, shorter than the %d-byte header", ErrMalformedMessage, len(data), updateHeaderLen)
	}
	if err := checkHead(data, updateMagic, 2); err != nil {
		return err
	}
	kind := data[5]
	if kind != 1 && kind != 2 {
		return fmt.Errorf("%w: unknown update kind %d", ErrMalformedMessage, kind)
	}
	var v Update
	v.full = kind == 1
	v.nonce = [32]byte(data[8:40])
	v.version = binary.BigEndian.Uint64(data[40:48])
	v.base = binary.BigEndian.Uint64(data[48:56])
	v.baseSlots = binary.BigEndian.Uint64(data[56:64])
	v.slots = binary.BigEndian.Uint64(data[64:72])
	v.digest = [32]byte(data[72:104])
	nAdded := binary.BigEndian.Uint64(data[104:112])
	nRemoved := binary.BigEndian.Uint64(data[112:120])
	switch {
	case v.version == 0 || v.version < v.base:
		return fmt.Errorf("%w: update to version %d from %d", ErrMalformedMessage, v.version, v.base)
	case v.full && (v.base != 0 || v.baseSlots != 0):
		return fmt.Errorf("%w: a whole set that builds on version %d", ErrMalformedMessage, v.base)
	case !v.full && v.base == 0:
		return fmt.Errorf("%w: a delta that builds on no version", ErrMalformedMessage)
	case v.slots > maxPoints || v.baseSlots > v.slots:
		return fmt.Errorf("%w: %d slots after the update, %d before", ErrMalformedMessage, v.slots, v.baseSlots)
	case nAdded > v.slots || nRemoved > v.slots:
		return fmt.Errorf("%w: %d points added and %d slots removed in a set of %d slots", ErrMalformedMessage, nAdded, nRemoved, v.slots)
	}
	body := data[updateHeaderLen:]
	for _, name := range []*string{&v.center, &v.bank} {
		if len(body) < 2 {
			return fmt.Errorf("%w: update truncated in its names", ErrMalformedMessage)
		}
		n := int(binary.BigEndian.Uint16(body))
		if n > maxName || len(body) < 2+n {
			return fmt.Errorf("%w: a name of %d bytes in an update of %d", ErrMalformedMessage, n, len(data))
		}
		*name, body = string(body[2:2+n]), body[2+n:]
	}
	if want := nAdded*PointSize + nRemoved*4; uint64(len(body)) != want {
		return fmt.Errorf("%w: the header announces %d bytes of points and slots but the update has %d", ErrMalformedMessage, want, len(body))
	}
	v.added = append([]byte(nil), body[:nAdded*PointSize]...)
	body = body[nAdded*PointSize:]
	v.removed = make([]uint32, nRemoved)
	for i := range v.removed {
		v.removed[i] = binary.BigEndian.Uint32(body[4*i:])
		if i > 0 && v.removed[i] <= v.removed[i-1] {
			return fmt.Errorf("%w: removed slots are not strictly increasing", ErrMalformedMessage)
		}
	}
	*u = v
	return nil
}

// SlotList is the slots of the center's set in which the bank found its
// ids ([Match.Slots]), strictly increasing, which it sends the center so
// that both know the intersection ([CenterSet.Match]). Its encoding is a
// 16-byte header ("VPSL", version 1, three zero bytes, the count as 8
// bytes) followed by 4 bytes a slot.
type SlotList struct {
	pos []uint32
}

// Len returns the number of slots.
func (l *SlotList) Len() int { return len(l.pos) }

// MarshalBinary encodes l.
func (l *SlotList) MarshalBinary() ([]byte, error) {
	b := make([]byte, 0, slotsHeaderLen+4*len(l.pos))
	b = append(b, slotsMagic...)
	b = append(b, epochWire, 0, 0, 0)
	b = binary.BigEndian.AppendUint64(b, uint64(len(l.pos)))
	for _, p := range l.pos {
		b = binary.BigEndian.AppendUint32(b, p)
	}
	return b, nil
}

// UnmarshalBinary decodes a list made by MarshalBinary; every error wraps
// [ErrMalformedMessage].
func (l *SlotList) UnmarshalBinary(data []byte) error {
	if len(data) < slotsHeaderLen {
		return fmt.Errorf("%w: slot list of %d bytes, shorter than the %d-byte header", ErrMalformedMessage, len(data), slotsHeaderLen)
	}
	if err := checkHead(data, slotsMagic, 3); err != nil {
		return err
	}
	n := binary.BigEndian.Uint64(data[8:16])
	if n > maxPoints || uint64(len(data)-slotsHeaderLen) != 4*n {
		return fmt.Errorf("%w: the header announces %d slots but the list has %d bytes", ErrMalformedMessage, n, len(data))
	}
	pos := make([]uint32, n)
	for i := range pos {
		pos[i] = binary.BigEndian.Uint32(data[slotsHeaderLen+4*i:])
		if i > 0 && pos[i] <= pos[i-1] {
			return fmt.Errorf("%w: slots are not strictly increasing (a slot repeated)", ErrMalformedMessage)
		}
	}
	l.pos = pos
	return nil
}

// askMagic starts an encoded [Ask]; askHeaderLen is its header's size.
const (
	askMagic     = "VPSQ"
	askHeaderLen = 24
)

// Ask is the bank's request of an unbalanced session ([Query.Ask]): the
// number of ids it aligns, and H(b)^beta for those of them whose answer
// its cache does not remember for the epoch (none in a later session with
// the same ids). The center learns both counts: the number of the bank's
// ids, as in every mode, and how many of them the bank asks it for the
// first time this epoch.
//
// Its encoding is a 24-byte header ("VPSQ", version 1, three zero bytes,
// the number of ids as 8 bytes, the number of points as 8 bytes, at most
// the number of ids), then 32 bytes a point.
type Ask struct {
	ids     uint64
	blinded *Message // nil or no point: nothing asked
}

// IDs returns the number of ids the bank aligns in the session.
func (a *Ask) IDs() int { return int(a.ids) }

// Len returns the number of ids the bank asks the center to answer.
func (a *Ask) Len() int {
	if a.blinded == nil {
		return 0
	}
	return a.blinded.Len()
}

// Blinded returns the points to answer, a [Blinded] message for
// [CenterSet.Reblind], or nil if there are none.
func (a *Ask) Blinded() *Message {
	if a.Len() == 0 {
		return nil
	}
	return a.blinded
}

// MarshalBinary encodes a.
func (a *Ask) MarshalBinary() ([]byte, error) {
	if a.ids == 0 || uint64(a.Len()) > a.ids {
		return nil, fmt.Errorf("psi: cannot marshal an Ask that no Query made")
	}
	b := make([]byte, 0, askHeaderLen+a.Len()*PointSize)
	b = append(b, askMagic...)
	b = append(b, epochWire, 0, 0, 0)
	b = binary.BigEndian.AppendUint64(b, a.ids)
	b = binary.BigEndian.AppendUint64(b, uint64(a.Len()))
	if a.Len() > 0 {
		b = append(b, a.blinded.points...)
	}
	return b, nil
}

// UnmarshalBinary decodes an Ask made by MarshalBinary, checking its header
// and length ([CenterSet.Reblind] checks the points). Every error wraps
// [ErrMalformedMessage].
func (a *Ask) UnmarshalBinary(data []byte) error {
	if len(data) < askHeaderLen {
		return fmt.Errorf("%w: ask of %d bytes, shorter than the %d-byte header", ErrMalformedMessage, len(data), askHeaderLen)
	}
	if err := checkHead(data, askMagic, 3); err != nil {
		return err
	}
	ids, n := binary.BigEndian.Uint64(data[8:16]), binary.BigEndian.Uint64(data[16:24])
	switch {
	case ids == 0:
		return fmt.Errorf("%w: an ask for no id", ErrMalformedMessage)
	case ids > maxPoints || n > ids:
		return fmt.Errorf("%w: an ask of %d points for %d ids", ErrMalformedMessage, n, ids)
	case uint64(len(data)-askHeaderLen) != n*PointSize:
		return fmt.Errorf("%w: the header announces %d points but the ask has %d bytes", ErrMalformedMessage, n, len(data))
	}
	a.ids, a.blinded = ids, nil
	if n > 0 {
		a.blinded = &Message{kind: Blinded, points: append([]byte(nil), data[askHeaderLen:]...)}
	}
	return nil
}
