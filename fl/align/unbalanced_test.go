package align_test

import (
	"context"
	"encoding/csv"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/veil-fl/veil/dataset"
	"github.com/veil-fl/veil/fl"
	"github.com/veil-fl/veil/fl/align"
	"github.com/veil-fl/veil/fl/fltest"
	"github.com/veil-fl/veil/mpc/psi"
)

type outcome struct {
	res *psi.Result
	err error
}

// pair runs one alignment over a pipe: the bank with bo, the center with co.
func pair(t *testing.T, bankIDs, centerIDs []string, bo, co align.Options, faults ...fltest.Fault) (bank, center outcome, bankSent, centerSent fl.Stats) {
	t.Helper()
	ta, tc := fltest.NewPipe(faults...)
	defer ta.Close()
	defer tc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), fltest.Deadline(2*time.Minute))
	defer cancel()
	var wg sync.WaitGroup
	wg.Go(func() { center.res, center.err = align.AlignWith(ctx, tc, centerIDs, co) })
	bank.res, bank.err = align.AlignWith(ctx, ta, bankIDs, bo)
	wg.Wait()
	require.NoError(t, ctx.Err(), "no party waited for the deadline")
	return bank, center, ta.Stats(), tc.Stats()
}

// checkUnbalanced aligns bankIDs and centerIDs in both modes (the
// unbalanced twice: the cache built, then used) and checks that both
// parties' rows are identical in every run.
func checkUnbalanced(t *testing.T, bankIDs, centerIDs []string) {
	bal, balC, _, _ := pair(t, bankIDs, centerIDs, align.Options{}, align.Options{})
	require.NoError(t, bal.err)
	require.NoError(t, balC.err)
	store := &psi.CenterStore{Center: "center"}
	cache := psi.NewCache("center", "bank")
	for run := range 2 {
		set, err := store.Set(context.Background(), "bank", centerIDs)
		require.NoError(t, err)
		b, c, bs, cs := pair(t, bankIDs, centerIDs, align.Options{Cache: cache}, align.Options{Center: set})
		require.NoError(t, b.err)
		require.NoError(t, c.err)
		require.Equal(t, bal.res.Rows, b.res.Rows, "run %d: the bank's rows as in the balanced mode", run)
		require.Equal(t, balC.res.Rows, c.res.Rows, "run %d: the center's rows as in the balanced mode", run)
		require.Equal(t, b.res.Digest, c.res.Digest)
		for i := range b.res.Rows {
			require.Equal(t, bankIDs[b.res.Rows[i]], centerIDs[c.res.Rows[i]])
		}
		t.Logf("run %d: %d of %d x %d; bank sent %d bytes, center %d", run, len(b.res.Rows), len(bankIDs), len(centerIDs), bs.SentBytes, cs.SentBytes)
		if run == 1 {
			// The cache and its memo are used: no id is asked again, so
			// the center sends an empty update and its digest, and the
			// bank its state, the ask's header, the slots and its digest.
			require.Less(t, cs.SentBytes, uint64(4096))
			require.Less(t, bs.SentBytes, uint64(4*len(b.res.Rows)+4096))
			require.Equal(t, len(bankIDs), cache.Remembered())
		}
	}
}

// TestUnbalancedSynthetic: on the synthetic tables, the unbalanced mode
// aligns exactly as the balanced one.
func TestUnbalancedSynthetic(t *testing.T) {
	rows := 3000
	if testing.Short() {
		rows = 600
	}
	bankTable, centerTable, err := dataset.Synthesize(dataset.SynthOptions{Rows: rows, Seed: 11})
	require.NoError(t, err)
	checkUnbalanced(t, bankTable.IDs, centerTable.IDs)
}

// TestUnbalancedRealData: on every pair in ../shared/data (the guest is
// the bank, the host the center), as the balanced mode.
func TestUnbalancedRealData(t *testing.T) {
	const dir = "../../../shared/data"
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("shared data sets not found at %s: %v", dir, err)
	}
	pairs, err := filepath.Glob(filepath.Join(dir, "*_guest.csv"))
	require.NoError(t, err)
	require.NotEmpty(t, pairs)
	for _, guest := range pairs {
		name := filepath.Base(guest[:len(guest)-len("_guest.csv")])
		t.Run(name, func(t *testing.T) {
			bankIDs, centerIDs := readIDs(t, guest), readIDs(t, guest[:len(guest)-len("_guest.csv")]+"_host.csv")
			if testing.Short() && len(bankIDs)+len(centerIDs) > 2000 {
				t.Skip("a large pair; run without -short")
			}
			checkUnbalanced(t, bankIDs, centerIDs)
		})
	}
}

func readIDs(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = -1
	header, err := r.Read()
	require.NoError(t, err)
	require.Equal(t, "id", header[0])
	var ids []string
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return ids
		}
		require.NoError(t, err)
		ids = append(ids, rec[0])
	}
}

// TestUnbalancedModes: a balanced peer of an unbalanced party, an empty
// intersection, too many ids, a hook at the bank: each ends both parties
// with a matchable error, and the center's hook sees the rows.
func TestUnbalancedModes(t *testing.T) {
	ctx := context.Background()
	bankIDs, centerIDs := []string{"a", "b", "c", "d"}, []string{"c", "d", "e", "f", "g"}
	newSet := func() *psi.CenterSet {
		s, err := psi.NewCenterSet(ctx, "center", "bank", centerIDs, time.Now(), nil)
		require.NoError(t, err)
		return s
	}
	t.Run("mode mismatch", func(t *testing.T) {
		b, c, _, _ := pair(t, bankIDs, centerIDs, align.Options{}, align.Options{Center: newSet()})
		require.Error(t, b.err)
		require.Error(t, c.err)
	})
	t.Run("empty intersection", func(t *testing.T) {
		b, c, _, _ := pair(t, []string{"x", "y"}, centerIDs, align.Options{Cache: psi.NewCache("center", "bank")}, align.Options{Center: newSet()})
		require.ErrorIs(t, b.err, psi.ErrEmptyIntersection)
		require.ErrorIs(t, c.err, psi.ErrEmptyIntersection)
	})
	t.Run("too many ids", func(t *testing.T) {
		b, c, _, _ := pair(t, bankIDs, centerIDs, align.Options{Cache: psi.NewCache("center", "bank")}, align.Options{Center: newSet(), MaxPeerIDs: 3})
		require.ErrorIs(t, c.err, align.ErrTooManyIDs)
		require.ErrorIs(t, b.err, fl.ErrPeerAborted)
	})
	t.Run("hook", func(t *testing.T) {
		var seen []int
		refuse := errors.New("quota")
		b, c, _, _ := pair(t, bankIDs, centerIDs, align.Options{Cache: psi.NewCache("center", "bank")},
			align.Options{Center: newSet(), BeforeReveal: func(rows []int) error { seen = rows; return refuse }})
		require.Equal(t, []int{0, 1}, seen)
		require.ErrorIs(t, c.err, refuse)
		require.ErrorIs(t, b.err, fl.ErrPeerAborted)
	})
	t.Run("hook at the bank", func(t *testing.T) {
		ta, tc := fltest.NewPipe()
		defer ta.Close()
		defer tc.Close()
		_, err := align.AlignWith(ctx, ta, bankIDs, align.Options{Cache: psi.NewCache("center", "bank"), BeforeReveal: func([]int) error { return nil }})
		require.Error(t, err)
	})
	t.Run("another bank's cache", func(t *testing.T) {
		// The bank's cache is bound to bank "other": the center's set, for
		// "bank", does not verify under its names.
		b, c, _, _ := pair(t, bankIDs, centerIDs, align.Options{Cache: psi.NewCache("center", "other")}, align.Options{Center: newSet()})
		require.ErrorIs(t, b.err, psi.ErrCacheMismatch)
		require.ErrorIs(t, c.err, fl.ErrPeerAborted)
	})
}

// TestUnbalancedHostile corrupts each message of the unbalanced mode in
// turn: both parties stop with a matchable error, neither waits for its
// deadline, and the bank's cache is left as it was.
func TestUnbalancedHostile(t *testing.T) {
	bankIDs := []string{"a", "b", "c", "d", "e"}
	centerIDs := []string{"c", "d", "e", "f"}
	set, err := psi.NewCenterSet(context.Background(), "center", "bank", centerIDs, time.Now(), nil)
	require.NoError(t, err)
	for _, typ := range []string{align.TypeCacheState, align.TypeUpdate, align.TypeQuery, align.TypeReply, align.TypeSlots, align.TypeDigest} {
		for _, m := range fltest.Mutations {
			if fltest.VectorMutation(m.Name) {
				continue
			}
			t.Run(typ+"/"+m.Name, func(t *testing.T) {
				tamper, hit := fltest.TamperOnce(typ, "", m)
				cache := psi.NewCache("center", "bank")
				b, c, _, _ := pair(t, bankIDs, centerIDs, align.Options{Cache: cache}, align.Options{Center: set}, fltest.Tamper(tamper))
				require.True(t, hit.Load())
				require.True(t, b.err != nil || c.err != nil)
				for _, err := range []error{b.err, c.err} {
					if err == nil && typ == align.TypeDigest {
						continue
					}
					require.Error(t, err)
					require.True(t, errors.Is(err, fl.ErrProtocol) || errors.Is(err, fl.ErrPeerAborted), "%v", err)
				}
				if typ == align.TypeUpdate {
					require.Zero(t, cache.Len(), "a tampered update leaves the cache empty")
				}
			})
		}
	}
}
