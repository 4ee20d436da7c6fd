package joint

import (
	"context"
	"github.com/veil-fl/veil/fl"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/veil-fl/veil/he"
	"github.com/veil-fl/veil/internal/hetest"
)

// keyPair runs GenerateKeys on both ends of t1/t2 and returns the two parties.
func keyPair(t *testing.T, t1, t2 fl.Transport, params he.Params, spec he.KeySpec) (*he.Party, *he.Party) {
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
func decryptBothWays(t *testing.T, ta, tb fl.Transport, a, b *he.Party) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	want := []float64{1.5, -2.25, 3, 1e3}
	for _, dir := range []struct {
		recvT, helpT fl.Transport
		recv, help   *he.Party
	}{{ta, tb, a, b}, {tb, ta, b, a}} {
		v, err := dir.help.EncryptCoeffs(want, 8)
		require.NoError(t, err)
		plan := NewPlan(Disclosure{Step: "test", Layout: he.Coeff, Len: len(want), Level: AnyLevel, Vectors: 1})
		done := make(chan error, 1)
		go func() { done <- HelpDecrypt(ctx, dir.helpT, dir.help, plan, "test") }()
		got, err := DecryptWithPeer(ctx, dir.recvT, dir.recv, v)
		require.NoError(t, err)
		require.NoError(t, <-done)
		for i := range want {
			require.InDelta(t, want[i], got[i], 1e-4)
		}
	}
}

func TestGenerateKeysOverPipe(t *testing.T) {
	ta, tb := fl.NewPipe()
	defer ta.Close()
	defer tb.Close()
	a, b := keyPair(t, ta, tb, he.MustParams(he.Hist13), he.KeySpec{Pack: true})
	decryptBothWays(t, ta, tb, a, b)
	require.Equal(t, ta.Stats().SentBytes, tb.Stats().RecvBytes)
}

func TestGenerateKeysSpecMismatch(t *testing.T) {
	ta, tb := fl.NewPipe()
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

// TestPlanRefusesUndeclared: the helper refuses a vector of another shape
// than its step declares, one vector more than declared, and a step the
// plan does not hold, with ErrUndeclared, and tells the peer.
func TestPlanRefusesUndeclared(t *testing.T) {
	ta, tb := fl.NewPipe()
	defer ta.Close()
	defer tb.Close()
	a, b := keyPair(t, ta, tb, he.MustParams(he.Hist13), he.KeySpec{})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	p := a.Params()
	good, err := a.EncryptCoeffs([]float64{1, 2, 3}, 8)
	require.NoError(t, err)
	a.DropToDecryptLevel(good)
	longer, err := a.EncryptCoeffs([]float64{1, 2, 3, 4}, 8)
	require.NoError(t, err)
	slots, err := a.Encrypt([]float64{1, 2, 3})
	require.NoError(t, err)
	low, err := a.EncryptCoeffs([]float64{1, 2, 3}, 8)
	require.NoError(t, err)
	for _, ct := range low.Cts {
		ct.Resize(1, 0) // below the declared level
	}
	decl := Disclosure{Step: "s", Layout: he.Coeff, Len: 3, Level: p.Set().DecryptLevel, Vectors: 2}
	for _, c := range []struct {
		name string
		v    *he.Vector
		step string
		uses int
	}{
		{"wrong length", longer, "s", 0},
		{"wrong layout", slots, "s", 0},
		{"wrong level", low, "s", 0},
		{"undeclared step", good, "other", 0},
		{"one too many", good, "s", 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			plan := NewPlan(decl)
			for range c.uses {
				require.NoError(t, plan.Admit(p, "s", good))
			}
			data, err := p.MarshalVector(c.v)
			require.NoError(t, err)
			require.NoError(t, ta.Send(ctx, fl.Message{Type: TypeDecrypt, Payload: data}))
			err = HelpDecrypt(ctx, tb, b, plan, c.step)
			require.ErrorIs(t, err, ErrUndeclared)
			_, err = fl.Expect(ctx, ta, TypeShare)
			require.ErrorIs(t, err, fl.ErrPeerAborted, "the peer is told")
			require.Equal(t, c.uses, plan.Used("s"))
		})
	}
}

// TestPlanFloodingBudget: a plan admits no more coefficients than its
// parameter set's flooding is sized for, whatever the steps declare.
func TestPlanFloodingBudget(t *testing.T) {
	s := he.Hist13
	s.LogMaxDecrypted = 14 // two ciphertexts of 2^13 coefficients
	p := he.MustParams(s)
	a, _, err := hetest.LocalPair(p, he.KeySpec{}, []byte("plan-budget-test-seed-0123456789"))
	require.NoError(t, err)
	v, err := a.EncryptCoeffs([]float64{1, 2, 3}, 8)
	require.NoError(t, err)
	a.DropToDecryptLevel(v)
	plan := NewPlan(Disclosure{Step: "s", Layout: he.Coeff, Len: AnyLen, Level: AnyLevel, Vectors: 10})
	require.NoError(t, plan.Admit(p, "s", v))
	require.NoError(t, plan.Admit(p, "s", v))
	err = plan.Admit(p, "s", v)
	require.ErrorIs(t, err, ErrUndeclared)
	require.ErrorIs(t, err, he.ErrLimit)
	require.ErrorContains(t, err, "24576 coefficients, over the 16384")
}
