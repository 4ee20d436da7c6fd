package vlr

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/veil-fl/veil/fl"
	"github.com/veil-fl/veil/he"
	"github.com/veil-fl/veil/model"
)

// Message types of the protocol.
const (
	TypeSetup    = "vlr.setup"
	TypeSetupAck = "vlr.setup-ack"
	TypePowers   = "vlr.powers"
	TypeResidual = "vlr.residual"
	TypeEpoch    = "vlr.epoch"
	TypeScores   = "vlr.scores"
)

// protocolVersion guards the setup message. Version 2 added the agreement
// on a checkpoint to resume from.
const protocolVersion = 2

// ErrOptions is returned for options out of range or that the parties do not share.
var ErrOptions = errors.New("vlr: bad options")

// Options are the training settings. The bank's options are the training's:
// it sends them to the center during setup.
type Options struct {
	// Epochs is the number of passes over the rows (default 30).
	Epochs int `json:"epochs"`
	// BatchSize is the mini-batch size; 0 trains full batch.
	BatchSize int `json:"batch_size"`
	// Optimizer updates each party's weights (default SGD, rate 0.1).
	Optimizer model.OptimizerOptions `json:"optimizer"`
	// Degree and Bound give the sigmoid polynomial: the least-squares fit of
	// that degree on [-Bound, Bound] (defaults 5 and 8).
	Degree int     `json:"degree"`
	Bound  float64 `json:"bound"`
	// Tol stops training when the loss changes by less than Tol*max(1,|loss|)
	// between epochs; 0 trains all epochs.
	Tol float64 `json:"tol"`
	// Seed fixes the mini-batch order.
	Seed uint64 `json:"seed"`
	// TrackLoss computes the loss every epoch even without Tol.
	TrackLoss bool `json:"track_loss"`
	// Checkpoint is a folder where the bank keeps a checkpoint after every
	// epoch ("" keeps none). It stays local: the center names its own in
	// PassiveOptions. When both parties restart a training with the same
	// options and data, they resume from the latest epoch both have saved.
	Checkpoint string `json:"-"`
}

// PassiveOptions are the center's local settings; the training's options
// are the bank's.
type PassiveOptions struct {
	// Checkpoint is a folder where the center keeps a checkpoint after every
	// epoch ("" keeps none); see Options.Checkpoint.
	Checkpoint string
}

// WithDefaults fills zero fields and validates.
func (o Options) WithDefaults() (Options, error) {
	if o.Epochs == 0 {
		o.Epochs = 30
	}
	if o.Degree == 0 {
		o.Degree = 5
	}
	if o.Bound == 0 {
		o.Bound = 8
	}
	var err error
	if o.Optimizer, err = o.Optimizer.WithDefaults(); err != nil {
		return o, err
	}
	switch {
	case o.Epochs < 1 || o.Epochs > 100_000:
		return o, fmt.Errorf("%w: %d epochs", ErrOptions, o.Epochs)
	case o.BatchSize < 0:
		return o, fmt.Errorf("%w: batch size %d", ErrOptions, o.BatchSize)
	case o.Degree < 1 || o.Degree > 9:
		return o, fmt.Errorf("%w: sigmoid degree %d, want 1..9", ErrOptions, o.Degree)
	case !(o.Bound > 0) || o.Bound > 64:
		return o, fmt.Errorf("%w: sigmoid bound %v, want (0, 64]", ErrOptions, o.Bound)
	case o.Tol < 0 || math.IsNaN(o.Tol):
		return o, fmt.Errorf("%w: tolerance %v", ErrOptions, o.Tol)
	}
	return o, nil
}

// Sigmoid returns the polynomial the training uses.
func (o Options) Sigmoid() (he.Poly, error) { return he.FitSigmoid(o.Degree, o.Bound) }

// Softplus returns the polynomial of the loss, of the sigmoid's degree so
// that the same encrypted powers serve both.
func (o Options) Softplus() (he.Poly, error) { return he.FitSoftplus(o.Degree, o.Bound) }

func (o Options) lossNeeded() bool { return o.Tol > 0 || o.TrackLoss }

// Data is one party's training data: X row-major with Cols columns,
// standardized and without missing values (see model.Standardizer); Y the
// 0/1 labels on the bank's side, nil on the center's. Rows are in the order
// both parties agreed (private set intersection).
type Data struct {
	X    []float64
	Cols int
	Y    []float64
}

func (d Data) rows() int {
	if d.Cols <= 0 {
		return 0
	}
	return len(d.X) / d.Cols
}

func (d Data) check(active bool) error {
	if d.Cols < 1 || len(d.X) == 0 || len(d.X)%d.Cols != 0 {
		return fmt.Errorf("%w: %d values in rows of %d columns", ErrOptions, len(d.X), d.Cols)
	}
	for i, v := range d.X {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("%w: value %d (row %d, column %d) is %v: standardize and impute first", ErrOptions, i, i/d.Cols, i%d.Cols, v)
		}
	}
	if active {
		if len(d.Y) != d.rows() {
			return fmt.Errorf("%w: %d labels for %d rows", ErrOptions, len(d.Y), d.rows())
		}
		for i, y := range d.Y {
			if y != 0 && y != 1 {
				return fmt.Errorf("%w: label %d is %v, want 0 or 1", ErrOptions, i, y)
			}
		}
	} else if d.Y != nil {
		return fmt.Errorf("%w: the passive party holds no labels", ErrOptions)
	}
	return nil
}

// Result is one party's outcome of a training.
type Result struct {
	// Weights are this party's feature weights (standardized scale).
	Weights []float64
	// Intercept is the bank's; 0 for the center.
	Intercept float64
	// Loss is the training log-loss per epoch as the bank learned it
	// (polynomial softplus, before the epoch's updates); nil for the center.
	Loss []float64
	// Epochs is the number of epochs run, those before a resume included.
	Epochs int
	// Resumed is the epoch the training resumed from (0: it started afresh).
	Resumed int
	// Stats is the traffic of the training at this end.
	Stats fl.Stats
	// Duration is the wall time of the training, key generation included.
	Duration time.Duration
}

type setup struct {
	Version int     `json:"version"`
	Options Options `json:"options"`
	Rows    int     `json:"rows"`
	Cols    int     `json:"cols"`
}

// keySpec lists the rotations both parties' products and the loss need.
// The products' baby steps depend on the batch sizes: a full batch and the
// last, shorter one.
func keySpec(p he.Params, rows, activeCols, passiveCols, batchSize int, loss bool) he.KeySpec {
	sizes := []int{rows}
	if batchSize > 0 && batchSize < rows {
		sizes = []int{batchSize}
		if r := rows % batchSize; r > 0 {
			sizes = append(sizes, r)
		}
	}
	var rots []int
	for _, n := range sizes {
		rots = append(rots, he.XtdRotations(p, n, activeCols+1)...)
		rots = append(rots, he.XtdRotations(p, n, passiveCols)...)
	}
	if loss {
		rots = append(rots, he.SumRotations(p)...)
	}
	slices.Sort(rots)
	return he.KeySpec{Rotations: slices.Compact(rots)}
}

// batches returns the fixed mini-batches: one shuffle of the rows with the
// seed, cut into batches (model.BatchOrder of epoch 0), or all rows in order.
func batches(n int, o Options) [][]int {
	return model.BatchOrder(n, o.BatchSize, o.Seed, 0)
}

// prepared holds a party's per-batch matrices.
type prepared struct {
	rows [][]int
	mats []*he.Matrix
}

func prepare(p *he.Party, x []float64, cols int, rows [][]int, withOnes bool) (*prepared, error) {
	pr := &prepared{rows: rows}
	c := cols
	if withOnes {
		c++
	}
	for _, b := range rows {
		sub := make([]float64, 0, len(b)*c)
		for _, i := range b {
			sub = append(sub, x[i*cols:(i+1)*cols]...)
			if withOnes {
				sub = append(sub, 1)
			}
		}
		m, err := p.PrepareMatrix(sub, len(b), c)
		if err != nil {
			return nil, err
		}
		pr.mats = append(pr.mats, m)
	}
	return pr, nil
}

// partialScores returns x[rows] . w (+ intercept).
func partialScores(x []float64, cols int, rows []int, w []float64, intercept float64) []float64 {
	u := make([]float64, len(rows))
	for k, i := range rows {
		s := intercept
		for j, v := range x[i*cols : (i+1)*cols] {
			s += v * w[j]
		}
		u[k] = s
	}
	return u
}

// marshalVectors frames several vectors in one payload.
func marshalVectors(p he.Params, vs []*he.Vector) ([]byte, error) {
	parts := make([][]byte, len(vs))
	size := 0
	for i, v := range vs {
		data, err := p.MarshalVector(v)
		if err != nil {
			return nil, err
		}
		parts[i] = data
		size += 8 + len(data)
	}
	b := make([]byte, 0, size)
	for _, data := range parts {
		b = binary.LittleEndian.AppendUint64(b, uint64(len(data)))
		b = append(b, data...)
	}
	return b, nil
}

func unmarshalVectors(p he.Params, b []byte, want int) ([]*he.Vector, error) {
	var vs []*he.Vector
	for len(b) > 0 {
		if len(b) < 8 {
			return nil, fmt.Errorf("%w: truncated vector frame", he.ErrMalformed)
		}
		n := binary.LittleEndian.Uint64(b)
		if n > uint64(len(b)-8) {
			return nil, fmt.Errorf("%w: vector frame of %d bytes in %d", he.ErrMalformed, n, len(b)-8)
		}
		v, err := p.UnmarshalVector(b[8 : 8+n])
		if err != nil {
			return nil, err
		}
		vs = append(vs, v)
		b = b[8+n:]
	}
	if len(vs) != want {
		return nil, fmt.Errorf("%w: %d vectors, want %d", he.ErrMalformed, len(vs), want)
	}
	return vs, nil
}
