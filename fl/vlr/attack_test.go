package vlr

import (
	"context"
	"math"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/veil-fl/veil/fl"
	"github.com/veil-fl/veil/fl/fltest"
	"github.com/veil-fl/veil/he"
	"gonum.org/v1/gonum/mat"
)

// The attacks of a semi-honest party on vertical LR, played against the
// weak variant they guard against (RevealGradients, which decrypts each
// party's gradient to it, with the batch rule lifted and zero initial
// weights) to show they work, and against the default protocol, where the
// party's whole view of every opened value is a share masked with uniform
// randomness: a Kolmogorov-Smirnov test finds those shares uniform and the
// same whatever the peer's data, while the same test on shares with masks
// too narrow for the values (a weak variant of the default protocol) tells
// two peers' data apart.

// ksCrit is the Kolmogorov-Smirnov critical value at significance 1e-9,
// for a sample of n (one-sample, m = 0) or two samples of n and m.
func ksCrit(n, m int) float64 {
	c := math.Sqrt(-math.Log(1e-9/2) / 2)
	if m == 0 {
		return c / math.Sqrt(float64(n))
	}
	return c * math.Sqrt(float64(n+m)/float64(n*m))
}

// ksUniform is the one-sample statistic of u against U(0, 1).
func ksUniform(u []float64) float64 {
	s := slices.Clone(u)
	slices.Sort(s)
	d, n := 0.0, float64(len(s))
	for i, x := range s {
		d = math.Max(d, math.Max(float64(i+1)/n-x, x-float64(i)/n))
	}
	return d
}

// ksTwo is the two-sample statistic.
func ksTwo(a, b []float64) float64 {
	x, y := slices.Clone(a), slices.Clone(b)
	slices.Sort(x)
	slices.Sort(y)
	d := 0.0
	i, j := 0, 0
	for i < len(x) && j < len(y) {
		if x[i] <= y[j] {
			i++
		} else {
			j++
		}
		d = math.Max(d, math.Abs(float64(i)/float64(len(x))-float64(j)/float64(len(y))))
	}
	return d
}

// normalized maps a received share's coefficients from the mask's range
// [-2^(bits-1), 2^(bits-1)) to [0, 1).
func normalized(sv *he.SharedVector, bits uint) []float64 {
	var out []float64
	f := make([]float64, sv.Shares[0].N())
	for _, s := range sv.Shares {
		s.Float64s(f)
		for _, x := range f {
			out = append(out, x/math.Exp2(float64(bits))+0.5)
		}
	}
	return out
}

// view is what each party learns of the opened values in one training,
// each share's coefficients normalized to [0, 1): the bank's shares of the
// scores and of the center's gradient, the center's of the bank's gradient.
type view struct {
	bankScores, bankGrad, center []float64
}

// views trains once and returns the parties' views of the opened values.
func views(t *testing.T, xb, xc, y []float64, db, dc int, opt Options) view {
	t.Helper()
	var (
		mu sync.Mutex
		v  view
	)
	bits := uint(he.MustParams(he.Shared15).ShareCapacity(he.Shared15.DecryptLevel))
	if testMaskBits > 0 {
		bits = testMaskBits
	}
	openedHook = func(active bool, what string, sv *he.SharedVector) {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case active && what == "scores":
			v.bankScores = append(v.bankScores, normalized(sv, bits)...)
		case active && what == "gradient":
			v.bankGrad = append(v.bankGrad, normalized(sv, bits)...)
		case !active && what == "gradient":
			v.center = append(v.center, normalized(sv, bits)...)
		}
	}
	defer func() { openedHook = nil }()
	trainPair(t, xb, xc, y, db, dc, opt)
	require.NotEmpty(t, v.bankScores)
	require.NotEmpty(t, v.bankGrad)
	require.NotEmpty(t, v.center)
	return v
}

// revealRun trains with RevealGradients (the batch rule lifted) and returns
// each party's first decrypted gradient.
func revealRun(t *testing.T, xb, xc, y []float64, db, dc int, opt Options) (bankGrad, centerGrad []float64, bank, center *Result) {
	t.Helper()
	var mu sync.Mutex
	gradHook = func(r fl.Role, g []float64) {
		mu.Lock()
		defer mu.Unlock()
		if r == fl.RoleActive && bankGrad == nil {
			bankGrad = slices.Clone(g)
		}
		if r == fl.RolePassive && centerGrad == nil {
			centerGrad = slices.Clone(g)
		}
	}
	allowSmallBatches = true
	defer func() { gradHook, allowSmallBatches = nil, false }()
	opt.RevealGradients = true
	bank, center = trainPair(t, xb, xc, y, db, dc, opt)
	return bankGrad, centerGrad, bank, center
}

// TestAttackFirstBatchLabelSums: with zero initial weights the first
// gradient the center gets is X_c^T (1/2 - y) / n, which gives it X_c^T y,
// the sum of each of its columns over the defaulters.
func TestAttackFirstBatchLabelSums(t *testing.T) {
	if testing.Short() {
		t.Skip("the attack tests run in the full suite")
	}
	const n, db, dc = 600, 3, 4
	xb, xc, y := synthetic(n, db, dc, 21)
	zeroInit = true
	defer func() { zeroInit = false }()
	truth := make([]float64, dc)
	ones := make([]float64, dc)
	for i := 0; i < n; i++ {
		for j := 0; j < dc; j++ {
			truth[j] += xc[i*dc+j] * y[i]
			ones[j] += xc[i*dc+j]
		}
	}

	t.Run("weak variant: the attack works", func(t *testing.T) {
		_, g, _, _ := revealRun(t, xb, xc, y, db, dc, Options{Epochs: 1})
		for j := range truth {
			got := 0.5*ones[j] - float64(n)*g[j]
			require.InDelta(t, truth[j], got, 1e-6*math.Max(1, math.Abs(truth[j])), "column %d", j)
		}
		t.Logf("the center recovered X_c^T y = %.4f", truth)
	})

	t.Run("default: the center's view does not depend on the labels", func(t *testing.T) {
		flipped := make([]float64, n)
		for i := range y {
			flipped[i] = 1 - y[i]
		}
		c1 := views(t, xb, xc, y, db, dc, Options{Epochs: 1}).center
		c2 := views(t, xb, xc, flipped, db, dc, Options{Epochs: 1}).center
		require.Less(t, ksUniform(c1), ksCrit(len(c1), 0), "shares uniform")
		require.Less(t, ksTwo(c1, c2), ksCrit(len(c1), len(c2)), "labels y and 1-y give the same view")
		t.Logf("KS: uniform %.4f, y vs 1-y %.4f (critical %.4f)", ksUniform(c1), ksTwo(c1, c2), ksCrit(len(c1), len(c2)))
	})

	t.Run("weak masks are caught by the same test", func(t *testing.T) {
		flipped := make([]float64, n)
		for i := range y {
			flipped[i] = 1 - y[i]
		}
		testMaskBits = 76 // the unfolded first gradient's plaintext reaches about 2^80
		defer func() { testMaskBits = 0 }()
		c1 := views(t, xb, xc, y, db, dc, Options{Epochs: 3}).center
		c2 := views(t, xb, xc, flipped, db, dc, Options{Epochs: 3}).center
		d := ksTwo(c1, c2)
		t.Logf("KS with 76-bit masks: y vs 1-y %.4f (critical %.4f)", d, ksCrit(len(c1), len(c2)))
		require.Greater(t, d, ksCrit(len(c1), len(c2)))
	})
}

// TestAttackSmallBatch: a gradient over a batch no larger than a party's
// columns is a linear system the party solves for the batch's residuals d =
// p(z) - y; the center reads the labels off their signs, and the bank, who
// knows y and its own partial scores, inverts p for z and so gets the
// center's partial scores u_c = z - u_b.
func TestAttackSmallBatch(t *testing.T) {
	if testing.Short() {
		t.Skip("the attack tests run in the full suite")
	}
	const n, db, dc = 60, 4, 4
	xb, xc, y := synthetic(n, db, dc, 23)
	opt := Options{Epochs: 1, BatchSize: 3, Seed: 9}
	rows := batches(n, opt)[0]

	t.Run("weak variant: the attacks work", func(t *testing.T) {
		gb, gc, bank, center := revealRun(t, xb, xc, y, db, dc, opt)
		// The center: X_c,B^T d = |B| g_c.
		xcB := mat.NewDense(len(rows), dc, nil)
		xbB := mat.NewDense(len(rows), db+1, nil)
		for k, i := range rows {
			for j := 0; j < dc; j++ {
				xcB.Set(k, j, xc[i*dc+j])
			}
			for j := 0; j < db; j++ {
				xbB.Set(k, j, xb[i*db+j])
			}
			xbB.Set(k, db, 1)
		}
		solve := func(x *mat.Dense, g []float64) []float64 {
			rhs := mat.NewVecDense(len(g), nil)
			for j, v := range g {
				rhs.SetVec(j, v*float64(len(rows)))
			}
			var d mat.VecDense
			require.NoError(t, d.SolveVec(x.T(), rhs))
			return d.RawVector().Data
		}
		d := solve(xcB, gc)
		for k, i := range rows {
			label := 0.0
			if d[k] < 0 {
				label = 1
			}
			require.Equal(t, y[i], label, "row %d", i)
		}
		// The bank: the same system in its columns, then z = p^-1(d + y).
		sig, err := opt.Sigmoid()
		require.NoError(t, err)
		d = solve(xbB, gb)
		for k, i := range rows {
			z := invert(sig, d[k]+y[i])
			ub := bank.InitOwn[db]
			uc := 0.0
			for j := 0; j < db; j++ {
				ub += xb[i*db+j] * bank.InitOwn[j]
			}
			for j := 0; j < dc; j++ {
				uc += xc[i*dc+j] * center.InitOwn[j]
			}
			// To the flooding's precision: a 3-row batch's gradient carries
			// about 1e-5 per coordinate (the training's 2^20 decrypted
			// coefficients widen it), which the solve and the sigmoid's
			// inverse (slope near 0.2) amplify.
			require.InDelta(t, uc, z-ub, 1e-3, "row %d: the center's partial score", i)
		}
		t.Logf("from a batch of %d rows the center read %d labels and the bank %d partial scores of the center", len(rows), len(rows), len(rows))
	})

	t.Run("the batch rule refuses the weak variant", func(t *testing.T) {
		o := opt
		o.RevealGradients = true
		ta, tc := fl.NewPipe()
		defer ta.Close()
		defer tc.Close()
		ctx, cancel := context.WithTimeout(context.Background(), fltest.Deadline(time.Minute))
		defer cancel()
		seed := []byte("vlr-test-joint-seed-0123456789abc")
		done := make(chan error, 1)
		go func() {
			_, err := TrainPassive(ctx, tc, seed, Data{X: xc, Cols: dc})
			done <- err
		}()
		_, err := TrainActive(ctx, ta, seed, Data{X: xb, Cols: db, Y: y}, o, nil)
		require.ErrorIs(t, err, fl.ErrPeerAborted)
		require.ErrorContains(t, err, "at least 20 needed")
		require.ErrorIs(t, <-done, ErrOptions, "the center refuses it")
	})

	t.Run("default: neither view depends on the peer's data", func(t *testing.T) {
		// The first 12 rows hold the first batch (4 batches of 3): only it
		// is looked at.
		const n = 12
		xb, xc, y := xb[:n*db], xc[:n*dc], y[:n]
		o := opt
		o.InitScale = 1 // large partial scores, to give the weak masks below something to show
		flipped := make([]float64, n)
		for i := range y {
			flipped[i] = 1 - y[i]
		}
		other := make([]float64, len(xc))
		for i, v := range xc {
			other[i] = -2 * v
		}
		testInitSeed = []byte("attack")
		defer func() { testInitSeed = nil }()
		v1 := views(t, xb, xc, y, db, dc, o)
		b1, c1 := v1.bankScores, v1.center
		c2 := views(t, xb, xc, flipped, db, dc, o).center
		b2 := views(t, xb, other, y, db, dc, o).bankScores
		require.Less(t, ksUniform(c1), ksCrit(len(c1), 0))
		require.Less(t, ksUniform(b1), ksCrit(len(b1), 0))
		require.Less(t, ksTwo(c1, c2), ksCrit(len(c1), len(c2)), "the center's view under labels y and 1-y")
		require.Less(t, ksTwo(b1, b2), ksCrit(len(b1), len(b2)), "the bank's view under center data X_c and -2 X_c")

		testMaskBits = 80 // the scores' plaintext reaches about 2^81
		defer func() { testMaskBits = 0 }()
		w1 := views(t, xb, xc, y, db, dc, o).bankScores
		w2 := views(t, xb, other, y, db, dc, o).bankScores
		d := ksTwo(w1, w2)
		t.Logf("KS of the bank's view, X_c vs -2 X_c: %.4f with full masks, %.4f with 80-bit masks (critical %.4f)", ksTwo(b1, b2), d, ksCrit(len(w1), len(w2)))
		require.Greater(t, d, ksCrit(len(w1), len(w2)))
	})
}

// TestAttackBankView: the bank's whole view of the opened values, its
// shares of the scores and of the center's gradient, is uniform and the
// same whatever the center's features; the rest of what it receives is
// ciphertexts under the joint key or the center's key share (fresh RLWE
// samples, which a KS test on coefficients cannot tell from anything), and
// the flooded final reveal (TestFinalRevealFlooding). With masks too narrow
// for the center's gradient the same test tells two centers apart.
func TestAttackBankView(t *testing.T) {
	if testing.Short() {
		t.Skip("the attack tests run in the full suite")
	}
	const n, db, dc = 600, 3, 4
	xb, xc, y := synthetic(n, db, dc, 29)
	other := make([]float64, len(xc))
	for i, v := range xc {
		other[i] = -2 * v
	}
	o := Options{Epochs: 2}
	testInitSeed = []byte("bank view") // the same start for both centers
	defer func() { testInitSeed = nil }()

	v1 := views(t, xb, xc, y, db, dc, o)
	v2 := views(t, xb, other, y, db, dc, o)
	for _, c := range []struct {
		what string
		a, b []float64
	}{{"scores", v1.bankScores, v2.bankScores}, {"center's gradient", v1.bankGrad, v2.bankGrad}} {
		u, d, crit := ksUniform(c.a), ksTwo(c.a, c.b), ksCrit(len(c.a), len(c.b))
		t.Logf("the bank's shares of the %s (%d coefficients): KS uniform %.4f (critical %.4f), X_c vs -2 X_c %.4f (critical %.4f)", c.what, len(c.a), u, ksCrit(len(c.a), 0), d, crit)
		require.Less(t, u, ksCrit(len(c.a), 0), "%s: shares uniform", c.what)
		require.Less(t, d, crit, "%s: the bank's view under center data X_c and -2 X_c", c.what)
	}

	testMaskBits = 76 // the center's unfolded gradient reaches about 2^83 here
	defer func() { testMaskBits = 0 }()
	w1 := views(t, xb, xc, y, db, dc, o).bankGrad
	w2 := views(t, xb, other, y, db, dc, o).bankGrad
	d := ksTwo(w1, w2)
	t.Logf("KS of the bank's shares of the center's gradient with 76-bit masks, X_c vs -2 X_c: %.4f (critical %.4f)", d, ksCrit(len(w1), len(w2)))
	require.Greater(t, d, ksCrit(len(w1), len(w2)))
}

// invert returns z in [-Bound, Bound] with p(z) = v, by bisection (the
// fitted sigmoid is increasing there).
func invert(p he.Poly, v float64) float64 {
	lo, hi := -p.Bound, p.Bound
	for range 200 {
		mid := (lo + hi) / 2
		if p.Eval(mid) < v {
			lo = mid
		} else {
			hi = mid
		}
	}
	return (lo + hi) / 2
}
