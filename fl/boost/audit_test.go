package boost

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/veil-fl/veil/dataset"
	"github.com/veil-fl/veil/fl"
	"github.com/veil-fl/veil/fl/fltest"
	"github.com/veil-fl/veil/model"
)

// TestWireAudit records every byte both parties send during a SecureBoost
// training on synthetic enterprise data and searches it for each party's
// raw feature values, the labels and every tree's plaintext gradients and
// hessians, in the encodings and under the rule of fltest.Distinctive. A
// subtest plants such values into a recorded ciphertext message and
// requires the audit to find each.
func TestWireAudit(t *testing.T) {
	if testing.Short() {
		t.Skip("the wire audit runs in the full suite")
	}
	bankT, centerT, err := dataset.Synthesize(dataset.SynthOptions{Rows: 600, Seed: 23})
	require.NoError(t, err)
	rb, rc := dataset.Align(bankT, centerT)
	b, c := bankT.Select(rb), centerT.Select(rc)

	var mu sync.Mutex
	var g, h []float64
	gradHook = func(gt, ht []float64) {
		mu.Lock()
		g, h = append(g, gt...), append(h, ht...)
		mu.Unlock()
	}
	defer func() { gradHook = nil }()

	ta, tc := fl.NewPipe()
	ra, rcv := fltest.Record(ta), fltest.Record(tc)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		bt, seed, err := session(ctx, rcv, fl.RolePassive)
		if err == nil {
			_, err = TrainPassive(ctx, bt, seed, Data{X: c.X, Cols: c.Cols()})
		}
		done <- err
	}()
	bt, seed, err := session(ctx, ra, fl.RoleActive)
	require.NoError(t, err)
	res, err := TrainActive(ctx, bt, seed, Data{X: b.X, Cols: b.Cols(), Y: b.Labels}, Options{GBDTOptions: model.GBDTOptions{Trees: 3, MaxDepth: 3}}, nil)
	require.NoError(t, err)
	require.NoError(t, <-done)
	require.NotEmpty(t, g)

	msgs := append(ra.Sent(), rcv.Sent()...)
	var weights []float64
	for _, tr := range res.Trees {
		for _, nd := range tr.Nodes {
			if nd.Party == "" {
				weights = append(weights, nd.Weight)
			}
		}
	}
	secrets := []fltest.Secret{
		{Name: "bank features", Values: bankT.X, Stride: bankT.Cols()},
		{Name: "center features", Values: centerT.X, Stride: centerT.Cols()},
		{Name: "gradients", Values: g},
		{Name: "hessians", Values: h},
		{Name: "leaf weights", Values: weights},
	}
	total := 0
	for _, m := range msgs {
		total += len(m.Payload)
	}
	leaks := fltest.Audit(msgs, secrets, append(append([]float64{}, b.Labels...), bankT.Labels...))
	t.Logf("audited %d messages, %.1f MiB", len(msgs), float64(total)/(1<<20))
	require.Empty(t, leaks, "values found on the wire")

	t.Run("planted leaks are found", func(t *testing.T) {
		var carrier fl.Message
		for _, m := range msgs {
			if m.Type == TypeHist {
				carrier = m
				break
			}
		}
		require.NotEmpty(t, carrier.Payload)
		for _, s := range secrets {
			planted, want := fltest.Plant(carrier, s, b.Labels)
			require.NotEmpty(t, planted)
			for i, m := range planted {
				found := false
				for _, l := range fltest.Audit([]fl.Message{m}, []fltest.Secret{s}, b.Labels) {
					found = found || l.Encoding == want[i]
				}
				require.True(t, found, "%s planted as %s not found", s.Name, want[i])
			}
		}
	})
}
