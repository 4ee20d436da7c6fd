package vlr

import (
	"errors"
	"fmt"
	"log/slog"
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
	TypeResidual = "vlr.residual"
	TypeEpoch    = "vlr.epoch"
	TypeScores   = "vlr.scores"

	// The secret-shared protocol (the default).
	TypeWeights      = "vlr.weights"       // a party's share of the peer's weights, encrypted
	TypePartial      = "vlr.partial"       // the bank's encrypted partial scores
	TypeScoreMask    = "vlr.score-mask"    // the center's share of the scores, re-encrypted (the mask it will open them with)
	TypeOpenScores   = "vlr.open-scores"   // the scores opened into the bank's share
	TypeOpenGradient = "vlr.open-gradient" // a party's gradient opened into the peer's share
	TypeFinal        = "vlr.final"         // a party's flooded share of the peer's final weights

	// RevealGradients only.
	TypePowers = "vlr.powers"
)

// protocolVersion guards the setup message. Version 2 added the agreement
// on a checkpoint to resume from; version 3 the secret-shared protocol;
// version 4 its wire of issue 18 (packed coefficients, the bank's partial
// scores as c1 components only, scores and residuals two chunks per
// ciphertext, the conjugation key at the top level, shapes that weigh the
// wire); version 5 rounds off the low bits below the training's precision
// of every epoch message (he.SlotDropBits); version 6 leaves the
// relinearisation key with the bank alone (he.KeySpec.RelinHolder: the
// center's second-round share travels, the bank's does not) and sends the
// center's re-encrypted share of the scores before the opening
// (TypeScoreMask), while both parties compute their partial scores;
// version 7 sends a learning rate left at 0 as 0, for both parties to
// resolve from both column counts (DefaultRate), and builds the bank's
// relinearisation key in one round from the center's shares of its key
// share and its square (he.KeySpec.RelinHolder): the bank sends nothing for
// it, the center one share instead of two.
const protocolVersion = 7

var (
	// ErrOptions is returned for options out of range or that the parties
	// do not share.
	ErrOptions = errors.New("vlr: bad options")
	// ErrProtocol reports a peer message that breaks the protocol: one that
	// does not decode, or decodes to a vector or value of another shape,
	// level or range than the step calls for. It wraps fl.ErrProtocol, and
	// the errors that wrap it keep their own sentinels (he.ErrShares,
	// joint.ErrUnexpectedVector, fl.ErrParts, ...).
	ErrProtocol = fmt.Errorf("vlr: %w", fl.ErrProtocol)
)

// Options are the training settings. The bank's options are the training's:
// it sends them to the center during setup.
type Options struct {
	// Epochs is the number of passes over the rows (default 30).
	Epochs int `json:"epochs"`
	// BatchSize is the mini-batch size; 0 trains full batch.
	BatchSize int `json:"batch_size"`
	// Optimizer updates the weights. With secret-shared weights (the
	// default) the update runs on the shares and must be linear: "sgd",
	// "momentum" or "nesterov", with L2 and Decay but without L1; the
	// default is momentum, and momentum and nesterov default to a momentum
	// of 0.8 and a rate of 0.8 of the iteration's stability bound inside
	// the sigmoid interval, at most 0.8 (DefaultRate: 0.8 up to 14 columns
	// in all; on the shared credit data it matches Adam's test AUC in 30
	// full-batch epochs and diverges on none of them). Adam needs a square root of each
	// gradient's second moment, which the shares cannot give: it is
	// available with RevealGradients only (whose default is SGD, rate 0.1).
	Optimizer model.OptimizerOptions `json:"optimizer"`
	// Degree and Bound give the sigmoid polynomial: the least-squares fit of
	// that degree on [-Bound, Bound] (defaults 5 and 8). Secret-shared
	// training evaluates it under encryption and takes degree 1, 3 or 5.
	Degree int     `json:"degree"`
	Bound  float64 `json:"bound"`
	// RevealGradients runs the older, cheaper protocol that decrypts to each
	// party its own plaintext gradient every batch. It reveals what the
	// package doc says (with a batch no larger than a party's column count,
	// the peer's residuals and so the labels or the partial scores), so it
	// refuses batches smaller than four times the larger party's column
	// count. Off by default.
	RevealGradients bool `json:"reveal_gradients"`
	// InitScale is the standard deviation of each party's secret random part
	// of every initial weight (default 0.01): training starts from the sum
	// of the two parties' parts, which neither knows.
	InitScale float64 `json:"init_scale"`
	// Tol stops training when the loss changes by less than Tol*max(1,|loss|)
	// between epochs; 0 trains all epochs. With secret-shared weights the
	// loss carries flooding noise (2.6e-6 for 30 epochs, the package doc):
	// a Tol near 1e-5 or below decides on the noise.
	Tol float64 `json:"tol"`
	// Seed fixes the mini-batch order.
	Seed uint64 `json:"seed"`
	// TrackLoss computes the loss every epoch even without Tol.
	TrackLoss bool `json:"track_loss"`
	// Checkpoints keeps the bank's checkpoint after every epoch, in storage
	// the application provides (nil keeps none). It stays local: the center
	// names its own in PassiveOptions. When both parties restart a training
	// with the same options and data, they resume from the latest epoch both
	// have saved.
	Checkpoints fl.Checkpoints `json:"-"`
	// Checkpoint is a folder for the checkpoints, the convenient form of
	// Checkpoints: fl.DirCheckpoints(Checkpoint, "vlr-active"). "" keeps
	// none; set at most one of the two.
	Checkpoint string `json:"-"`
	// Logger receives the resume decision, with a warning when the bank
	// holds checkpoints of another configuration (changed options or data)
	// and training starts afresh (nil: no logging).
	Logger *slog.Logger `json:"-"`
	// KeyProgress, if set, is told how far the threshold key generation
	// is (joint.KeyOptions.Progress: step joint.StepKeys, done of
	// joint.KeyStages), as align.Options.Progress is told the alignment's
	// phases; the Logger gets its start and end. Local: no message changes.
	KeyProgress func(step string, done, total int) `json:"-"`
}

// DefaultRate is the shared mode's learning rate for momentum (and
// Nesterov) m on cols columns in all, the intercept one of them:
// min(0.8, 6.4 (1 + m) / cols), 0.8 when cols is 0 (unknown). It is 0.8 of
// the heavy-ball stability bound 2 (1 + m) / L on standardized features:
// inside the sigmoid interval the loss's curvature L is at most the
// polynomial's slope (0.185 for the default degree 5 on [-8, 8], below the
// sigmoid's 1/4) times the largest eigenvalue of X^T X / n, itself at most
// its trace, the sum of the columns' mean squares, 1 each. Above the bound
// the iteration oscillates away: its scores leave the interval and then
// pass the scale guard (the package doc). On breast (30 correlated columns)
// 0.8 diverged in 16 of 50 secret starts, 0.37 in none
// (TestDefaultRateConverges). The bound holds inside the interval only:
// outside it the polynomial's slope grows as z^4 (2.0 at 12), so data whose
// labels the columns nearly separate, which pull the scores out of the
// interval at any rate, can still diverge (30 columns of one latent factor
// that separates the labels: 50 of 50 starts at 0.37 within 30 epochs, with
// L2 up to 0.1). The cap keeps 0.8, which matches Adam's test AUC in 30
// full-batch epochs, on narrow data (14 columns or fewer at m = 0.8).
func DefaultRate(m float64, cols int) float64 {
	if cols <= 0 {
		return 0.8
	}
	return min(0.8, 6.4*(1+m)/float64(cols))
}

// PassiveOptions are the center's local settings; the training's options
// are the bank's.
type PassiveOptions struct {
	// Checkpoints keeps the center's checkpoint after every epoch (nil
	// keeps none); see Options.Checkpoints.
	Checkpoints fl.Checkpoints
	// Checkpoint is a folder for them: fl.DirCheckpoints(Checkpoint,
	// "vlr-passive"). "" keeps none; set at most one of the two.
	Checkpoint string
	// Logger receives the resume decision, as Options.Logger (nil: no
	// logging).
	Logger *slog.Logger
	// KeyProgress is told how far key generation is, as Options.KeyProgress.
	KeyProgress func(step string, done, total int)
}

// WithDefaults fills zero fields and validates, for a training whose
// column count is not known yet: the shared mode's default learning rate is
// then its cap, 0.8. A training takes WithColumns, which the plaintext twin
// of a training must take too.
func (o Options) WithDefaults() (Options, error) { return o.WithColumns(0) }

// WithColumns is WithDefaults for a training of cols columns in all (the
// bank's, the center's and the intercept): in the shared mode, momentum
// and Nesterov left at rate 0 take DefaultRate(momentum, cols).
func (o Options) WithColumns(cols int) (Options, error) {
	if o.Epochs == 0 {
		o.Epochs = 30
	}
	if o.InitScale == 0 {
		o.InitScale = 0.01
	}
	if !o.RevealGradients {
		if o.Optimizer.Name == "" {
			o.Optimizer.Name = "momentum"
		}
		if o.Optimizer.Name == "momentum" || o.Optimizer.Name == "nesterov" {
			if o.Optimizer.Momentum == 0 {
				o.Optimizer.Momentum = 0.8
			}
			if o.Optimizer.LearningRate == 0 {
				o.Optimizer.LearningRate = DefaultRate(o.Optimizer.Momentum, cols)
			}
		}
	}
	o = o.polyDefaults()
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
	case !(o.InitScale > 0) || o.InitScale > 1:
		return o, fmt.Errorf("%w: initial weight scale %v, want (0, 1]", ErrOptions, o.InitScale)
	case o.Checkpoints != nil && o.Checkpoint != "":
		return o, fmt.Errorf("%w: both Checkpoint and Checkpoints set; give one", ErrOptions)
	}
	if !o.RevealGradients {
		switch {
		case o.Optimizer.Name == "adam":
			return o, fmt.Errorf("%w: adam needs the square root of each gradient's second moment, which secret-shared weights cannot give: use momentum or nesterov, or RevealGradients", ErrOptions)
		case o.Optimizer.L1 > 0:
			return o, fmt.Errorf("%w: L1 soft-thresholds each weight, which secret-shared weights cannot do: use L2, or RevealGradients", ErrOptions)
		case he.LogisticDepth(o.Degree) < 0:
			return o, fmt.Errorf("%w: sigmoid degree %d: secret-shared training takes degree 1, 3 or 5", ErrOptions, o.Degree)
		}
	}
	return o, nil
}

// Sigmoid returns the polynomial the training uses (zero Degree and Bound
// take their defaults).
func (o Options) Sigmoid() (he.Poly, error) {
	o = o.polyDefaults()
	return he.FitSigmoid(o.Degree, o.Bound)
}

// Softplus returns the polynomial of the loss, of the sigmoid's degree and
// on its interval.
func (o Options) Softplus() (he.Poly, error) {
	o = o.polyDefaults()
	return he.FitSoftplus(o.Degree, o.Bound)
}

func (o Options) polyDefaults() Options {
	if o.Degree == 0 {
		o.Degree = 5
	}
	if o.Bound == 0 {
		o.Bound = 8
	}
	return o
}

func (o Options) lossNeeded() bool { return o.Tol > 0 || o.TrackLoss }

// Data is one party's training input (fl.Data). vlr requires the columns
// standardized and without missing values (see model.Standardizer) and no
// categorical columns (one-hot encode them first: their level codes are no
// scale a weight can apply to); Names are not used.
type Data = fl.Data

func checkData(d Data, active bool) error {
	if d.Cols < 1 || len(d.X) == 0 || len(d.X)%d.Cols != 0 {
		return fmt.Errorf("%w: %d values in rows of %d columns", ErrOptions, len(d.X), d.Cols)
	}
	if d.Categories.Any() {
		return fmt.Errorf("%w: Data.Categories marks categorical columns: one-hot encode them first (model.Categories.OneHot)", ErrOptions)
	}
	for i, v := range d.X {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("%w: value %d (row %d, column %d) is %v: standardize and impute first", ErrOptions, i, i/d.Cols, i%d.Cols, v)
		}
	}
	if err := checkFeatures(d); err != nil {
		return err
	}
	if active {
		if len(d.Y) != d.Rows() {
			return fmt.Errorf("%w: %d labels for %d rows", ErrOptions, len(d.Y), d.Rows())
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
	// Loss is the training loss per epoch as the bank learned it: the
	// polynomial surrogate of the log-loss, the mean over the rows of
	// s(z) - y z with s the polynomial fit of softplus on the sigmoid's
	// interval (Options.Softplus), each batch's rows taken before that
	// batch's update; with RevealGradients it adds the L2 and L1 penalty of
	// the bank's weights. nil for the center.
	Loss []float64
	// InitOwn and InitPeer are this party's secret random parts of the
	// initial weights: of its own (the bank's with the intercept last) and,
	// with secret-shared weights, of the peer's. The initial weights are the
	// sum of the two parties' parts; a plaintext twin that starts from the
	// same point needs both (model.LROptions.Init).
	InitOwn, InitPeer []float64
	// Epochs is the number of epochs run, those before a resume included.
	Epochs int
	// Resumed is the epoch the training resumed from (0: it started afresh).
	Resumed int
	// ScoreGuard is, for secret-shared training, the magnitude of scores
	// and weights within which the masks of every opening hide its value at
	// statistical distance 2^-40 for the whole training (see ScoreGuard);
	// 0 with RevealGradients.
	ScoreGuard float64
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

// minRevealBatch is the smallest batch RevealGradients accepts: a party
// whose gradient has c coordinates per batch of b rows solves for the b
// residuals when b <= c; four times the larger party's columns keeps every
// batch far from that (the peer sees b - c degrees of freedom it cannot
// pin). allowSmallBatches lifts the rule for the attack test only.
func minRevealBatch(bankCols, centerCols int) int {
	return 4 * max(bankCols+1, centerCols)
}

var allowSmallBatches bool

// checkRevealBatches refuses RevealGradients with a batch too small.
func checkRevealBatches(o Options, rows, bankCols, centerCols int) error {
	if !o.RevealGradients || allowSmallBatches {
		return nil
	}
	b := rows
	if o.BatchSize > 0 && o.BatchSize < rows {
		b = o.BatchSize
		if r := rows % o.BatchSize; r > 0 {
			b = r
		}
	}
	if need := minRevealBatch(bankCols, centerCols); b < need {
		return fmt.Errorf("%w: RevealGradients with a batch of %d rows, at least %d needed (4 x the larger party's %d columns): a smaller batch lets a party solve for the peer's residuals", ErrOptions, b, need, need/4)
	}
	return nil
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

// marshalVectors puts several vectors in one payload, as fl.JoinParts
// parts (the layout vlr has used since its first version).
func marshalVectors(p he.Params, vs []*he.Vector) ([]byte, error) {
	parts := make([][]byte, len(vs))
	for i, v := range vs {
		data, err := p.MarshalVector(v)
		if err != nil {
			return nil, err
		}
		parts[i] = data
	}
	return fl.JoinParts(parts...), nil
}

// unmarshalVectors reads exactly want vectors that marshalVectors put in
// b. A payload of another count or framing is an fl.ErrParts error that
// still matches he.ErrMalformed, as vlr's own framing errors did.
func unmarshalVectors(p he.Params, b []byte, want int) ([]*he.Vector, error) {
	parts, err := fl.SplitParts(b, want)
	if err != nil {
		return nil, fmt.Errorf("%w: vectors: %w", he.ErrMalformed, err)
	}
	vs := make([]*he.Vector, len(parts))
	for i, part := range parts {
		if vs[i], err = p.UnmarshalVector(part); err != nil {
			return nil, err
		}
	}
	return vs, nil
}

// InitWeights returns the starting point of a training from both parties'
// Results: [bank's weights..., center's weights..., intercept], the sum of
// the two parties' secret parts, for a plaintext twin that trains on the
// joined [bank | center] columns (model.LROptions.Init). Only a process
// that holds both Results (a test, a single-process demonstration) can
// build it: each party's parts are its own secret.
func InitWeights(bank, center *Result) []float64 {
	db, dc := len(bank.InitOwn)-1, len(center.InitOwn)
	w := make([]float64, db+dc+1)
	copy(w, bank.InitOwn[:db])
	copy(w[db:], center.InitOwn)
	w[db+dc] = bank.InitOwn[db]
	if len(center.InitPeer) == db+1 {
		for j := 0; j <= db; j++ {
			if j < db {
				w[j] += center.InitPeer[j]
			} else {
				w[db+dc] += center.InitPeer[db]
			}
		}
	}
	if len(bank.InitPeer) == dc {
		for j := 0; j < dc; j++ {
			w[db+j] += bank.InitPeer[j]
		}
	}
	return w
}
