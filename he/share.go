package he

import (
	crand "crypto/rand"
	"errors"
	"fmt"
	"math"
	"math/big"
	"math/bits"
	"math/rand/v2"

	"github.com/tuneinsight/lattigo/v5/ring"
)

// A Share is one party's additive share of a plaintext polynomial: N signed
// integers, the coefficients of a polynomial in Z[X]/(X^N + 1), held in
// 256-bit two's complement (four little-endian 64-bit limbs each). The two
// parties' shares of a value add up, as integers, to the plaintext
// polynomial of that value (scale times its encoding, plus the ciphertext
// noise it carried); each share alone is the value minus, or plus, a uniform
// mask at least 40 bits wider than it (ShareMaskBits), and so statistically
// independent of it.
//
// Shares are exact: addition, multiplication by a fixed-point scalar (with
// one rounding per coefficient) and the automorphisms of the ring (slot
// rotations, conjugation) act on each share alone and commute with the sum,
// so the parties can run a linear update on their shares without talking.
// Nothing else is meaningful on a share: decoding one gives uniform noise.
type Share struct {
	c []limb4
}

type limb4 [4]uint64

// NewShare returns a zero share of n coefficients.
func NewShare(n int) *Share { return &Share{c: make([]limb4, n)} }

// N returns the number of coefficients.
func (s *Share) N() int { return len(s.c) }

// Clone returns a copy of s.
func (s *Share) Clone() *Share { return &Share{c: append([]limb4(nil), s.c...)} }

// ErrShareOverflow is returned when a share operation leaves the 255-bit
// range of a coefficient.
var ErrShareOverflow = errors.New("he: share coefficient overflows 255 bits")

func (x limb4) neg() limb4 {
	var r limb4
	var borrow uint64
	for i := range x {
		r[i], borrow = bits.Sub64(0, x[i], borrow)
	}
	return r
}

func (x limb4) negative() bool { return x[3]>>63 == 1 }

func (x limb4) abs() (limb4, bool) {
	if x.negative() {
		return x.neg(), true
	}
	return x, false
}

func add4(a, b limb4) limb4 {
	var r limb4
	var c uint64
	for i := range a {
		r[i], c = bits.Add64(a[i], b[i], c)
	}
	return r
}

func sub4(a, b limb4) limb4 {
	var r limb4
	var c uint64
	for i := range a {
		r[i], c = bits.Sub64(a[i], b[i], c)
	}
	return r
}

// Add sets s = a + b (modulo 2^256: the sum of the two parties' shares is
// small, so wrapping in a share is harmless as long as no scalar product is
// taken of a wrapped value; the protocols size masks far below 2^250).
func (s *Share) Add(a, b *Share) {
	for i := range s.c {
		s.c[i] = add4(a.c[i], b.c[i])
	}
}

// Sub sets s = a - b.
func (s *Share) Sub(a, b *Share) {
	for i := range s.c {
		s.c[i] = sub4(a.c[i], b.c[i])
	}
}

// Fixed is a real scalar in fixed point, num * 2^-shift with 2^62 <= num <
// 2^63 (or zero), so both parties multiply their shares by exactly the same
// number: the product of the shares' sum then equals the sum of their
// products up to one unit of rounding per coefficient.
type Fixed struct {
	num   uint64
	shift uint
	neg   bool
}

// NewFixed returns the fixed-point form of f, exact to 2^-62 relatively.
func NewFixed(f float64) (Fixed, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return Fixed{}, fmt.Errorf("he: fixed-point scalar %v", f)
	}
	if f == 0 {
		return Fixed{}, nil
	}
	frac, exp := math.Frexp(math.Abs(f)) // |f| = frac * 2^exp, frac in [0.5, 1)
	shift := 63 - exp
	if shift < 0 || shift > 190 {
		return Fixed{}, fmt.Errorf("he: fixed-point scalar %v out of range", f)
	}
	return Fixed{num: uint64(math.Ldexp(frac, 63)), shift: uint(shift), neg: f < 0}, nil
}

// Float64 returns the scalar's value.
func (f Fixed) Float64() float64 {
	v := math.Ldexp(float64(f.num), -int(f.shift))
	if f.neg {
		return -v
	}
	return v
}

// mulFixed returns round(x * f).
func mulFixed(x limb4, f Fixed) (limb4, bool) {
	if f.num == 0 {
		return limb4{}, true
	}
	a, neg := x.abs()
	// 320-bit product a * num.
	var p [5]uint64
	var carry uint64
	for i := range a {
		hi, lo := bits.Mul64(a[i], f.num)
		var c uint64
		p[i], c = bits.Add64(lo, carry, 0)
		carry = hi + c
	}
	p[4] = carry
	// Round: add 2^(shift-1), then shift right.
	if f.shift > 0 {
		w, b := (f.shift-1)/64, (f.shift-1)%64
		var c uint64
		p[w], c = bits.Add64(p[w], 1<<b, 0)
		for k := w + 1; k < 5 && c != 0; k++ {
			p[k], c = bits.Add64(p[k], 0, c)
		}
	}
	var r limb4
	w, b := f.shift/64, f.shift%64
	for i := range r {
		j := int(w) + i
		var lo, hi uint64
		if j < 5 {
			lo = p[j]
		}
		if j+1 < 5 {
			hi = p[j+1]
		}
		if b == 0 {
			r[i] = lo
		} else {
			r[i] = lo>>b | hi<<(64-b)
		}
	}
	if bitLen5(p) > int(f.shift)+255 {
		return limb4{}, false
	}
	if neg != f.neg {
		r = r.neg()
	}
	return r, true
}

func bitLen5(p [5]uint64) int {
	for i := 4; i >= 0; i-- {
		if p[i] != 0 {
			return 64*i + bits.Len64(p[i])
		}
	}
	return 0
}

// MulFixed sets s = round(a * f) coefficient-wise.
func (s *Share) MulFixed(a *Share, f Fixed) error {
	for i := range s.c {
		r, ok := mulFixed(a.c[i], f)
		if !ok {
			return ErrShareOverflow
		}
		s.c[i] = r
	}
	return nil
}

// Automorphism sets s = a(X^g) for an odd g (a Galois element: g = 5^k
// rotates the slots by k, g = 2N-1 conjugates them). s and a must differ.
func (s *Share) Automorphism(a *Share, g uint64) {
	n := uint64(len(a.c))
	mask := 2*n - 1
	for j := uint64(0); j < n; j++ {
		k := (j * g) & mask
		if k < n {
			s.c[k] = a.c[j]
		} else {
			s.c[k-n] = a.c[j].neg()
		}
	}
}

// randomLimbs fills a uniform value in [-2^(bits-1), 2^(bits-1)).
func randomLimbs(r *rand.ChaCha8, nbits uint) limb4 {
	var x limb4
	for i := range x {
		x[i] = r.Uint64()
	}
	// Keep nbits bits, then subtract 2^(nbits-1) to center.
	for i := range x {
		lo := uint(64 * i)
		switch {
		case lo >= nbits:
			x[i] = 0
		case nbits-lo < 64:
			x[i] &= 1<<(nbits-lo) - 1
		}
	}
	var half limb4
	half[(nbits-1)/64] = 1 << ((nbits - 1) % 64)
	return sub4(x, half)
}

// newChaCha returns a ChaCha8 stream keyed from crypto/rand.
func newChaCha() (*rand.ChaCha8, error) {
	var seed [32]byte
	if _, err := crand.Read(seed[:]); err != nil {
		return nil, fmt.Errorf("he: share randomness: %w", err)
	}
	return rand.NewChaCha8(seed), nil
}

// UniformShare returns a share of n coefficients uniform in
// [-2^(nbits-1), 2^(nbits-1)): a mask.
func UniformShare(n int, nbits uint) (*Share, error) {
	if nbits < 1 || nbits > 250 {
		return nil, fmt.Errorf("he: mask of %d bits outside [1, 250]", nbits)
	}
	r, err := newChaCha()
	if err != nil {
		return nil, err
	}
	s := NewShare(n)
	for i := range s.c {
		s.c[i] = randomLimbs(r, nbits)
	}
	return s, nil
}

// fromShifted returns hi*2^shift + lo as a limb4 (lo in [0, 2^shift)).
func fromShifted(hi, lo int64, shift uint) limb4 {
	neg := hi < 0
	h := uint64(hi)
	if neg {
		h = uint64(-hi)
	}
	var x limb4
	w, b := shift/64, shift%64
	x[w] = h << b
	if b > 0 && w+1 < 4 {
		x[w+1] = h >> (64 - b)
	}
	if neg {
		x = x.neg()
	}
	return add4(x, limb4{uint64(lo)})
}

// Float64s returns the coefficients as float64 (rounded): for decoding the
// sum of two shares, whose coefficients are small.
func (s *Share) Float64s(dst []float64) {
	for i, x := range s.c {
		a, neg := x.abs()
		v := float64(a[3])*0x1p192 + float64(a[2])*0x1p128 + float64(a[1])*0x1p64 + float64(a[0])
		if neg {
			v = -v
		}
		dst[i] = v
	}
}

// SetFloat64s sets coefficient i to round(vals[i] * 2^log2Scale), exactly.
func (s *Share) SetFloat64s(vals []float64, log2Scale int) error {
	for i, v := range vals {
		x, ok := limbsOfFloat(v, log2Scale)
		if !ok {
			return fmt.Errorf("%w: value %g at scale 2^%d", ErrShareOverflow, v, log2Scale)
		}
		s.c[i] = x
	}
	return nil
}

// limbsOfFloat returns round(v * 2^e) as a limb4.
func limbsOfFloat(v float64, e int) (limb4, bool) {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return limb4{}, false
	}
	if v == 0 {
		return limb4{}, true
	}
	frac, exp := math.Frexp(math.Abs(v))
	m := uint64(math.Ldexp(frac, 53)) // |v| = m * 2^(exp-53)
	shift := exp - 53 + e
	var x limb4
	switch {
	case shift >= 0:
		if shift+53 > 254 {
			return limb4{}, false
		}
		w, b := uint(shift)/64, uint(shift)%64
		x[w] = m << b
		if b > 0 && w+1 < 4 {
			x[w+1] = m >> (64 - b)
		}
	case shift > -64:
		r := m >> uint(-shift)
		if uint(-shift) > 0 && m>>(uint(-shift)-1)&1 == 1 {
			r++
		}
		x[0] = r
	}
	if v < 0 {
		x = x.neg()
	}
	return x, true
}

// crt reconstructs centered integers from residues modulo a few primes
// (Garner's mixed-radix algorithm in 64-bit words) and reduces integers
// modulo primes: the bridge between shares and lattigo's RNS polynomials.
type crt struct {
	q      []uint64
	inv    [][]uint64 // inv[i][j] = q_j^-1 mod q_i, j < i
	qFull  limb4      // the product of q
	qHalf  limb4      // floor(Q/2)
	digits []uint64
}

func newCRT(moduli []uint64) (*crt, error) {
	qb := big.NewInt(1)
	for _, q := range moduli {
		qb.Mul(qb, new(big.Int).SetUint64(q))
	}
	if qb.BitLen() > 254 {
		return nil, fmt.Errorf("he: a share modulus of %d bits exceeds 254", qb.BitLen())
	}
	c := &crt{q: moduli, inv: make([][]uint64, len(moduli))}
	for i, qi := range moduli {
		c.inv[i] = make([]uint64, i)
		for j := 0; j < i; j++ {
			c.inv[i][j] = new(big.Int).ModInverse(new(big.Int).SetUint64(moduli[j]%qi), new(big.Int).SetUint64(qi)).Uint64()
		}
	}
	c.qFull = limbsOfBig(qb)
	c.qHalf = limbsOfBig(new(big.Int).Rsh(qb, 1))
	return c, nil
}

func limbsOfBig(x *big.Int) limb4 {
	var r limb4
	b := x.Bits()
	for i := 0; i < len(b) && i < 4; i++ {
		r[i] = uint64(b[i])
	}
	return r
}

func cmp4(a, b limb4) int {
	for i := 3; i >= 0; i-- {
		switch {
		case a[i] > b[i]:
			return 1
		case a[i] < b[i]:
			return -1
		}
	}
	return 0
}

func mulmod(a, b, q uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	_, r := bits.Div64(hi%q, lo, q)
	return r
}

// fromResidues returns the centered integer with residues r[i] mod q[i].
func (c *crt) fromResidues(r []uint64) limb4 {
	n := len(c.q)
	d := c.digits[:0]
	for i := 0; i < n; i++ {
		qi := c.q[i]
		x := r[i] % qi
		for j := 0; j < i; j++ {
			x = mulmod((x+qi-d[j]%qi)%qi, c.inv[i][j], qi)
		}
		d = append(d, x)
	}
	c.digits = d
	// x = d0 + q0*(d1 + q1*(d2 + ...))
	var acc limb4
	acc[0] = d[n-1]
	for i := n - 2; i >= 0; i-- {
		var carry uint64
		for k := range acc {
			hi, lo := bits.Mul64(acc[k], c.q[i])
			var cc uint64
			acc[k], cc = bits.Add64(lo, carry, 0)
			carry = hi + cc
		}
		var cc uint64
		acc[0], cc = bits.Add64(acc[0], d[i], 0)
		for k := 1; k < 4 && cc != 0; k++ {
			acc[k], cc = bits.Add64(acc[k], 0, cc)
		}
	}
	if cmp4(acc, c.qHalf) > 0 {
		acc = sub4(acc, c.qFull)
	}
	return acc
}

// reduce returns x mod q for a signed limb4 x.
func reduce(x limb4, q uint64) uint64 {
	a, neg := x.abs()
	r := uint64(0)
	for i := 3; i >= 0; i-- {
		r = bits.Rem64(r, a[i], q)
	}
	if neg && r != 0 {
		r = q - r
	}
	return r
}

// SetPoly sets s from a polynomial in the coefficient domain (not NTT) whose
// rows are residues modulo moduli: each coefficient becomes its centered
// representative modulo their product.
func (s *Share) setPoly(c *crt, pol ring.Poly) {
	r := make([]uint64, len(c.q))
	for i := range s.c {
		for l := range c.q {
			r[l] = pol.Coeffs[l][i]
		}
		s.c[i] = c.fromResidues(r)
	}
}

// writePoly writes s modulo each of moduli into the rows of pol (coefficient domain).
func (s *Share) writePoly(moduli []uint64, pol ring.Poly) {
	for l, q := range moduli {
		row := pol.Coeffs[l]
		for i, x := range s.c {
			row[i] = reduce(x, q)
		}
	}
}
