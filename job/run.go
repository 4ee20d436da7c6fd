package job

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/veil-fl/veil/dataset"
	"github.com/veil-fl/veil/fl"
	"github.com/veil-fl/veil/fl/align"
	"github.com/veil-fl/veil/fl/boost"
	"github.com/veil-fl/veil/fl/vlr"
	"github.com/veil-fl/veil/fl/woe"
	"github.com/veil-fl/veil/model"
	"github.com/veil-fl/veil/mpc/psi"
)

// Message types of the job's own steps (the protocols it runs have theirs).
const (
	TypeSetup = "job.setup"     // the bank's choice of models, to the center
	TypeSplit = "job.split"     // the aligned rows the bank holds out for testing
	TypeCurve = "job.sbt-curve" // the per-tree scoring of TreeCurve
)

// handshakeVersion is the job's own version, which HandshakeParams leads
// with. v3: the test rows' federated scoring (trees, scorecard) opens
// with the halves' training ids, which a v2 peer neither sends nor reads.
// v4: the alignment is unbalanced by default (align.Options.Center and
// Cache), whose messages a v3 peer does not know. v5: the unbalanced
// mode's query carries the bank's id count and only the ids its cache
// has no answer for (psi.Ask), and the balanced mode opens with psi.mode
// and runs KKRT by default (Spec.BalancedProtocol).
const handshakeVersion = "veil-job/v5"

// HandshakeParams is what a job's handshake compares: the job's version and
// the IDs of the parameter sets its protocols run (boost, woe, and vlr in
// either mode), sorted and without repeats. It is built from the sets the
// protocols export, so that a build whose protocol moved to another set
// announces it, and a peer still on the old one is refused at the
// handshake instead of failing in key generation. For the sets of this
// build: "veil-job/v5:hist13,linear14,shared15".
func HandshakeParams() string {
	ids := []string{boost.Params().ID(), woe.Params().ID(),
		vlr.Params(vlr.Options{}).ID(), vlr.Params(vlr.Options{RevealGradients: true}).ID()}
	slices.Sort(ids)
	return handshakeVersion + ":" + strings.Join(slices.Compact(ids), ",")
}

// setupVersion 2 adds the options digests, 3 the scorecard's scaling.
const setupVersion = 3

type setupMsg struct {
	Version      int    `json:"version"`
	Models       []Kind `json:"models"`
	SeparateTest bool   `json:"separate_test"`
	TreeCurve    bool   `json:"tree_curve"`
	// Options holds, per model, the hex digest of the bank's options for
	// its training (optionsDigest), which both parties' TrainingID hashes.
	Options map[Kind]string `json:"options"`
	// Scorecard is the bank's scaling of the scorecard's points, sent
	// when it asks for WOE: both halves' points must be on one scale to
	// add up, and the options digest already commits to it.
	Scorecard *model.Scorecard `json:"scorecard,omitempty"`
	// BalancedPSI is the bank's choice of the balanced alignment, and
	// BalancedProtocol its protocol ("" for KKRT, "ecdh").
	BalancedPSI      bool   `json:"balanced_psi,omitempty"`
	BalancedProtocol string `json:"balanced_protocol,omitempty"`
}

// Result is one party's outcome of a job.
type Result struct {
	Role fl.Role
	// Session is the id of the job's session (fl.Session.ID).
	Session [fl.SessionIDLength]byte
	// RowsAligned is the number of training rows both parties hold, before
	// the test split.
	RowsAligned int
	// AlignedDigest is the digest of the aligned training ids, the same at
	// both parties (psi.Result.Digest), which TrainingID hashes: a
	// registry records it beside each half.
	AlignedDigest [32]byte
	// Data is this party's aligned, prepared data.
	Data *Prepared
	// Models holds one entry per model trained, in Spec.Models order.
	Models []Model
	// Stats is the traffic of the whole job at this end.
	Stats fl.Stats
}

// Model is one trained model as one party holds it.
type Model struct {
	Kind Kind
	// Training names the training that produced the halves: the same at
	// both parties, recorded in both halves (see TrainingID).
	Training string

	// The bank's evaluation on the test rows (zero on the center's side).
	// TestScores are higher for riskier rows: LR's probability of default,
	// SBT's logit, the scorecard's negated points.
	AUC, KS    float64
	TestScores []float64
	// Points are the scorecard's test points (WOE; the bank's).
	Points []float64
	// Curve is LR's and the scorecard's surrogate loss by epoch (the bank's),
	// or SBT's test AUC after each tree (with Spec.TreeCurve).
	Curve []float64
	// Columns are both parties' columns with their IV and whether the
	// selection kept them (WOE; the bank's).
	Columns []woe.Column

	TrainTime, WOETime time.Duration
	// Bytes is the traffic of this model's training and test scoring, both
	// ways.
	Bytes         uint64
	Epochs, Trees int

	// This party's halves. LR and the scorecard's LR leave LR (the training
	// result, for a plaintext twin: vlr.InitWeights) and, for LR, LRHalf; SBT
	// leaves SBTActive or SBTPassive; WOE Scorecard and WOEData (the
	// standardized WOE columns its LR trained on).
	LR         *vlr.Result
	LROptions  vlr.Options // as trained: L2 resolved
	LRHalf     *model.LRHalf
	SBTActive  *boost.ActiveModel
	SBTPassive *boost.PassiveModel
	Scorecard  *model.ScorecardHalf
	WOEData    *Prepared
	// Card is the scaling of the scorecard's points (WOE), the bank's,
	// which both halves were built on and scoring needs at both parties.
	Card model.Scorecard
}

// Model returns the result's model of kind k, or nil.
func (r *Result) Model(k Kind) *Model {
	for i := range r.Models {
		if r.Models[i].Kind == k {
			return &r.Models[i]
		}
	}
	return nil
}

// RunActive runs the bank's side of a whole job over t: the handshake and
// session binding, the choice of models (sent to the center), private
// alignment of the training (and test) ids, the split, each party's
// preparation, then for each model its training, the federated scoring of
// the test rows and the bank's AUC and KS, each party's half built and,
// with Spec.Dir, saved. The center runs RunPassive. An error on either side
// aborts the other with the reason.
func RunActive(ctx context.Context, t fl.Transport, spec Spec) (*Result, error) {
	return run(ctx, t, fl.RoleActive, spec)
}

// RunPassive runs the center's side of a job: see RunActive. The models,
// their options and the split are the bank's; the center's spec gives its
// tables, its clip, where it saves its halves and keeps its checkpoints,
// and which models it agrees to train.
func RunPassive(ctx context.Context, t fl.Transport, spec Spec) (*Result, error) {
	return run(ctx, t, fl.RolePassive, spec)
}

// runner is one party's job in progress.
type runner struct {
	t      fl.Transport
	sess   *fl.Session
	spec   Spec
	active bool
	role   fl.Role
	digest [32]byte // of the aligned training ids
	// options holds the digest of each model's options, as the bank's
	// setup gave it.
	options map[Kind][32]byte
	// store is the center's PSI store of this job when its spec gives none.
	store *psi.CenterStore
}

func run(ctx context.Context, t fl.Transport, role fl.Role, spec Spec) (*Result, error) {
	active := role == fl.RoleActive
	sess, err := fl.Handshake(ctx, t, fl.Hello{Role: role, Params: HandshakeParams()})
	if err != nil {
		return nil, err
	}
	t = fl.Bind(t, sess)
	r := &runner{t: t, sess: sess, active: active, role: role}
	res, err := r.run(ctx, spec)
	if err != nil && !errors.Is(err, fl.ErrPeerAborted) {
		// One abort path: whatever step failed, the peer learns why, once:
		// an error a protocol already told it of (fl.Fail) is not sent
		// again, since its text may hold what the protocol withheld, and an
		// error about this party's own tables reaches it by its kind only.
		_ = fl.Fail(ctx, t, forPeer(err))
	}
	return res, err
}

func (r *runner) run(ctx context.Context, spec Spec) (*Result, error) {
	spec, err := spec.withDefaults(r.active)
	if err != nil {
		return nil, err
	}
	r.spec = spec
	log := spec.Logger
	if err := r.agree(ctx); err != nil {
		return nil, err
	}
	log.Info("session open", "role", r.role, "session", hex.EncodeToString(r.sess.ID[:]), "models", r.spec.Models)
	for _, t := range []*dataset.Table{spec.Train, spec.Test} {
		if t == nil {
			continue
		}
		for _, c := range t.Categorical() {
			log.Info("categorical column", "table", t.Name, "column", c.Name, "labels", c.NumLabels)
		}
	}

	t0 := time.Now()
	trainRes, err := r.align(ctx, "aligning ids by PSI", spec.Train.IDs, false)
	if err != nil {
		return nil, fmt.Errorf("aligning the training ids: %w", err)
	}
	r.digest = trainRes.Digest
	train := spec.Train.Select(trainRes.Rows)
	var test *dataset.Table
	if spec.Test != nil {
		testRes, err := r.align(ctx, "aligning test ids by PSI", spec.Test.IDs, true)
		if err != nil {
			return nil, fmt.Errorf("aligning the test ids: %w", err)
		}
		test = spec.Test.Select(testRes.Rows)
	} else if train, test, err = r.split(ctx, train); err != nil {
		return nil, err
	}
	log.Info("aligned rows by PSI", "rows", len(trainRes.Rows), "of", spec.Train.Rows(), "train", train.Rows(), "test", test.Rows(), "seconds", time.Since(t0).Seconds())

	data, err := Prepare(train, test, spec.Clip)
	if err != nil {
		return nil, &localError{err: err, reason: fmt.Sprintf("job: %s own columns cannot be prepared (its error says why, to it only)", whose(r.active))}
	}
	for _, l := range data.Categories.Columns {
		if l != nil {
			log.Info("categorical column encoded on the training rows", "column", l.Column, "levels", l.NumLevels(), "folded", len(l.Folded))
		}
	}
	out := &Result{Role: r.role, Session: r.sess.ID, RowsAligned: len(trainRes.Rows), AlignedDigest: r.digest, Data: data}
	for _, k := range r.spec.Models {
		before := r.t.Stats()
		start := time.Now()
		var m *Model
		switch k {
		case LR:
			m, err = r.lr(ctx, data)
		case SBT:
			m, err = r.sbt(ctx, data)
		case WOE:
			m, err = r.woe(ctx, data)
		}
		if err != nil {
			return nil, err
		}
		after := r.t.Stats()
		m.Bytes = after.SentBytes - before.SentBytes + after.RecvBytes - before.RecvBytes
		log.Info("model done", "model", k, "seconds", time.Since(start).Seconds(), "bytes", m.Bytes)
		out.Models = append(out.Models, *m)
	}
	out.Stats = r.t.Stats()
	return out, nil
}

// align runs the private alignment of ids as the job's step name: its
// phases advance the step (Spec.Progress), its start and end go to
// Spec.Logger at Debug level.
//
// The alignment is unbalanced unless Spec.BalancedPSI: the center's table
// (test says which) is encoded in its PSIStore (or a store of this job),
// the bank's cache of it is its PSICache for the training table, a cache
// of this job's for the test table.
func (r *runner) align(ctx context.Context, name string, ids []string, test bool) (*psi.Result, error) {
	ev := r.step(name, align.Phases)
	o := align.Options{MaxPeerIDs: r.spec.MaxPeerRows, Progress: ev.progress, Logger: r.spec.Logger, BalancedProtocol: r.spec.BalancedProtocol}
	switch {
	case r.spec.BalancedPSI:
	case r.active && (test || r.spec.PSICache == nil):
		o.Cache = psi.NewCache("", "")
	case r.active:
		o.Cache = r.spec.PSICache
	default:
		store := r.spec.PSIStore
		if store == nil {
			if r.store == nil {
				r.store = &psi.CenterStore{}
			}
			store = r.store
		}
		bank := ""
		if id, ok := fl.PeerIdentity(ctx); ok {
			bank = id.Name
		}
		if test {
			bank += "\x00test" // the test table is another set
		}
		set, err := store.Set(ctx, bank, ids)
		if err != nil {
			// As align tells a fault in a party's own ids: by its kind.
			reason := "align: the peer cannot align its own ids"
			for _, kind := range []error{psi.ErrEmptySet, psi.ErrEmptyID, psi.ErrDuplicateID} {
				if errors.Is(err, kind) {
					reason += ": " + kind.Error()
				}
			}
			return nil, &localError{err: fmt.Errorf("job: encoding the center's ids for the alignment: %w", err), reason: reason}
		}
		o.Center = set
	}
	res, err := align.AlignWith(ctx, r.t, ids, o)
	if err != nil {
		return nil, err
	}
	ev.end()
	return res, nil
}

// agree sends the bank's choice of models to the center, which checks it
// against its own spec.
func (r *runner) agree(ctx context.Context) error {
	r.options = make(map[Kind][32]byte, len(r.spec.Models))
	if r.active {
		hexes := make(map[Kind]string, len(r.spec.Models))
		for _, k := range r.spec.Models {
			d, err := optionsDigest(k, r.spec)
			if err != nil {
				return err
			}
			r.options[k], hexes[k] = d, hex.EncodeToString(d[:])
		}
		s := setupMsg{Version: setupVersion, Models: r.spec.Models, SeparateTest: r.spec.Test != nil, TreeCurve: r.spec.TreeCurve, Options: hexes, BalancedPSI: r.spec.BalancedPSI}
		if r.spec.BalancedPSI && r.spec.BalancedProtocol != align.KKRT {
			s.BalancedProtocol = r.spec.BalancedProtocol.String()
		}
		if slices.Contains(r.spec.Models, WOE) {
			s.Scorecard = &r.spec.Scorecard
		}
		return fl.SendJSON(ctx, r.t, TypeSetup, s)
	}
	var s setupMsg
	if err := fl.RecvJSON(ctx, r.t, TypeSetup, &s); err != nil {
		return err
	}
	switch {
	case s.Version != setupVersion:
		return fmt.Errorf("%w: the bank runs job setup version %d, this center %d", ErrSpec, s.Version, setupVersion)
	case len(s.Models) == 0 || len(s.Models) > len(Kinds):
		return fmt.Errorf("%w: the bank asks for %d models", ErrSpec, len(s.Models))
	case s.SeparateTest != (r.spec.Test != nil):
		return fmt.Errorf("%w: Test: the bank %s a separate test table, this center %s", ErrSpec, gives(s.SeparateTest), gives(r.spec.Test != nil))
	case s.BalancedPSI != r.spec.BalancedPSI:
		return fmt.Errorf("%w: BalancedPSI: the bank sets %v, this center %v", ErrSpec, s.BalancedPSI, r.spec.BalancedPSI)
	}
	if s.BalancedPSI {
		p, err := align.ParseProtocol(s.BalancedProtocol)
		switch {
		case err != nil:
			return fmt.Errorf("%w: BalancedProtocol: %w", ErrSpec, err)
		case p != r.spec.BalancedProtocol:
			return fmt.Errorf("%w: BalancedProtocol: the bank runs %v, this center %v", ErrSpec, p, r.spec.BalancedProtocol)
		}
	}
	for _, k := range s.Models {
		if !slices.Contains(Kinds, k) {
			return fmt.Errorf("%w: the bank asks for model %q, want one of %v", ErrSpec, k, Kinds)
		}
		if r.spec.Models != nil && !slices.Contains(r.spec.Models, k) {
			return fmt.Errorf("%w: the bank asks for model %q, which this center's spec does not allow (Models %v)", ErrSpec, k, r.spec.Models)
		}
	}
	if err := r.readOptions(s); err != nil {
		return err
	}
	if err := r.readScorecard(s); err != nil {
		return err
	}
	r.spec.Models, r.spec.TreeCurve = s.Models, s.TreeCurve
	return nil
}

// readScorecard takes the bank's scaling of the scorecard's points, which
// the setup gives when, and only when, it asks for WOE: the center's half
// is built on it, whatever the center's own spec says, since halves
// scaled differently do not add up to the points of one model.
func (r *runner) readScorecard(s setupMsg) error {
	woe := slices.Contains(s.Models, WOE)
	switch {
	case woe && s.Scorecard == nil:
		return fmt.Errorf("%w: %s: the bank asks for model %q without the scorecard's scaling", fl.ErrMalformed, TypeSetup, WOE)
	case !woe && s.Scorecard != nil:
		return fmt.Errorf("%w: %s: the bank gives a scorecard's scaling without asking for model %q", fl.ErrMalformed, TypeSetup, WOE)
	case !woe:
		return nil
	}
	if err := checkScorecard(*s.Scorecard); err != nil {
		return fmt.Errorf("%w: %s: the bank's %w", fl.ErrMalformed, TypeSetup, err)
	}
	if own := r.spec.Scorecard; own != (model.Scorecard{}) && own != *s.Scorecard {
		r.spec.Logger.Warn("the bank's scorecard scaling differs from this center's spec; the bank's is the training's", "bank", *s.Scorecard, "center", own)
	}
	r.spec.Scorecard = *s.Scorecard
	return nil
}

// readOptions keeps the options digests of the bank's setup, one for
// each model it asks for and no other.
func (r *runner) readOptions(s setupMsg) error {
	if len(s.Options) != len(s.Models) {
		return fmt.Errorf("%w: %s: the bank's setup gives %d options digests for %d models", fl.ErrMalformed, TypeSetup, len(s.Options), len(s.Models))
	}
	for _, k := range s.Models {
		h, ok := s.Options[k]
		if !ok {
			return fmt.Errorf("%w: %s: the bank's setup gives no options digest for model %q", fl.ErrMalformed, TypeSetup, k)
		}
		b, err := hex.DecodeString(h)
		if err != nil || len(b) != 32 {
			return fmt.Errorf("%w: %s: the options digest of model %q is not 32 bytes in hex", fl.ErrMalformed, TypeSetup, k)
		}
		r.options[k] = [32]byte(b)
	}
	return nil
}

func gives(b bool) string {
	if b {
		return "gives"
	}
	return "gives no"
}

// split has the bank draw a stratified split of the aligned rows on its
// labels and tell the center which rows are for testing (not their labels).
func (r *runner) split(ctx context.Context, train *dataset.Table) (*dataset.Table, *dataset.Table, error) {
	var testRows []int
	if r.active {
		var err error
		if _, testRows, err = dataset.StratifiedSplit(train.Labels, r.spec.TestFraction, r.spec.Seed); err != nil {
			return nil, nil, err
		}
		if err := r.t.Send(ctx, fl.Message{Type: TypeSplit, Payload: encodeRows(testRows)}); err != nil {
			return nil, nil, err
		}
	} else {
		b, err := fl.Expect(ctx, r.t, TypeSplit)
		if err != nil {
			return nil, nil, err
		}
		if testRows, err = decodeRows(b, train.Rows()); err != nil {
			return nil, nil, err
		}
	}
	isTest := make([]bool, train.Rows())
	for _, i := range testRows {
		isTest[i] = true
	}
	var trainRows []int
	for i, tst := range isTest {
		if !tst {
			trainRows = append(trainRows, i)
		}
	}
	return train.Select(trainRows), train.Select(testRows), nil
}

func encodeRows(rows []int) []byte {
	b := make([]byte, 0, 4*len(rows))
	for _, r := range rows {
		b = binary.LittleEndian.AppendUint32(b, uint32(r))
	}
	return b
}

func decodeRows(b []byte, n int) ([]int, error) {
	if len(b)%4 != 0 {
		return nil, fmt.Errorf("%w: %s: %d bytes is not a list of rows", fl.ErrMalformed, TypeSplit, len(b))
	}
	rows := make([]int, len(b)/4)
	for i := range rows {
		r := int(binary.LittleEndian.Uint32(b[4*i:]))
		if r >= n || (i > 0 && r <= rows[i-1]) {
			return nil, fmt.Errorf("%w: %s: row %d out of order or beyond the %d aligned rows", fl.ErrMalformed, TypeSplit, r, n)
		}
		rows[i] = r
	}
	return rows, nil
}

// TrainingID names a training: a hash of the session id, the model kind,
// the digest of the aligned training ids and the digest of the training's
// options, the same at both parties. Both halves of a model record it, and
// scoring refuses halves whose ids differ, or of which one records an id
// and the other none: halves of different trainings do not add up to a
// model, even when they come from one session or the same rows.
func TrainingID(session [fl.SessionIDLength]byte, kind Kind, alignedDigest, optionsDigest [32]byte) string {
	h := sha256.New()
	h.Write([]byte("veil-training/v2\x00"))
	h.Write(session[:])
	h.Write([]byte(kind))
	h.Write([]byte{0})
	h.Write(alignedDigest[:])
	h.Write(optionsDigest[:])
	return hex.EncodeToString(h.Sum(nil)[:16])
}

func (r *runner) trainingID(k Kind) string { return TrainingID(r.sess.ID, k, r.digest, r.options[k]) }

// trainingOptions are what the bank's spec fixes of model kind's training,
// the input of optionsDigest: the split of the aligned rows and the
// model's options (the scorecard's: WOE/IV, its LR and the points'
// scaling). Each party's own settings (clip, folders, checkpoints, logger)
// are not part of it: they are not agreed.
type trainingOptions struct {
	Kind         Kind             `json:"kind"`
	SeparateTest bool             `json:"separate_test"`
	TestFraction float64          `json:"test_fraction,omitempty"`
	Seed         int64            `json:"seed,omitempty"`
	LR           *vlr.Options     `json:"lr,omitempty"`
	SBT          *boost.Options   `json:"sbt,omitempty"`
	WOE          *woe.Options     `json:"woe,omitempty"`
	Scorecard    *model.Scorecard `json:"scorecard,omitempty"`
}

// optionsDigest is the digest of the bank's options for model kind's
// training, as its spec gives them (a default left zero and the same value
// given explicitly digest differently): a SHA-256 of their JSON, whose
// fields the protocols send the center in the clear anyway.
func optionsDigest(kind Kind, spec Spec) ([32]byte, error) {
	o := trainingOptions{Kind: kind, SeparateTest: spec.Test != nil}
	if spec.Test == nil {
		o.TestFraction, o.Seed = spec.TestFraction, spec.Seed
	}
	switch kind {
	case LR:
		o.LR = &spec.LR
	case SBT:
		o.SBT = &spec.SBT
	case WOE:
		o.WOE, o.LR, o.Scorecard = &spec.WOE, &spec.LR, &spec.Scorecard
	}
	b, err := json.Marshal(o)
	if err != nil {
		return [32]byte{}, fmt.Errorf("%w: the %s options have no digest: %w", ErrSpec, kind, err)
	}
	return sha256.Sum256(append([]byte("veil-training-options/v1\x00"), b...)), nil
}

// progressStep is a long step reported to Spec.Progress.
type progressStep struct {
	r     *runner
	name  string
	total int
}

func (r *runner) step(name string, total int) *progressStep {
	s := &progressStep{r: r, name: name, total: total}
	if r.spec.Progress != nil {
		r.spec.Progress(Event{Step: name, Total: total})
	}
	return s
}

func (s *progressStep) set(done int, loss float64) {
	if s.r.spec.Progress != nil {
		s.r.spec.Progress(Event{Step: s.name, Done: done, Total: s.total, Loss: loss})
	}
}

// progress feeds the step from a protocol's progress callback (the
// Progress of align.Options, joint.KeyOptions, score.Options): the
// protocol's units become the step's, and its step name, which the job's
// own name already covers, is dropped.
func (s *progressStep) progress(_ string, done, total int) {
	s.total = total
	s.set(done, 0)
}

func (s *progressStep) end() {
	if s.r.spec.Progress != nil {
		s.r.spec.Progress(Event{Step: s.name, Done: s.total, Total: s.total, End: true})
	}
}
