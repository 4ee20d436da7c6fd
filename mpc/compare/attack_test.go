package compare

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/veil-fl/veil/mpc/ot"
)

// learnerView returns, per record, the bits the learner received that
// belong to it: its leaf choices, its node choices at every level and cut,
// and the helper's output shares (the extension matrix is pseudorandom
// under the base OTs and is left out).
func learnerView(t *testing.T, tr transcript, n, cuts int) [][]uint8 {
	p := newPlan(n, cuts)
	view := make([][]uint8, n)
	bit := func(b []byte, i int) uint8 { return b[i/8] >> (i % 8) & 1 }
	parts, err := split(tr.toLearner[0], 1+len(p.leafRun), "start")
	require.NoError(t, err)
	for g, ru := range p.leafRun {
		for i := range ru.count {
			r, _ := p.leafOf(g, i)
			for b := range ru.k {
				view[r] = append(view[r], bit(parts[1+g], i*ru.k+b))
			}
		}
	}
	for s, lv := range p.levels {
		msg := tr.toLearner[1+s]
		for i := range lv.run.count {
			r := i / lv.nodes / cuts
			for b := range lv.run.k {
				view[r] = append(view[r], bit(msg, i*lv.run.k+b))
			}
		}
	}
	out := tr.toLearner[len(tr.toLearner)-1]
	for i := range n * cuts {
		view[i/cuts] = append(view[i/cuts], bit(out, i))
	}
	return view
}

// TestLearnerViewIndependentOfInputs checks that what the learner receives
// depends on the helper's inputs only through the output, in 200 sessions
// over the same records (the repeated scoring of issue 14). Half the
// records have helper inputs below 2^16, half above 2^30, and every sum is
// non-negative: in each bit position of the learner's view the two halves
// must look alike (a z-score below 6 over 6400 draws each), and the
// recovery of the helper's input from the leaf choices must fail. The weak
// variant (no random choice bits, so the choices travel in the clear) fails
// both: the same test finds the halves apart and recovers every input.
func TestLearnerViewIndependentOfInputs(t *testing.T) {
	const n, cuts, sessions = 64, 2, 200
	r := rand.New(rand.NewPCG(9, 10))
	x := make([]uint32, n)
	y := make([]uint32, n*cuts)
	for i := range x {
		if i < n/2 {
			x[i] = uint32(r.IntN(1 << 16))
		} else {
			x[i] = 1<<30 + uint32(r.IntN(1<<30))
		}
		for j := range cuts {
			y[i*cuts+j] = uint32(r.IntN(1<<20)) - x[i]
		}
	}
	attack := func() (zmax float64, recovered int) {
		c, o, err := ot.Local()
		require.NoError(t, err)
		var sum [2][]float64
		for range sessions {
			got, tr := compareLocal(t, c, o, x, y, cuts)
			for i := range got {
				require.Equal(t, uint8(1), got[i], "every sum is non-negative")
			}
			view := learnerView(t, tr, n, cuts)
			for i, v := range view {
				g := i * 2 / n
				if sum[g] == nil {
					sum[g] = make([]float64, len(v))
				}
				for b, bit := range v {
					sum[g][b] += float64(bit)
				}
				// The leaf choices, if they were the helper's own, spell
				// alpha = 2^31 - 1 - low(x).
				alpha := uint32(0)
				for b := range lowBits {
					alpha |= uint32(v[b]) << b
				}
				if lowMask-alpha == x[i]&lowMask {
					recovered++
				}
			}
		}
		draws := float64(sessions * n / 2)
		for b := range sum[0] {
			p0, p1 := sum[0][b]/draws, sum[1][b]/draws
			pool := (p0 + p1) / 2
			if pool == 0 || pool == 1 {
				continue
			}
			zmax = math.Max(zmax, math.Abs(p0-p1)/math.Sqrt(2*pool*(1-pool)/draws))
		}
		return zmax, recovered
	}
	weakChoices = true
	weakZ, weakRecovered := attack()
	weakChoices = false
	z, rec := attack()
	t.Logf("weak variant: largest z-score %.1f, inputs recovered %d of %d; real: %.1f, %d", weakZ, weakRecovered, sessions*n, z, rec)
	require.Greater(t, weakZ, 20.0, "the test tells the halves apart in the weak variant")
	require.Equal(t, sessions*n, weakRecovered)
	require.Less(t, z, 6.0, "the learner's view does not depend on the helper's inputs")
	require.Zero(t, rec)
}
