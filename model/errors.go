package model

import (
	"errors"

	"github.com/veil-fl/veil/internal/modelfile"
)

// Errors returned by this package, matchable with errors.Is. The messages
// wrapping them name the argument or field at fault.
var (
	// ErrShape: lengths or dimensions that disagree.
	ErrShape = errors.New("model: shape mismatch")
	// ErrLabels: labels that are not 0/1, or that hold a single class where
	// both are needed.
	ErrLabels = errors.New("model: bad labels")
	// ErrNotFinite: a NaN or infinite value where a finite number is needed.
	ErrNotFinite = errors.New("model: value not finite")
	// ErrOptions: an option outside its documented range.
	ErrOptions = errors.New("model: bad options")
	// ErrBadModel: a model file or value that fails validation.
	ErrBadModel = modelfile.ErrBadModel
)
