package model

import (
	"io"

	"github.com/veil-fl/veil/internal/modelfile"
)

// saveJSON validates a model and writes it as indented JSON, the format of
// every model file, which SecureBoost's halves (fl/boost) share through
// internal/modelfile.
func saveJSON(w io.Writer, what string, v any, validate func() error) error {
	return modelfile.Save(w, what, v, validate)
}

// loadJSON reads into v (a pointer) a model file written by saveJSON at
// this version and validates it; refusals wrap ErrBadModel.
func loadJSON(r io.Reader, what string, version int, v any, validate func() error) error {
	return modelfile.Load(r, what, version, v, validate)
}
