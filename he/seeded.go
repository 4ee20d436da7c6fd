package he

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	mrand "math/rand/v2"

	"github.com/tuneinsight/lattigo/v5/core/rlwe"
	"github.com/tuneinsight/lattigo/v5/ring"
)

// A SeededVector is a coefficient vector (the Coeff layout) encrypted under
// the sending party's own secret-key share s_own: ciphertext i is
// (c0 = -a_i*s_own + e + m, a_i) with a_i expanded from a public seed and i,
// so only c0 travels. It costs a fraction of a public-key encryption (no
// special-prime work, one noise polynomial) and half its bytes, with fresh
// noise only (sigma 3.2).
//
// The receiver turns it into an ordinary Vector under the collective key
// with Join, which subtracts a_i*s_receiver from c0: c0' + a_i*(s_own +
// s_receiver) = m + e. What each party can do:
//   - the receiver holds RLWE samples under the sender's share, which it does
//     not know: it learns nothing of m, before or after Join;
//   - the sender could decrypt its own seeded vector (it knows m anyway), but
//     nothing the receiver computes from the joined vector, which is under
//     the collective key: as for any Vector, decryption needs both parties.
//
// The seed comes from crypto/rand for every vector; a_i is uniform, so it is
// read directly as a polynomial in the NTT domain, as lattigo does for the
// common reference polynomials of key generation. The noise comes from
// ChaCha8 keyed from crypto/rand.
type SeededVector struct {
	Len   int
	Chunk int
	Seed  [32]byte
	C0    []ring.Poly // NTT form, at the parameters' top level
	// Dropped is the low bits of every c0 coefficient rounded off on the
	// wire (MarshalSeededVectorRounded): 0 for an exact vector.
	Dropped int
}

// EncryptCoeffsSeeded is EncryptCoeffs under this party's own key share, for
// the peer to Join (see SeededVector).
func (p *Party) EncryptCoeffsSeeded(values []float64, chunk int) (*SeededVector, error) {
	if chunk < 1 || chunk > p.params.N() {
		return nil, fmt.Errorf("%w: chunk %d outside [1, %d]", ErrLayout, chunk, p.params.N())
	}
	sv := &SeededVector{Len: len(values), Chunk: chunk, C0: make([]ring.Poly, (len(values)+chunk-1)/chunk)}
	if _, err := rand.Read(sv.Seed[:]); err != nil {
		return nil, fmt.Errorf("he: seed: %w", err)
	}
	level := p.params.MaxLevel()
	rq := p.params.ckks.RingQ().AtLevel(level)
	lift := int(p.params.set.LogScale - encodeLogScale)
	errs := make([]error, len(sv.C0))
	parallelFor(len(sv.C0), func(lo, hi int) {
		var key [32]byte
		if _, err := rand.Read(key[:]); err != nil {
			errs[lo] = fmt.Errorf("he: noise randomness: %w", err)
			return
		}
		noise, err := ring.NewSampler(mrand.NewChaCha8(key), rq, p.params.ckks.Xe(), false)
		if err != nil {
			errs[lo] = fmt.Errorf("he: noise sampler: %w", err)
			return
		}
		w := worker{}
		pt := rlwe.NewPlaintext(p.params.ckks, level)
		e, a := rq.NewPoly(), rq.NewPoly()
		for i := lo; i < hi; i++ {
			if errs[i] = w.encodeCoeffs(p.params, values[i*chunk:min((i+1)*chunk, len(values))], math.Exp2(encodeLogScale), pt); errs[i] != nil {
				return
			}
			liftPow2(rq, pt.Value, lift)
			noise.Read(e)
			rq.NTT(e, e)
			c0 := rq.NewPoly()
			rq.Add(pt.Value, e, c0)
			sv.expand(rq, i, a)
			rq.MulCoeffsMontgomeryThenSub(a, p.sk.Value.Q, c0)
			sv.C0[i] = c0
		}
	})
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return sv, nil
}

// expand writes a_i, the public c1 of ciphertext i, into a: lattigo's
// uniform sampler reading ChaCha8 keyed with SHA-256(seed, i).
func (sv *SeededVector) expand(rq *ring.Ring, i int, a ring.Poly) {
	key := sha256.Sum256(binary.LittleEndian.AppendUint64(append([]byte(nil), sv.Seed[:]...), uint64(i)))
	ring.NewUniformSampler(mrand.NewChaCha8(key), rq).Read(a)
}

// check validates the shape of sv against p.
func (sv *SeededVector) check(p Params) error {
	if sv == nil {
		return fmt.Errorf("%w: nil seeded vector", ErrLayout)
	}
	if sv.Len < 0 || sv.Chunk < 1 || sv.Chunk > p.N() {
		return fmt.Errorf("%w: seeded vector of %d values in chunks of %d (N=%d)", ErrLayout, sv.Len, sv.Chunk, p.N())
	}
	if want := (sv.Len + sv.Chunk - 1) / sv.Chunk; len(sv.C0) != want {
		return fmt.Errorf("%w: seeded vector of %d values needs %d ciphertexts, has %d", ErrLayout, sv.Len, want, len(sv.C0))
	}
	for i, c0 := range sv.C0 {
		if c0.Level() != p.MaxLevel() || c0.N() != p.N() {
			return fmt.Errorf("%w: seeded ciphertext %d has %d moduli of degree %d, want %d of %d", ErrLayout, i, c0.Level()+1, c0.N(), p.MaxLevel()+1, p.N())
		}
	}
	return nil
}

// Join turns the peer's seeded vector into a Vector under the collective
// key (see SeededVector). sv is not modified.
func (p *Party) Join(sv *SeededVector) (*Vector, error) {
	if err := sv.check(p.params); err != nil {
		return nil, err
	}
	level := p.params.MaxLevel()
	rq := p.params.ckks.RingQ().AtLevel(level)
	v := &Vector{Layout: Coeff, Len: sv.Len, Chunk: sv.Chunk, Cts: make([]*rlwe.Ciphertext, len(sv.C0))}
	parallelFor(len(sv.C0), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			ct := rlwe.NewCiphertext(p.params.ckks, 1, level)
			sv.expand(rq, i, ct.Value[1])
			rq.MulCoeffsMontgomery(ct.Value[1], p.sk.Value.Q, ct.Value[0])
			rq.Sub(sv.C0[i], ct.Value[0], ct.Value[0])
			ct.IsNTT, ct.IsBatched = true, false
			ct.Scale = p.params.Scale()
			v.Cts[i] = ct
		}
	})
	return v, nil
}

// MarshalSeededVector encodes sv for the wire: the seed and the c0
// components only.
func (p Params) MarshalSeededVector(sv *SeededVector) ([]byte, error) {
	if err := sv.check(p); err != nil {
		return nil, err
	}
	h := p.header(kindSeededVector)
	size := len(h) + 16 + len(sv.Seed)
	for _, c0 := range sv.C0 {
		size += polyBytes([]polyField{p.qField(c0)})
	}
	b := append(make([]byte, 0, size), h...)
	b = binary.LittleEndian.AppendUint64(b, uint64(sv.Len))
	b = binary.LittleEndian.AppendUint32(b, uint32(sv.Chunk))
	b = binary.LittleEndian.AppendUint32(b, uint32(len(sv.C0)))
	b = append(b, sv.Seed[:]...)
	for _, c0 := range sv.C0 {
		b = appendPolys(b, []polyField{p.qField(c0)})
	}
	return b, nil
}

// UnmarshalSeededVector decodes a seeded vector encoded by
// MarshalSeededVector under the same parameters.
func (p Params) UnmarshalSeededVector(data []byte) (*SeededVector, error) {
	rest, err := p.readHeader(data, kindSeededVector)
	if err != nil {
		return nil, err
	}
	r := &reader{b: rest}
	sv := &SeededVector{Len: int(min(r.u64(), math.MaxInt32)), Chunk: int(r.u32())}
	nct := int(r.u32())
	copy(sv.Seed[:], r.take(len(sv.Seed)))
	if r.err != nil {
		return nil, fmt.Errorf("seeded vector header: %w", r.err)
	}
	rq := p.ckks.RingQ().AtLevel(p.MaxLevel())
	per := polyBytes([]polyField{p.qField(rq.NewPoly())})
	if nct > len(r.b)/per {
		return nil, fmt.Errorf("%w: seeded vector announces %d ciphertexts in %d bytes", ErrMalformed, nct, len(r.b))
	}
	for i := 0; i < nct; i++ {
		c0 := rq.NewPoly()
		if err := readPolys(r.take(per), []polyField{p.qField(c0)}, fmt.Sprintf("seeded ciphertext %d", i)); err != nil {
			return nil, err
		}
		sv.C0 = append(sv.C0, c0)
	}
	if len(r.b) != 0 {
		return nil, fmt.Errorf("%w: %d trailing bytes after the seeded vector", ErrMalformed, len(r.b))
	}
	if err := sv.check(p); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return sv, nil
}

// kindSeededVectorPacked is a seeded vector with each coefficient of its
// c0 components in the bits of its prime (see packed.go).
const kindSeededVectorPacked byte = 25

func init() {
	kindNames[kindSeededVectorPacked] = "packed seeded vector"
}

// MarshalSeededVectorPacked encodes sv as MarshalSeededVector does, with
// each coefficient in the bits of its prime (120 of 128 bits at Hist13's
// two 60-bit primes).
func (p Params) MarshalSeededVectorPacked(sv *SeededVector) ([]byte, error) {
	if err := sv.check(p); err != nil {
		return nil, err
	}
	b := p.header(kindSeededVectorPacked)
	b = binary.LittleEndian.AppendUint64(b, uint64(sv.Len))
	b = binary.LittleEndian.AppendUint32(b, uint32(sv.Chunk))
	b = binary.LittleEndian.AppendUint32(b, uint32(len(sv.C0)))
	b = append(b, sv.Seed[:]...)
	for _, c0 := range sv.C0 {
		b = appendPacked(b, []polyField{p.qField(c0)})
	}
	return b, nil
}

// UnmarshalSeededVectorPacked decodes a seeded vector encoded by
// MarshalSeededVectorPacked under the same parameters: the length exact
// for the announced count, every coefficient reduced modulo its prime.
func (p Params) UnmarshalSeededVectorPacked(data []byte) (*SeededVector, error) {
	what := kindNames[kindSeededVectorPacked]
	rest, err := p.readHeader(data, kindSeededVectorPacked)
	if err != nil {
		return nil, err
	}
	r := &reader{b: rest}
	sv := &SeededVector{Len: int(min(r.u64(), math.MaxInt32)), Chunk: int(r.u32())}
	nct := int(r.u32())
	copy(sv.Seed[:], r.take(len(sv.Seed)))
	if r.err != nil {
		return nil, fmt.Errorf("%s header: %w", what, r.err)
	}
	rq := p.ckks.RingQ().AtLevel(p.MaxLevel())
	per := packedBytes([]polyField{p.qField(rq.NewPoly())})
	if nct > len(r.b)/per {
		return nil, fmt.Errorf("%w: %s announces %d ciphertexts in %d bytes", ErrMalformed, what, nct, len(r.b))
	}
	for i := 0; i < nct; i++ {
		c0 := rq.NewPoly()
		if err := readPacked(r.take(per), []polyField{p.qField(c0)}, fmt.Sprintf("%s ciphertext %d", what, i)); err != nil {
			if r.err != nil {
				return nil, fmt.Errorf("%s ciphertext %d: %w", what, i, r.err)
			}
			return nil, err
		}
		sv.C0 = append(sv.C0, c0)
	}
	if len(r.b) != 0 {
		return nil, fmt.Errorf("%w: %d trailing bytes after the %s", ErrMalformed, len(r.b), what)
	}
	if err := sv.check(p); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return sv, nil
}
