package vlr

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"time"

	"github.com/veil-fl/veil/fl"
	"github.com/veil-fl/veil/fl/joint"
	"github.com/veil-fl/veil/he"
	"github.com/veil-fl/veil/model"
)

// gradHook, set by the wire-audit test only, sees every plaintext gradient
// a party decrypts (RevealGradients), or the gradient a party's shares and
// its peer's add up to (the default mode, where no party decrypts one).
var gradHook func(fl.Role, []float64)

// zeroInit, set by the attack tests only, starts from zero weights: the
// weak variant whose first gradient is X^T (p(0) - y).
var zeroInit bool

// Progress receives the bank's view of each finished epoch: loss is the
// epoch's polynomial surrogate of the log-loss (Result.Loss), NaN unless
// Options.Tol or TrackLoss asks for it.
type Progress func(epoch int, loss float64)

type epochMsg struct {
	Epoch int  `json:"epoch"`
	Stop  bool `json:"stop"`
}

// Active is the bank's side of a training: NewActive runs the setup (options,
// key generation, matrix preparation), each Epoch one pass over the rows.
type Active struct {
	t      fl.Transport
	data   Data
	opt    Options
	params he.Params
	party  *he.Party
	res    Result
	start  time.Time
	epoch  int
	done   bool
	store  fl.Checkpoints // nil: none
	digest [32]byte

	rev  *revealState // RevealGradients
	sh   *sharedState // secret-shared weights
	plan *joint.Plan
}

// NewActive sets up the bank's side. seed is the joint seed of the session
// handshake; opt are the training's options, sent to the center.
func NewActive(ctx context.Context, t fl.Transport, seed []byte, data Data, opt Options) (_ *Active, err error) {
	defer fl.AbortOnError(ctx, t, &err)
	a := &Active{t: t, data: data, start: time.Now()}
	if a.opt, err = opt.WithDefaults(); err != nil {
		return nil, fl.Fail(ctx, t, err)
	}
	if err := checkData(data, true); err != nil {
		return nil, fl.Fail(ctx, t, err)
	}
	n := data.Rows()
	// The options go as given: a rate left at 0 is resolved by both
	// parties from both column counts (WithColumns).
	sent := a.opt
	sent.Optimizer.LearningRate = opt.Optimizer.LearningRate
	if err := fl.SendJSON(ctx, t, TypeSetup, setup{Version: protocolVersion, Options: sent, Rows: n, Cols: data.Cols}); err != nil {
		return nil, err
	}
	var ack setup
	if err := fl.RecvJSON(ctx, t, TypeSetupAck, &ack); err != nil {
		return nil, err
	}
	if ack.Rows != n || ack.Cols < 1 {
		return nil, fl.Fail(ctx, t, fmt.Errorf("%w: the center has %d rows and %d columns, the bank %d rows", ErrOptions, ack.Rows, ack.Cols, n))
	}
	if a.opt, err = sent.WithColumns(data.Cols + ack.Cols + 1); err != nil {
		return nil, fl.Fail(ctx, t, err)
	}
	if err := checkRevealBatches(a.opt, n, data.Cols, ack.Cols); err != nil {
		return nil, fl.Fail(ctx, t, err)
	}
	if !a.opt.RevealGradients {
		if a.res.ScoreGuard, err = ScoreGuard(a.opt, n, data.Cols, ack.Cols); err != nil {
			return nil, fl.Fail(ctx, t, err)
		}
	}
	a.store = checkpoints(a.opt.Checkpoints, a.opt.Checkpoint, "vlr-active")
	resume, err := agree(ctx, t, a.store, a.opt.Logger, a.opt, n, data.Cols, ack.Cols, data, &a.digest)
	if err != nil {
		return nil, err
	}
	a.plan = DisclosurePlan(a.opt, n, data.Cols, ack.Cols, resume).HeldBy(ctx, fl.RoleActive)
	if a.opt.RevealGradients {
		if a.params, a.party, err = revealKeys(ctx, t, seed, a.opt, n, data.Cols, ack.Cols, joint.KeyOptions{Progress: a.opt.KeyProgress, Logger: a.opt.Logger}); err != nil {
			return nil, err
		}
		if a.rev, err = newRevealState(a.party, a.opt, data, true); err != nil {
			return nil, fl.Fail(ctx, t, err)
		}
		a.rev.plan = a.plan
	} else {
		if a.params, a.party, err = sharedKeys(ctx, t, seed, a.opt, n, data.Cols, ack.Cols, true, joint.KeyOptions{Progress: a.opt.KeyProgress, Logger: a.opt.Logger}); err != nil {
			return nil, err
		}
		if a.sh, err = newSharedState(a.party, a.opt, data, ack.Cols, true); err != nil {
			return nil, fl.Fail(ctx, t, err)
		}
		a.sh.plan = a.plan
	}
	a.res.InitOwn, a.res.InitPeer = a.initParts()
	if resume > 0 {
		st, err := a.restore(resume)
		if err != nil {
			return nil, fl.Fail(ctx, t, err)
		}
		a.res.Loss = st.Loss
		a.epoch, a.res.Epochs, a.res.Resumed, a.done = resume, resume, resume, st.Done
	}
	return a, nil
}

func (a *Active) initParts() (own, peer []float64) {
	if a.rev != nil {
		return append([]float64(nil), a.rev.init...), nil
	}
	return a.sh.initOwn, a.sh.initPeer
}

func (a *Active) restore(epoch int) (*ckptState, error) {
	var st ckptState
	if err := fl.LoadCheckpoint(a.store, epoch, a.digest, &st); err != nil {
		return nil, err
	}
	if st.Epoch != epoch {
		return nil, fmt.Errorf("%w: checkpoint of epoch %d, want %d", fl.ErrCheckpoint, st.Epoch, epoch)
	}
	if a.rev != nil {
		return &st, a.rev.restore(&st)
	}
	return &st, a.sh.restore(&st)
}

func (a *Active) save() error {
	return saveState(a.store, a.digest, &ckptState{Epoch: a.epoch, Loss: a.res.Loss, Done: a.done}, a.rev, a.sh)
}

// saveState completes st with the protocol's state (rev or sh, whichever
// is set) and saves it.
func saveState(store fl.Checkpoints, digest [32]byte, st *ckptState, rev *revealState, sh *sharedState) error {
	if store == nil {
		return nil
	}
	var err error
	if rev != nil {
		err = rev.save(st)
	} else {
		err = sh.save(st)
	}
	if err != nil {
		return err
	}
	return fl.SaveCheckpoint(store, st.Epoch, digest, st)
}

// agree computes the training's digests and agrees with the peer on the
// epoch to resume from (0: from the start), logging on log why it starts
// afresh despite checkpoints (fl.Resume). local receives this party's
// checkpoint digest.
func agree(ctx context.Context, t fl.Transport, store fl.Checkpoints, log *slog.Logger, opt Options, rows, bankCols, centerCols int, data Data, local *[32]byte) (int, error) {
	cfg, err := configDigest(opt, rows, bankCols, centerCols)
	if err != nil {
		return 0, err
	}
	*local = localDigest(cfg, data)
	return fl.Resume(ctx, t, store, cfg, *local, log)
}

// Done reports whether training has finished (all epochs, or early stop).
func (a *Active) Done() bool { return a.done }

// Plan returns the training's disclosure plan, with what each step has
// revealed so far (DisclosurePlan).
func (a *Active) Plan() *joint.Plan { return a.plan }

// Epoch runs one pass over the rows and returns the epoch's loss (NaN when
// the loss is not computed). After the last epoch both parties receive
// their final weights.
func (a *Active) Epoch(ctx context.Context) (float64, error) {
	if a.done {
		return math.NaN(), fmt.Errorf("vlr: training already finished after %d epochs", a.epoch)
	}
	var (
		lossSum float64
		err     error
	)
	if a.rev != nil {
		lossSum, err = a.rev.epochActive(ctx, a.t, a.opt, a.data)
	} else {
		lossSum, err = a.sh.epochActive(ctx, a.t, a.opt, a.data)
	}
	if err != nil {
		return 0, err
	}
	loss := math.NaN()
	if !math.IsNaN(lossSum) {
		loss = lossSum / float64(a.data.Rows())
		if a.rev != nil {
			loss += penalty(a.rev.w[:a.data.Cols], a.opt.Optimizer)
		}
		a.res.Loss = append(a.res.Loss, loss)
	}
	a.epoch++
	a.res.Epochs = a.epoch
	prev := math.NaN()
	if len(a.res.Loss) > 1 {
		prev = a.res.Loss[len(a.res.Loss)-2]
	}
	stop := a.epoch == a.opt.Epochs ||
		(a.opt.Tol > 0 && !math.IsNaN(prev) && math.Abs(prev-loss) < a.opt.Tol*math.Max(1, math.Abs(loss)))
	if err := fl.SendJSON(ctx, a.t, TypeEpoch, epochMsg{Epoch: a.epoch - 1, Stop: stop}); err != nil {
		return 0, err
	}
	a.done = stop
	if err := a.save(); err != nil {
		return 0, fl.Fail(ctx, a.t, err)
	}
	if stop && a.sh != nil {
		if err := a.sh.finish(ctx, a.t); err != nil {
			return 0, err
		}
		if err := a.save(); err != nil {
			return 0, fl.Fail(ctx, a.t, err)
		}
	}
	return loss, nil
}

// Result returns the bank's weights, intercept, losses and traffic so far.
// With secret-shared weights the weights are known only once training is
// done; before, they are nil.
func (a *Active) Result() *Result {
	r := a.res
	var w []float64
	if a.rev != nil {
		w = a.rev.w
	} else {
		w = a.sh.final
	}
	if w != nil {
		r.Weights = append([]float64(nil), w[:a.data.Cols]...)
		r.Intercept = w[a.data.Cols]
	}
	r.Loss = append([]float64(nil), a.res.Loss...)
	r.Stats, r.Duration = a.t.Stats(), time.Since(a.start)
	return &r
}

// TrainActive runs the bank's side to the end: setup, then epochs until the
// last or an early stop. progress, if set, sees each epoch's loss.
func TrainActive(ctx context.Context, t fl.Transport, seed []byte, data Data, opt Options, progress Progress) (_ *Result, err error) {
	defer fl.AbortOnError(ctx, t, &err)
	a, err := NewActive(ctx, t, seed, data, opt)
	if err != nil {
		return nil, err
	}
	if a.Done() && a.sh != nil { // resumed after the last epoch
		if err := a.sh.finish(ctx, a.t); err != nil {
			return nil, err
		}
		if err := a.save(); err != nil {
			return nil, fl.Fail(ctx, a.t, err)
		}
	}
	for !a.Done() {
		loss, err := a.Epoch(ctx)
		if err != nil {
			return nil, err
		}
		if progress != nil {
			progress(a.epoch-1, loss)
		}
	}
	return a.Result(), nil
}

// penalty is the regularization term of the loss on the bank's weights; the
// center's weights stay private, so the reported loss counts the bank's only.
func penalty(w []float64, o model.OptimizerOptions) float64 {
	s := 0.0
	for _, x := range w {
		s += o.L2/2*x*x + o.L1*math.Abs(x)
	}
	return s
}

// Passive is the center's side of a training.
type Passive struct {
	t       fl.Transport
	data    Data
	opt     Options
	params  he.Params
	party   *he.Party
	start   time.Time
	epoch   int
	done    bool
	store   fl.Checkpoints // nil: none
	log     *slog.Logger
	digest  [32]byte
	resumed int
	init    [2][]float64
	guard   float64

	rev  *revealState
	sh   *sharedState
	plan *joint.Plan
}

// NewPassive sets up the center's side; it trains with the bank's options.
func NewPassive(ctx context.Context, t fl.Transport, seed []byte, data Data) (*Passive, error) {
	return NewPassiveWith(ctx, t, seed, data, PassiveOptions{})
}

// NewPassiveWith is NewPassive with the center's local settings.
func NewPassiveWith(ctx context.Context, t fl.Transport, seed []byte, data Data, local PassiveOptions) (_ *Passive, err error) {
	defer fl.AbortOnError(ctx, t, &err)
	p := &Passive{t: t, data: data, start: time.Now(), log: local.Logger}
	if local.Checkpoints != nil && local.Checkpoint != "" {
		return nil, fl.Fail(ctx, t, fmt.Errorf("%w: the center's PassiveOptions set both Checkpoint and Checkpoints; give one", ErrOptions))
	}
	p.store = checkpoints(local.Checkpoints, local.Checkpoint, "vlr-passive")
	if err := checkData(data, false); err != nil {
		return nil, fl.Fail(ctx, t, err)
	}
	n := data.Rows()
	var s setup
	if err := fl.RecvJSON(ctx, t, TypeSetup, &s); err != nil {
		return nil, err
	}
	if s.Version != protocolVersion {
		return nil, fl.Fail(ctx, t, fmt.Errorf("%w: %w: the bank speaks vlr version %d, this center %d", ErrProtocol, ErrOptions, s.Version, protocolVersion))
	}
	if s.Rows != n || s.Cols < 1 {
		return nil, fl.Fail(ctx, t, fmt.Errorf("%w: the bank has %d rows, the center %d", ErrOptions, s.Rows, n))
	}
	if p.opt, err = s.Options.WithColumns(s.Cols + data.Cols + 1); err != nil {
		return nil, fl.Fail(ctx, t, err)
	}
	// The center enforces the batch rule too: it protects the center's
	// residuals from a bank that would ask for small batches.
	if err := checkRevealBatches(p.opt, n, s.Cols, data.Cols); err != nil {
		return nil, fl.Fail(ctx, t, err)
	}
	if !p.opt.RevealGradients {
		if p.guard, err = ScoreGuard(p.opt, n, s.Cols, data.Cols); err != nil {
			return nil, fl.Fail(ctx, t, err)
		}
	}
	if err := fl.SendJSON(ctx, t, TypeSetupAck, setup{Version: protocolVersion, Rows: n, Cols: data.Cols}); err != nil {
		return nil, err
	}
	resume, err := agree(ctx, t, p.store, p.log, p.opt, n, s.Cols, data.Cols, data, &p.digest)
	if err != nil {
		return nil, err
	}
	p.plan = DisclosurePlan(p.opt, n, s.Cols, data.Cols, resume).HeldBy(ctx, fl.RolePassive)
	if p.opt.RevealGradients {
		if p.params, p.party, err = revealKeys(ctx, t, seed, p.opt, n, s.Cols, data.Cols, joint.KeyOptions{Progress: local.KeyProgress, Logger: local.Logger}); err != nil {
			return nil, err
		}
		if p.rev, err = newRevealState(p.party, p.opt, data, false); err != nil {
			return nil, fl.Fail(ctx, t, err)
		}
		p.rev.plan = p.plan
		p.init[0] = append([]float64(nil), p.rev.init...)
	} else {
		if p.params, p.party, err = sharedKeys(ctx, t, seed, p.opt, n, s.Cols, data.Cols, false, joint.KeyOptions{Progress: local.KeyProgress, Logger: local.Logger}); err != nil {
			return nil, err
		}
		if p.sh, err = newSharedState(p.party, p.opt, data, s.Cols, false); err != nil {
			return nil, fl.Fail(ctx, t, err)
		}
		p.sh.plan = p.plan
		p.init = [2][]float64{p.sh.initOwn, p.sh.initPeer}
	}
	if resume > 0 {
		var st ckptState
		err := fl.LoadCheckpoint(p.store, resume, p.digest, &st)
		if err == nil && st.Epoch != resume {
			err = fmt.Errorf("%w: checkpoint of epoch %d, want %d", fl.ErrCheckpoint, st.Epoch, resume)
		}
		if err == nil {
			if p.rev != nil {
				err = p.rev.restore(&st)
			} else {
				err = p.sh.restore(&st)
			}
		}
		if err != nil {
			return nil, fl.Fail(ctx, t, err)
		}
		p.epoch, p.resumed, p.done = resume, resume, st.Done
	}
	return p, nil
}

// Done reports whether the bank has ended the training.
func (p *Passive) Done() bool { return p.done }

// Plan returns the training's disclosure plan (DisclosurePlan).
func (p *Passive) Plan() *joint.Plan { return p.plan }

// Epoch runs one pass over the rows.
func (p *Passive) Epoch(ctx context.Context) error {
	if p.done {
		return fmt.Errorf("vlr: training already finished after %d epochs", p.epoch)
	}
	var err error
	if p.rev != nil {
		err = p.rev.epochPassive(ctx, p.t, p.opt, p.data)
	} else {
		err = p.sh.epochPassive(ctx, p.t, p.opt, p.data)
	}
	if err != nil {
		return err
	}
	var e epochMsg
	if err := fl.RecvJSON(ctx, p.t, TypeEpoch, &e); err != nil {
		return err
	}
	if e.Epoch != p.epoch {
		return fl.Fail(ctx, p.t, fmt.Errorf("%w: the bank is at epoch %d, the center at %d", ErrProtocol, e.Epoch, p.epoch))
	}
	p.epoch++
	p.done = e.Stop
	if err := p.save(); err != nil {
		return fl.Fail(ctx, p.t, err)
	}
	if p.done && p.sh != nil {
		return p.finish(ctx)
	}
	return nil
}

// finish reveals the final weights (secret-shared weights) and saves them.
func (p *Passive) finish(ctx context.Context) error {
	if err := p.sh.finish(ctx, p.t); err != nil {
		return err
	}
	if err := p.save(); err != nil {
		return fl.Fail(ctx, p.t, err)
	}
	return nil
}

func (p *Passive) save() error {
	return saveState(p.store, p.digest, &ckptState{Epoch: p.epoch, Done: p.done}, p.rev, p.sh)
}

// Result returns the center's weights and traffic so far (the weights once
// training is done, with secret-shared weights).
func (p *Passive) Result() *Result {
	var w []float64
	if p.rev != nil {
		w = p.rev.w
	} else {
		w = p.sh.final
	}
	r := &Result{Epochs: p.epoch, Resumed: p.resumed, ScoreGuard: p.guard, Stats: p.t.Stats(), Duration: time.Since(p.start), InitOwn: p.init[0], InitPeer: p.init[1]}
	if w != nil {
		r.Weights = append([]float64(nil), w...)
	}
	return r
}

// TrainPassive runs the center's side to the end.
func TrainPassive(ctx context.Context, t fl.Transport, seed []byte, data Data) (*Result, error) {
	return TrainPassiveWith(ctx, t, seed, data, PassiveOptions{})
}

// TrainPassiveWith is TrainPassive with the center's local settings.
func TrainPassiveWith(ctx context.Context, t fl.Transport, seed []byte, data Data, local PassiveOptions) (_ *Result, err error) {
	defer fl.AbortOnError(ctx, t, &err)
	p, err := NewPassiveWith(ctx, t, seed, data, local)
	if err != nil {
		return nil, err
	}
	if p.Done() && p.sh != nil { // resumed after the last epoch
		if err := p.finish(ctx); err != nil {
			return nil, err
		}
	}
	for !p.Done() {
		if err := p.Epoch(ctx); err != nil {
			return nil, err
		}
	}
	return p.Result(), nil
}
