// Package modelfile is the one format of Veil's model files (LR halves,
// GBDTs, scorecard halves, SecureBoost halves): strict, versioned, indented
// JSON. Package model re-exports ErrBadModel.
package modelfile

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// ErrBadModel is what Load's refusals wrap (model.ErrBadModel).
var ErrBadModel = errors.New("model: bad model")

// MaxBytes bounds what Load reads, so that a hostile file cannot make it
// allocate without limit.
const MaxBytes = 64 << 20

// Save validates a model and writes it as indented JSON. what names the
// model in errors ("LR half").
func Save(w io.Writer, what string, v any, validate func() error) error {
	if err := validate(); err != nil {
		return err
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("model: encoding %s: %w", what, err)
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// Load reads into v (a pointer) a model file written by Save whose
// "version" field must be version, then validates it. It rejects, with
// errors wrapping ErrBadModel, files over MaxBytes, empty files, other
// versions (reported as such, before any unknown field), unknown fields,
// trailing data, and whatever validate finds.
func Load(r io.Reader, what string, version int, v any, validate func() error) error {
	b, err := io.ReadAll(io.LimitReader(r, MaxBytes+1))
	if err != nil {
		return fmt.Errorf("model: reading %s: %w", what, err)
	}
	if len(b) > MaxBytes {
		return fmt.Errorf("%w: %s file larger than %d bytes", ErrBadModel, what, MaxBytes)
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return fmt.Errorf("%w: empty %s file", ErrBadModel, what)
	}
	var head struct {
		Version *int `json:"version"`
	}
	if err := json.Unmarshal(b, &head); err != nil {
		return fmt.Errorf("%w: %s: %v", ErrBadModel, what, err)
	}
	if head.Version == nil {
		return fmt.Errorf("%w: %s: no version field", ErrBadModel, what)
	}
	if *head.Version != version {
		return fmt.Errorf("%w: %s version %d, this build reads version %d", ErrBadModel, what, *head.Version, version)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: %s: %v", ErrBadModel, what, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return fmt.Errorf("%w: data after the %s", ErrBadModel, what)
	}
	return validate()
}
