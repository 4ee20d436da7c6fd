package model

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// SaveJSON validates a model and writes it as indented JSON: the one format
// of Veil's model files (LR halves, GBDTs, SecureBoost halves).
func SaveJSON(w io.Writer, what string, v any, validate func() error) error {
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

// LoadJSON reads into v (a pointer) a model file written by SaveJSON whose
// "version" field must be version, then validates it. It rejects, with
// errors wrapping ErrBadModel, files over 64 MiB, empty files, other
// versions (reported as such, before any unknown field), unknown fields,
// trailing data, and whatever validate finds.
func LoadJSON(r io.Reader, what string, version int, v any, validate func() error) error {
	b, err := io.ReadAll(io.LimitReader(r, maxModelBytes+1))
	if err != nil {
		return fmt.Errorf("model: reading %s: %w", what, err)
	}
	if len(b) > maxModelBytes {
		return fmt.Errorf("%w: %s file larger than %d bytes", ErrBadModel, what, maxModelBytes)
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
