package compare

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/veil-fl/veil/mpc/ot"
)

// releaseLocal runs a conditional disclosure between the two sides in
// memory: the recipient is the OT chooser here.
func releaseLocal(t testing.TB, c *ot.Chooser, o *ot.Offerer, x, y []uint32, secrets []uint64, opt ReleaseOptions) (*Release, *Recipient, []byte) {
	t.Helper()
	d, err := NewDiscloser(o, x, secrets, opt)
	require.NoError(t, err)
	r, err := NewRecipient(c, y, opt)
	require.NoError(t, err)
	m1, err := r.Start()
	require.NoError(t, err)
	m2, err := d.Respond(m1)
	require.NoError(t, err)
	got, err := r.Finish(m2)
	require.NoError(t, err)
	return got, r, m2
}

// releaseCase draws n records: sums z in (-2^29, 2^29) (and the edges 0
// and -1 at cut 0), split as x + y: bounded, x and y are the parties'
// partial values (|.| < 2^28 each); otherwise x is a random share.
func releaseCase(r *rand.Rand, n int, bounded bool, ks []uint32) (x, y []uint32, secrets []uint64) {
	x, y, secrets = make([]uint32, n), make([]uint32, n), make([]uint64, n)
	for i := range n {
		var z int32
		switch i {
		case 0:
			z = int32(ks[0])
		case 1:
			z = int32(ks[0]) - 1
		default:
			z = int32(r.Int64N(1<<29)) - 1<<28
		}
		if bounded {
			xi := int32(r.Int64N(1<<28)) - 1<<27
			if i < 2 {
				xi = z / 2
			}
			x[i], y[i] = uint32(xi), uint32(z-xi)
		} else {
			x[i] = r.Uint32()
			y[i] = uint32(z) - x[i]
		}
		secrets[i] = r.Uint64()
	}
	return x, y, secrets
}

// TestRelease checks every comparison against the plaintext sign of
// x_r - k_j + y_r and the release against the release cut's, with 5 cuts,
// secrets of 5 and 64 bits, for a bounded input and a random share.
func TestRelease(t *testing.T) {
	c, o, err := ot.Local()
	require.NoError(t, err)
	r := rand.New(rand.NewPCG(3, 4))
	ks := []uint32{neg(3 << 20), neg(1 << 20), 0, 1 << 20, 5 << 24}
	for _, bounded := range []bool{true, false} {
		for _, bits := range []int{5, 64} {
			n := 300
			x, y, secrets := releaseCase(r, n, bounded, ks)
			opt := ReleaseOptions{Cuts: ks, At: 1, Bounded: bounded, SecretBits: bits}
			got, _, _ := releaseLocal(t, c, o, x, y, secrets, opt)
			released := 0
			for i := range n {
				for j, k := range ks {
					require.Equal(t, want(x[i]-k, y[i]), got.Bits[i*len(ks)+j], "record %d cut %d", i, j)
				}
				rel := want(x[i]-ks[opt.At], y[i]) == 0
				require.Equal(t, rel, got.Released[i], "record %d", i)
				if rel {
					released++
					s := secrets[i]
					if bits < 64 {
						s &= 1<<bits - 1
					}
					require.Equal(t, s, got.Secrets[i], "record %d", i)
				} else {
					require.Zero(t, got.Secrets[i])
				}
			}
			require.Greater(t, released, n/8)
			require.Less(t, released, n-n/8)
		}
	}
}

// TestCheatingRecipient: a recipient that wants the secrets of the records
// above the release cut (not approved) gets random-looking bytes.
//
//  1. Asking for them outright: for a record not released, the label it
//     holds of the release wire opens the masked secret to a value that is
//     not the secret (64-bit secrets: a match by chance is 2^-64), and the
//     values opened look uniform (each bit set in about half of them).
//  2. Flipping its choice bits: the top bit of every input (y + 2^31)
//     would turn every comparison over. With the range check (Bounded) or
//     the window (a random share) no record is released, and nothing it
//     opens is a secret. Against weakRelease, which keys the release on the
//     sign alone as any disclosure keyed by a bit the recipient holds
//     unauthenticated does, the same flip opens the secret of exactly the
//     records above the cut: the attack works there.
func TestCheatingRecipient(t *testing.T) {
	c, o, err := ot.Local()
	require.NoError(t, err)
	r := rand.New(rand.NewPCG(5, 6))
	ks := []uint32{neg(1 << 20), 0, 2 << 20}
	const n = 400
	opened := func(rc *Recipient, m2 []byte, i int) uint64 {
		parts, err := split(m2, 6, "test")
		require.NoError(t, err)
		return openSecretOf(rc.rel[i], parts[5], i, 64)
	}
	for _, bounded := range []bool{true, false} {
		x, y, secrets := releaseCase(r, n, bounded, ks)
		opt := ReleaseOptions{Cuts: ks, At: 1, Bounded: bounded, SecretBits: 64}
		above := make([]bool, n)
		for i := range n {
			above[i] = want(x[i]-ks[1], y[i]) == 1
		}

		// 1. The honest input: the records above the cut stay masked.
		_, rc, m2 := releaseLocal(t, c, o, x, y, secrets, opt)
		var ones [64]int
		count := 0
		for i := range n {
			if !above[i] {
				continue
			}
			v := opened(rc, m2, i)
			require.NotEqual(t, secrets[i], v, "record %d's secret opened", i)
			for b := range 64 {
				ones[b] += int(v >> b & 1)
			}
			count++
		}
		require.Greater(t, count, 50)
		for b, k := range ones {
			require.InDelta(t, count/2, k, 6*float64(count)/2/4+1, "bit %d of the opened values is not uniform", b)
		}

		// 2. Flipped top bits.
		flipped := make([]uint32, n)
		for i := range y {
			flipped[i] = y[i] ^ 1<<31
		}
		got, rc, m2 := releaseLocal(t, c, o, x, flipped, secrets, opt)
		for i := range n {
			require.False(t, got.Released[i], "bounded %v: record %d released to a flipped input", bounded, i)
			require.NotEqual(t, secrets[i], opened(rc, m2, i))
		}

		// Against the weak variant the flip works.
		func() {
			weakRelease = true
			defer func() { weakRelease = false }()
			got, _, _ := releaseLocal(t, c, o, x, flipped, secrets, opt)
			hit := 0
			for i := range n {
				require.Equal(t, above[i], got.Released[i], "weak variant, record %d", i)
				if above[i] {
					require.Equal(t, secrets[i], got.Secrets[i])
					hit++
				}
			}
			require.Greater(t, hit, 50, "the weak variant should give the cheat the records above the cut")
		}()
	}
}

// openSecretOf unmasks record rec's secret with a release-wire label.
func openSecretOf(rel label, masked []byte, rec, secretBits int) uint64 {
	sb := (secretBits + 7) / 8
	var s uint64
	for b := range sb {
		s |= uint64(masked[rec*sb+b]) << (8 * b)
	}
	s ^= newGCHash().hash(rel, secretTweak|uint64(rec))[0]
	if secretBits < 64 {
		s &= 1<<secretBits - 1
	}
	return s
}

// TestReleaseMessageBytes holds both messages to ReleaseMessageBytes and
// refuses messages of the wrong shape.
func TestReleaseMessageBytes(t *testing.T) {
	c, o, err := ot.Local()
	require.NoError(t, err)
	r := rand.New(rand.NewPCG(7, 8))
	ks := []uint32{0, 1 << 20}
	opt := ReleaseOptions{Cuts: ks, At: 0, Bounded: true, SecretBits: 5}
	x, y, secrets := releaseCase(r, 100, true, ks)
	d, err := NewDiscloser(o, x, secrets, opt)
	require.NoError(t, err)
	rc, err := NewRecipient(c, y, opt)
	require.NoError(t, err)
	m1, err := rc.Start()
	require.NoError(t, err)
	m2, err := d.Respond(m1)
	require.NoError(t, err)
	wr, wd := ReleaseMessageBytes(100, opt)
	require.InDelta(t, wr, len(m1), 3*binaryMaxVarint)
	require.InDelta(t, wd, len(m2), 6*binaryMaxVarint)
	_, err = rc.Finish(m2[:len(m2)-1])
	require.ErrorIs(t, err, ErrMessage)
	_, err = rc.Finish(m2)
	require.ErrorIs(t, err, ErrState)
	_, err = d.Respond(m1)
	require.ErrorIs(t, err, ErrState)
	_, err = NewDiscloser(o, x, secrets[:1], opt)
	require.ErrorIs(t, err, ErrInput)
	_, err = NewRecipient(c, y, ReleaseOptions{Cuts: ks, At: 2, SecretBits: 5})
	require.ErrorIs(t, err, ErrInput)
	_, err = NewRecipient(c, y, ReleaseOptions{Cuts: ks, SecretBits: 65})
	require.ErrorIs(t, err, ErrInput)
}

const binaryMaxVarint = 10

func neg(v uint32) uint32 { return -v }

// FuzzRelease: no message makes either side panic.
func FuzzRelease(f *testing.F) {
	f.Add([]byte{}, []byte{})
	f.Add([]byte{1, 2, 3}, []byte{0, 0, 0, 0, 0, 0})
	opt := ReleaseOptions{Cuts: []uint32{0}, At: 0, Bounded: true, SecretBits: 5}
	c, o, err := ot.Local()
	require.NoError(f, err)
	f.Fuzz(func(t *testing.T, toDiscloser, toRecipient []byte) {
		d, err := NewDiscloser(o, []uint32{1, 2}, []uint64{3, 4}, opt)
		require.NoError(t, err)
		_, _ = d.Respond(toDiscloser)
		r, err := NewRecipient(c, []uint32{5, 6}, opt)
		require.NoError(t, err)
		if _, err := r.Start(); err != nil {
			t.Fatal(err)
		}
		_, _ = r.Finish(toRecipient)
	})
}

func BenchmarkRelease(b *testing.B) {
	c, o, err := ot.Local()
	require.NoError(b, err)
	r := rand.New(rand.NewPCG(1, 1))
	ks := []uint32{neg(2 << 20), neg(1 << 20), 0, 1 << 20}
	const n = 1024
	x, y, secrets := releaseCase(r, n, true, ks)
	opt := ReleaseOptions{Cuts: ks, At: 1, Bounded: true, SecretBits: 5}
	wr, wd := ReleaseMessageBytes(n, opt)
	b.ResetTimer()
	for range b.N {
		releaseLocal(b, c, o, x, y, secrets, opt)
	}
	b.ReportMetric(float64(wr+wd)/n, "bytes/record")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n/1e3, "us/record")
}
