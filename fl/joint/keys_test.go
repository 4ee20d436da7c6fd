package joint

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/veil-fl/veil/fl"

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

// decryptBothWays decrypts one vector to each party over the transports;
// a plays the active party, b the passive.
func decryptBothWays(t *testing.T, ta, tb fl.Transport, a, b *he.Party) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	want := []float64{1.5, -2.25, 3, 1e3}
	for _, dir := range []struct {
		recvT, helpT fl.Transport
		recv, help   *he.Party
		to, helper   fl.Role
	}{{ta, tb, a, b, fl.RoleActive, fl.RolePassive}, {tb, ta, b, a, fl.RolePassive, fl.RoleActive}} {
		v, err := dir.help.EncryptCoeffs(want, 8)
		require.NoError(t, err)
		plan := NewPlan(Disclosure{Step: "test", To: dir.to, Layout: he.Coeff, Len: len(want), Level: AnyLevel, Vectors: 1}).HeldBy(ctx, dir.helper)
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

// TestPlanRefusesUndeclared: the helper (b, the passive party) refuses a
// vector of another shape than its step declares, one vector more than
// declared, a step the plan does not hold, a step declared to itself
// rather than to the peer that asks, and any vector when the plan is held
// by no party, with an *UndeclaredError naming the step and what differs,
// and tells the peer. Nothing is counted.
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
	decl := Disclosure{Step: "s", To: fl.RoleActive, Layout: he.Coeff, Len: 3, Level: p.Set().DecryptLevel, Vectors: 2}
	other := func(edit func(*Disclosure)) Disclosure { d := decl; edit(&d); return d }
	for _, c := range []struct {
		name   string
		decl   Disclosure
		holder fl.Role
		v      *he.Vector
		step   string
		uses   int
		field  string
	}{
		{"wrong length", decl, fl.RolePassive, longer, "s", 0, "length"},
		{"longer than the maximum", other(func(d *Disclosure) { d.Len, d.MaxLen = AnyLen, 3 }), fl.RolePassive, longer, "s", 0, "length"},
		{"wrong layout", decl, fl.RolePassive, slots, "s", 0, "layout"},
		{"wrong level", decl, fl.RolePassive, low, "s", 0, "level"},
		{"wrong scale", other(func(d *Disclosure) { d.LogScale = p.Set().LogScale + 0.5 }), fl.RolePassive, good, "s", 0, "scale"},
		{"undeclared step", decl, fl.RolePassive, good, "other", 0, "step"},
		{"one too many", decl, fl.RolePassive, good, "s", 2, "count"},
		{"wrong receiver", other(func(d *Disclosure) { d.To = fl.RolePassive }), fl.RolePassive, good, "s", 0, "receiver"},
		{"held by no party", decl, "", good, "s", 0, "holder"},
	} {
		t.Run(c.name, func(t *testing.T) {
			plan := NewPlan(c.decl).HeldBy(ctx, c.holder)
			for range c.uses {
				require.NoError(t, plan.Admit(p, "s", good))
			}
			data, err := p.MarshalVector(c.v)
			require.NoError(t, err)
			require.NoError(t, ta.Send(ctx, fl.Message{Type: TypeDecrypt, Payload: data}))
			err = HelpDecrypt(ctx, tb, b, plan, c.step)
			require.ErrorIs(t, err, ErrUndeclared)
			var ue *UndeclaredError
			require.ErrorAs(t, err, &ue)
			require.Equal(t, c.step, ue.Step)
			require.Equal(t, c.field, ue.Field, "%v", err)
			_, err = fl.Expect(ctx, ta, TypeShare)
			require.ErrorIs(t, err, fl.ErrPeerAborted, "the peer is told")
			require.ErrorContains(t, err, "step "+c.step, "the peer hears which step")
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
	plan := NewPlan(Disclosure{Step: "s", To: fl.RolePassive, Layout: he.Coeff, Len: AnyLen, Level: AnyLevel, Vectors: 10}).HeldBy(t.Context(), fl.RoleActive)
	require.NoError(t, plan.Admit(p, "s", v))
	require.NoError(t, plan.Admit(p, "s", v))
	err = plan.Admit(p, "s", v)
	require.ErrorIs(t, err, ErrUndeclared)
	require.ErrorIs(t, err, he.ErrLimit)
	require.ErrorContains(t, err, "24576 coefficients, over the 16384")
}

// TestGenerateKeysWithProgress: both parties' progress counts the stages
// 0..KeyStages in order, their logs have a start and an end line with the
// parameter set and no other field, and the keys work. A mismatched key
// spec stops short of the last stage and logs the failure.
func TestGenerateKeysWithProgress(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	params := he.MustParams(he.Hist13)
	seed := []byte("fl-keys-test-seed-0123456789abcdef")
	type stage struct {
		step        string
		done, total int
	}
	run := func(specA, specB he.KeySpec) (got [2][]stage, logs [2]*bytes.Buffer, pa, pb *he.Party, errA, errB error) {
		ta, tb := fl.NewPipe()
		defer ta.Close()
		defer tb.Close()
		opts := [2]KeyOptions{}
		for i := range opts {
			logs[i] = &bytes.Buffer{}
			opts[i] = KeyOptions{
				Progress: func(step string, done, total int) { got[i] = append(got[i], stage{step, done, total}) },
				Logger:   slog.New(slog.NewJSONHandler(logs[i], &slog.HandlerOptions{Level: slog.LevelDebug})),
			}
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			pb, errB = GenerateKeysWith(ctx, tb, params, specB, seed, opts[1])
		}()
		pa, errA = GenerateKeysWith(ctx, ta, params, specA, seed, opts[0])
		<-done
		if errA == nil && errB == nil {
			decryptBothWays(t, ta, tb, pa, pb)
		}
		return got, logs, pa, pb, errA, errB
	}
	msgs := func(buf *bytes.Buffer) []string {
		var out []string
		for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
			var m map[string]any
			require.NoError(t, json.Unmarshal([]byte(line), &m), line)
			for k := range m {
				require.Contains(t, []string{"time", "level", "msg", "params", "seconds"}, k, line)
			}
			require.Equal(t, params.ID(), m["params"])
			out = append(out, m["msg"].(string))
		}
		return out
	}

	got, logs, _, _, errA, errB := run(he.KeySpec{}, he.KeySpec{})
	require.NoError(t, errA)
	require.NoError(t, errB)
	var want []stage
	for d := range KeyStages + 1 {
		want = append(want, stage{StepKeys, d, KeyStages})
	}
	for i := range got {
		require.Equal(t, want, got[i])
		require.Equal(t, []string{"keys: start", "keys: done"}, msgs(logs[i]))
	}

	got, logs, _, _, errA, _ = run(he.KeySpec{Pack: true}, he.KeySpec{})
	require.ErrorIs(t, errA, he.ErrKeySpecMismatch)
	require.Less(t, got[0][len(got[0])-1].done, KeyStages, "a failed run stops short")
	require.Equal(t, []string{"keys: start", "keys: failed"}, msgs(logs[0]))
}
