package fl

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Checkpoints: each party of a training keeps its own plaintext state (its
// weights, optimizer state, trees, logits) in a folder of its own after every
// step (an LR epoch, a tree). Nothing secret of the session is stored: the
// threshold keys are generated afresh by every session, and a resumed
// training continues from the plaintext state.
//
// A checkpoint file is
//
//	"VEILCKPT" | version byte | SHA-256 of the rest | JSON record
//
// The record names the training's kind, its config digest (a hash both
// parties compute from the agreed options and shapes, plus this party's own
// data), the step index and the state. Files are written atomically
// (temporary file, fsync, rename, fsync of the folder), so a crash leaves the
// previous checkpoint or the new one, never a torn file.

// TypeResume is the message in which the parties agree on the checkpoint to
// resume from.
const TypeResume = "veil.resume"

// MaxCheckpointSize bounds what LoadCheckpoint reads (1 GiB).
const MaxCheckpointSize = 1 << 30

const (
	ckptMagic   = "VEILCKPT"
	ckptVersion = 1
	ckptExt     = ".ckpt"
	// ckptKeep is how many of the latest checkpoints a store keeps: the
	// parties can be one step apart when one of them stops between the last
	// message of a step and its checkpoint, so the step before the latest
	// must still be there.
	ckptKeep = 2
	// maxResumeIndices bounds the indices a peer may list.
	maxResumeIndices = 16
)

var (
	// ErrCheckpoint reports a checkpoint file that is unreadable, corrupt or
	// of another training.
	ErrCheckpoint = errors.New("fl: bad checkpoint")
	// ErrResume reports parties that cannot agree on where to resume: they
	// describe different trainings (config digests differ) or the peer named
	// a checkpoint this party does not have.
	ErrResume = errors.New("fl: cannot agree on a checkpoint to resume from")
)

// Digest is a SHA-256 over the parts, each length-prefixed, so that
// different splits of the same bytes hash differently.
func Digest(parts ...[]byte) [32]byte {
	h := sha256.New()
	for _, p := range parts {
		h.Write(strconv.AppendInt(nil, int64(len(p)), 10))
		h.Write([]byte{':'})
		h.Write(p)
	}
	return [32]byte(h.Sum(nil))
}

// CheckpointStore keeps the checkpoints of one party of one kind of
// training in Dir, as files named Name-<index>.ckpt. The zero Dir disables
// it: Save does nothing and Indices finds nothing.
type CheckpointStore struct {
	Dir  string
	Name string // for example "vlr-active"
}

type ckptRecord struct {
	Name   string          `json:"name"`
	Digest string          `json:"digest"` // hex
	Index  int             `json:"index"`
	State  json.RawMessage `json:"state"`
}

func (s CheckpointStore) path(index int) string {
	return filepath.Join(s.Dir, fmt.Sprintf("%s-%06d%s", s.Name, index, ckptExt))
}

// Enabled reports whether the store has a folder.
func (s CheckpointStore) Enabled() bool { return s.Dir != "" }

// Save writes the state after step index (1 for the first) atomically and
// removes all but the latest two checkpoints of this store.
func (s CheckpointStore) Save(index int, digest [32]byte, state any) error {
	if !s.Enabled() {
		return nil
	}
	if index < 1 {
		return fmt.Errorf("fl: checkpoint index %d, want >= 1", index)
	}
	st, err := json.Marshal(state)
	if err != nil {
		return fmt.Errorf("fl: checkpoint %s %d: %w", s.Name, index, err)
	}
	body, err := json.Marshal(ckptRecord{Name: s.Name, Digest: fmt.Sprintf("%x", digest), Index: index, State: st})
	if err != nil {
		return fmt.Errorf("fl: checkpoint %s %d: %w", s.Name, index, err)
	}
	sum := sha256.Sum256(body)
	data := make([]byte, 0, len(ckptMagic)+1+len(sum)+len(body))
	data = append(append(append(append(data, ckptMagic...), ckptVersion), sum[:]...), body...)
	if err := os.MkdirAll(s.Dir, 0o700); err != nil {
		return fmt.Errorf("fl: checkpoint folder: %w", err)
	}
	if err := WriteFileAtomic(s.path(index), data); err != nil {
		return err
	}
	all, err := s.list()
	if err != nil {
		return err
	}
	for _, i := range all {
		if i <= index-ckptKeep || i > index {
			// Older ones, and later ones of an abandoned run: a resumed
			// training overwrites its future.
			_ = os.Remove(s.path(i))
		}
	}
	return nil
}

// DropAfter removes the checkpoints after step index: the parties agreed to
// resume from index, so later ones belong to an abandoned run and must not
// be mixed with the peer's of the new run.
func (s CheckpointStore) DropAfter(index int) error {
	all, err := s.list()
	if err != nil {
		return err
	}
	for _, i := range all {
		if i > index {
			if err := os.Remove(s.path(i)); err != nil && !errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("fl: checkpoint folder: %w", err)
			}
		}
	}
	return nil
}

// list returns the indices of this store's files, ascending.
func (s CheckpointStore) list() ([]int, error) {
	if !s.Enabled() {
		return nil, nil
	}
	ents, err := os.ReadDir(s.Dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("fl: checkpoint folder: %w", err)
	}
	var out []int
	prefix := s.Name + "-"
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

// Indices returns the steps for which this store holds an intact checkpoint
// of the training with this digest, ascending. Corrupt files and files of
// other trainings are skipped.
func (s CheckpointStore) Indices(digest [32]byte) ([]int, error) {
	all, err := s.list()
	if err != nil {
		return nil, err
	}
	var out []int
	for _, i := range all {
		if _, err := s.read(i, digest); err == nil {
			out = append(out, i)
		}
	}
	return out, nil
}

// Load reads the checkpoint of step index into state, which must be what
// Save was given (a pointer to it).
func (s CheckpointStore) Load(index int, digest [32]byte, state any) error {
	raw, err := s.read(index, digest)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(state); err != nil {
		return fmt.Errorf("%w: %s: state: %v", ErrCheckpoint, s.path(index), err)
	}
	return nil
}

func (s CheckpointStore) read(index int, digest [32]byte) (json.RawMessage, error) {
	path := s.path(index)
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCheckpoint, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxCheckpointSize+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrCheckpoint, path, err)
	}
	rec, err := decodeCheckpoint(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if rec.Name != s.Name || rec.Index != index {
		return nil, fmt.Errorf("%w: %s holds %s step %d", ErrCheckpoint, path, rec.Name, rec.Index)
	}
	if rec.Digest != fmt.Sprintf("%x", digest) {
		return nil, fmt.Errorf("%w: %s is of another training (config or data changed)", ErrCheckpoint, path)
	}
	return rec.State, nil
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

// WriteFileAtomic replaces path with data so that a crash at any point
// leaves either the old file or the new one: it writes a temporary file in
// the same folder, syncs it, renames it over path and syncs the folder.
func WriteFileAtomic(path string, data []byte) error {
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

// AgreeResume lets both parties agree on the step to resume from: each
// sends the training's config digest (which both must have computed alike)
// and the steps it holds checkpoints for, and both pick the latest step
// they share, or 0 to start afresh. Both parties call it at the same point
// of the protocol.
func AgreeResume(ctx context.Context, t Transport, digest [32]byte, have []int) (int, error) {
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
