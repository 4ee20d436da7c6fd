package ot

import "fmt"

// 1-out-of-2^k OT from k random OTs. OT i of a run takes the batch's OTs
// at+i*k .. at+i*k+k-1. The chooser, wanting message c, sends d = c ^ r (its
// random choice bits of those OTs: Beaver's derandomization, so the batch
// can be made before the choices are known). For sub-OT b the offerer
// hashes both keys into strings S_b^v (v = the derandomized index: the key
// of index v ^ d_b), each cut into 2^(k-1) pieces of w bits, piece p of S_b^v
// belonging to the one message x with x_b = v and the other bits p. It
// masks message x with pad(x) = XOR over b of x's piece of S_b^(x_b), and
// the chooser, which holds S_b^(c_b) for every b, computes pad(c). Every
// other message x has a bit b with x_b != c_b, whose piece comes from a key
// the chooser does not hold and belongs to x alone, so the pads of the
// messages not chosen are uniform and independent given the chooser's view
// (Naor and Pinkas, "Oblivious transfer and polynomial evaluation", STOC
// 1999, with the hashed keys of the random OTs as their one-time keys).

// MaxChoiceBits bounds k: 2^k messages an OT.
const MaxChoiceBits = 8

func checkRun(n, k, w, at, batch int) error {
	switch {
	case k < 1 || k > MaxChoiceBits:
		return fmt.Errorf("ot: 1-out-of-2^%d OT, want k in 1 .. %d", k, MaxChoiceBits)
	case w < 1 || w > 64:
		return fmt.Errorf("ot: messages of %d bits, want 1 .. 64", w)
	case n < 0 || at < 0 || at+n*k > batch:
		return fmt.Errorf("ot: %d OTs of %d choice bits from OT %d overrun a batch of %d", n, k, at, batch)
	}
	return nil
}

// keyBlocks is the number of 128-bit hash blocks a key's string needs.
func keyBlocks(k, w int) int { return (w<<(k-1) + 127) / 128 }

// weakPads hashes every key into the same one piece for all messages: the
// weak variant that TestChooseHidesOtherMessages attacks. Never set outside
// that test.
var weakPads = false

// piece returns piece p (w bits) of a key's string s.
func piece(s []Block, p uint, w int) uint64 {
	if weakPads {
		p = 0
	}
	pos := int(p) * w
	b := s[pos>>7]
	pos &= 127
	var v uint64
	switch {
	case pos+w <= 64:
		v = b[0] >> pos
	case pos >= 64:
		v = b[1] >> (pos - 64)
	default:
		v = b[0]>>pos | b[1]<<(64-pos)
	}
	if pos+w > 128 {
		v |= s[1+(int(p)*w)>>7][0] << (128 - pos)
	}
	return v & mask(w)
}

// dropBit removes bit b from x.
func dropBit(x uint, b int) uint { return x&(1<<b-1) | x>>(b+1)<<b }

// strings hashes keys of a run: for OT i of lo..hi, sub-OT b, index v, the
// nb blocks out[((i-lo)*k+b)*nb+blk] from p[v][j] (offerer: both v; chooser:
// p[0] only).
func (h hasher) strings(first uint64, p []Block, at, lo, hi, k, nb int, out []Block) {
	tw := make([]Block, (hi-lo)*k*nb)
	src := make([]Block, len(tw))
	for i := lo; i < hi; i++ {
		for b := range k {
			j := at + i*k + b
			for blk := range nb {
				o := ((i-lo)*k+b)*nb + blk
				tw[o] = tweak(first+uint64(j), domainChoose, uint64(blk))
				src[o] = p[j]
			}
		}
	}
	h.tccrs(out, src, tw)
}

// Derandomize returns the chooser's message for n 1-out-of-2^k OTs from
// OT at: choice(i) is the index OT i wants (its k low bits).
func (b *ChooserBatch) Derandomize(at, n, k int, choice func(i int) uint) ([]byte, error) {
	if err := checkRun(n, k, 1, at, b.n); err != nil {
		return nil, err
	}
	out := make([]uint64, (n*k+63)/64)
	parallelAligned(n, 64, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			r := getBits(b.Choice, at+i*k, k)
			putBits(out, i*k, k, uint64(choice(i))^r)
		}
	})
	return wordsToBytes(out, (n*k+7)/8), nil
}

// runBytes is the size of the offerer's message for n OTs of 2^k messages
// of w bits.
func runBytes(n, k, w int) int { return (n<<k*w + 7) / 8 }

// Offer returns the offerer's message for the chooser's Derandomize: for OT
// i, its 2^k messages message(i, x) (the w low bits), each under its pad.
func (b *OffererBatch) Offer(at, n, k, w int, derand []byte, message func(i int, x uint) uint64) ([]byte, error) {
	if err := checkRun(n, k, w, at, b.n); err != nil {
		return nil, err
	}
	if len(derand) != (n*k+7)/8 {
		return nil, fmt.Errorf("%w: %d bytes of choices for %d OTs of %d bits", ErrMessage, len(derand), n, k)
	}
	d := bytesToWords(derand)
	nb := keyBlocks(k, w)
	out := make([]uint64, (n<<k*w+63)/64)
	parallelAligned(n, 64, func(lo, hi int) {
		var s [2][]Block
		for v := range 2 {
			s[v] = make([]Block, (hi-lo)*k*nb)
			b.h.strings(b.first, b.p[v], at, lo, hi, k, nb, s[v])
		}
		var pads [1 << MaxChoiceBits]uint64
		short := w<<(k-1) <= 64 && !weakPads // every string in one word
		for i := lo; i < hi; i++ {
			di := uint(getBits(d, i*k, k))
			if short {
				clear(pads[:1<<k])
				for bit := range k {
					o := ((i-lo)*k + bit) * nb
					for v := range uint(2) {
						sv := s[v^(di>>bit&1)][o][0] // the key that index bit v opens
						for p := range uint(1) << (k - 1) {
							x := p&(1<<bit-1) | v<<bit | p>>bit<<(bit+1)
							pads[x] ^= sv >> (int(p) * w)
						}
					}
				}
				for x := range uint(1) << k {
					putBits(out, (i<<k+int(x))*w, w, message(i, x)^pads[x])
				}
				continue
			}
			for x := range uint(1) << k {
				var pad uint64
				for bit := range k {
					v := (x>>bit ^ di>>bit) & 1 // the ROT key that index x_b opens
					o := ((i-lo)*k + bit) * nb
					pad ^= piece(s[v][o:o+nb], dropBit(x, bit), w)
				}
				putBits(out, (i<<k+int(x))*w, w, message(i, x)^pad)
			}
		}
	})
	return wordsToBytes(out, runBytes(n, k, w)), nil
}

// Receive opens the chosen message of each OT: choice must be the same as
// for Derandomize.
func (b *ChooserBatch) Receive(at, n, k, w int, choice func(i int) uint, msg []byte) ([]uint64, error) {
	if err := checkRun(n, k, w, at, b.n); err != nil {
		return nil, err
	}
	if len(msg) != runBytes(n, k, w) {
		return nil, fmt.Errorf("%w: %d bytes of messages for %d OTs of 2^%d messages of %d bits, want %d", ErrMessage, len(msg), n, k, w, runBytes(n, k, w))
	}
	m := bytesToWords(msg)
	nb := keyBlocks(k, w)
	out := make([]uint64, n)
	parallel(n, func(lo, hi int) {
		s := make([]Block, (hi-lo)*k*nb)
		b.h.strings(b.first, b.p, at, lo, hi, k, nb, s)
		for i := lo; i < hi; i++ {
			c := choice(i) & (1<<k - 1)
			var pad uint64
			for bit := range k {
				o := ((i-lo)*k + bit) * nb
				pad ^= piece(s[o:o+nb], dropBit(c, bit), w)
			}
			out[i] = (getBits(m, (i<<k+int(c))*w, w) ^ pad) & mask(w)
		}
	})
	return out, nil
}

// Correlated OT modulo 2^w on the batch's own choice bits (the chooser
// extends with the bits it means, so nothing is derandomized): for OT i the
// offerer's share is -a_i and the chooser's a_i + r_i delta(i), where a_i is
// the hash of the offerer's key 0; the offerer sends tau_i = a_i + delta(i)
// - H(key 1), one w-bit word an OT (Asharov, Lindell, Schneider and Zohner,
// "More efficient oblivious transfer and extensions for faster secure
// computation", CCS 2013, section 5.4).

// Correlate returns the offerer's shares and message for n correlated OTs
// from OT at.
func (b *OffererBatch) Correlate(at, n, w int, delta func(i int) uint64) ([]uint64, []byte, error) {
	if err := checkRun(n, 1, w, at, b.n); err != nil {
		return nil, nil, err
	}
	shares := make([]uint64, n)
	out := make([]uint64, (n*w+63)/64)
	parallelAligned(n, 64, func(lo, hi int) {
		var h [2][]Block
		for v := range 2 {
			h[v] = make([]Block, hi-lo)
			b.h.correlated(b.first, b.p[v], at, lo, hi, h[v])
		}
		for i := lo; i < hi; i++ {
			a, h1 := h[0][i-lo][0], h[1][i-lo][0]
			shares[i] = -a & mask(w)
			putBits(out, i*w, w, a+delta(i)-h1)
		}
	})
	return shares, wordsToBytes(out, (n*w+7)/8), nil
}

func (h hasher) correlated(first uint64, p []Block, at, lo, hi int, out []Block) {
	tw := make([]Block, hi-lo)
	for i := range tw {
		tw[i] = tweak(first+uint64(at+lo+i), domainCorrelate, 0)
	}
	h.tccrs(out, p[at+lo:at+hi], tw)
}

// Correlate returns the chooser's shares of n correlated OTs from OT at.
func (b *ChooserBatch) Correlate(at, n, w int, msg []byte) ([]uint64, error) {
	if err := checkRun(n, 1, w, at, b.n); err != nil {
		return nil, err
	}
	if len(msg) != (n*w+7)/8 {
		return nil, fmt.Errorf("%w: %d bytes of corrections for %d OTs of %d bits", ErrMessage, len(msg), n, w)
	}
	m := bytesToWords(msg)
	shares := make([]uint64, n)
	parallel(n, func(lo, hi int) {
		h := make([]Block, hi-lo)
		b.h.correlated(b.first, b.p, at, lo, hi, h)
		for i := lo; i < hi; i++ {
			v := h[i-lo][0]
			if b.Choice.Get(at+i) == 1 {
				v += getBits(m, i*w, w)
			}
			shares[i] = v & mask(w)
		}
	})
	return shares, nil
}
