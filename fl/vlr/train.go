package vlr

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/veil-fl/veil/fl"
	"github.com/veil-fl/veil/he"
	"github.com/veil-fl/veil/model"
)

// gradHook, set by the wire-audit test only, sees every plaintext gradient
// a party decrypts.
var gradHook func(fl.Role, []float64)

// Progress receives the bank's view of each finished epoch (loss is NaN when
// the loss is not computed).
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
	sig    he.Poly
	soft   he.Poly
	pr     *prepared
	w      []float64 // [weights..., intercept]
	optim  model.Optimizer
	res    Result
	start  time.Time
	epoch  int
	done   bool
	store  fl.CheckpointStore
	digest [32]byte
}

// NewActive sets up the bank's side. seed is the joint seed of the session
// handshake; opt are the training's options, sent to the center.
func NewActive(ctx context.Context, t fl.Transport, seed []byte, data Data, opt Options) (*Active, error) {
	a := &Active{t: t, data: data, start: time.Now()}
	var err error
	if a.opt, err = opt.WithDefaults(); err != nil {
		return nil, fl.Fail(ctx, t, err)
	}
	if err := data.check(true); err != nil {
		return nil, fl.Fail(ctx, t, err)
	}
	n := data.rows()
	if err := fl.SendJSON(ctx, t, TypeSetup, setup{Version: protocolVersion, Options: a.opt, Rows: n, Cols: data.Cols}); err != nil {
		return nil, err
	}
	var ack setup
	if err := fl.RecvJSON(ctx, t, TypeSetupAck, &ack); err != nil {
		return nil, err
	}
	if ack.Rows != n || ack.Cols < 1 {
		return nil, fl.Fail(ctx, t, fmt.Errorf("%w: the center has %d rows and %d columns, the bank %d rows", ErrOptions, ack.Rows, ack.Cols, n))
	}
	a.store = fl.CheckpointStore{Dir: a.opt.Checkpoint, Name: "vlr-active"}
	resume, err := agree(ctx, t, a.store, a.opt, n, data.Cols, ack.Cols, data, &a.digest)
	if err != nil {
		return nil, err
	}
	if a.params, err = he.NewParams(he.Linear14); err != nil {
		return nil, err
	}
	if a.party, err = fl.GenerateKeys(ctx, t, a.params, keySpec(a.params, n, data.Cols, ack.Cols, a.opt.BatchSize, a.opt.lossNeeded()), seed); err != nil {
		return nil, err
	}
	if a.sig, err = a.opt.Sigmoid(); err != nil {
		return nil, err
	}
	if a.soft, err = a.opt.Softplus(); err != nil {
		return nil, err
	}
	if a.pr, err = prepare(a.party, data.X, data.Cols, batches(n, a.opt), true); err != nil {
		return nil, fl.Fail(ctx, t, err)
	}
	a.w = make([]float64, data.Cols+1)
	if a.optim, err = model.NewOptimizer(a.opt.Optimizer, len(a.w)); err != nil {
		return nil, err
	}
	a.optim.SetUnregularized(data.Cols) // the intercept
	if resume > 0 {
		st, err := restore(a.store, resume, a.digest, a.w, a.optim)
		if err != nil {
			return nil, fl.Fail(ctx, t, err)
		}
		a.res.Loss = st.Loss
		a.epoch, a.res.Epochs, a.res.Resumed, a.done = resume, resume, resume, st.Done
	}
	return a, nil
}

// agree computes the training's digests and agrees with the peer on the
// epoch to resume from (0: from the start). local receives this party's
// checkpoint digest.
func agree(ctx context.Context, t fl.Transport, store fl.CheckpointStore, opt Options, rows, bankCols, centerCols int, data Data, local *[32]byte) (int, error) {
	cfg, err := configDigest(opt, rows, bankCols, centerCols)
	if err != nil {
		return 0, err
	}
	*local = localDigest(cfg, data)
	have, err := store.Indices(*local)
	if err != nil {
		return 0, fl.Fail(ctx, t, err)
	}
	k, err := fl.AgreeResume(ctx, t, cfg, have)
	if err != nil {
		return 0, err
	}
	if err := store.DropAfter(k); err != nil {
		return 0, fl.Fail(ctx, t, err)
	}
	return k, nil
}

// restore loads the checkpoint of an epoch into w and optim.
func restore(store fl.CheckpointStore, epoch int, digest [32]byte, w []float64, optim model.Optimizer) (*ckptState, error) {
	var st ckptState
	if err := store.Load(epoch, digest, &st); err != nil {
		return nil, err
	}
	if err := st.check(epoch, len(w)); err != nil {
		return nil, err
	}
	if err := model.RestoreOptimizer(optim, st.Optimizer); err != nil {
		return nil, fmt.Errorf("%w: %w", fl.ErrCheckpoint, err)
	}
	copy(w, st.Weights)
	return &st, nil
}

// save writes this party's checkpoint of the epoch just finished.
func save(store fl.CheckpointStore, epoch int, digest [32]byte, w []float64, optim model.Optimizer, loss []float64, done bool) error {
	if !store.Enabled() {
		return nil
	}
	ost, err := model.SaveOptimizer(optim)
	if err != nil {
		return err
	}
	return store.Save(epoch, digest, &ckptState{Epoch: epoch, Weights: w, Optimizer: ost, Loss: loss, Done: done})
}

// Done reports whether training has finished (all epochs, or early stop).
func (a *Active) Done() bool { return a.done }

// Epoch runs one pass over the rows and returns the epoch's loss (NaN when
// the loss is not computed).
func (a *Active) Epoch(ctx context.Context) (float64, error) {
	if a.done {
		return math.NaN(), fmt.Errorf("vlr: training already finished after %d epochs", a.epoch)
	}
	t, data, opt, party := a.t, a.data, a.opt, a.party
	var lossSum *he.Vector
	for b, rows := range a.pr.rows {
		payload, err := fl.Expect(ctx, t, TypePowers)
		if err != nil {
			return 0, err
		}
		powers, err := unmarshalVectors(a.params, payload, opt.Degree)
		for k := 0; err == nil && k < len(powers); k++ {
			err = fl.CheckVector(a.params, powers[k], fmt.Sprintf("power %d", k+1), fl.VectorWant{Layout: he.SlotReal, Len: len(rows), Level: a.params.MaxLevel()})
		}
		if err != nil {
			return 0, fl.Fail(ctx, t, fmt.Errorf("vlr: powers from the center: %w", err))
		}
		ub := partialScores(data.X, data.Cols, rows, a.w[:data.Cols], a.w[data.Cols])
		co := a.sig.Shifted(ub)
		constant := make([]float64, len(rows))
		for k, i := range rows {
			constant[k] = co[0][k] - data.Y[i]
		}
		d, err := party.Combine(powers, co[1:], constant)
		if err == nil {
			// d is a function of the center's ciphertexts and the bank's
			// scores and labels: fresh randomness before it leaves.
			err = party.Rerandomize(d)
		}
		if err != nil {
			return 0, fl.Fail(ctx, t, err)
		}
		msg, err := marshalVectors(a.params, []*he.Vector{d})
		if err != nil {
			return 0, err
		}
		if err := t.Send(ctx, fl.Message{Type: TypeResidual, Payload: msg}); err != nil {
			return 0, err
		}
		if opt.lossNeeded() {
			// loss_i = softplus(u_b + u_c) - y_i (u_b + u_c)
			lco := a.soft.Shifted(ub)
			for k, i := range rows {
				lco[0][k] -= data.Y[i] * ub[k]
				lco[1][k] -= data.Y[i]
			}
			lv, err := party.Combine(powers, lco[1:], lco[0])
			if err != nil {
				return 0, err
			}
			s, err := party.SumSlots(lv)
			if err != nil {
				return 0, err
			}
			if lossSum == nil {
				lossSum = s
			} else if lossSum, err = party.Add(lossSum, s); err != nil {
				return 0, err
			}
		}
		g, err := party.MulTransposed(a.pr.mats[b], d)
		if err != nil {
			return 0, err
		}
		// The center's gradient first (the bank helps), then the bank's.
		if err := fl.HelpDecrypt(ctx, t, party); err != nil {
			return 0, err
		}
		grad, err := fl.DecryptWithPeer(ctx, t, party, g)
		if err != nil {
			return 0, err
		}
		for j := range grad {
			grad[j] /= float64(len(rows))
		}
		if gradHook != nil {
			gradHook(fl.RoleActive, grad)
		}
		if err := a.optim.Step(a.w, grad); err != nil {
			return 0, err
		}
	}
	loss := math.NaN()
	if lossSum != nil {
		v, err := fl.DecryptWithPeer(ctx, t, party, lossSum)
		if err != nil {
			return 0, err
		}
		loss = v[0]/float64(data.rows()) + penalty(a.w[:data.Cols], opt.Optimizer)
		a.res.Loss = append(a.res.Loss, loss)
	}
	a.epoch++
	a.res.Epochs = a.epoch
	prev := math.NaN()
	if len(a.res.Loss) > 1 {
		prev = a.res.Loss[len(a.res.Loss)-2]
	}
	stop := a.epoch == opt.Epochs ||
		(opt.Tol > 0 && !math.IsNaN(prev) && math.Abs(prev-loss) < opt.Tol*math.Max(1, math.Abs(loss)))
	if err := fl.SendJSON(ctx, t, TypeEpoch, epochMsg{Epoch: a.epoch - 1, Stop: stop}); err != nil {
		return 0, err
	}
	a.done = stop
	if err := save(a.store, a.epoch, a.digest, a.w, a.optim, a.res.Loss, a.done); err != nil {
		return 0, fl.Fail(ctx, t, err)
	}
	return loss, nil
}

// Result returns the bank's weights, intercept, losses and traffic so far.
func (a *Active) Result() *Result {
	r := a.res
	r.Weights = append([]float64(nil), a.w[:a.data.Cols]...)
	r.Intercept = a.w[a.data.Cols]
	r.Loss = append([]float64(nil), a.res.Loss...)
	r.Stats, r.Duration = a.t.Stats(), time.Since(a.start)
	return &r
}

// TrainActive runs the bank's side to the end: setup, then epochs until the
// last or an early stop. progress, if set, sees each epoch's loss.
func TrainActive(ctx context.Context, t fl.Transport, seed []byte, data Data, opt Options, progress Progress) (*Result, error) {
	a, err := NewActive(ctx, t, seed, data, opt)
	if err != nil {
		return nil, err
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
	pr      *prepared
	w       []float64
	optim   model.Optimizer
	res     Result
	start   time.Time
	epoch   int
	done    bool
	store   fl.CheckpointStore
	digest  [32]byte
	resumed int
}

// NewPassive sets up the center's side; it trains with the bank's options.
func NewPassive(ctx context.Context, t fl.Transport, seed []byte, data Data) (*Passive, error) {
	return NewPassiveWith(ctx, t, seed, data, PassiveOptions{})
}

// NewPassiveWith is NewPassive with the center's local settings.
func NewPassiveWith(ctx context.Context, t fl.Transport, seed []byte, data Data, local PassiveOptions) (*Passive, error) {
	p := &Passive{t: t, data: data, start: time.Now(), store: fl.CheckpointStore{Dir: local.Checkpoint, Name: "vlr-passive"}}
	if err := data.check(false); err != nil {
		return nil, fl.Fail(ctx, t, err)
	}
	n := data.rows()
	var s setup
	if err := fl.RecvJSON(ctx, t, TypeSetup, &s); err != nil {
		return nil, err
	}
	if s.Version != protocolVersion {
		return nil, fl.Fail(ctx, t, fmt.Errorf("%w: bank speaks vlr version %d, this center %d", ErrOptions, s.Version, protocolVersion))
	}
	var err error
	if p.opt, err = s.Options.WithDefaults(); err != nil {
		return nil, fl.Fail(ctx, t, err)
	}
	if s.Rows != n || s.Cols < 1 {
		return nil, fl.Fail(ctx, t, fmt.Errorf("%w: the bank has %d rows, the center %d", ErrOptions, s.Rows, n))
	}
	if err := fl.SendJSON(ctx, t, TypeSetupAck, setup{Version: protocolVersion, Rows: n, Cols: data.Cols}); err != nil {
		return nil, err
	}
	resume, err := agree(ctx, t, p.store, p.opt, n, s.Cols, data.Cols, data, &p.digest)
	if err != nil {
		return nil, err
	}
	if p.params, err = he.NewParams(he.Linear14); err != nil {
		return nil, err
	}
	if p.party, err = fl.GenerateKeys(ctx, t, p.params, keySpec(p.params, n, s.Cols, data.Cols, p.opt.BatchSize, p.opt.lossNeeded()), seed); err != nil {
		return nil, err
	}
	if p.pr, err = prepare(p.party, data.X, data.Cols, batches(n, p.opt), false); err != nil {
		return nil, fl.Fail(ctx, t, err)
	}
	p.w = make([]float64, data.Cols)
	if p.optim, err = model.NewOptimizer(p.opt.Optimizer, len(p.w)); err != nil {
		return nil, err
	}
	if resume > 0 {
		st, err := restore(p.store, resume, p.digest, p.w, p.optim)
		if err != nil {
			return nil, fl.Fail(ctx, t, err)
		}
		p.epoch, p.resumed, p.done = resume, resume, st.Done
	}
	return p, nil
}

// Done reports whether the bank has ended the training.
func (p *Passive) Done() bool { return p.done }

// Epoch runs one pass over the rows.
func (p *Passive) Epoch(ctx context.Context) error {
	if p.done {
		return fmt.Errorf("vlr: training already finished after %d epochs", p.epoch)
	}
	t, data, opt, party := p.t, p.data, p.opt, p.party
	for b, rows := range p.pr.rows {
		uc := partialScores(data.X, data.Cols, rows, p.w, 0)
		powers := make([]*he.Vector, opt.Degree)
		pw := append([]float64(nil), uc...)
		for k := range powers {
			var err error
			if powers[k], err = party.Encrypt(pw); err != nil {
				return err
			}
			for i := range pw {
				pw[i] *= uc[i]
			}
		}
		msg, err := marshalVectors(p.params, powers)
		if err != nil {
			return err
		}
		if err := t.Send(ctx, fl.Message{Type: TypePowers, Payload: msg}); err != nil {
			return err
		}
		payload, err := fl.Expect(ctx, t, TypeResidual)
		if err != nil {
			return err
		}
		ds, err := unmarshalVectors(p.params, payload, 1)
		if err == nil {
			err = fl.CheckVector(p.params, ds[0], "residual", fl.VectorWant{Layout: he.SlotReal, Len: len(rows), Level: fl.AnyLevel})
		}
		if err != nil {
			return fl.Fail(ctx, t, fmt.Errorf("vlr: residual from the bank: %w", err))
		}
		g, err := party.MulTransposed(p.pr.mats[b], ds[0])
		if err != nil {
			return fl.Fail(ctx, t, err)
		}
		grad, err := fl.DecryptWithPeer(ctx, t, party, g)
		if err != nil {
			return err
		}
		if err := fl.HelpDecrypt(ctx, t, party); err != nil {
			return err
		}
		for j := range grad {
			grad[j] /= float64(len(rows))
		}
		if gradHook != nil {
			gradHook(fl.RolePassive, grad)
		}
		if err := p.optim.Step(p.w, grad); err != nil {
			return err
		}
	}
	if opt.lossNeeded() {
		if err := fl.HelpDecrypt(ctx, t, party); err != nil {
			return err
		}
	}
	var e epochMsg
	if err := fl.RecvJSON(ctx, t, TypeEpoch, &e); err != nil {
		return err
	}
	if e.Epoch != p.epoch {
		return fl.Fail(ctx, t, fmt.Errorf("vlr: bank is at epoch %d, center at %d", e.Epoch, p.epoch))
	}
	p.epoch++
	p.done = e.Stop
	if err := save(p.store, p.epoch, p.digest, p.w, p.optim, nil, p.done); err != nil {
		return fl.Fail(ctx, t, err)
	}
	return nil
}

// Result returns the center's weights and traffic so far.
func (p *Passive) Result() *Result {
	return &Result{Weights: append([]float64(nil), p.w...), Epochs: p.epoch, Resumed: p.resumed, Stats: p.t.Stats(), Duration: time.Since(p.start)}
}

// TrainPassive runs the center's side to the end.
func TrainPassive(ctx context.Context, t fl.Transport, seed []byte, data Data) (*Result, error) {
	return TrainPassiveWith(ctx, t, seed, data, PassiveOptions{})
}

// TrainPassiveWith is TrainPassive with the center's local settings.
func TrainPassiveWith(ctx context.Context, t fl.Transport, seed []byte, data Data, local PassiveOptions) (*Result, error) {
	p, err := NewPassiveWith(ctx, t, seed, data, local)
	if err != nil {
		return nil, err
	}
	for !p.Done() {
		if err := p.Epoch(ctx); err != nil {
			return nil, err
		}
	}
	return p.Result(), nil
}
