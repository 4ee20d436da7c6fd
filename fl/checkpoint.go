package fl

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Checkpoints: each party of a training keeps its own plaintext state (its
// weights or shares, optimizer state, trees, logits) after every step (an
// LR epoch, a tree), so that a training cut short resumes instead of
// starting over. Nothing secret of the session is stored: the threshold
// keys are generated afresh by every session, and a resumed training
// continues from the plaintext state.
//
// The protocols only encode and check the state; where it is kept is the
// application's business, behind the Checkpoints interface, as a raft
// application owns its disk. DirCheckpoints keeps them as files:
//
//	"VEILCKPT" | version byte | SHA-256 of the rest | JSON record
//
// The record names the store, the training's checkpoint digest (a hash of
// the agreed options and shapes, plus this party's own data), the step and
// the state. Files are written atomically (temporary file, fsync, rename,
// fsync of the folder), so a crash leaves the previous checkpoint or the new
// one, never a torn file.

// TypeResume is the message in which the parties agree on the checkpoint to
// resume from.
const TypeResume = "veil.resume"

// MaxCheckpointSize bounds what DirCheckpoints reads of a file (1 GiB).
const MaxCheckpointSize = 1 << 30

const (
	ckptMagic   = "VEILCKPT"
	ckptVersion = 1
	ckptExt     = ".ckpt"
	// ckptKeep is how many of the latest checkpoints DirCheckpoints keeps:
	// the parties can be one step apart when one of them stops between the
	// last message of a step and its checkpoint, so the step before the
	// latest must still be there.
	ckptKeep = 2
	// maxResumeIndices bounds the steps a peer may list.
	maxResumeIndices = 16
)

var (
	// ErrCheckpoint reports a checkpoint that is missing, unreadable,
	// corrupt or of another training.
	ErrCheckpoint = errors.New("fl: bad checkpoint")
	// ErrResume reports parties that cannot agree on where to resume: they
	// describe different trainings (config digests differ) or the peer named
	// a checkpoint this party does not have.
	ErrResume = errors.New("fl: cannot agree on a checkpoint to resume from")
)

// Checkpoints keeps one party's checkpoints of one kind of training (the
// bank's LR, the center's trees, ...). The protocols hand it each step's
// encoded state and ask for it back after a restart; the application owns
// the storage: files with DirCheckpoints, or a store of its own.
//
// A checkpoint is named by its step (1 for the state after the first) and
// the training's checkpoint digest, which changes with the options, the
// shapes or this party's data, so that a changed training never resumes
// from another's state. A training calls its store from one goroutine.
type Checkpoints interface {
	// Save stores state (JSON) as the checkpoint after step. A failed or
	// interrupted Save must leave the checkpoints saved before readable.
	// Save must keep the checkpoint of the step before, which the peer may
	// resume from, and may delete older ones.
	Save(step int, digest [32]byte, state []byte) error
	// Load returns the state saved for step of the training with this
	// digest, or an error wrapping ErrCheckpoint when it holds none intact.
	Load(step int, digest [32]byte) ([]byte, error)
	// List returns the checkpoints held, of any training, by ascending
	// step. It may leave out ones it finds damaged.
	List() ([]CheckpointID, error)
	// DropAfter deletes the checkpoints after step: the parties agreed to
	// resume from step, so later ones belong to an abandoned run and must
	// not be mixed with the peer's of the new run.
	DropAfter(step int) error
}

// CheckpointID names a stored checkpoint.
type CheckpointID struct {
	Step   int
	Digest [32]byte
}

// SaveCheckpoint encodes state as JSON and saves it in c as the checkpoint
// after step. Errors of c are reported to the peer without their text, which
// may name local paths or the application's storage.
func SaveCheckpoint(c Checkpoints, step int, digest [32]byte, state any) error {
	if step < 1 {
		return fmt.Errorf("fl: checkpoint step %d, want >= 1", step)
	}
	b, err := json.Marshal(state)
	if err != nil {
		return fmt.Errorf("fl: checkpoint of step %d: %w", step, err)
	}
	if err := c.Save(step, digest, b); err != nil {
		return &storeError{fmt.Errorf("fl: saving the checkpoint of step %d: %w", step, err)}
	}
	return nil
}

// LoadCheckpoint reads the checkpoint after step into state, a pointer to
// what SaveCheckpoint was given. Unknown fields are refused: a state written
// by another build is not half read. Errors of c are reported to the peer
// without their text.
func LoadCheckpoint(c Checkpoints, step int, digest [32]byte, state any) error {
	b, err := c.Load(step, digest)
	if err != nil {
		return &storeError{fmt.Errorf("fl: loading the checkpoint of step %d: %w", step, err)}
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(state); err != nil {
		return &storeError{fmt.Errorf("%w: step %d: state: %v", ErrCheckpoint, step, err)}
	}
	return nil
}

// storeError is a failure of this party's checkpoint storage. Abort tells
// the peer only that: the text stays local.
type storeError struct{ err error }

func (e *storeError) Error() string { return e.err.Error() }
func (e *storeError) Unwrap() error { return e.err }

// storeReason is what the peer learns of a storeError.
const storeReason = "fl: the peer could not read or write its checkpoints"

// Resume agrees with the peer on the step to resume a training from, 0 to
// start afresh: the latest step of which both hold a checkpoint. config is
// the digest both parties compute from the agreed options and shapes, local
// this party's checkpoint digest (config bound to its own data); c may be
// nil (no checkpoints). Both parties call it at the same point of the
// protocol. Checkpoints in c after the agreed step are deleted.
//
// A training that starts afresh although c holds checkpoints says why on
// log (nil: no logging): the checkpoints are of another configuration
// (changed options or data), or the peer holds none of the same steps.
func Resume(ctx context.Context, t Transport, c Checkpoints, config, local [32]byte, log *slog.Logger) (int, error) {
	var have []int
	others := 0
	if c != nil {
		held, err := c.List()
		if err != nil {
			return 0, failStore(ctx, t, fmt.Errorf("fl: listing checkpoints: %w", err))
		}
		for _, id := range held {
			if id.Digest == local {
				have = append(have, id.Step)
			} else {
				others++
			}
		}
	}
	k, err := agreeResume(ctx, t, config, have)
	if err != nil {
		return 0, err
	}
	if c != nil {
		if err := c.DropAfter(k); err != nil {
			return 0, failStore(ctx, t, fmt.Errorf("fl: dropping checkpoints after step %d: %w", k, err))
		}
	}
	if log != nil {
		switch {
		case k > 0:
			log.Info("resuming from a checkpoint", "step", k)
		case len(have) > 0:
			log.Warn("the peer holds none of this party's checkpoints; starting afresh", "steps", have)
		case others > 0:
			log.Warn("checkpoints found for another configuration; starting afresh", "checkpoints", others)
		}
	}
	return k, nil
}

// failStore tells the peer that this party's checkpoint storage failed,
// without err's text, and returns err marked as told.
func failStore(ctx context.Context, t Transport, err error) error {
	return Fail(ctx, t, &storeError{err})
}

// DirCheckpoints returns the checkpoints named name (for example
// "vlr-active") in the folder dir, one file per step, name-<step>.ckpt, in
// the format above. It keeps the latest two steps and, on Save, deletes
// later ones: a resumed training overwrites its future. Several stores may
// share a folder under different names. dir "" gives nil: no checkpoints.
func DirCheckpoints(dir, name string) Checkpoints {
	if dir == "" {
		return nil
	}
	return &dirCheckpoints{dir: dir, name: name}
}

type dirCheckpoints struct {
	dir, name string
}

type ckptRecord struct {
	Name   string          `json:"name"`
	Digest string          `json:"digest"` // hex
	Index  int             `json:"index"`
	State  json.RawMessage `json:"state"`
}

// check refuses a name that is not one file name's prefix.
func (s *dirCheckpoints) check() error {
	if s.name == "" || s.name != filepath.Base(s.name) || strings.ContainsAny(s.name, `/\`) || s.name[0] == '.' {
		return fmt.Errorf("fl: checkpoint name %q: want a plain file name prefix such as \"vlr-active\"", s.name)
	}
	return nil
}

func (s *dirCheckpoints) path(step int) string {
	return filepath.Join(s.dir, fmt.Sprintf("%s-%06d%s", s.name, step, ckptExt))
}

// Save implements Checkpoints.
func (s *dirCheckpoints) Save(step int, digest [32]byte, state []byte) error {
	if err := s.check(); err != nil {
		return err
	}
	if step < 1 {
		return fmt.Errorf("fl: checkpoint step %d, want >= 1", step)
	}
	body, err := json.Marshal(ckptRecord{Name: s.name, Digest: hex.EncodeToString(digest[:]), Index: step, State: state})
	if err != nil {
		return fmt.Errorf("fl: checkpoint %s %d: %w", s.name, step, err)
	}
	sum := sha256.Sum256(body)
	data := make([]byte, 0, len(ckptMagic)+1+len(sum)+len(body))
	data = append(append(append(append(data, ckptMagic...), ckptVersion), sum[:]...), body...)
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return fmt.Errorf("fl: checkpoint folder: %w", err)
	}
	if err := writeFileAtomic(s.path(step), data); err != nil {
		return err
	}
	all, err := s.steps()
	if err != nil {
		return err
	}
	for _, i := range all {
		if i <= step-ckptKeep || i > step {
			// Older ones, and later ones of an abandoned run.
			_ = os.Remove(s.path(i))
		}
	}
	return nil
}

// DropAfter implements Checkpoints.
func (s *dirCheckpoints) DropAfter(step int) error {
	all, err := s.steps()
	if err != nil {
		return err
	}
	for _, i := range all {
		if i > step {
			if err := os.Remove(s.path(i)); err != nil && !errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("fl: checkpoint folder: %w", err)
			}
		}
	}
	return nil
}

// steps returns the steps of this store's files, ascending.
func (s *dirCheckpoints) steps() ([]int, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	ents, err := os.ReadDir(s.dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("fl: checkpoint folder: %w", err)
	}
	var out []int
	prefix := s.name + "-"
	for _, e := range ents {
		n := e.Name()
		if !e.Type().IsRegular() || !strings.HasPrefix(n, prefix) || !strings.HasSuffix(n, ckptExt) {
			continue
		}
		i, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(n, prefix), ckptExt))
		if err != nil || i < 1 {
			continue
		}
		out = append(out, i)
	}
	slices.Sort(out)
	return out, nil
}

// List implements Checkpoints. Corrupt files are left out.
func (s *dirCheckpoints) List() ([]CheckpointID, error) {
	all, err := s.steps()
	if err != nil {
		return nil, err
	}
	var out []CheckpointID
	for _, i := range all {
		rec, err := s.read(i)
		if err != nil {
			continue
		}
		var id CheckpointID
		if n, err := hex.Decode(id.Digest[:], []byte(rec.Digest)); err != nil || n != len(id.Digest) || len(rec.Digest) != 2*n {
			continue
		}
		id.Step = i
		out = append(out, id)
	}
	return out, nil
}

// Load implements Checkpoints.
func (s *dirCheckpoints) Load(step int, digest [32]byte) ([]byte, error) {
	rec, err := s.read(step)
	if err != nil {
		return nil, err
	}
	if rec.Digest != hex.EncodeToString(digest[:]) {
		return nil, fmt.Errorf("%w: %s is of another training (config or data changed)", ErrCheckpoint, s.path(step))
	}
	return rec.State, nil
}

// read returns the intact record of step's file.
func (s *dirCheckpoints) read(step int) (ckptRecord, error) {
	if err := s.check(); err != nil {
		return ckptRecord{}, err
	}
	path := s.path(step)
	f, err := os.Open(path)
	if err != nil {
		return ckptRecord{}, fmt.Errorf("%w: %v", ErrCheckpoint, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxCheckpointSize+1))
	if err != nil {
		return ckptRecord{}, fmt.Errorf("%w: %s: %v", ErrCheckpoint, path, err)
	}
	rec, err := decodeCheckpoint(data)
	if err != nil {
		return ckptRecord{}, fmt.Errorf("%s: %w", path, err)
	}
	if rec.Name != s.name || rec.Index != step {
		return ckptRecord{}, fmt.Errorf("%w: %s holds %s step %d", ErrCheckpoint, path, rec.Name, rec.Index)
	}
	return rec, nil
}

// decodeCheckpoint checks a checkpoint file's framing and checksum and
// returns its record. It is the decoder the fuzz test drives.
func decodeCheckpoint(data []byte) (ckptRecord, error) {
	var rec ckptRecord
	if len(data) > MaxCheckpointSize {
		return rec, fmt.Errorf("%w: over %d bytes", ErrCheckpoint, MaxCheckpointSize)
	}
	head := len(ckptMagic) + 1 + sha256.Size
	if len(data) < head || string(data[:len(ckptMagic)]) != ckptMagic {
		return rec, fmt.Errorf("%w: not a Veil checkpoint", ErrCheckpoint)
	}
	if v := data[len(ckptMagic)]; v != ckptVersion {
		return rec, fmt.Errorf("%w: format version %d, this build reads %d", ErrCheckpoint, v, ckptVersion)
	}
	body := data[head:]
	if sum := sha256.Sum256(body); !bytes.Equal(sum[:], data[len(ckptMagic)+1:head]) {
		return rec, fmt.Errorf("%w: checksum mismatch (torn or altered file)", ErrCheckpoint)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rec); err != nil {
		return rec, fmt.Errorf("%w: %v", ErrCheckpoint, err)
	}
	if rec.Index < 1 || rec.Name == "" || len(rec.State) == 0 {
		return rec, fmt.Errorf("%w: incomplete record", ErrCheckpoint)
	}
	return rec, nil
}

// writeFileAtomic replaces path with data so that a crash at any point
// leaves either the old file or the new one: it writes a temporary file in
// the same folder, syncs it, renames it over path and syncs the folder.
func writeFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("fl: write %s: %w", path, err)
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			_ = f.Close()
			_ = os.Remove(tmp)
		}
	}()
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("fl: write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("fl: sync %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("fl: write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("fl: write %s: %w", path, err)
	}
	ok = true
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync() // not supported everywhere; the rename is done either way
		_ = d.Close()
	}
	return nil
}

type resumeMsg struct {
	Digest string `json:"digest"`
	Have   []int  `json:"have"`
}

// agreeResume lets both parties agree on the step to resume from: each
// sends the training's config digest (which both must have computed alike)
// and the steps it holds checkpoints for, and both pick the latest step
// they share, or 0 to start afresh.
func agreeResume(ctx context.Context, t Transport, digest [32]byte, have []int) (int, error) {
	if len(have) > maxResumeIndices {
		have = have[len(have)-maxResumeIndices:]
	}
	b, err := json.Marshal(resumeMsg{Digest: fmt.Sprintf("%x", digest), Have: have})
	if err != nil {
		return 0, err
	}
	got, err := Swap(ctx, t, Message{Type: TypeResume, Payload: b}, TypeResume)
	if err != nil {
		return 0, fmt.Errorf("fl: resume: %w", err)
	}
	var peer resumeMsg
	dec := json.NewDecoder(bytes.NewReader(got))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&peer); err != nil {
		return 0, Fail(ctx, t, fmt.Errorf("%w: resume: %v", ErrMalformed, err))
	}
	if len(peer.Have) > maxResumeIndices {
		return 0, Fail(ctx, t, fmt.Errorf("%w: resume: %d checkpoints listed, limit %d", ErrMalformed, len(peer.Have), maxResumeIndices))
	}
	if peer.Digest != fmt.Sprintf("%x", digest) {
		return 0, Fail(ctx, t, fmt.Errorf("%w: the peer's training config digest %.16s... differs from this party's %x...", ErrResume, peer.Digest, digest[:8]))
	}
	best := 0
	for _, i := range peer.Have {
		if i > best && slices.Contains(have, i) {
			best = i
		}
	}
	return best, nil
}
