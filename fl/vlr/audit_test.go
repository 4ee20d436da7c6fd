package vlr

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/veil-fl/veil/dataset"
	"github.com/veil-fl/veil/fl"
	"github.com/veil-fl/veil/fl/fltest"
	"github.com/veil-fl/veil/he"
	"github.com/veil-fl/veil/model"
)

// TestWireAudit records every byte both parties send during a training on
// synthetic enterprise data and searches it for each party's feature
// values (raw and standardized), the labels, every gradient and (with
// secret-shared weights) every score, in the encodings and under the rule
// of fltest.Distinctive. With RevealGradients the gradients are those the
// parties decrypt; with secret-shared weights nobody decrypts one, and the
// test adds both parties' shares (both live in this process) to get the
// gradients and scores the shares stand for. A subtest plants such values
// into a recorded ciphertext message and requires the audit to find each,
// so that a clean result means something.
func TestWireAudit(t *testing.T) {
	if testing.Short() {
		t.Skip("the wire audit runs in the full suite")
	}
	for _, reveal := range []bool{false, true} {
		name := "shared"
		if reveal {
			name = "reveal gradients"
		}
		t.Run(name, func(t *testing.T) { testWireAudit(t, reveal) })
	}
}

func testWireAudit(t *testing.T, reveal bool) {
	bankT, centerT, err := dataset.Synthesize(dataset.SynthOptions{Rows: 400, Seed: 17, MissingRate: -1})
	require.NoError(t, err)
	rb, rc := dataset.Align(bankT, centerT)
	b, c := bankT.Select(rb), centerT.Select(rc)
	xb, xc, stdB, stdC, y := standardized(t, b, c)

	var mu sync.Mutex
	var grads, scores []float64
	gradHook = func(_ fl.Role, g []float64) {
		mu.Lock()
		grads = append(grads, g...)
		mu.Unlock()
	}
	type key struct {
		what  string
		owner bool // the bank's value
		step  int
	}
	shares := map[key][]*he.SharedVector{}
	shareHook = func(what string, active bool, step int, sv *he.SharedVector) {
		owner := active
		switch what {
		case "peer gradient":
			what, owner = "gradient", !active
		case "scores":
			owner = true
		}
		mu.Lock()
		shares[key{what, owner, step}] = append(shares[key{what, owner, step}], sv)
		mu.Unlock()
	}
	defer func() { gradHook, shareHook = nil, nil }()

	ta, tc := fl.NewPipe()
	ra, rcv := fltest.Record(ta), fltest.Record(tc)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		bt, seed, err := session(ctx, rcv, fl.RolePassive)
		if err == nil {
			_, err = TrainPassive(ctx, bt, seed, Data{X: xc, Cols: c.Cols()})
		}
		done <- err
	}()
	bt, seed, err := session(ctx, ra, fl.RoleActive)
	require.NoError(t, err)
	opt := Options{Epochs: 3, BatchSize: 150, TrackLoss: true, Optimizer: model.OptimizerOptions{Name: "nesterov"}}
	if reveal {
		opt = Options{Epochs: 3, BatchSize: 150, TrackLoss: true, RevealGradients: true, Optimizer: model.OptimizerOptions{Name: "adam"}}
	}
	_, err = TrainActive(ctx, bt, seed, Data{X: xb, Cols: b.Cols(), Y: y}, opt, nil)
	require.NoError(t, err)
	require.NoError(t, <-done)
	p := he.MustParams(he.Shared15)
	for k, pair := range shares {
		require.Len(t, pair, 2, "%+v: both parties' shares", k)
		vals, err := p.DecodeShares(pair[0], pair[1])
		require.NoError(t, err)
		if k.what == "scores" {
			scores = append(scores, vals...)
		} else {
			grads = append(grads, vals...) // sums over the batch; Distinctive values only
		}
	}
	require.NotEmpty(t, grads)
	if !reveal {
		require.NotEmpty(t, scores)
	}

	msgs := append(ra.Sent(), rcv.Sent()...)
	secrets := []fltest.Secret{
		{Name: "bank features", Values: bankT.X, Stride: bankT.Cols()},
		{Name: "center features", Values: centerT.X, Stride: centerT.Cols()},
		{Name: "bank standardized", Values: xb, Stride: b.Cols()},
		{Name: "center standardized", Values: xc, Stride: c.Cols()},
		{Name: "gradients", Values: grads},
		{Name: "standardizers", Values: append(append(append(append([]float64{}, stdB.Mean...), stdB.Std...), stdC.Mean...), stdC.Std...)},
	}
	if scores != nil {
		secrets = append(secrets, fltest.Secret{Name: "scores", Values: scores})
	}
	total := 0
	for _, m := range msgs {
		total += len(m.Payload)
	}
	leaks := fltest.Audit(msgs, secrets, append(append([]float64{}, y...), bankT.Labels...))
	t.Logf("audited %d messages, %.1f MiB; %d gradient values, %d scores", len(msgs), float64(total)/(1<<20), len(grads), len(scores))
	require.Empty(t, leaks, "values found on the wire")

	t.Run("planted leaks are found", func(t *testing.T) {
		var carrier fl.Message
		for _, m := range msgs {
			if m.Type == TypeResidual {
				carrier = m
				break
			}
		}
		require.NotEmpty(t, carrier.Payload)
		for _, s := range secrets {
			planted, want := fltest.Plant(carrier, s, y)
			require.NotEmpty(t, planted)
			for i, m := range planted {
				found := false
				for _, l := range fltest.Audit([]fl.Message{m}, []fltest.Secret{s}, y) {
					if l.Encoding == want[i] {
						found = true
					}
				}
				require.True(t, found, "%s planted as %s not found", s.Name, want[i])
			}
		}
	})
}

// standardized returns both parties' standardized columns and the labels.
func standardized(t *testing.T, b, c *dataset.Table) (xb, xc []float64, sb, sc model.Standardizer, y []float64) {
	t.Helper()
	var err error
	sb, err = model.FitStandardizer(b.X, b.Cols())
	require.NoError(t, err)
	sc, err = model.FitStandardizer(c.X, c.Cols())
	require.NoError(t, err)
	xb, xc = make([]float64, len(b.X)), make([]float64, len(c.X))
	require.NoError(t, sb.Transform(b.X, xb))
	require.NoError(t, sc.Transform(c.X, xc))
	return xb, xc, sb, sc, b.Labels
}
