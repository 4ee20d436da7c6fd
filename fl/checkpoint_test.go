package fl

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/veil-fl/veil/fl/internal/digest"
	"github.com/veil-fl/veil/proto/veilpb"
	"google.golang.org/protobuf/proto"
)

type testState struct {
	W []float64 `json:"w"`
	N int       `json:"n"`
}

// steps lists c's steps of the training with digest d.
func steps(t *testing.T, c Checkpoints, d [32]byte) []int {
	t.Helper()
	ids, err := c.List()
	require.NoError(t, err)
	var out []int
	for _, id := range ids {
		if id.Digest == d {
			out = append(out, id.Step)
		}
	}
	return out
}

func TestDirCheckpoints(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ck")
	s := DirCheckpoints(dir, "test-active")
	d := digest.Sum([]byte("config"), []byte("data"))
	for i := 1; i <= 4; i++ {
		require.NoError(t, SaveCheckpoint(s, i, d, testState{W: []float64{0.1 * float64(i), 1.0 / 3}, N: i}))
	}
	require.Equal(t, []int{3, 4}, steps(t, s, d), "the latest two are kept")
	var st testState
	require.NoError(t, LoadCheckpoint(s, 4, d, &st))
	require.Equal(t, testState{W: []float64{0.4, 1.0 / 3}, N: 4}, st)

	// The file: magic, format version, SHA-256 of the record, the record.
	raw, err := os.ReadFile(s.(*dirCheckpoints).path(4))
	require.NoError(t, err)
	head := len(ckptMagic) + 1 + sha256.Size
	require.Equal(t, "VEILCKPT\x01", string(raw[:len(ckptMagic)+1]))
	sum := sha256.Sum256(raw[head:])
	require.Equal(t, sum[:], raw[len(ckptMagic)+1:head])
	require.Equal(t, `{"name":"test-active","digest":"`+hex.EncodeToString(d[:])+`","index":4,"state":{"w":[0.4,0.3333333333333333],"n":4}}`, string(raw[head:]))

	// No temporary files remain.
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, ents, 2)

	// Another training's digest finds nothing; a digest differing only in
	// how the parts are split differs.
	require.Empty(t, steps(t, s, digest.Sum([]byte("conf"), []byte("igdata"))))
	require.ErrorIs(t, LoadCheckpoint(s, 4, digest.Sum([]byte("other")), &st), ErrCheckpoint)

	// A torn or altered file is left out by List and refused by Load.
	p := s.(*dirCheckpoints).path(4)
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	b[len(b)-3] ^= 1
	require.NoError(t, os.WriteFile(p, b, 0o600))
	require.Equal(t, []int{3}, steps(t, s, d))
	require.ErrorIs(t, LoadCheckpoint(s, 4, d, &st), ErrCheckpoint)
	require.NoError(t, os.WriteFile(p, b[:20], 0o600))
	require.ErrorIs(t, LoadCheckpoint(s, 4, d, &st), ErrCheckpoint)

	// A state of the wrong shape is refused.
	var other struct{ X string }
	require.ErrorIs(t, LoadCheckpoint(s, 3, d, &other), ErrCheckpoint)

	// Saving an earlier step (a resumed run) drops the abandoned future.
	require.NoError(t, SaveCheckpoint(s, 2, d, testState{N: 2}))
	require.Equal(t, []int{2}, steps(t, s, d))

	require.NoError(t, SaveCheckpoint(s, 3, d, testState{N: 3}))
	require.NoError(t, s.DropAfter(2))
	require.Equal(t, []int{2}, steps(t, s, d))

	// Stores of other names in the same folder are apart.
	o := DirCheckpoints(dir, "test-passive")
	require.Empty(t, steps(t, o, d))
	require.ErrorIs(t, LoadCheckpoint(o, 2, d, &st), ErrCheckpoint)

	// No folder, no store; a name that is not a file name prefix is refused.
	require.Nil(t, DirCheckpoints("", "test-active"))
	for _, name := range []string{"", "../x", "a/b", ".hidden"} {
		require.ErrorContains(t, SaveCheckpoint(DirCheckpoints(dir, name), 1, d, testState{}), "checkpoint name", "%q", name)
	}
	require.Error(t, SaveCheckpoint(s, 0, d, testState{}))
}

func TestAgreeResume(t *testing.T) {
	ctx := context.Background()
	d := digest.Sum([]byte("x"))
	agree := func(da, db [32]byte, ha, hb []int) (int, int, error, error) {
		a, b := NewPipe()
		var kb int
		var eb error
		var wg sync.WaitGroup
		wg.Add(1)
		go func() { defer wg.Done(); kb, eb = agreeResume(ctx, b, db, hb) }()
		ka, ea := agreeResume(ctx, a, da, ha)
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
	_, _, ea, eb = agree(d, digest.Sum([]byte("y")), []int{1}, []int{1})
	require.ErrorIs(t, ea, ErrResume)
	require.ErrorIs(t, eb, ErrResume)
}

// logRecords is a slog handler that keeps what it is given.
type logRecords struct {
	mu   sync.Mutex
	recs []slog.Record
}

func (h *logRecords) Enabled(context.Context, slog.Level) bool { return true }
func (h *logRecords) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.recs = append(h.recs, r)
	return nil
}
func (h *logRecords) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *logRecords) WithGroup(string) slog.Handler      { return h }

func (h *logRecords) warnings() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, r := range h.recs {
		if r.Level == slog.LevelWarn {
			out = append(out, r.Message)
		}
	}
	return out
}

// resumePair runs Resume on both parties, each with its own store and log.
func resumePair(t *testing.T, config, la, lb [32]byte, ca, cb Checkpoints, loga, logb *slog.Logger) (int, int) {
	t.Helper()
	ctx := context.Background()
	a, b := NewPipe()
	var kb int
	var eb error
	done := make(chan struct{})
	go func() { defer close(done); kb, eb = Resume(ctx, b, cb, config, lb, logb) }()
	ka, ea := Resume(ctx, a, ca, config, la, loga)
	<-done
	require.NoError(t, errors.Join(ea, eb))
	return ka, kb
}

// A party whose checkpoints are all of another configuration (its data or
// the options changed) starts afresh and says so; a party whose peer holds
// none of its steps says that instead; a fresh store says nothing.
func TestResumeWarnsWhenNothingMatches(t *testing.T) {
	config := digest.Sum([]byte("config"))
	bankOld, bankNew := digest.Sum(config[:], []byte("bank data")), digest.Sum(config[:], []byte("bank data, changed"))
	center := digest.Sum(config[:], []byte("center data"))
	bank := DirCheckpoints(t.TempDir(), "test-active")
	centerStore := DirCheckpoints(t.TempDir(), "test-passive")
	for i := 1; i <= 2; i++ {
		require.NoError(t, SaveCheckpoint(bank, i, bankOld, testState{N: i}))
		require.NoError(t, SaveCheckpoint(centerStore, i, center, testState{N: i}))
	}
	var bankLog, centerLog logRecords
	ka, kb := resumePair(t, config, bankNew, center, bank, centerStore, slog.New(&bankLog), slog.New(&centerLog))
	require.Zero(t, ka)
	require.Zero(t, kb)
	require.Equal(t, []string{"checkpoints found for another configuration; starting afresh"}, bankLog.warnings())
	require.Equal(t, []string{"the peer holds none of this party's checkpoints; starting afresh"}, centerLog.warnings())

	// Starting afresh dropped them all (a new run overwrites them anyway).
	require.Empty(t, steps(t, bank, bankOld))
	require.Empty(t, steps(t, centerStore, center))

	// Both match: they resume, with no warning; nil logs and a nil store
	// are fine.
	for i := 1; i <= 2; i++ {
		require.NoError(t, SaveCheckpoint(bank, i, bankOld, testState{N: i}))
		require.NoError(t, SaveCheckpoint(centerStore, i, center, testState{N: i}))
	}
	var again logRecords
	ka, kb = resumePair(t, config, bankOld, center, bank, centerStore, slog.New(&again), nil)
	require.Equal(t, 2, ka)
	require.Equal(t, 2, kb)
	require.Empty(t, again.warnings())
	var fresh logRecords
	ka, kb = resumePair(t, config, bankOld, center, nil, DirCheckpoints(t.TempDir(), "test-passive"), nil, slog.New(&fresh))
	require.Zero(t, ka)
	require.Zero(t, kb)
	require.Empty(t, fresh.warnings())
}

// failingStore fails every call with an error naming something local.
type failingStore struct{}

var errLocal = errors.New("open /srv/bank/secret-folder/ckpt: permission denied")

func (failingStore) Save(int, [32]byte, []byte) error   { return errLocal }
func (failingStore) Load(int, [32]byte) ([]byte, error) { return nil, errLocal }
func (failingStore) List() ([]CheckpointID, error)      { return nil, errLocal }
func (failingStore) DropAfter(int) error                { return errLocal }

// A failing store ends the session; the peer learns that it failed, not
// the store's error, which may name local paths or the application's
// storage.
func TestResumeStoreFailure(t *testing.T) {
	ctx := context.Background()
	config := digest.Sum([]byte("config"))
	a, b := NewPipe()
	_, err := Resume(ctx, a, failingStore{}, config, config, nil)
	require.ErrorIs(t, err, errLocal)
	m, err := b.Recv(ctx)
	require.NoError(t, err)
	require.Equal(t, TypeAbort, m.Type)
	var rec veilpb.Abort
	require.NoError(t, proto.Unmarshal(m.Payload, &rec))
	require.Equal(t, storeReason, rec.GetReason())
	require.False(t, bytes.Contains(m.Payload, []byte("secret-folder")))

	// The same for a failed load reported with Fail.
	err = LoadCheckpoint(failingStore{}, 1, config, &testState{})
	require.ErrorIs(t, err, errLocal)
	require.Error(t, Fail(ctx, a, err))
	m, err = b.Recv(ctx)
	require.NoError(t, err)
	require.False(t, bytes.Contains(m.Payload, []byte("secret-folder")))
}

func FuzzDecodeCheckpoint(f *testing.F) {
	s := &dirCheckpoints{dir: f.TempDir(), name: "fuzz"}
	if err := SaveCheckpoint(s, 1, digest.Sum([]byte("x")), testState{W: []float64{1.5}, N: 1}); err != nil {
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
