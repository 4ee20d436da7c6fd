package score

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/veil-fl/veil/fl"
	"github.com/veil-fl/veil/fl/fltest"
)

// TestBandsRevealOnlyTheBand replays issue 14's repeated scoring against
// band output: 200 sessions over the same 64 records, from two sets of the
// center's partial scores that give the same bands. Every session yields
// the bands and nothing else: the bank receives only OT setup and
// comparison messages (no ciphertext, no decryption share), of sizes that
// depend on neither the scores nor the session, and the bits inside depend
// on the center's inputs only through the band (mpc/compare's
// TestLearnerViewIndependentOfInputs, which also shows that test failing
// the weak variant; he's TestRepeatedScoringRecoversMagnitudes plays the
// attack on the retired magnitude output).
func TestBandsRevealOnlyTheBand(t *testing.T) {
	if testing.Short() {
		t.Skip("200 sessions: skipped under -short")
	}
	const n, sessions = 64, 200
	r := rand.New(rand.NewPCG(14, 14))
	cuts := []float64{-2, -1, 0, 1}
	ub := normals(r, n, 1)
	// Two center inputs, the second moving every logit within its band.
	uc1, uc2 := make([]float64, n), make([]float64, n)
	for i := range uc1 {
		uc1[i] = -ub[i] - 3 + float64(i%5) + 0.01 // just above cut i%5 - 1 (or -3 for band 0)
		uc2[i] = uc1[i] + 0.95*r.Float64()
	}
	o := Options{Cuts: LogitCuts(cuts...)}
	var want []int
	var sizes []int
	for s := range sessions {
		uc := uc1
		if s%2 == 1 {
			uc = uc2
		}
		var res *Result
		var got []int
		tap := fltest.Tamper(func(m fl.Message) fl.Message {
			if m.Type != TypeOT && m.Type != TypeBand && m.Type != TypeSetup {
				t.Errorf("session %d: a %q message in band output", s, m.Type)
			}
			got = append(got, len(m.Payload))
			return m
		})
		be, ce, _ := run([]fltest.Fault{tap},
			func(ctx context.Context, tr fl.Transport) (err error) {
				res, err = LinearActive(ctx, tr, nil, ub, o)
				return err
			},
			func(ctx context.Context, tr fl.Transport) error { return LinearPassive(ctx, tr, nil, uc, o) })
		require.NoError(t, be)
		require.NoError(t, ce)
		if s == 0 {
			want, sizes = res.Bands, got
		}
		require.Equal(t, want, res.Bands, "session %d", s)
		require.Equal(t, sizes, got, "session %d: message sizes", s)
		require.Nil(t, res.Logits)
	}
}
