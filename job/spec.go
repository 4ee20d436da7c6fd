package job

import (
	"errors"
	"fmt"
	"github.com/veil-fl/veil/mpc/psi"
	"log/slog"
	"math"
	"slices"

	"github.com/veil-fl/veil/dataset"
	"github.com/veil-fl/veil/fl/align"
	"github.com/veil-fl/veil/fl/boost"
	"github.com/veil-fl/veil/fl/vlr"
	"github.com/veil-fl/veil/fl/woe"
	"github.com/veil-fl/veil/model"
)

// Kind names a model a job trains.
type Kind string

// The models a job trains.
const (
	// LR is vertical logistic regression (package vlr) on each party's
	// standardized columns.
	LR Kind = "lr"
	// SBT is SecureBoost (package boost) on the raw columns.
	SBT Kind = "sbt"
	// WOE is a WOE scorecard: federated WOE/IV (package woe), then vertical
	// LR on the WOE columns the IV selection keeps, turned into points.
	WOE Kind = "woe"
)

// Kinds lists the models a job can train, in the order it trains them.
var Kinds = []Kind{LR, SBT, WOE}

// DefaultClip is the clip of standardized features (Spec.Clip): five
// standard deviations, which keeps LR's scores inside the sigmoid
// polynomial's interval and every value within he.MaxFeature.
const DefaultClip = 5

// ErrSpec is returned for a spec that cannot run, or that the two parties'
// specs disagree on; the message names the field.
var ErrSpec = errors.New("job: bad spec")

// Spec is one party's view of a job. The bank's spec is the job's: it
// chooses the models and their options and tells the center (TypeSetup);
// the center's spec gives its own tables and local settings, and may limit
// the models it agrees to train (Models).
type Spec struct {
	// Train is this party's table: the ids, the bank's labels, its features.
	Train *dataset.Table
	// Test is an optional separate test table, aligned by PSI like Train;
	// both parties give one or neither. It must have Train's columns, each
	// numeric or categorical as in Train (dataset.CheckSameSchema); its
	// categorical columns' dictionaries may differ, labels are matched by
	// name. Without it the bank holds out TestFraction of the aligned rows,
	// stratified on its labels, and tells the center which rows (never their
	// labels).
	Test *dataset.Table
	// TestFraction is the share of aligned rows held out (default 0.2).
	TestFraction float64
	// Seed fixes the split (and, unless the model options set their own,
	// nothing else).
	Seed int64
	// Models are the models to train, in order (default LR). On the
	// center's side, the models it agrees to train (nil: any).
	Models []Kind
	// LR are the options of LR and of the scorecard's LR (the bank's). A
	// negative L2 means 1/training rows, scikit-learn's C = 1 objective.
	LR vlr.Options
	// SBT are the SecureBoost options (the bank's).
	SBT boost.Options
	// WOE are the WOE/IV options and Scorecard the points' scaling (the
	// bank's: its setup gives the center the scaling, which the center's
	// half is built on, its own spec's Scorecard being ignored).
	WOE       woe.Options
	Scorecard model.Scorecard
	// Clip limits each party's standardized features to [-Clip, Clip]
	// (0: DefaultClip; negative: no clipping, which vlr refuses past
	// he.MaxFeature). Each party clips its own columns.
	Clip float64
	// Dir is where this party saves its model halves, one file per model
	// (active_lr.json, passive_lr.json, active_sbt.json, passive_sbt.json,
	// active_scorecard.json, passive_scorecard.json); "" saves none.
	Dir string
	// Checkpoint is a folder for this party's checkpoints after every LR
	// epoch and every tree; rerun both parties with the same specs and data
	// to resume. "" keeps none.
	Checkpoint string
	// TreeCurve has both parties score the test rows after each tree, for
	// SecureBoost's learning curve (Model.Curve); the bank's choice.
	TreeCurve bool
	// MaxPeerRows refuses a peer whose table (training or test) has more
	// ids than this in the private alignment (0: no bound): a service
	// sets it from the peer's quota, since the alignment shows the peer
	// which of its ids this party holds. Local, not agreed.
	MaxPeerRows int
	// PSIStore, at the center, keeps its tables encoded for the unbalanced
	// alignment (the default mode), one key epoch per bank (named by its
	// certificate), so that a job costs O(the bank's ids) and sends only
	// what changed since the bank's cache; nil encodes them for this job
	// alone. PSICache, at the bank, is its cache of the center's encoded
	// training table (psi.OpenCache; the test table's is the job's own);
	// nil caches it for this job alone.
	PSIStore *psi.CenterStore
	PSICache *psi.Cache
	// BalancedPSI aligns with the balanced protocol instead, for tables
	// both fresh (no party keeps its set encoded). The bank's choice, which
	// its setup tells the center; the center's spec must say the same.
	BalancedPSI bool
	// BalancedProtocol is the balanced alignment's protocol: KKRT (the
	// zero value) or ECDH (align.Options.BalancedProtocol). The bank's
	// setup tells it; the center's spec must say the same.
	BalancedProtocol align.Protocol
	// Logger receives one line per step (nil: none).
	Logger *slog.Logger
	// Progress, when set, receives the long steps as they run (see Event).
	Progress func(Event)
}

// Event reports a long step of a job: Step names it ("aligning ids by PSI",
// "LR: epochs"); Done of Total units are finished (Total 0: a step of
// unknown length); End marks its end. Loss is, in a step of LR epochs, the
// epoch's polynomial surrogate of the log-loss (vlr.Result.Loss): NaN unless
// the LR options track it (TrackLoss or Tol).
type Event struct {
	Step        string
	Done, Total int
	End         bool
	Loss        float64
}

// localError is an error about this party's own tables whose text, which
// may name their columns or labels, stays with this party: the peer is told
// only reason (see run).
type localError struct {
	err    error
	reason string
}

func (e *localError) Error() string { return e.err.Error() }
func (e *localError) Unwrap() error { return e.err }

// forPeer returns what the peer is told of err: a localError's reason, or
// err itself.
func forPeer(err error) error {
	var le *localError
	if errors.As(err, &le) {
		return errors.New(le.reason)
	}
	return err
}

// whose names a party's possession in a message to its peer.
func whose(active bool) string {
	if active {
		return "the bank's"
	}
	return "the center's"
}

func (s Spec) withDefaults(active bool) (Spec, error) {
	if s.Train == nil {
		return s, fmt.Errorf("%w: Train: no table", ErrSpec)
	}
	if active && s.Train.Labels == nil {
		return s, fmt.Errorf("%w: Train: the bank's table has no label column", ErrSpec)
	}
	if s.Test != nil {
		if active && s.Test.Labels == nil {
			return s, fmt.Errorf("%w: Test: the bank's test table has no label column", ErrSpec)
		}
		// A model fitted on one kind of column cannot read the other: stop
		// here, before any key is made, rather than fail or misread later.
		// The error names the columns; the peer hears only the kind.
		if err := dataset.CheckSameSchema(s.Train, s.Test); err != nil {
			return s, &localError{err: fmt.Errorf("%w: Test: %w", ErrSpec, err),
				reason: fmt.Sprintf("%v: Test: %s test table does not have the columns of its training table (%v)", ErrSpec, whose(active), dataset.ErrSchemaMismatch)}
		}
	}
	if s.TestFraction == 0 {
		s.TestFraction = 0.2
	}
	if s.Test == nil && !(s.TestFraction > 0 && s.TestFraction < 1) {
		return s, fmt.Errorf("%w: TestFraction %v, want in (0, 1)", ErrSpec, s.TestFraction)
	}
	if s.Clip == 0 {
		s.Clip = DefaultClip
	} else if s.Clip < 0 {
		s.Clip = 0
	}
	if math.IsNaN(s.Clip) || math.IsInf(s.Clip, 0) {
		return s, fmt.Errorf("%w: Clip %v", ErrSpec, s.Clip)
	}
	if active && len(s.Models) == 0 {
		s.Models = []Kind{LR}
	}
	for i, k := range s.Models {
		if !slices.Contains(Kinds, k) {
			return s, fmt.Errorf("%w: Models[%d] is %q, want one of %v", ErrSpec, i, k, Kinds)
		}
		if slices.Index(s.Models, k) < i {
			return s, fmt.Errorf("%w: Models lists %q twice", ErrSpec, k)
		}
	}
	if s.Logger == nil {
		s.Logger = slog.New(slog.DiscardHandler)
	}
	if !active {
		return s, nil
	}
	lr := s.LR
	lr.Optimizer.L2 = max(lr.Optimizer.L2, 0)
	if _, err := lr.WithDefaults(); err != nil {
		return s, fmt.Errorf("%w: LR: %w", ErrSpec, err)
	}
	if _, err := s.SBT.GBDTOptions.WithDefaults(); err != nil {
		return s, fmt.Errorf("%w: SBT: %w", ErrSpec, err)
	}
	if _, err := s.WOE.WithDefaults(); err != nil {
		return s, fmt.Errorf("%w: WOE: %w", ErrSpec, err)
	}
	if err := checkScorecard(s.Scorecard); err != nil {
		return s, fmt.Errorf("%w: %w", ErrSpec, err)
	}
	return s, nil
}

// checkScorecard refuses a scaling of points that would make them NaN or
// infinite: each field finite, PDO and BaseOdds not negative (zero takes
// model.Scorecard's default).
func checkScorecard(sc model.Scorecard) error {
	for _, f := range []struct {
		name string
		v    float64
		neg  bool
	}{{"BasePoints", sc.BasePoints, true}, {"PDO", sc.PDO, false}, {"BaseOdds", sc.BaseOdds, false}} {
		if math.IsNaN(f.v) || math.IsInf(f.v, 0) || (!f.neg && f.v < 0) {
			return fmt.Errorf("Scorecard.%s %v: want a finite number%s", f.name, f.v, map[bool]string{true: "", false: ", not negative"}[f.neg])
		}
	}
	return nil
}
