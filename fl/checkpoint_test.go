package fl

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

type testState struct {
	W []float64 `json:"w"`
	N int       `json:"n"`
}

func TestCheckpointStore(t *testing.T) {
	dir := t.TempDir()
	s := CheckpointStore{Dir: filepath.Join(dir, "ck"), Name: "test-active"}
	d := Digest([]byte("config"), []byte("data"))
	for i := 1; i <= 4; i++ {
		require.NoError(t, s.Save(i, d, testState{W: []float64{0.1 * float64(i), 1.0 / 3}, N: i}))
	}
	got, err := s.Indices(d)
	require.NoError(t, err)
	require.Equal(t, []int{3, 4}, got, "the latest two are kept")
	var st testState
	require.NoError(t, s.Load(4, d, &st))
	require.Equal(t, testState{W: []float64{0.4, 1.0 / 3}, N: 4}, st)

	// No temporary files remain.
	ents, err := os.ReadDir(s.Dir)
	require.NoError(t, err)
	require.Len(t, ents, 2)

	// Another training's digest finds nothing; a digest differing only in
	// how the parts are split differs.
	got, err = s.Indices(Digest([]byte("conf"), []byte("igdata")))
	require.NoError(t, err)
	require.Empty(t, got)
	require.ErrorIs(t, s.Load(4, Digest([]byte("other")), &st), ErrCheckpoint)

	// A torn or altered file is skipped by Indices and refused by Load.
	p := s.path(4)
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	b[len(b)-3] ^= 1
	require.NoError(t, os.WriteFile(p, b, 0o600))
	got, err = s.Indices(d)
	require.NoError(t, err)
	require.Equal(t, []int{3}, got)
	require.ErrorIs(t, s.Load(4, d, &st), ErrCheckpoint)
	require.NoError(t, os.WriteFile(p, b[:20], 0o600))
	require.ErrorIs(t, s.Load(4, d, &st), ErrCheckpoint)

	// A state of the wrong shape is refused.
	var other struct{ X string }
	require.ErrorIs(t, s.Load(3, d, &other), ErrCheckpoint)

	// Saving an earlier step (a resumed run) drops the abandoned future.
	require.NoError(t, s.Save(2, d, testState{N: 2}))
	got, err = s.Indices(d)
	require.NoError(t, err)
	require.Equal(t, []int{2}, got)

	require.NoError(t, s.Save(3, d, testState{N: 3}))
	require.NoError(t, s.DropAfter(2))
	got, err = s.Indices(d)
	require.NoError(t, err)
	require.Equal(t, []int{2}, got)

	// Disabled store.
	var off CheckpointStore
	require.NoError(t, off.Save(1, d, testState{}))
	got, err = off.Indices(d)
	require.NoError(t, err)
	require.Empty(t, got)
}

func TestAgreeResume(t *testing.T) {
	ctx := context.Background()
	d := Digest([]byte("x"))
	agree := func(da, db [32]byte, ha, hb []int) (int, int, error, error) {
		a, b := NewPipe()
		var kb int
		var eb error
		var wg sync.WaitGroup
		wg.Add(1)
		go func() { defer wg.Done(); kb, eb = AgreeResume(ctx, b, db, hb) }()
		ka, ea := AgreeResume(ctx, a, da, ha)
		wg.Wait()
		return ka, kb, ea, eb
	}
	ka, kb, ea, eb := agree(d, d, []int{3, 4}, []int{2, 3})
	require.NoError(t, errors.Join(ea, eb))
	require.Equal(t, 3, ka)
	require.Equal(t, 3, kb)
	ka, kb, _, _ = agree(d, d, nil, []int{1, 2})
	require.Zero(t, ka)
	require.Zero(t, kb)
	_, _, ea, eb = agree(d, Digest([]byte("y")), []int{1}, []int{1})
	require.ErrorIs(t, ea, ErrResume)
	require.ErrorIs(t, eb, ErrResume)
}

func FuzzDecodeCheckpoint(f *testing.F) {
	dir := f.TempDir()
	s := CheckpointStore{Dir: dir, Name: "fuzz"}
	if err := s.Save(1, Digest([]byte("x")), testState{W: []float64{1.5}, N: 1}); err != nil {
		f.Fatal(err)
	}
	b, err := os.ReadFile(s.path(1))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte("VEILCKPT"))
	f.Fuzz(func(t *testing.T, b []byte) {
		rec, err := decodeCheckpoint(b)
		if err == nil && (rec.Index < 1 || len(rec.State) == 0) {
			t.Fatalf("accepted an incomplete record %+v", rec)
		}
	})
}
