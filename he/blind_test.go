package he

// The retired band output (Veil before issue 14): the center returned, per
// record and cut, a*(z - c) with a secret factor a log-uniform in
// [1, 2^BlindBits), in a secret order. The signs gave the band; the
// magnitudes leaked |z - c|, and more with every rescoring. It lives on only
// here, as the weak variant TestRepeatedScoringRecoversMagnitudes attacks;
// band output is now secure comparison (fl/score, mpc/compare).

import (
	crand "crypto/rand"
	"sort"
	"testing"

	"errors"
	"fmt"
	"github.com/stretchr/testify/require"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/tuneinsight/lattigo/v5/core/rlwe"
	"github.com/tuneinsight/lattigo/v5/schemes/ckks"
)

// BlindBits is log2 of the range of the blinding factors of BlindSigns: each
// factor is drawn log-uniformly from [1, 2^BlindBits).
const BlindBits = 12

// ErrBlindRange is returned by BlindSigns for cut points whose blinded
// differences could leave the decryption headroom.
var ErrBlindRange = errors.New("he: blinded comparison out of range")

// MaxBlindInput bounds |z - c| for BlindSigns: with factors below
// 2^BlindBits, blinded values stay below 2^(BlindBits+8) = 2^20, well inside
// the 2^27 headroom of Linear14's decryption level. Larger scores would
// wrap modulo Q and decrypt to garbage signs, so callers clamp to it.
const MaxBlindInput = 1 << 8

// BlindSigns is the sanitising step of band scoring (the credit center's, on
// the bank's encrypted scores). For a SlotReal vector z at level >= 1 and
// ascending cut points c_0 < ... < c_{m-1}, it returns ceil(m/2) SlotComplex
// vectors of z's length, one level lower, whose 2*ceil(m/2) real and
// imaginary parts hold, for each record i, the m values
//
//	a_{j,i} * (z_i - c_{pi_i(j)})
//
// (and, when m is odd, a negative blind -a, as if for a cut above every
// score), where every factor a_{j,i} is fresh, secret
// and log-uniform in [1, 2^BlindBits) and pi_i is a fresh secret placement of
// the cuts for each record. Decrypting them tells the count of positive
// values per record, which is the record's band (the number of cuts below
// z_i), and nothing that ties a value to a cut: the signs are what is meant
// to be revealed; the magnitudes a*|z - c| reveal |z - c| only up to the
// unknown factor (a 2^BlindBits spread). Two comparisons share a slot (one
// complex plaintext product), halving what is sent and decrypted. Slots
// beyond z.Len are zeroed. Needs |z_i - c| < MaxBlindInput for the signs
// to be exact.
func (p *Party) BlindSigns(z *Vector, cuts []float64) ([]*Vector, error) {
	var seed [32]byte
	if _, err := crand.Read(seed[:]); err != nil {
		return nil, fmt.Errorf("he: blinding randomness: %w", err)
	}
	return p.blindSigns(z, cuts, seed)
}

// blindSigns is BlindSigns with its randomness drawn from seed (tests replay
// it to measure the noise).
func (p *Party) blindSigns(z *Vector, cuts []float64, seed [32]byte) ([]*Vector, error) {
	if err := z.check(p.params); err != nil {
		return nil, err
	}
	if z.Layout != SlotReal || len(z.Cts) == 0 {
		return nil, fmt.Errorf("%w: BlindSigns needs a non-empty slot-real vector, got %s", ErrLayout, z.Layout)
	}
	level := z.Level()
	if level < 1 {
		return nil, fmt.Errorf("he: BlindSigns needs a level to rescale, the vector is at level 0")
	}
	if len(cuts) == 0 || !slices.IsSorted(cuts) {
		return nil, fmt.Errorf("%w: %d cut points, want at least one, ascending", ErrBlindRange, len(cuts))
	}
	for _, c := range cuts {
		if math.IsNaN(c) || math.Abs(c) >= MaxBlindInput {
			return nil, fmt.Errorf("%w: cut point %v outside (-%d, %d)", ErrBlindRange, c, MaxBlindInput, MaxBlindInput)
		}
	}
	for i := 1; i < len(cuts); i++ {
		if cuts[i] == cuts[i-1] {
			return nil, fmt.Errorf("%w: cut point %v repeated", ErrBlindRange, cuts[i])
		}
	}
	m, per, n := len(cuts), p.params.Slots(), z.Len
	k := (m + 1) / 2 // outputs, two comparisons each
	qScale := p.params.ckks.Q()[level]
	out := make([]*Vector, k)
	for j := range out {
		out[j] = &Vector{Layout: SlotComplex, Len: n, Cts: make([]*rlwe.Ciphertext, len(z.Cts))}
	}
	errs := make([]error, len(z.Cts))
	parallelFor(len(z.Cts), func(lo, hi int) {
		w := p.worker()
		pt := ckks.NewPlaintext(p.params.ckks, level)
		// factor[pos], offset[pos]: position pos is part pos%2 (real,
		// imaginary) of output pos/2.
		factor := make([][]float64, 2*k)
		offset := make([][]float64, 2*k)
		for j := range factor {
			factor[j], offset[j] = make([]float64, per), make([]float64, per)
		}
		perm := make([]int, 2*k)
		for c := lo; c < hi; c++ {
			// One stream per ciphertext, so the draws do not depend on how
			// the work is split between goroutines.
			cs := seed
			cs[0] ^= byte(c)
			cs[1] ^= byte(c >> 8)
			cs[2] ^= byte(c >> 16)
			cs[3] ^= byte(c >> 24)
			rng := rand.New(rand.NewChaCha8(cs))
			rows := min(per, n-c*per)
			for i := range rows {
				for j := range perm {
					perm[j] = j // position j gets cut perm[j]; cut m (odd m) is the spare
				}
				rng.Shuffle(len(perm), func(a, b int) { perm[a], perm[b] = perm[b], perm[a] })
				for pos, cut := range perm {
					a := math.Exp2(BlindBits * rng.Float64())
					if cut == m { // the spare place: a cut above every score
						factor[pos][i], offset[pos][i] = 0, -a
						continue
					}
					factor[pos][i], offset[pos][i] = a, -a*cuts[cut]
				}
			}
			for j := range k {
				for _, pos := range []int{2 * j, 2*j + 1} {
					clear(factor[pos][rows:])
					clear(offset[pos][rows:])
				}
				// (z + i*0)(a + i*b) - (a*c + i*b*d) = a(z - c) + i*b(z - d)
				err := w.encodeSlots(p.params, factor[2*j], factor[2*j+1], nil, float64(qScale), pt)
				var ct *rlwe.Ciphertext
				if err == nil {
					ct, err = w.eval.MulNew(z.Cts[c], pt)
				}
				if err == nil {
					err = w.eval.Rescale(ct, ct)
				}
				if err == nil {
					err = p.addPlainCt(w, ct, offset[2*j], offset[2*j+1])
				}
				if err != nil {
					errs[c] = err
					return
				}
				out[j].Cts[c] = ct
			}
		}
	})
	if err := joinErrs(errs); err != nil {
		return nil, err
	}
	return out, nil
}

// TestRepeatedScoringRecoversMagnitudes plays the attack of issue 14 on
// the retired output: a bank that scores the same records in 200 sessions
// keeps, per record, the smallest positive blinded value it ever saw. It
// belongs to the highest cut below z, and the smallest of 200 factors
// log-uniform in [1, 2^12) is near 1, so it recovers z - c to a few
// percent (for LR the bank then subtracts its own partial score and has
// the center's). The signs still give the band every time. Band output
// now reveals only the band (fl/score's TestBandsRevealOnlyTheBand and
// mpc/compare's TestLearnerViewIndependentOfInputs).
func TestRepeatedScoringRecoversMagnitudes(t *testing.T) {
	if testing.Short() {
		t.Skip("200 sessions of blinded comparisons: skipped under -short")
	}
	bank, center := pairFor(t, Linear14, KeySpec{})
	r := rand.New(rand.NewPCG(14, 200))
	cuts := []float64{-2, -1, 0, 1}
	const n, sessions = 64, 200
	z := make([]float64, n)
	for i := range z {
		z[i] = -1.95 + 3.9*r.Float64() // every record has a cut below it
	}
	enc, err := bank.EncryptAt(z, 2)
	require.NoError(t, err)
	smallest := make([]float64, n)
	for i := range smallest {
		smallest[i] = math.Inf(1)
	}
	for range sessions {
		ys, err := center.BlindSigns(enc, cuts)
		require.NoError(t, err)
		positive := make([]int, n)
		for _, y := range ys {
			share, err := center.DecryptShare(y)
			require.NoError(t, err)
			c, err := bank.DecryptComplex(y, share)
			require.NoError(t, err)
			for i := range n {
				for _, v := range []float64{real(c[i]), imag(c[i])} {
					if v > 0 {
						positive[i]++
						smallest[i] = math.Min(smallest[i], v)
					}
				}
			}
		}
		for i := range n {
			band := 0
			for _, c := range cuts {
				if z[i] > c {
					band++
				}
			}
			require.Equal(t, band, positive[i], "the signs give the band")
		}
	}
	errs := make([]float64, n)
	for i := range n {
		below := math.Inf(-1)
		for _, c := range cuts {
			if c < z[i] {
				below = c
			}
		}
		errs[i] = smallest[i]/(z[i]-below) - 1 // >= 0: factors are >= 1
	}
	sort.Float64s(errs)
	t.Logf("relative error of the recovered z - c: median %.3f, 90th percentile %.3f", errs[n/2], errs[9*n/10])
	require.Less(t, errs[n/2], 0.05, "the median record's distance to its cut, to a few percent")
	require.Less(t, errs[9*n/10], 0.25)
}
