package ot

import (
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// pair runs the base-OT setup of a chooser and an offerer.
func pair(t testing.TB) (*Chooser, *Offerer) {
	t.Helper()
	c, m1, err := NewChooser()
	require.NoError(t, err)
	o, m2, err := NewOfferer(m1)
	require.NoError(t, err)
	m3, err := c.Accept(m2)
	require.NoError(t, err)
	require.NoError(t, o.Finish(m3))
	return c, o
}

func extend(t testing.TB, c *Chooser, o *Offerer, n int, choices Bits) (*ChooserBatch, *OffererBatch) {
	t.Helper()
	cb, u, err := c.Extend(n, choices)
	require.NoError(t, err)
	require.Len(t, u, extensionBytes(n))
	ob, err := o.Extend(n, u)
	require.NoError(t, err)
	return cb, ob
}

func TestTranspose64(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var a, b [64]uint64
	for i := range a {
		a[i] = r.Uint64()
	}
	b = a
	transpose64(&b)
	for i := range 64 {
		for j := range 64 {
			require.Equal(t, a[i]>>j&1, b[j]>>i&1, "bit (%d, %d)", i, j)
		}
	}
}

// TestRandomOTs checks the IKNP correlation row by row against its
// definition: t_j = q_j ^ r_j s, that is, the chooser holds the offerer's
// key of index r_j, over several batches (the base-OT streams advance).
func TestRandomOTs(t *testing.T) {
	c, o := pair(t)
	for _, n := range []int{1, 63, 64, 1000, 4096} {
		cb, ob := extend(t, c, o, n, nil)
		ones := 0
		for j := range n {
			r := cb.Choice.Get(j)
			require.Equal(t, ob.p[r][j], cb.p[j], "batch of %d, OT %d", n, j)
			require.NotEqual(t, ob.p[1-r][j], cb.p[j])
			ones += int(r)
		}
		if n >= 1000 {
			require.InDelta(t, n/2, ones, float64(n)/8, "random choice bits")
		}
	}
}

func TestChosenChoices(t *testing.T) {
	c, o := pair(t)
	choices := NewBits(200)
	for j := 0; j < 200; j += 3 {
		choices.Set(j, 1)
	}
	cb, ob := extend(t, c, o, 200, choices)
	for j := range 200 {
		require.Equal(t, choices.Get(j), cb.Choice.Get(j))
		require.Equal(t, ob.p[choices.Get(j)][j], cb.p[j])
	}
}

// TestChoose compares 1-out-of-2^k OT with its ideal functionality: the
// chooser gets message(i, c_i), for every k and message width, from any
// offset of a batch.
func TestChoose(t *testing.T) {
	c, o := pair(t)
	r := rand.New(rand.NewPCG(3, 4))
	for _, k := range []int{1, 2, 3, 4, 8} {
		for _, w := range []int{1, 2, 8, 13, 64} {
			const n, at = 150, 5
			cb, ob := extend(t, c, o, at+n*k, nil)
			msgs := make([][]uint64, n)
			for i := range msgs {
				msgs[i] = make([]uint64, 1<<k)
				for x := range msgs[i] {
					msgs[i][x] = r.Uint64() & mask(w)
				}
			}
			want := make([]uint, n)
			for i := range want {
				want[i] = uint(r.IntN(1 << k))
			}
			choice := func(i int) uint { return want[i] }
			d, err := cb.Derandomize(at, n, k, choice)
			require.NoError(t, err)
			y, err := ob.Offer(at, n, k, w, d, func(i int, x uint) uint64 { return msgs[i][x] })
			require.NoError(t, err)
			got, err := cb.Receive(at, n, k, w, choice, y)
			require.NoError(t, err)
			for i := range n {
				require.Equal(t, msgs[i][want[i]], got[i], "k=%d w=%d OT %d", k, w, i)
			}
		}
	}
}

// TestCorrelate: the two shares of each correlated OT add up to r_i delta_i
// modulo 2^w.
func TestCorrelate(t *testing.T) {
	c, o := pair(t)
	r := rand.New(rand.NewPCG(5, 6))
	for _, w := range []int{1, 32, 64} {
		const n = 777
		cb, ob := extend(t, c, o, n+10, nil)
		delta := make([]uint64, n)
		for i := range delta {
			delta[i] = r.Uint64()
		}
		so, msg, err := ob.Correlate(10, n, w, func(i int) uint64 { return delta[i] })
		require.NoError(t, err)
		sc, err := cb.Correlate(10, n, w, msg)
		require.NoError(t, err)
		for i := range n {
			want := uint64(cb.Choice.Get(10+i)) * delta[i] & mask(w)
			require.Equal(t, want, (so[i]+sc[i])&mask(w), "w=%d OT %d", w, i)
		}
	}
}

// TestChooseHidesOtherMessages is the attack that the per-index tweak
// stops. With the pads of one OT hashed without the index (pad(x) = XOR of
// H(key of index x_b ^ d_b)), pad(00) ^ pad(01) ^ pad(10) ^ pad(11) = 0 for
// k = 2, so the chooser learns the XOR of all four messages and, with the
// one it chose, the XOR of the other three. The test plays that recovery
// against the weak pads (it succeeds on every OT) and against the real ones
// (it fails on all but a 2^-8 share by chance).
func TestChooseHidesOtherMessages(t *testing.T) {
	c, o := pair(t)
	const n, k, w = 512, 2, 8
	r := rand.New(rand.NewPCG(7, 8))
	msgs := make([][4]uint64, n)
	for i := range msgs {
		for x := range 4 {
			msgs[i][x] = r.Uint64() & mask(w)
		}
	}
	recovered := func() int {
		cb, ob := extend(t, c, o, n*k, nil)
		choice := func(i int) uint { return uint(i % 4) }
		d, err := cb.Derandomize(0, n, k, choice)
		require.NoError(t, err)
		y, err := ob.Offer(0, n, k, w, d, func(i int, x uint) uint64 { return msgs[i][x] })
		require.NoError(t, err)
		yw := bytesToWords(y)
		hits := 0
		for i := range n {
			var all uint64
			for x := range 4 {
				all ^= getBits(yw, (i<<k+x)*w, w)
			}
			c := i % 4
			if all == msgs[i][(c+1)%4]^msgs[i][(c+2)%4]^msgs[i][(c+3)%4]^msgs[i][c] {
				hits++
			}
		}
		return hits
	}
	weakPads = true
	weak := recovered()
	weakPads = false
	real := recovered()
	require.Equal(t, n, weak, "the attack recovers the XOR of the other messages from weak pads")
	require.Less(t, real, n/32, "the real pads hide it")
}

func TestSetupErrors(t *testing.T) {
	c, m1, err := NewChooser()
	require.NoError(t, err)
	_, _, err = NewOfferer(m1[:10])
	require.ErrorIs(t, err, ErrMessage)
	bad := append([]byte(nil), m1...)
	for i := range 32 {
		bad[i] = 0xff
	}
	_, _, err = NewOfferer(bad)
	require.ErrorIs(t, err, ErrMessage, "a non-canonical element")
	_, _, err = c.Extend(10, nil)
	require.ErrorIs(t, err, ErrState)
	o, m2, err := NewOfferer(m1)
	require.NoError(t, err)
	require.ErrorIs(t, o.Finish(make([]byte, 5)), ErrMessage)
	badAnswer := append([]byte(nil), m2...)
	for i := 5 * elementSize; i < 6*elementSize; i++ {
		badAnswer[i] = 0xff // base OT 5's element is not canonical
	}
	_, err = c.Accept(badAnswer)
	require.ErrorIs(t, err, ErrMessage)
	m3, err := c.Accept(m2) // the bad answer consumed no base OT
	require.NoError(t, err)
	_, err = c.Accept(m2)
	require.ErrorIs(t, err, ErrState)
	tampered := append([]byte(nil), m3...)
	tampered[20] ^= 1
	o2, _, err := NewOfferer(m1)
	require.NoError(t, err)
	err = o2.Finish(tampered)
	require.True(t, errors.Is(err, ErrMessage), "%v", err)
	require.NoError(t, o.Finish(m3))
	_, err = o.Extend(100, make([]byte, 7))
	require.ErrorIs(t, err, ErrMessage)
	cb, u, err := c.Extend(100, nil)
	require.NoError(t, err)
	ob, err := o.Extend(100, u)
	require.NoError(t, err)
	_, err = ob.Offer(0, 10, 4, 8, make([]byte, 3), func(int, uint) uint64 { return 0 })
	require.ErrorIs(t, err, ErrMessage)
	_, err = cb.Receive(0, 10, 4, 8, func(int) uint { return 0 }, make([]byte, 3))
	require.ErrorIs(t, err, ErrMessage)
	_, err = cb.Derandomize(90, 10, 4, func(int) uint { return 0 })
	require.Error(t, err, "a run past the batch")
}
