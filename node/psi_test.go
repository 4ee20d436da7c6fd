package node

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/veil-fl/veil/mpc/psi"
)

// TestPSIDefaults: with no psi_store or psi_cache in the configs, the
// center keeps the table's encoded set in psi/ beside its registry and the
// bank its cache in psi-cache/ beside its own; a training fills both, and
// the scoring that follows uses them (the same epoch: the center's set is
// not sent again, and the bank's ids are remembered).
func TestPSIDefaults(t *testing.T) {
	if testing.Short() {
		t.Skip("a federated training and a scoring: not in -short")
	}
	f := newFixture(t, 300, 1, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	job := f.jobConfig(t, "bank-a", "lr", "lr: {epochs: 1}")
	require.Equal(t, filepath.Join(f.dir, "psi-cache"), job.PSICache)
	require.Equal(t, filepath.Join(f.dir, "psi"), f.center.cfg.PSIStore)
	_, err := Train(ctx, job, testLogger(t))
	require.NoError(t, err)

	sets, err := filepath.Glob(filepath.Join(f.dir, "psi", "enterprises", "set-*"))
	require.NoError(t, err)
	require.Len(t, sets, 1, "the center's encoded table, stored")
	open := func() *psi.Cache {
		c, discarded := psi.OpenCache(filepath.Join(f.dir, "psi-cache", "enterprises"), "center", "bank-a")
		require.NoError(t, discarded)
		return c
	}
	cache := open()
	require.Equal(t, 300, cache.Len(), "the bank cached the center's table")
	require.Positive(t, cache.Remembered())
	before := cache.State()

	sc := f.scoreConfig(t, "bank-a", OutputBands)
	require.Equal(t, job.PSICache, sc.PSICache)
	_, err = Score(ctx, sc, testLogger(t))
	require.NoError(t, err)
	after := open().State()
	require.Equal(t, before.Epoch, after.Epoch, "the scoring used the training's epoch")
	require.Equal(t, before.Version, after.Version, "no change sent")
	st, err := os.Stat(sets[0])
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), st.Mode().Perm())
}
