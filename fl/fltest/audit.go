package fltest

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/veil-fl/veil/fl"
)

// Secret is a set of values one party must never send in any form.
type Secret struct {
	Name   string
	Values []float64
	// Stride groups Values for the float32 search: pairs (v[i], v[i+1])
	// and (v[i], v[i+Stride]) are searched (a row's consecutive features and
	// a column's consecutive rows of a row-major matrix). 0 means 1.
	Stride int
}

// Leak is an occurrence of a secret value in the recorded traffic.
type Leak struct {
	Secret   string
	Index    int    // of the value (of the window's first label)
	Encoding string // "float64 LE", "decimal 'g' -1", ...
	Message  string // type of the message it was found in
	Offset   int
}

func (l Leak) String() string {
	return fmt.Sprintf("%s[%d] as %s in %q at byte %d", l.Secret, l.Index, l.Encoding, l.Message, l.Offset)
}

// Distinctive is the audit's rule for which values can be searched at all.
// A value that the protocols legitimately send for other reasons, or that
// random ciphertext bytes contain by chance, would make the audit fail
// without a leak. So it skips:
//   - NaN and infinities (missing values have no content);
//   - integers of magnitude up to 2^20: labels 0 and 1, counts, row and bin
//     indices, term lengths, which control messages carry as such;
//   - in decimal text, strings under 6 characters ("0.35", "12.5"): short
//     numbers recur in option records and, in hundreds of MiB of random
//     ciphertext bytes, by chance; a 6-character string occurs by chance
//     about once per 2^48 random positions.
//
// In binary, values whose 8 bytes (a float64, or a pair of float32) hold
// four or more zero bytes are not searched either: short dyadic fractions
// such as 0.75 (00 00 00 00 00 00 e8 3f). Zero-padded message data (unused
// coefficients, length fields) followed by two random bytes matches such a
// pattern one time in 2^16, and a training sends millions of such places;
// their decimal forms are still searched.
//
// Single float32 values (4 bytes) are not searched alone: a 4-byte pattern
// occurs by chance about once per 2^32 random positions, and training sends
// hundreds of MiB of ciphertext. The audit searches pairs of consecutive
// float32 values (8 bytes), which any float32 array carrying them holds.
// Labels, all 0 or 1, are searched as windows of 64 consecutive labels
// (bit-packed, bytes, float64, float32, and "0,1,..." text) where the window
// holds both classes.
func Distinctive(v float64) bool {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return false
	}
	return !(v == math.Trunc(v) && math.Abs(v) <= 1<<20)
}

// decimalForms are the text encodings searched: Go's shortest form and a
// few fixed precisions.
func decimalForms(v float64) map[string]string {
	forms := map[string]string{
		"decimal 'g' -1": strconv.FormatFloat(v, 'g', -1, 64),
		"decimal 'g' 6":  strconv.FormatFloat(v, 'g', 6, 64),
		"decimal 'f' 2":  strconv.FormatFloat(v, 'f', 2, 64),
		"decimal 'f' 4":  strconv.FormatFloat(v, 'f', 4, 64),
		"decimal 'f' 6":  strconv.FormatFloat(v, 'f', 6, 64),
		"decimal 'e' 6":  strconv.FormatFloat(v, 'e', 6, 64),
		"float32 'g' -1": strconv.FormatFloat(v, 'g', -1, 32),
	}
	for k, s := range forms {
		if len(s) < 6 {
			delete(forms, k)
		}
	}
	return forms
}

type pattern struct {
	b        []byte
	secret   string
	index    int
	encoding string
}

// index is a multi-pattern matcher keyed on each pattern's first 6 bytes.
type index map[uint64][]pattern

func key6(b []byte) uint64 {
	return uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 | uint64(b[4])<<32 | uint64(b[5])<<40
}

func (ix index) add(p pattern) {
	if len(p.b) < 6 {
		panic("fltest: pattern under 6 bytes")
	}
	k := key6(p.b)
	ix[k] = append(ix[k], p)
}

// Patterns returns the byte patterns the audit searches for these secrets
// and labels (nil for none).
func patterns(secrets []Secret, labels []float64) index {
	ix := index{}
	for _, s := range secrets {
		stride := max(s.Stride, 1)
		for i, v := range s.Values {
			if !Distinctive(v) {
				continue
			}
			if le := float64LE(v); !mostlyZero(le) {
				ix.add(pattern{le, s.Name, i, "float64 LE"})
				ix.add(pattern{binary.BigEndian.AppendUint64(nil, math.Float64bits(v)), s.Name, i, "float64 BE"})
			}
			for enc, txt := range decimalForms(v) {
				ix.add(pattern{[]byte(txt), s.Name, i, enc})
			}
			f := float32(v)
			if float64(f) == math.Trunc(float64(f)) {
				continue
			}
			next := []int{i + 1}
			if stride > 1 {
				next = append(next, i+stride)
			}
			for _, j := range next {
				if j >= len(s.Values) || math.IsNaN(s.Values[j]) {
					continue
				}
				g := float32(s.Values[j])
				if le := float32PairLE(f, g); !mostlyZero(le) {
					be := binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32(nil, math.Float32bits(f)), math.Float32bits(g))
					ix.add(pattern{le, s.Name, i, "float32 pair LE"})
					ix.add(pattern{be, s.Name, i, "float32 pair BE"})
				}
			}
		}
	}
	const w = 64
	for i := 0; i+w <= len(labels); i += w / 2 {
		win := labels[i : i+w]
		ones := 0
		for _, y := range win {
			if y == 1 {
				ones++
			}
		}
		if ones == 0 || ones == w {
			continue
		}
		var lsb, msb uint64
		raw := make([]byte, w)
		var f64le, f64be, f32le []byte
		var txt strings.Builder
		for k, y := range win {
			bit := uint64(0)
			if y == 1 {
				bit = 1
			}
			lsb |= bit << k
			msb |= bit << (63 - k)
			raw[k] = byte(bit)
			f64le = binary.LittleEndian.AppendUint64(f64le, math.Float64bits(y))
			f64be = binary.BigEndian.AppendUint64(f64be, math.Float64bits(y))
			f32le = binary.LittleEndian.AppendUint32(f32le, math.Float32bits(float32(y)))
			if k > 0 {
				txt.WriteByte(',')
			}
			txt.WriteString(strconv.Itoa(int(bit)))
		}
		for enc, b := range map[string][]byte{
			"bit-packed LSB first": binary.LittleEndian.AppendUint64(nil, lsb),
			"bit-packed MSB first": binary.BigEndian.AppendUint64(nil, msb),
			"bytes":                raw,
			"float64 LE":           f64le,
			"float64 BE":           f64be,
			"float32 LE":           f32le,
			"text":                 []byte(txt.String()),
		} {
			ix.add(pattern{b, "labels", i, "64-label window " + enc})
		}
	}
	return ix
}

// float64LE is v as a little-endian float64.
func float64LE(v float64) []byte {
	return binary.LittleEndian.AppendUint64(nil, math.Float64bits(v))
}

// float32PairLE is f and g as consecutive little-endian float32s.
func float32PairLE(f, g float32) []byte {
	return binary.LittleEndian.AppendUint32(binary.LittleEndian.AppendUint32(nil, math.Float32bits(f)), math.Float32bits(g))
}

// mostlyZero reports whether four or more of b's bytes are zero (see
// Distinctive).
func mostlyZero(b []byte) bool {
	return bytes.Count(b, []byte{0}) >= 4
}

// Audit searches every recorded message for the secrets and label windows
// and returns what it found.
func Audit(msgs []fl.Message, secrets []Secret, labels []float64) []Leak {
	ix := patterns(secrets, labels)
	var leaks []Leak
	for _, m := range msgs {
		b := m.Payload
		for i := 0; i+6 <= len(b); i++ {
			ps, ok := ix[key6(b[i:])]
			if !ok {
				continue
			}
			for _, p := range ps {
				if bytes.HasPrefix(b[i:], p.b) {
					leaks = append(leaks, Leak{Secret: p.secret, Index: p.index, Encoding: p.encoding, Message: m.Type, Offset: i})
				}
			}
		}
	}
	return leaks
}

// Plant returns copies of a message in which each of the planted leaks
// tests use is written into the payload's middle: a value as decimal text,
// as float64 big-endian, as a float32 pair, and a 64-label window
// bit-packed. The audit must find every one of them.
func Plant(m fl.Message, s Secret, labels []float64) (planted []fl.Message, want []string) {
	first := -1
	for i := 0; i+1 < len(s.Values); i++ {
		v, w := s.Values[i], s.Values[i+1]
		if Distinctive(v) && Distinctive(w) && len(strconv.FormatFloat(v, 'g', -1, 64)) >= 6 &&
			!mostlyZero(float64LE(v)) && !mostlyZero(float32PairLE(float32(v), float32(w))) {
			first = i
			break
		}
	}
	put := func(b []byte, enc string) {
		p := bytes.Clone(m.Payload)
		if len(p) < len(b) {
			p = append(p, b...)
		} else {
			copy(p[len(p)/2:], b)
		}
		planted = append(planted, fl.Message{Type: m.Type, Payload: p})
		want = append(want, enc)
	}
	if first >= 0 {
		v, w := s.Values[first], s.Values[first+1]
		put([]byte(`{"value":`+strconv.FormatFloat(v, 'g', -1, 64)+`}`), "decimal 'g' -1")
		put(binary.BigEndian.AppendUint64(nil, math.Float64bits(v)), "float64 BE")
		put(float32PairLE(float32(v), float32(w)), "float32 pair LE")
	}
	for i := 0; i+64 <= len(labels); i += 32 {
		var lsb uint64
		ones := 0
		for k, y := range labels[i : i+64] {
			if y == 1 {
				lsb |= 1 << k
				ones++
			}
		}
		if ones > 0 && ones < 64 {
			put(binary.LittleEndian.AppendUint64(nil, lsb), "64-label window bit-packed LSB first")
			break
		}
	}
	return planted, want
}
