package score

import (
	"context"
	"errors"
	"fmt"
	"github.com/veil-fl/veil/mpc/psi"
	"log/slog"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/veil-fl/veil/fl"
	"github.com/veil-fl/veil/fl/align"
	"github.com/veil-fl/veil/fl/joint"
	"github.com/veil-fl/veil/he"
	"github.com/veil-fl/veil/model"
	"github.com/veil-fl/veil/mpc/compare"
)

// Message types of a scoring run.
const (
	// TypeSetup (bank to center, JSON) opens a run: the model kind, rows,
	// output, cuts and batch size, and for trees how the center's splits nest.
	TypeSetup = "score.setup"
	// TypeEnc (center to bank) carries one batch of the center's encrypted
	// part: partial scores, or path indicators packed two per slot.
	TypeEnc = "score.enc"
	// TypeScores (bank to center) carries one batch of encrypted scores, for
	// the center to help decrypt (Scores output).
	TypeScores = "score.scores"
	// TypeOut (center to bank) answers TypeScores: the center's decryption
	// share.
	TypeOut = "score.out"
)

var (
	// ErrOptions is returned for options the run cannot use.
	ErrOptions = errors.New("score: invalid options")
	// ErrMismatch is returned when the two parties' runs disagree (kind,
	// rows, output, cuts, batch size, model).
	ErrMismatch = errors.New("score: the parties' scoring runs differ")
	// ErrProtocol is returned for a peer message of the wrong shape.
	ErrProtocol = fmt.Errorf("score: %w", fl.ErrProtocol)
)

// Errors a run returns reach the peer (fl.Fail and fl.AbortOnError send
// their text as the abort reason; a Service's error ends the bank's RPC
// with it), so none quotes a private value: a partial score, a logit, a
// bound on one, a weight, a cut of a party's own binning. They name the
// record or the field instead.

// withheld returns err fit for the peer: an error of this party's own model
// (model.ErrBadModel, from its Validate) may quote the model's values (cut
// points, leaf weights, an intercept), so it becomes one that says only
// whose model failed; its owner learns why from the model's Validate.
// Other errors pass unchanged.
func withheld(err error, whose string) error {
	if errors.Is(err, model.ErrBadModel) {
		return fmt.Errorf("%w: %s model fails its checks (its Validate method says why, to its owner only)", model.ErrBadModel, whose)
	}
	return err
}

// Output says what the bank learns per record.
type Output int

const (
	// Scores reveals the logit to the bank (from which it derives the
	// probability or scorecard points). With its own part of a linear score
	// the bank can subtract to the center's partial score.
	Scores Output = iota + 1
	// Bands reveals only the band: the number of cut points below the
	// logit (0 .. len(Cuts)), by secure comparison (bands.go). No logit
	// exists in the clear or under encryption, and no key is generated.
	Bands
)

func (o Output) String() string {
	switch o {
	case Scores:
		return "scores"
	case Bands:
		return "bands"
	}
	return fmt.Sprintf("output(%d)", int(o))
}

// Default batch sizes. A linear batch of four ciphertexts of Linear14 slots
// keeps both cores busy on one batch; a tree batch carries one ciphertext per
// pair of center splits per 8192 records (0.75-1 MiB each), so it stays at
// one ciphertext width.
const (
	DefaultBatchRows      = 4 << 13
	DefaultTreesBatchRows = 1 << 13
)

// Options configures a scoring run. Both parties pass the same options; the
// run stops with ErrMismatch otherwise, so the center decides what it agrees
// to reveal (a center that passes Bands never helps decrypt a raw score).
// Progress and Logger are each party's own: they change no message and are
// not compared.
type Options struct {
	// Output is Scores or Bands. Zero means Bands when Cuts are set,
	// Scores otherwise.
	Output Output
	// Cuts are the band boundaries (LogitCuts, ProbabilityCuts or
	// PointCuts), ascending on the logit scale, each in (-MaxBandInput,
	// MaxBandInput), at most compare.MaxCuts. A record's band is the number
	// of cuts strictly below its logit. Optional with Scores (Result.Bands
	// is then computed from the decrypted logits).
	Cuts Cuts
	// BatchRows is the number of records per batch (0: DefaultBatchRows
	// for linear models and DefaultTreesBatchRows for trees with Scores;
	// with Bands up to 4096, fewer when a batch's OTs would pass 16 MiB).
	// Memory per run is a few batches: with Scores, for linear models about
	// BatchRows / 8192 MiB of ciphertexts per batch in flight, for trees
	// (center splits / 2) times that; with Bands, 32 bytes per OT (31 + 20
	// per cut per record, plus one per record and center split for trees).
	// With Scores every batch decrypts whole ciphertexts of 8192 records,
	// and a session at most 4096 of them (he.Linear14's budget, a
	// session's: 33 million records in full ciphertexts); a session that
	// would decrypt more is refused (he.ErrLimit).
	BatchRows int
	// Progress, if set, is told how far a run is: step StepScore, done of
	// total batches, first with done 0 and last with done == total once
	// the last batch is answered (a failed run stops short). KeysWith
	// reports joint.StepKeys to it, and a bank's session with a Service
	// (RequestLR, RequestTrees) reports align.StepAlign, joint.StepKeys
	// (Scores output) and StepScore in turn. It runs on the run's
	// goroutine, between messages.
	Progress func(step string, done, total int)
	// Logger receives each run's start and end at Debug level: the model
	// kind, output, records, batches and time, never a score, a band, an
	// id or an error's text (nil: no logging). KeysWith and a bank's
	// session pass it to key generation and alignment, which log the same
	// way.
	Logger *slog.Logger
	// BalancedPSI aligns a Service's sessions with the balanced private
	// set intersection, which blinds the center's whole table afresh every
	// session, instead of the unbalanced one (the default), in which the
	// center keeps its table encoded for each bank and a session costs
	// O(the bank's ids). A Service sets it in its Options and a bank must
	// ask for the same. With it, a bank refused by its quota of scores per
	// enterprise learns no membership from the refused session (Quota).
	BalancedPSI bool
	// BalancedProtocol is the balanced alignment's protocol: KKRT (the
	// zero value: OT extension, a few CPU-seconds for 10^6 ids a side) or
	// ECDH (align.Options.BalancedProtocol). The bank's request names it
	// and the Service refuses another.
	BalancedProtocol align.Protocol
	// Disclose, with Bands, has the center release its flags of the
	// records the bank's bands whitelist (bands.go: conditional
	// disclosure). Both parties set it alike (At and Flags); the center's
	// carries the values. nil: no flags.
	Disclose *Disclose
	// PSICache is the bank's cache of a Service's encoded table for the
	// unbalanced alignment (psi.OpenCache, kept across sessions); nil
	// caches it for one session only, so that the whole table comes every
	// session. Only the bank's sessions read it.
	PSICache *psi.Cache
}

// StepScore names a scoring run's batches in Options.Progress.
const StepScore = "score"

// progress reports done of total batches to Progress.
func (o Options) progress(done, total int) {
	if o.Progress != nil {
		o.Progress(StepScore, done, total)
	}
}

// logRun logs the start of a run of o (normalized) over rows records and
// returns what logs its end, for a deferred call with the run's error.
// Only counts and names are logged: the error's text goes to the caller,
// and the run's values nowhere.
func (o Options) logRun(kind string, rows int) func(*error) {
	log := o.Logger
	if log == nil {
		return func(*error) {}
	}
	start := time.Now()
	log.Debug("score: start", "kind", kind, "output", o.Output, "rows", rows, "batches", o.batches(rows))
	return func(err *error) {
		msg := "score: done"
		if *err != nil {
			msg = "score: failed"
		}
		log.Debug(msg, "kind", kind, "rows", rows, "seconds", time.Since(start).Seconds())
	}
}

func (o Options) normalize() (Options, error) { return o.normalizeFor(DefaultBatchRows, 0) }

// normalizeFor fills the defaults: batchRows for Scores; for Bands the
// batch that fits the comparison's OTs and bandOTs more per record.
func (o Options) normalizeFor(batchRows, bandOTs int) (Options, error) {
	if o.Output == 0 {
		o.Output = Scores
		if o.Cuts.Len() > 0 {
			o.Output = Bands
		}
	}
	if o.Output != Scores && o.Output != Bands {
		return o, fmt.Errorf("%w: output %v", ErrOptions, o.Output)
	}
	if o.Output == Bands && o.Cuts.Len() == 0 {
		return o, fmt.Errorf("%w: band output needs cut points", ErrOptions)
	}
	if o.Disclose != nil {
		if o.Output != Bands {
			return o, fmt.Errorf("%w: flags are disclosed with band output only", ErrOptions)
		}
		if err := o.Disclose.check(o.Cuts.Len()); err != nil {
			return o, err
		}
	}
	if o.Cuts.Len() > compare.MaxCuts {
		return o, fmt.Errorf("%w: %d cut points, at most %d", ErrOptions, o.Cuts.Len(), compare.MaxCuts)
	}
	for i, c := range o.Cuts.v {
		if !(math.Abs(c) < MaxBandInput) || (i > 0 && c <= o.Cuts.v[i-1]) {
			return o, fmt.Errorf("%w: cut points must ascend strictly within (-%d, %d), got %v", ErrOptions, MaxBandInput, MaxBandInput, o.Cuts.v)
		}
	}
	if o.BatchRows == 0 {
		o.BatchRows = batchRows
		if o.Output == Bands {
			o.BatchRows = bandBatchRows(comparisonOTs(o.Cuts.Len()) + bandOTs)
		}
		if o.Disclose != nil {
			o.BatchRows = min(o.BatchRows, releaseBatchRows(o.Cuts.Len()))
		}
	}
	if o.BatchRows < 1 || o.BatchRows > 1<<20 {
		return o, fmt.Errorf("%w: batch of %d rows, want 1 .. 2^20", ErrOptions, o.BatchRows)
	}
	return o, nil
}

// Params returns the HE parameters of scoring (he.Linear14).
func Params() he.Params { return he.MustParams(he.Linear14) }

// KeySpec returns the collective keys scoring needs: the conjugation key of
// CombinePairs, no rotations, no relinearisation.
func KeySpec() he.KeySpec { return he.KeySpec{Conjugate: true} }

// Keys runs the threshold key generation of a scoring session; both parties
// call it with the handshake's joint seed.
func Keys(ctx context.Context, t fl.Transport, seed []byte) (*he.Party, error) {
	return KeysWith(ctx, t, seed, Options{})
}

// KeysWith is Keys reporting to opt's Progress (step joint.StepKeys) and
// Logger, as the run with the same options does; the other options play
// no part in key generation.
func KeysWith(ctx context.Context, t fl.Transport, seed []byte, opt Options) (_ *he.Party, err error) {
	defer fl.AbortOnError(ctx, t, &err)
	return joint.GenerateKeysWith(ctx, t, Params(), KeySpec(), seed, joint.KeyOptions{Progress: opt.Progress, Logger: opt.Logger})
}

// Disclose is a release of the center's flags to the bank, for exactly the
// records whose band is At or better (their logit at or below cut At: the
// whitelist of the At+1 best grades), decided inside the comparison so
// that the center does not learn which records those are (mpc/compare,
// conditional disclosure).
type Disclose struct {
	// At is the release cut, an index into Options.Cuts.
	At int
	// Flags names the flags, bit i of a record's value being Flags[i]: 1
	// to 64 distinct names, both parties' the same.
	Flags []string
	// Values, the center's only, hold one value per record in the aligned
	// order (a Service fills them from Service.Flags); bits past
	// len(Flags) are ignored.
	Values []uint64
}

func (d *Disclose) check(cuts int) error {
	if d.At < 0 || d.At >= cuts {
		return fmt.Errorf("%w: the flags' release cut %d of %d cuts", ErrOptions, d.At, cuts)
	}
	if len(d.Flags) < 1 || len(d.Flags) > compare.MaxSecretBits {
		return fmt.Errorf("%w: %d flags to disclose, want 1 .. %d", ErrOptions, len(d.Flags), compare.MaxSecretBits)
	}
	for i, f := range d.Flags {
		if f == "" || slices.Contains(d.Flags[:i], f) {
			return fmt.Errorf("%w: flag names %q: want distinct, non-empty names", ErrOptions, d.Flags)
		}
	}
	return nil
}

// Result is what a scoring run gives the bank, one entry per record.
type Result struct {
	// Logits are the decrypted logits (Scores output only).
	Logits []float64
	// Bands are the records' bands (when cut points were given).
	Bands []int
	// Disclosed reports, with Options.Disclose, each record whose flags
	// the center released (its band At or better), and Flags holds them
	// (bit i: Disclose.Flags[i]; 0 where not released).
	Disclosed []bool
	Flags     []uint64
}

// Probabilities returns the probabilities of default of a Scores result.
func (r *Result) Probabilities() []float64 {
	p := make([]float64, len(r.Logits))
	for i, z := range r.Logits {
		p[i] = model.Logistic(z)
	}
	return p
}

// Cuts are the band boundaries of a scoring run, held on the logit scale.
// They are built by LogitCuts, ProbabilityCuts or PointCuts, each named for
// the scale it reads, so that probabilities or points cannot pass for
// logits. The zero value has no cuts.
type Cuts struct{ v []float64 }

// LogitCuts returns cut points given on the logit scale, ascending.
func LogitCuts(logits ...float64) Cuts { return Cuts{v: slices.Clone(logits)} }

// Logits returns the cut points on the logit scale.
func (c Cuts) Logits() []float64 { return slices.Clone(c.v) }

// Len returns the number of cut points.
func (c Cuts) Len() int { return len(c.v) }

func (c Cuts) String() string { return fmt.Sprintf("logit cuts %v", c.v) }

// ProbabilityCuts converts ascending probability-of-default boundaries into
// cut points: a record's band is the number of boundaries its probability
// exceeds.
func ProbabilityCuts(probs []float64) (Cuts, error) {
	cuts := make([]float64, len(probs))
	for i, p := range probs {
		if !(p > 0 && p < 1) || (i > 0 && p <= probs[i-1]) {
			return Cuts{}, fmt.Errorf("%w: probability boundaries must ascend strictly within (0, 1), got %v", ErrOptions, probs)
		}
		cuts[i] = math.Log(p / (1 - p))
	}
	return Cuts{v: cuts}, nil
}

// PointCuts converts scorecard-point boundaries (any order) into cut
// points. Points fall as risk rises, so a record's band is the number of
// boundaries its points fall below (or on).
func PointCuts(card model.Scorecard, points []float64) (Cuts, error) {
	p0, p1 := card.PointsFromLogit(0), card.PointsFromLogit(1)
	if !(p0 > p1) {
		return Cuts{}, fmt.Errorf("%w: a scorecard whose points do not fall with the logit", ErrOptions)
	}
	cuts := make([]float64, len(points))
	for i, pt := range points {
		cuts[i] = (p0 - pt) / (p0 - p1)
	}
	slices.Sort(cuts)
	return Cuts{v: cuts}, nil
}

// setup opens a run (TypeSetup).
type setup struct {
	Kind      string    `json:"kind"`
	Rows      int       `json:"rows"`
	Output    Output    `json:"output"`
	Cuts      []float64 `json:"cuts,omitempty"`
	BatchRows int       `json:"batch_rows"`
	// Splits, for trees: the center's splits in (tree, node) order with the
	// nearest center split above each.
	Splits []splitLink `json:"splits,omitempty"`
	// Training is the training id the bank's half records ("" for none):
	// the center refuses halves of different trainings (checkTraining).
	Training string `json:"training,omitempty"`
	// Disclose asks for the center's flags (Options.Disclose, no values).
	Disclose *discloseSetup `json:"disclose,omitempty"`
}

type discloseSetup struct {
	At    int      `json:"at"`
	Flags []string `json:"flags"`
}

func setupDisclose(d *Disclose) *discloseSetup {
	if d == nil {
		return nil
	}
	return &discloseSetup{At: d.At, Flags: d.Flags}
}

const (
	kindLinear = "linear"
	kindTrees  = "trees"
)

// check compares the bank's setup with the center's own view of the run.
func (s setup) check(kind string, rows int, o Options) error {
	switch {
	case s.Kind != kind:
		return fmt.Errorf("%w: the bank scores a %s model, the center a %s model", ErrMismatch, s.Kind, kind)
	case s.Rows != rows:
		return fmt.Errorf("%w: the bank scores %d records, the center %d", ErrMismatch, s.Rows, rows)
	case s.Output != o.Output:
		return fmt.Errorf("%w: the bank asks for %v, the center allows %v", ErrMismatch, s.Output, o.Output)
	case !slices.Equal(s.Cuts, o.Cuts.v):
		return fmt.Errorf("%w: cut points %v (bank) and %v (center)", ErrMismatch, s.Cuts, o.Cuts.v)
	case s.BatchRows != o.BatchRows:
		return fmt.Errorf("%w: batches of %d (bank) and %d (center) rows", ErrMismatch, s.BatchRows, o.BatchRows)
	case (s.Disclose == nil) != (o.Disclose == nil):
		return fmt.Errorf("%w: flags asked for: %v (bank), offered: %v (center)", ErrMismatch, s.Disclose != nil, o.Disclose != nil)
	case s.Disclose != nil && (s.Disclose.At != o.Disclose.At || !slices.Equal(s.Disclose.Flags, o.Disclose.Flags)):
		return fmt.Errorf("%w: flags %q released at cut %d (bank), %q at cut %d (center)", ErrMismatch, s.Disclose.Flags, s.Disclose.At, o.Disclose.Flags, o.Disclose.At)
	}
	return nil
}

// batches returns the number of batches of n rows.
func (o Options) batches(n int) int { return (n + o.BatchRows - 1) / o.BatchRows }

// bounds returns the rows of batch b.
func (o Options) bounds(b, n int) (lo, hi int) {
	return b * o.BatchRows, min((b+1)*o.BatchRows, n)
}

// encLevel is the level the center encrypts at: the decryption level plus one
// level per plaintext product still to come (one for trees' CombinePairs).
func (o Options) encLevel(products int) int { return he.Linear14.DecryptLevel + products }

// centerLoop is the center's side of the batch pipeline: it sends batch b+1's
// encryption before answering the bank's scores of batch b, and encrypts
// ahead in a goroutine, so the bank's work on one batch overlaps the
// center's on the next.
func centerLoop(ctx context.Context, t fl.Transport, p *he.Party, o Options, rows int, encrypt func(lo, hi int) ([]byte, error)) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	nb := o.batches(rows)
	plan := DisclosurePlan(o, rows).HeldBy(ctx, fl.RolePassive)
	type item struct {
		payload []byte
		err     error
	}
	ready := make(chan item, 1)
	go func() {
		defer close(ready)
		for b := range nb {
			pl, err := encrypt(o.bounds(b, rows))
			select {
			case ready <- item{pl, err}:
			case <-ctx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	}()
	sendNext := func() error {
		it, ok := <-ready
		if !ok {
			return ctx.Err()
		}
		if it.err != nil {
			return fl.Fail(ctx, t, it.err)
		}
		return t.Send(ctx, fl.Message{Type: TypeEnc, Payload: it.payload})
	}
	o.progress(0, nb)
	if nb > 0 {
		if err := sendNext(); err != nil {
			return err
		}
	}
	for b := range nb {
		if b+1 < nb {
			if err := sendNext(); err != nil {
				return err
			}
		}
		lo, hi := o.bounds(b, rows)
		out, err := answer(ctx, t, p, hi-lo, plan)
		if err != nil {
			return err
		}
		if err := t.Send(ctx, fl.Message{Type: TypeOut, Payload: out}); err != nil {
			return err
		}
		o.progress(b+1, nb)
	}
	return nil
}

// answer is the center's reply to the bank's encrypted scores of a batch of
// n records: its decryption share. It checks the vector's shape first, so it
// helps decrypt nothing but one score per record of the batch.
func answer(ctx context.Context, t fl.Transport, p *he.Party, n int, plan *joint.Plan) ([]byte, error) {
	b, err := fl.Expect(ctx, t, TypeScores)
	if err != nil {
		return nil, err
	}
	z, err := p.Params().UnmarshalVector(b)
	if err == nil && (z.Layout != he.SlotReal || z.Len != n) {
		err = fmt.Errorf("%w: scores of a batch of %d records arrive as a %s vector of %d", ErrProtocol, n, z.Layout, z.Len)
	}
	if err == nil {
		err = plan.Admit(p.Params(), StepScores, z)
	}
	if err != nil {
		return nil, fl.Fail(ctx, t, fmt.Errorf("score: the bank's scores: %w", err))
	}
	share, err := p.DecryptShare(z)
	if err != nil {
		return nil, fl.Fail(ctx, t, err)
	}
	sb, err := p.Params().MarshalDecryptionShare(share)
	if err != nil {
		return nil, fl.Fail(ctx, t, err)
	}
	return fl.JoinParts(sb), nil
}

// bankLoop is the bank's side of the pipeline. combine turns the center's
// batch into encrypted scores of records lo..hi; the decrypted logits or
// bands land in res.
func bankLoop(ctx context.Context, t fl.Transport, p *he.Party, o Options, rows int, combine func(lo, hi int, enc []byte) (*he.Vector, error)) (*Result, error) {
	if err := checkBudget(o, rows); err != nil {
		return nil, fl.Fail(ctx, t, err)
	}
	res := &Result{}
	if o.Output == Scores {
		res.Logits = make([]float64, rows)
	}
	if o.Cuts.Len() > 0 {
		res.Bands = make([]int, rows)
	}
	nb := o.batches(rows)
	o.progress(0, nb)
	var enc []byte
	var err error
	if nb > 0 {
		if enc, err = fl.Expect(ctx, t, TypeEnc); err != nil {
			return nil, err
		}
	}
	for b := range nb {
		lo, hi := o.bounds(b, rows)
		z, err := combine(lo, hi, enc)
		if err != nil {
			return nil, fl.Fail(ctx, t, err)
		}
		p.DropToDecryptLevel(z)
		// z is a function of the center's ciphertexts and the bank's
		// partial scores or tree coefficients: fresh randomness before it
		// leaves, or the center could subtract or divide them out.
		if err := p.Rerandomize(z); err != nil {
			return nil, fl.Fail(ctx, t, err)
		}
		zb, err := p.Params().MarshalVector(z)
		if err != nil {
			return nil, fl.Fail(ctx, t, err)
		}
		if err := t.Send(ctx, fl.Message{Type: TypeScores, Payload: zb}); err != nil {
			return nil, err
		}
		if b+1 < nb {
			if enc, err = fl.Expect(ctx, t, TypeEnc); err != nil {
				return nil, err
			}
		}
		out, err := fl.Expect(ctx, t, TypeOut)
		if err != nil {
			return nil, err
		}
		if err := reveal(p, o, z, out, res, lo, hi); err != nil {
			return nil, fl.Fail(ctx, t, err)
		}
		o.progress(b+1, nb)
	}
	return res, nil
}

// reveal decrypts the center's answer for records lo..hi into res.
func reveal(p *he.Party, o Options, z *he.Vector, out []byte, res *Result, lo, hi int) error {
	parts, err := fl.SplitParts(out, 1)
	if err != nil {
		return fmt.Errorf("score: the center's answer: %w", err)
	}
	share, err := p.Params().UnmarshalDecryptionShare(parts[0])
	if err != nil {
		return fmt.Errorf("score: the center's share: %w", err)
	}
	logits, err := p.Decrypt(z, share)
	if err != nil {
		return fmt.Errorf("score: decrypting scores: %w", err)
	}
	copy(res.Logits[lo:hi], logits)
	if res.Bands != nil {
		for i, z := range logits {
			res.Bands[lo+i] = Band(z, o.Cuts)
		}
	}
	return nil
}

// Band returns the band of a logit: the number of cut points strictly below
// it, the plaintext counterpart of the Bands output.
func Band(logit float64, cuts Cuts) int {
	b := 0
	for _, c := range cuts.v {
		if logit > c {
			b++
		}
	}
	return b
}

// recvSetup is the center's side of the bank's TypeSetup message: it checks
// the bank's run against its own, and the training of the bank's half
// against training, its own half's.
func recvSetup(ctx context.Context, t fl.Transport, kind string, rows int, o Options, training string) (setup, error) {
	var s setup
	if err := fl.RecvJSON(ctx, t, TypeSetup, &s); err != nil {
		return s, err
	}
	if err := s.check(kind, rows, o); err != nil {
		return s, fl.Fail(ctx, t, err)
	}
	if err := checkTraining(kind, s.Training, training); err != nil {
		return s, fl.Fail(ctx, t, err)
	}
	if err := checkBudget(o, rows); err != nil {
		return s, fl.Fail(ctx, t, err)
	}
	return s, nil
}

// checkTraining refuses the halves of a model of kind kind (a model name
// or a scoring kind) whose training ids say they come from different
// trainings: ids that differ, or an id on one side only, since a half that
// records none (built by hand, or saved before halves carried ids) cannot
// be shown to be the other's peer. Halves that both record none pass:
// there is nothing to compare. The error names both ids, which are no
// secret: both halves of a model record the same.
func checkTraining(kind, bank, center string) error {
	switch {
	case bank == center:
		return nil
	case bank == "":
		return fmt.Errorf("%w: the bank's half of the %s model records no training, the center's is of training %s: halves of different trainings", ErrMismatch, kind, center)
	case center == "":
		return fmt.Errorf("%w: the bank's half of the %s model is of training %s, the center's records no training: halves of different trainings", ErrMismatch, kind, bank)
	}
	return fmt.Errorf("%w: the bank's half of the %s model is of training %s, the center's of training %s: halves of different trainings", ErrMismatch, kind, bank, center)
}

// checkBudget refuses a session with Scores output that would decrypt more
// coefficients than he.Linear14's flooding is composed over: its budget
// (MaxDecrypted) is one key pair's, and every session generates its own
// keys (Keys; a Service does so for each), so it is a session's. Each
// batch decrypts whole ciphertexts of Slots records. Band output decrypts
// nothing.
func checkBudget(o Options, rows int) error {
	set := he.Linear14
	budget := set.MaxDecrypted()
	if o.Output != Scores || budget == 0 || rows == 0 {
		return nil
	}
	slots, n := 1<<(set.LogN-1), 1<<set.LogN
	perBatch := (o.BatchRows + slots - 1) / slots
	cts := rows/o.BatchRows*perBatch + (rows%o.BatchRows+slots-1)/slots
	if cts > budget/n {
		return fmt.Errorf("%w: %w: %d records in batches of %d decrypt %d ciphertexts of scores (%d coefficients), over the %d coefficients the flooding of he.%s is sized for in one session: score fewer records a session, or in batches of a multiple of %d",
			ErrOptions, he.ErrLimit, rows, o.BatchRows, cts, cts*n, budget, set.ID, slots)
	}
	return nil
}

// Disclosure steps of encrypted scoring.
const (
	StepScores = "score.scores" // each record's logit, to the bank (Output Scores)
	StepBands  = "score.bands"  // each record's band, to the bank (Output Bands; nothing decrypted)
	StepFlags  = "score.flags"  // the center's flags of the whitelisted records, to the bank (Options.Disclose)
)

// DisclosurePlan returns what a scoring session with options o (defaults
// applied) of rows records reveals to the bank: with Scores, one decrypted
// vector of logits per batch, of one value per record of the batch (the
// last batch may be shorter: the step declares the longest, MaxLen), at
// the decryption level and scale of he.Linear14; with Bands, each record's
// band by secure comparison, and no decryption at all. The center, which
// helps decrypt, admits every vector against the plan it holds
// (joint.Plan.HeldBy).
func DisclosurePlan(o Options, rows int) *joint.Plan {
	if o.Output == Bands {
		// Vectors 0: the step admits no vector, whatever its shape, so the
		// shape is left open.
		ds := []joint.Disclosure{{Step: StepBands, To: fl.RoleActive,
			What:   fmt.Sprintf("each record's band among %d cuts (secure comparison; nothing decrypted)", o.Cuts.Len()),
			Layout: he.SlotReal, Len: joint.AnyLen, Level: joint.AnyLevel, Vectors: 0, Values: rows}}
		if d := o.Disclose; d != nil {
			// Values: records x flags offered, the most the bank can
			// receive; the center never learns how many records were
			// released (that would be the bank's whitelist).
			ds = append(ds, joint.Disclosure{Step: StepFlags, To: fl.RoleActive,
				What: fmt.Sprintf("the center's flags %s of each record in bands 0..%d (at most %d records x %d flags; released inside the comparison, the center does not learn which records)",
					strings.Join(d.Flags, ", "), d.At, rows, len(d.Flags)),
				Layout: he.SlotReal, Len: joint.AnyLen, Level: joint.AnyLevel, Vectors: 0, Values: rows * len(d.Flags)})
		}
		return joint.NewPlan(ds...)
	}
	set := he.Linear14
	return joint.NewPlan(joint.Disclosure{Step: StepScores, To: fl.RoleActive, What: "each record's score (logit)",
		Layout: he.SlotReal, Len: joint.AnyLen, MaxLen: min(o.BatchRows, rows), Level: set.DecryptLevel, LogScale: set.LogScale,
		Vectors: o.batches(rows), Values: rows})
}
