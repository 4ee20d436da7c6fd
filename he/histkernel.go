package he

import (
	"math/bits"
	"slices"

	"github.com/tuneinsight/lattigo/v5/ring"
)

const (
	// histLanes features are transformed and multiplied together, one per
	// 64-bit lane of a 512-bit vector.
	histLanes = 8
	// histLimbs is the number of 52-bit-weighted limbs of an accumulator.
	histLimbs = 3
	// histWindow chunks have their table columns prepared at once.
	histWindow = 32
	// histFoldEvery products fit in the limbs before a reduction, with
	// histBatch-1 more at most: the middle limb grows by less than 3*2^52
	// per product, and 2^64 holds 1365 of those.
	histFoldEvery = 1024
	// histBatch chunks go through the products together, their limbs kept
	// in registers.
	histBatch = 4
)

// histKernel builds the transformed 0/1 polynomials of the histogram kernel
// without a generic NTT, and multiplies them into limb accumulators, eight
// slots (one or two (group, feature) entries each) at a time.
//
// The coefficients of P(X) = sum_u sum_j sum_{b >= bin_uj} X^(S*pos(b) + u*C - j)
// (j < C the values of a chunk; u = 0, and u = 1 too for chunks of C = S/2)
// with the same residue r modulo S form a vector of K' = N/S values that
// depends only on the bin of one value (r = 0: u = 0, j = 0; 0 < r <= C
// with pairs: u = 1, j = C - r; otherwise u = 0, j = S - r, its monomials
// wrapping one block down). The first log2(K') stages of lattigo's
// Cooley-Tukey NTT only combine coefficients of one residue class, with
// twiddles that depend on the position within the class, so their output
// is a table lookup: for
// each (bin, r = 0 or not) the class vector after those stages. The next
// stage's twiddle is folded into a second table. The last log2(S)-1 stages
// run on blocks of S coefficients, one block per table row, as Shoup
// butterflies on eight slots' blocks side by side (lane-interleaved), so
// every butterfly of a row shares its twiddle. The values equal lattigo's
// NTT of the same polynomial modulo q (kept below 4q, not fully reduced).
//
// Products go to three 64-bit limbs per coefficient and lane, of weights
// 2^0, 2^52 and 2^104, which IFMA instructions fill without carries.
type histKernel struct {
	N, S, Kp, K int
	C           int // values per chunk: S, or S/2 for pairs
	mods        []histMod
	bins        [][]uint8
	perm        [][]int
	shared      *histTables // the tables when no feature permutes its bins
}

// histUnit is one work item of the kernel: slots k0..k0+7 of output
// ciphertext t. Slot k holds entry t*S + k, and t*S + C + k too when chunks
// are C = S/2 values (entry g*F + f: group g, feature f).
type histUnit struct {
	t, k0  int
	entry  [histLanes][2]int // the entries of each lane's slot; -1 for none
	groups []int             // the groups of its entries, ascending
}

// histUnits lists the kernel units for GF entries of F features per group,
// S entries per output ciphertext, chunks of C values.
func histUnits(GF, F, S, C int) []histUnit {
	var units []histUnit
	for t := 0; t*S < GF; t++ {
		for k0 := 0; k0 < C && t*S+k0 < GF; k0 += histLanes {
			un := histUnit{t: t, k0: k0}
			for lane := range un.entry {
				for half := range 2 {
					e := t*S + half*C + k0 + lane
					if k0+lane >= C || e >= GF || half*C >= S {
						e = -1
					}
					un.entry[lane][half] = e
					if e >= 0 && !slices.Contains(un.groups, e/F) {
						un.groups = append(un.groups, e/F)
					}
				}
			}
			slices.Sort(un.groups)
			units = append(units, un)
		}
	}
	return units
}

type histMod struct {
	q, qInv uint64
	roots   []uint64  // lattigo's forward NTT roots (bit-reversed, Montgomery form)
	tw      []uint64  // per root: the plain twiddle F and its Shoup quotient floor(F*2^64/q)
	out     [6]uint64 // limb weights for the result, 2^(52i-64) mod q (removes y's Montgomery factor), each followed by its Shoup quotient
	fold    [3]uint64 // limb weights that keep the value: 2^(52i+64) mod q, for MRed
}

// histTables holds the output of the first log2(K') NTT stages per modulus,
// laid out [block][lane][2*(K+1)] with one lane when every feature of a
// group shares them: entry r0*(K+1)+bin for the class of r = 0 (r0 = 0) or
// r != 0 (r0 = 1) and bin in [0, K] (K: counts in no bin). tw holds the same
// entries times the twiddle of the block's next stage, so that stage needs
// no multiplication.
type histTables struct {
	t, tw [][]uint64
	lanes int
}

func newHistKernel(rq *ring.Ring, spec HistogramSpec, S, C int) *histKernel {
	N := rq.N()
	k := &histKernel{N: N, S: S, C: C, Kp: N / S, K: spec.K, bins: spec.Bins, perm: spec.Perm}
	for _, s := range rq.SubRings[:rq.Level()+1] {
		m := histMod{q: s.Modulus, qInv: s.MRedConstant, roots: s.RootsForward, tw: make([]uint64, 2*len(s.RootsForward))}
		for i, r := range s.RootsForward {
			F := ring.MRed(r, 1, m.q, m.qInv)
			Fs, _ := bits.Div64(F, 0, m.q)
			m.tw[2*i], m.tw[2*i+1] = F, Fs
		}
		w := [3]uint64{1, bits.Rem64(0, 1<<52, m.q), bits.Rem64(1<<40, 0, m.q)} // 2^(52i) mod q
		for i := range w {
			m.fold[i] = bits.Rem64(w[i], 0, m.q)
			m.out[2*i] = ring.MRed(w[i], 1, m.q, m.qInv)
			m.out[2*i+1], _ = bits.Div64(m.out[2*i], 0, m.q)
		}
		k.mods = append(k.mods, m)
	}
	if spec.Perm == nil {
		k.shared = k.table([][]int{nil})
	}
	return k
}

// tables returns the first-stage tables of a unit: shared, or one per lane
// and half (lane*2 + half) when features permute their bins.
func (k *histKernel) tables(un *histUnit) *histTables {
	if k.shared != nil {
		return k.shared
	}
	perms := make([][]int, 2*histLanes)
	for i := range perms {
		perms[i] = k.perm[max(0, un.entry[i/2][i%2])%len(k.bins)] // an absent entry reads only the empty column
	}
	return k.table(perms)
}

// table returns the first-stage tables for the bin permutation of each
// lane (nil: none).
func (k *histKernel) table(perms [][]int) *histTables {
	W := 2 * (k.K + 1)
	lanes := len(perms)
	t := &histTables{t: make([][]uint64, len(k.mods)), tw: make([][]uint64, len(k.mods)), lanes: lanes}
	x := make([]uint64, k.Kp)
	for l, m := range k.mods {
		one := bits.Rem64(1, 0, m.q) // 1 in Montgomery form
		t.t[l], t.tw[l] = make([]uint64, k.Kp*lanes*W), make([]uint64, k.Kp*lanes*W)
		for lane, perm := range perms {
			k.tableLane(t, l, lane, perm, one, x)
		}
	}
	return t
}

// tableLane fills lane lane of the tables at modulus l for one bin
// permutation (nil: none); x is scratch of K' values.
func (k *histKernel) tableLane(t *histTables, l, lane int, perm []int, one uint64, x []uint64) {
	m := &k.mods[l]
	W := 2 * (k.K + 1)
	for r0 := 0; r0 < 2; r0++ {
		for bin := 0; bin <= k.K; bin++ {
			clear(x)
			for b := bin; b < k.K; b++ {
				pos := b
				if perm != nil {
					pos = perm[b]
				}
				switch {
				case r0 == 0:
					x[pos] = one
				case pos > 0: // X^(S*pos - off) = X^(S*(pos-1) + (S - off))
					x[pos-1] = one
				default: // X^(-off) = -X^(N - off)
					x[k.Kp-1] = m.q - one
				}
			}
			for mm := 1; mm < k.Kp; mm <<= 1 {
				h := k.Kp / (2 * mm)
				for i := 0; i < mm; i++ {
					F := m.roots[mm+i]
					for j := 2 * i * h; j < 2*i*h+h; j++ {
						u, v := x[j], ring.MRed(x[j+h], F, m.q, m.qInv)
						x[j], x[j+h] = ring.CRed(u+v, m.q), ring.CRed(u+m.q-v, m.q)
					}
				}
			}
			for qb := 0; qb < k.Kp; qb++ {
				e := (qb*t.lanes+lane)*W + r0*(k.K+1) + bin
				t.t[l][e] = x[qb]
				t.tw[l][e] = ring.MRed(x[qb], m.roots[k.Kp+qb], m.q, m.qInv)
			}
		}
	}
}

// chunkIndex writes, for every residue r and lane of a unit, the table
// entry of the value of the chunk [start, end) of group g that residue holds
// (idx[r*histLanes+lane]): entries of other groups, absent entries and values
// past end count in no bin.
func (k *histKernel) chunkIndex(idx []uint16, tabs *histTables, un *histUnit, g, start, end int) {
	W, C, F := 2*(k.K+1), k.C, len(k.bins)
	for lane := 0; lane < histLanes; lane++ {
		for half := range k.S / C { // a second entry only in chunks of S/2
			base := 0
			if tabs.lanes > 1 {
				base = (2*lane + half) * W
			}
			var bins []uint8
			if e := un.entry[lane][half]; e >= 0 && e/F == g {
				bins = k.bins[e%F]
			}
			for j := range C {
				bin := k.K
				if bins != nil && start+j < end {
					bin = min(int(bins[start+j]), k.K)
				}
				r := C - j // half 1: X^(S*b + C - j), never wrapping
				if half == 0 {
					r = (k.S - j) % k.S // X^(S*b - j), wrapping one block down for j > 0
					if j > 0 {
						bin += k.K + 1
					}
				}
				idx[r*histLanes+lane] = uint16(base + bin)
			}
		}
	}
}

// block writes into y (S rows of eight lanes) block qb of the transformed
// polynomials of a group at modulus l, each value below 4q.
func (k *histKernel) block(tabs *histTables, l, qb int, idx []uint16, y []uint64) {
	m := &k.mods[l]
	n := 2 * (k.K + 1) * tabs.lanes
	S := k.S
	firstStage8(y[:S*histLanes], idx[:S*histLanes], tabs.t[l][qb*n:qb*n+n], tabs.tw[l][qb*n:qb*n+n], 2*m.q)
	mm := 2 * k.Kp
	for h := S / 4; h >= 1; h >>= 1 {
		G := S / (2 * h)
		stage8(y[:S*histLanes], h, m.tw[2*(mm+qb*G):2*(mm+qb*G+G)], m.q)
		mm <<= 1
	}
}

// firstStage8 runs the first butterfly stage of a block from the tables:
// rows j and j+S/2 from entries idx of rows j and j+S/2 of t and tw.
func firstStage8(y []uint64, idx []uint16, t, tw []uint64, twoQ uint64) {
	half := len(y) / (2 * histLanes)
	if histAVX512 { // chunkIndex keeps every entry below len(t)
		firstStage8AVX512(&y[0], &idx[0], &t[0], &tw[0], half, twoQ)
		return
	}
	h := half * histLanes
	ylo, yhi := y[:h], y[h:2*h]
	ilo, ihi := idx[:h], idx[h:2*h]
	for j := range ylo {
		u, v := t[ilo[j]], tw[ihi[j]]
		ylo[j], yhi[j] = u+v, u+twoQ-v
	}
}

// stage8 runs one butterfly stage of half-size h (in rows) on y, rows of
// eight lanes, with one (twiddle, Shoup quotient) pair per group of 2h rows.
func stage8(y []uint64, h int, tw []uint64, q uint64) {
	groups := len(y) / (2 * h * histLanes)
	_ = tw[2*groups-1]
	if histAVX512 {
		stage8AVX512(&y[0], groups, h, &tw[0], q)
		return
	}
	stage8Go(y, h, tw, q)
}

func stage8Go(y []uint64, h int, tw []uint64, q uint64) {
	twoQ := 2 * q
	for g, base := 0, 0; base < len(y); g, base = g+1, base+2*h*histLanes {
		F, Fs := tw[2*g], tw[2*g+1]
		x, z := y[base:base+h*histLanes], y[base+h*histLanes:base+2*h*histLanes]
		for i, zi := range z {
			u := x[i]
			if u >= twoQ {
				u -= twoQ
			}
			hi, _ := bits.Mul64(zi, Fs)
			v := zi*F - hi*q
			x[i], z[i] = u+v, u+twoQ-v
		}
	}
}

// macc8 adds a[j]*y[j*8+lane] to the limbs acc[(j*3+limb)*8+lane].
func macc8(acc, a, y []uint64) {
	n := len(a)
	if n == 0 {
		return
	}
	_, _ = acc[n*histLimbs*histLanes-1], y[n*histLanes-1]
	if histAVX512 {
		macc8AVX512(&acc[0], &a[0], &y[0], n)
		return
	}
	macc8Go(acc, a, y)
}

// maccBatch is macc8 for up to histBatch chunks (a[d] with y[d]).
func maccBatch(acc []uint64, a, y [][]uint64) {
	if histAVX512 && len(a) == 4 {
		n := len(a[0])
		_ = acc[n*histLimbs*histLanes-1]
		for d := range 4 {
			_, _ = a[d][n-1], y[d][n*histLanes-1]
		}
		macc8x4AVX512(&acc[0], &a[0][0], &a[1][0], &a[2][0], &a[3][0], &y[0][0], &y[1][0], &y[2][0], &y[3][0], n)
		return
	}
	for d := range a {
		macc8(acc, a[d], y[d])
	}
}

func macc8Go(acc, a, y []uint64) {
	const mask = 1<<52 - 1
	for j, aj := range a {
		acc, y := acc[j*histLimbs*histLanes:][:histLimbs*histLanes], y[j*histLanes:][:histLanes]
		for i, yi := range y {
			hi, lo := bits.Mul64(aj, yi)
			acc[i] += lo & mask
			acc[histLanes+i] += (lo>>52 | hi<<12) & mask
			acc[2*histLanes+i] += hi >> 40
		}
	}
}

// fold reduces every limb triple of acc (modulus l) to its value modulo q,
// kept in the first limb.
func (k *histKernel) fold(acc []uint64, l int) {
	m := &k.mods[l]
	for j := 0; j < len(acc); j += histLimbs * histLanes {
		for i := j; i < j+histLanes; i++ {
			acc[i], acc[i+histLanes], acc[i+2*histLanes] = m.value(acc[i], acc[i+histLanes], acc[i+2*histLanes]), 0, 0
		}
	}
}

// reduce writes the result of lane i of acc (modulus l) into dst[i]: the
// sum of the products, fully reduced, without y's Montgomery factor. tmp
// holds N*histLanes words.
func (k *histKernel) reduce(dst [][]uint64, acc []uint64, l int, tmp []uint64) {
	m := &k.mods[l]
	if histAVX512 {
		_, _ = acc[k.N*histLimbs*histLanes-1], tmp[k.N*histLanes-1]
		reduce8AVX512(&tmp[0], &acc[0], k.N, &m.out[0], m.q)
		for j := range k.N {
			t := tmp[j*histLanes : j*histLanes+histLanes]
			for i, d := range dst {
				d[j] = t[i]
			}
		}
		return
	}
	q := m.q
	w0, w1, w2 := m.out[0], m.out[2], m.out[4]
	s0, s1, s2 := m.out[1], m.out[3], m.out[5]
	for j := range k.N {
		a := acc[j*histLimbs*histLanes:][:histLimbs*histLanes]
		for i, d := range dst {
			// Shoup products, each in [0, 2q).
			a0, a1, a2 := a[i], a[histLanes+i], a[2*histLanes+i]
			h0, _ := bits.Mul64(a0, s0)
			h1, _ := bits.Mul64(a1, s1)
			h2, _ := bits.Mul64(a2, s2)
			r := a0*w0 - h0*q + a1*w1 - h1*q
			if r >= 2*q {
				r -= 2 * q
			}
			r += a2*w2 - h2*q // below 4q < 2^64
			if r >= 2*q {
				r -= 2 * q
			}
			if r >= q {
				r -= q
			}
			d[j] = r
		}
	}
}

// value returns a0 + a1*2^52 + a2*2^104 mod q, fully reduced.
func (m *histMod) value(a0, a1, a2 uint64) uint64 {
	r := ring.MRed(a0, m.fold[0], m.q, m.qInv) + ring.MRed(a1, m.fold[1], m.q, m.qInv)
	if r >= m.q {
		r -= m.q
	}
	r += ring.MRed(a2, m.fold[2], m.q, m.qInv)
	if r >= m.q {
		r -= m.q
	}
	return r
}
