package score

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/veil-fl/veil/fl"
	"github.com/veil-fl/veil/he"
)

// A session with Scores output decrypts whole ciphertexts of scores, and
// one that would pass he.Linear14's budget of coefficients (a session's:
// its keys are its own) is refused at setup by both parties, naming the
// limit; band output decrypts nothing and has no such limit.
func TestSessionBudget(t *testing.T) {
	slots := 1 << (he.Linear14.LogN - 1)
	most := he.Linear14.MaxDecrypted() >> he.Linear14.LogN // ciphertexts
	require.Equal(t, 4096, most)
	ok := []struct{ rows, batch int }{
		{most * slots, DefaultBatchRows},
		{most*slots - 5, slots},
		{most, 1},
		{3 * most / 4 * slots, 3 * slots / 2}, // two ciphertexts a batch, one half empty
	}
	for _, c := range ok {
		require.NoError(t, checkBudget(Options{Output: Scores, BatchRows: c.batch}, c.rows), "%d records in batches of %d", c.rows, c.batch)
	}
	for _, c := range []struct{ rows, batch int }{{most*slots + 1, DefaultBatchRows}, {most + 1, 1}, {most * slots, 3 * slots / 2}} {
		err := checkBudget(Options{Output: Scores, BatchRows: c.batch}, c.rows)
		require.ErrorIs(t, err, he.ErrLimit, "%d records in batches of %d", c.rows, c.batch)
		require.ErrorIs(t, err, ErrOptions)
	}
	require.NoError(t, checkBudget(Options{Output: Bands, BatchRows: 1, Cuts: LogitCuts(0)}, 10*most))

	// Both sides refuse before any ciphertext moves.
	bank, center := parties(t)
	u := make([]float64, most+1)
	o := Options{Output: Scores, BatchRows: 1}
	be, ce, st := run(nil,
		func(ctx context.Context, tr fl.Transport) error {
			_, err := LinearActive(ctx, tr, bank, u, o)
			return err
		},
		func(ctx context.Context, tr fl.Transport) error { return LinearPassive(ctx, tr, center, u, o) })
	require.ErrorIs(t, ce, he.ErrLimit)
	require.ErrorContains(t, ce, "in one session")
	require.Error(t, be)
	require.LessOrEqual(t, st.SentMessages, uint64(2), "the setup and an abort at most")
}
