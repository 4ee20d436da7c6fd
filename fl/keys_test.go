package fl

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/veil-fl/veil/he"
)

// keyPair runs GenerateKeys on both ends of t1/t2 and returns the two parties.
func keyPair(t *testing.T, t1, t2 Transport, params he.Params, spec he.KeySpec) (*he.Party, *he.Party) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	seed := []byte("fl-keys-test-seed-0123456789abcdef")
	type res struct {
		p   *he.Party
		err error
	}
	ch := make(chan res, 1)
	go func() {
		p, err := GenerateKeys(ctx, t2, params, spec, seed)
		ch <- res{p, err}
	}()
	a, err := GenerateKeys(ctx, t1, params, spec, seed)
	require.NoError(t, err)
	r := <-ch
	require.NoError(t, r.err)
	return a, r.p
}

// decryptBothWays decrypts one vector to each party over the transports.
func decryptBothWays(t *testing.T, ta, tb Transport, a, b *he.Party) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	want := []float64{1.5, -2.25, 3, 1e3}
	for _, dir := range []struct {
		recvT, helpT Transport
		recv, help   *he.Party
	}{{ta, tb, a, b}, {tb, ta, b, a}} {
		v, err := dir.help.EncryptCoeffs(want, 8)
		require.NoError(t, err)
		done := make(chan error, 1)
		go func() { done <- HelpDecrypt(ctx, dir.helpT, dir.help) }()
		got, err := DecryptWithPeer(ctx, dir.recvT, dir.recv, v)
		require.NoError(t, err)
		require.NoError(t, <-done)
		for i := range want {
			require.InDelta(t, want[i], got[i], 1e-4)
		}
	}
}

func TestGenerateKeysOverPipe(t *testing.T) {
	ta, tb := NewPipe()
	defer ta.Close()
	defer tb.Close()
	a, b := keyPair(t, ta, tb, he.MustParams(he.Hist13), he.KeySpec{Pack: true})
	decryptBothWays(t, ta, tb, a, b)
	require.Equal(t, ta.Stats().SentBytes, tb.Stats().RecvBytes)
}

func TestGenerateKeysSpecMismatch(t *testing.T) {
	ta, tb := NewPipe()
	defer ta.Close()
	defer tb.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	seed := []byte("fl-keys-test-seed-0123456789abcdef")
	params := he.MustParams(he.Hist13)
	done := make(chan error, 1)
	go func() {
		_, err := GenerateKeys(ctx, tb, params, he.KeySpec{}, seed)
		done <- err
	}()
	_, err := GenerateKeys(ctx, ta, params, he.KeySpec{Pack: true}, seed)
	require.ErrorIs(t, err, he.ErrKeySpecMismatch)
	require.Error(t, <-done)
}
