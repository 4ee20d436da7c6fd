package score

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"github.com/veil-fl/veil/mpc/psi"
	"log/slog"
	"math"
	"sync"
	"time"

	"github.com/veil-fl/veil/dataset"
	"github.com/veil-fl/veil/fl"
	"github.com/veil-fl/veil/fl/align"
	"github.com/veil-fl/veil/fl/boost"
	"github.com/veil-fl/veil/he"
	"github.com/veil-fl/veil/model"
)

// A scoring session, the unit a Service serves: handshake (roles, linear14),
// Bind, admission (the bank's certificate on the list, its quotas), the
// bank's request (which model, which output, which alignment), private set
// intersection of the bank's enterprise ids with the center's (unbalanced
// by default: the center's table encoded once per key epoch and bank, the
// bank's cache of it brought up to date; the center charges the scorings
// once it knows the intersection, before any scoring, and, in the balanced
// mode, before the message that shows the bank the intersection),
// threshold keys (Scores output only), then one scoring run over the
// intersection in its common order.

// TypeRequest (bank to center, JSON) names the model and output a session
// scores.
const TypeRequest = "score.request"

// Model names for a session's request.
const (
	ModelLR        = "lr"
	ModelTrees     = "trees"
	ModelScorecard = "scorecard"
)

// requestVersion is the version of a session's request and the messages
// after it: 2 aligns in the unbalanced mode unless the request says
// balanced (psi.cache first, not psi.blinded); 3 adds the setup's flags
// (Options.Disclose: a second OT setup and garbled comparisons in place of
// the comparisons); 4: the unbalanced alignment's query carries the bank's
// id count and only the ids its cache has no answer for (psi.Ask), and
// the balanced one opens with psi.mode and runs KKRT unless both ask for
// ECDH (Options.BalancedProtocol). A request without a version is of
// version 1.
const requestVersion = 4

type request struct {
	Version int    `json:"version,omitempty"`
	Model   string `json:"model"`
	Output  Output `json:"output"`
	// Training is the training id of the bank's half ("" for a half that
	// records none).
	Training string `json:"training,omitempty"`
	// BalancedPSI asks for the balanced alignment (Options.BalancedPSI).
	BalancedPSI bool `json:"balanced_psi,omitempty"`
	// BalancedProtocol is its protocol ("" for KKRT; Options.BalancedProtocol).
	BalancedProtocol string `json:"balanced_protocol,omitempty"`
}

// ErrBusy is returned to a bank when the service already runs
// Service.MaxSessions sessions; the bank may retry later.
var ErrBusy = errors.New("score: the service runs as many sessions at once as it allows (its MaxSessions); retry later")

// ErrNotAllowed is returned for a peer whose certificate names no bank of
// the service's list.
var ErrNotAllowed = errors.New("score: the peer is not a bank this service serves")

// ErrQuota is returned to a bank that exceeds one of its quotas; the error
// names the quota.
var ErrQuota = errors.New("score: quota exceeded")

// Quota is what the service allows one bank. Zero fields take the defaults
// beside them.
type Quota struct {
	// Sessions is how many of the bank's sessions may run at once (default 2).
	Sessions int
	// IDs is the most enterprise ids one session may submit (default
	// 200,000): the private set intersection shows the bank which of the ids
	// it submits the center holds, so the quota bounds how many it can test.
	// In the unbalanced alignment the bank's cache remembers the center's
	// answers for the ids it asked earlier in the key epoch and asks only
	// for new ones (psi.Ask), but it states its number of ids, which the
	// quota bounds, and can match no more rows than that.
	IDs int
	// SessionsPerDay is how many sessions the bank may open per day (UTC,
	// default 100).
	SessionsPerDay int
	// ScoresPerDay is how many times one enterprise may be scored per model
	// and day (default 3, at most MaxScoresPerDay): rescoring the same
	// enterprise is the raw material of attacks on any output that depends
	// on the score continuously, and of a cheating bank's search for the
	// center's partial score with bands (package doc). An enterprise is
	// charged when the center learns the intersection, before any scoring,
	// so a session that fails later still counts; a session in which any
	// enterprise the center holds would pass the quota is refused then,
	// and scores nothing. In the balanced alignment (Options.BalancedPSI)
	// that is before the message that shows the bank which of its ids the
	// center holds, so the bank learns no membership from a refused
	// session; in the unbalanced one (the default) the bank has learnt it
	// by then (it finds its ids in its cache of the center's encoded
	// table), so a refused session shows the bank as much membership as
	// any session: at most IDs ids, out of its SessionsPerDay.
	ScoresPerDay int
}

// MaxScoresPerDay bounds Quota.ScoresPerDay: the service counts the day's
// scorings of each enterprise in 16 bits.
const MaxScoresPerDay = math.MaxUint16

func (q Quota) withDefaults() Quota {
	if q.Sessions <= 0 {
		q.Sessions = 2
	}
	if q.IDs <= 0 {
		q.IDs = 200_000
	}
	if q.SessionsPerDay <= 0 {
		q.SessionsPerDay = 100
	}
	if q.ScoresPerDay <= 0 {
		q.ScoresPerDay = 3
	}
	return q
}

// bankState is a bank's running sessions and the day's counts.
type bankState struct {
	quota    Quota
	running  int
	day      string
	sessions int
	scored   map[string][]uint16 // per model: times each table row was scored today (<= MaxScoresPerDay)
}

// Service is the credit center's scoring service. Each session gets its own
// keys and aligned rows; the models and the table are shared read-only.
// Serve it with link.NewServer(s.Handle, opts) (or link.Listen), which adds mTLS,
// a health endpoint and graceful shutdown.
type Service struct {
	// Table holds the center's enterprises: ids and raw features. For LR the
	// columns named by LR.Features are used; for trees, the table's columns
	// in the order the ensemble was trained on.
	Table *dataset.Table
	// LR, Trees and Scorecard are the center's halves of the models it
	// serves; any may be nil. For trees and the scorecard, the table's
	// columns are in the order the model was trained on. Card is the
	// scorecard's points scaling, the one both halves were built on.
	LR        *model.LRHalf
	Trees     *boost.PassiveModel
	Scorecard *model.ScorecardHalf
	Card      model.Scorecard
	// Options is what the center agrees to: the output (Bands keeps raw
	// scores from the bank) and the cut points. A bank asking for anything
	// else is refused. Its Progress and Logger, if set, hear the scoring
	// runs of all sessions, concurrently and without naming them: Logger
	// below is the one that names sessions.
	Options Options
	// Flags, with Options.Disclose, hold the center's flags of each row of
	// Table (bit i: Options.Disclose.Flags[i]), released to a bank for the
	// rows its bands whitelist only; Options.Disclose.Values is filled from
	// them for each session's aligned rows.
	Flags []uint64
	// OnDisclose, if set, is told of every session run with flags before
	// its comparisons start: the bank's name and the records x flags
	// offered, the most the bank can receive (the center does not learn how
	// many records were released: that is the bank's whitelist). The audit
	// log records the same from the run's disclosure plan (StepFlags).
	OnDisclose func(bank string, records int, flags []string)
	// MaxSessions bounds concurrent sessions (default 32); more are refused
	// with ErrBusy, so memory stays bounded: per session, the alignment of
	// the bank's ids (32 bytes per id and party; serve with
	// link.GRPCOptions.MaxMessageSize to cap how many a bank may send) and a
	// few batches of ciphertexts (Options.BatchRows).
	MaxSessions int
	// SessionTimeout bounds a whole session (default 10 minutes).
	SessionTimeout time.Duration
	// IdleTimeout bounds every wait on the bank within a session (default
	// 30 s): a bank that stalls loses its slot then.
	IdleTimeout time.Duration
	// Banks lists, by the name in their client certificate
	// (fl.PeerIdentity), the banks the service serves and what each may
	// do. It is required: any other certificate, even one the CA signed, is
	// refused.
	Banks map[string]Quota
	// Now is the clock of the daily quotas (default time.Now).
	Now func() time.Time
	// PSIStore keeps the table encoded for the unbalanced alignment (the
	// default; Options.BalancedPSI for the other), one key epoch per bank,
	// named by its certificate (psi.CenterStore: where, and how often the
	// keys rotate). nil: a store in memory, the service's own, so that a
	// bank's first session after a start encodes the table (one
	// multiplication an id, about 20 s for 800,000 on 2 cores) and later
	// ones cost O(the bank's ids).
	PSIStore *psi.CenterStore
	// Logger gets a line when a session starts and one when it ends, or
	// one when it is refused, each with the session's id (fl.Session.ID,
	// in hex) and the bank's name; the end adds the model, the number of
	// records scored and the time, never an id or a score, and a failure
	// or refusal its error, whose text the bank is told too and so names
	// neither (default slog.Default()).
	Logger *slog.Logger

	once    sync.Once
	prepErr error
	slots   chan struct{}
	output  Output    // Options.Output, normalized
	lrX     []float64 // the LR half's columns of the table, encoded
	treeX   []float64 // the table encoded for the trees
	cardX   []float64 // the table encoded for the scorecard
	mu      sync.Mutex
	banks   map[string]*bankState
}

// Prepare checks the service's configuration and extracts the LR columns;
// Handle calls it on first use, callers may call it to fail early.
func (s *Service) Prepare() error {
	if s.slots != nil {
		return nil
	}
	if s.Table == nil || s.Table.Rows() == 0 {
		return fmt.Errorf("%w: the service has no enterprises", ErrOptions)
	}
	if s.LR == nil && s.Trees == nil && s.Scorecard == nil {
		return fmt.Errorf("%w: the service has no model", ErrOptions)
	}
	o, err := s.Options.normalize()
	if err != nil {
		return err
	}
	s.output = o.Output
	if s.LR != nil {
		if err := s.LR.Validate(); err != nil {
			return err
		}
		cols := make([]int, len(s.LR.Features))
		for j, name := range s.LR.Features {
			c, ok := s.Table.ColumnIndex(name)
			if !ok {
				return fmt.Errorf("%w: the LR model's column %q is not in the table %s", model.ErrShape, name, s.Table.Name)
			}
			cols[j] = c
		}
		n, d := s.Table.Rows(), s.Table.Cols()
		x := make([]float64, n*len(cols))
		for i := range n {
			for j, c := range cols {
				x[i*len(cols)+j] = s.Table.X[i*d+c]
			}
		}
		// The table's categorical codes index its own dictionaries: the
		// half's levels, by label (unseen labels are missing).
		var dicts [][]string
		if s.Table.Categories != nil {
			dicts = make([][]string, len(cols))
			for j, c := range cols {
				dicts[j] = s.Table.Categories[c]
			}
		}
		if s.lrX, err = s.LR.Encode(dicts, x); err != nil {
			return fmt.Errorf("the LR model and the table %s: %w", s.Table.Name, err)
		}
	}
	if s.Scorecard != nil {
		if err := s.Scorecard.Validate(); err != nil {
			return err
		}
		if s.cardX, err = s.Scorecard.Encode(s.Table.Categories, s.Table.X, s.Table.Cols()); err != nil {
			return fmt.Errorf("the scorecard and the table %s: %w", s.Table.Name, err)
		}
	}
	if s.Trees != nil {
		if err := s.Trees.Validate(); err != nil {
			return err
		}
		if s.Trees.Binning.Dim() != s.Table.Cols() {
			return fmt.Errorf("%w: the ensemble has %d columns, the table %s %d", model.ErrShape, s.Trees.Binning.Dim(), s.Table.Name, s.Table.Cols())
		}
		if s.treeX, err = s.Trees.Encode(s.Table.Categories, s.Table.X, s.Table.Cols()); err != nil {
			return fmt.Errorf("the trees and the table %s: %w", s.Table.Name, err)
		}
	}
	if o.Disclose != nil && len(s.Flags) != s.Table.Rows() {
		return fmt.Errorf("%w: the service discloses flags %q but holds %d rows of flags for the table's %d", ErrOptions, o.Disclose.Flags, len(s.Flags), s.Table.Rows())
	}
	if len(s.Banks) == 0 {
		return fmt.Errorf("%w: the service lists no bank (Service.Banks): it serves only the banks it names", ErrOptions)
	}
	// The private set intersection needs distinct, non-empty ids; checked
	// here, where the error stays with the operator: a session's errors
	// reach the bank, and they must not name the center's rows.
	seen := make(map[string]int, s.Table.Rows())
	for i, id := range s.Table.IDs {
		if id == "" {
			return fmt.Errorf("%w: the table %s has an empty id at row %d", ErrOptions, s.Table.Name, i)
		}
		if j, ok := seen[id]; ok {
			return fmt.Errorf("%w: the table %s repeats id %q at rows %d and %d", ErrOptions, s.Table.Name, id, j, i)
		}
		seen[id] = i
	}
	s.banks = map[string]*bankState{}
	for name, q := range s.Banks {
		q = q.withDefaults()
		if q.ScoresPerDay > MaxScoresPerDay {
			return fmt.Errorf("%w: bank %q may score an enterprise %d times a day, at most %d (MaxScoresPerDay)", ErrOptions, name, q.ScoresPerDay, MaxScoresPerDay)
		}
		s.banks[name] = &bankState{quota: q, scored: map[string][]uint16{}}
	}
	if s.MaxSessions <= 0 {
		s.MaxSessions = 32
	}
	if s.IdleTimeout <= 0 {
		s.IdleTimeout = 30 * time.Second
	}
	if s.Now == nil {
		s.Now = time.Now
	}
	if s.SessionTimeout <= 0 {
		s.SessionTimeout = 10 * time.Minute
	}
	if s.Logger == nil {
		s.Logger = slog.Default()
	}
	if s.PSIStore == nil {
		s.PSIStore = &psi.CenterStore{}
	}
	s.slots = make(chan struct{}, s.MaxSessions)
	return nil
}

// Handle serves one session (an fl.Handler). The first call prepares the
// service (Prepare) unless the caller did; a configuration Prepare refuses
// fails every session with its reason.
func (s *Service) Handle(ctx context.Context, t fl.Transport) error {
	s.once.Do(func() {
		if s.slots == nil {
			s.prepErr = s.Prepare()
		}
	})
	if s.prepErr != nil {
		// The reason may quote the center's models or table (Prepare's
		// errors are the operator's); the bank hears only that there is one.
		log := s.Logger
		if log == nil { // Prepare failed before setting the default
			log = slog.Default()
		}
		log.Error("scoring service misconfigured", "err", s.prepErr)
		return fmt.Errorf("%w: the scoring service is misconfigured (the reason is in the center's log)", ErrOptions)
	}
	// Until the bank is admitted no message may exceed a hello's size, and
	// a bank that stalls loses its slot after IdleTimeout.
	fl.SetMessageLimit(t, 1<<16)
	t = fl.WithIdleTimeout(t, s.IdleTimeout)
	ctx, cancel := context.WithTimeout(ctx, s.SessionTimeout)
	defer cancel()
	sess, err := fl.Handshake(ctx, t, fl.Hello{Role: fl.RolePassive, Params: he.Linear14.ID})
	if err != nil {
		return err
	}
	t = fl.Bind(t, sess)
	id, ok := fl.PeerIdentity(ctx)
	log := s.Logger.With("session", hex.EncodeToString(sess.ID[:]), "bank", id.Name)
	var bank *bankState
	if !ok {
		err = fmt.Errorf("%w: the session carries no verified client certificate", ErrNotAllowed)
	} else {
		bank, err = s.admit(id.Name)
	}
	if err != nil {
		log.Warn("scoring session refused", "err", err)
		// The abort tells a bank that listens; the error ends the RPC with
		// the reason too, for a bank that is still sending.
		_ = fl.Abort(ctx, t, err)
		return err
	}
	defer s.release(bank)
	// No message of the session may be larger than the private set
	// intersection's (32 bytes an id: the bank's quota, or the table
	// reblinded); after it, than a scoring batch's ciphertexts.
	fl.SetMessageLimit(t, int64(max(bank.quota.IDs, s.Table.Rows()))*psiBytesPerID+1<<16)
	start := time.Now()
	log.Info("scoring session start")
	rows, modelName, err := s.session(ctx, t, sess, id.Name, bank)
	if err != nil {
		log.Warn("scoring session failed", "model", modelName, "seconds", time.Since(start).Seconds(), "err", err)
		return err
	}
	log.Info("scoring session end", "model", modelName, "rows", rows, "seconds", time.Since(start).Seconds())
	return nil
}

// psiBytesPerID is the bytes of one id in the private set intersection's
// messages; maxBatchMessage bounds every other message of a session (a
// batch of encrypted scores).
const (
	psiBytesPerID   = 32
	maxBatchMessage = 64 << 20
)

// admit checks a bank against the list and its concurrency and daily
// session quotas, takes one of the service's MaxSessions slots, and counts
// the session (a refused one counts nothing).
func (s *Service) admit(name string) (*bankState, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.banks[name]
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrNotAllowed, name)
	}
	if b.running >= b.quota.Sessions {
		return nil, fmt.Errorf("%w: %q already runs %d sessions, its quota of sessions at once", ErrQuota, name, b.running)
	}
	s.rollDay(b)
	if b.sessions >= b.quota.SessionsPerDay {
		return nil, fmt.Errorf("%w: %q has opened %d sessions today, its quota of sessions per day", ErrQuota, name, b.sessions)
	}
	select {
	case s.slots <- struct{}{}:
	default:
		return nil, ErrBusy
	}
	b.running++
	b.sessions++
	return b, nil
}

func (s *Service) release(b *bankState) {
	s.mu.Lock()
	b.running--
	s.mu.Unlock()
	<-s.slots
}

// rollDay resets the day's counts on a new UTC day (s.mu held).
func (s *Service) rollDay(b *bankState) {
	if day := s.Now().UTC().Format("2006-01-02"); day != b.day {
		b.day, b.sessions, b.scored = day, 0, map[string][]uint16{}
	}
}

// countScores counts one scoring of each aligned row for the model, or
// refuses the session if any row would pass the bank's daily quota. The
// refusal names how many rows are over (rows the bank was shown in earlier
// sessions), not how many the center holds: the bank must not learn the
// intersection of a session it is refused.
func (s *Service) countScores(name string, b *bankState, modelName string, rows []int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rollDay(b)
	c := b.scored[modelName]
	if c == nil {
		c = make([]uint16, s.Table.Rows())
		b.scored[modelName] = c
	}
	over := 0
	for _, r := range rows {
		if int(c[r]) >= b.quota.ScoresPerDay {
			over++
		}
	}
	if over > 0 {
		return fmt.Errorf("%w: %d of the enterprises of %q's session were already scored %d times today with model %s, its quota of scores per enterprise and day",
			ErrQuota, over, name, b.quota.ScoresPerDay, modelName)
	}
	for _, r := range rows {
		c[r]++
	}
	return nil
}

// session serves an admitted bank over t, bound to the handshake's session.
func (s *Service) session(ctx context.Context, t fl.Transport, sess *fl.Session, name string, bank *bankState) (int, string, error) {
	var req request
	if err := fl.RecvJSON(ctx, t, TypeRequest, &req); err != nil {
		return 0, "", err
	}
	if v := max(req.Version, 1); v != requestVersion {
		return 0, req.Model, fl.Fail(ctx, t, fmt.Errorf("%w: the bank's scoring request is of version %d, this center speaks %d", ErrMismatch, v, requestVersion))
	}
	switch {
	case req.Model == ModelLR && s.LR != nil, req.Model == ModelTrees && s.Trees != nil, req.Model == ModelScorecard && s.Scorecard != nil:
	default:
		return 0, req.Model, fl.Fail(ctx, t, fmt.Errorf("%w: the service does not serve model %q", ErrMismatch, req.Model))
	}
	if err := checkTraining(req.Model, req.Training, s.training(req.Model)); err != nil {
		return 0, req.Model, fl.Fail(ctx, t, err)
	}
	if req.BalancedPSI != s.Options.BalancedPSI {
		return 0, req.Model, fl.Fail(ctx, t, fmt.Errorf("%w: the bank asks for the %s alignment, the center runs the %s one", ErrMismatch, psiMode(req.BalancedPSI), psiMode(s.Options.BalancedPSI)))
	}
	if req.BalancedPSI {
		if p, err := align.ParseProtocol(req.BalancedProtocol); err != nil || p != s.Options.BalancedProtocol {
			return 0, req.Model, fl.Fail(ctx, t, fmt.Errorf("%w: the bank asks for the balanced alignment by %q, the center runs %v", ErrMismatch, req.BalancedProtocol, s.Options.BalancedProtocol))
		}
	}
	if req.Output != s.output {
		return 0, req.Model, fl.Fail(ctx, t, fmt.Errorf("%w: the bank asks for %v, the center allows %v", ErrMismatch, req.Output, s.output))
	}
	rows, err := s.alignCharged(ctx, t, name, bank, req.Model)
	if err != nil {
		return 0, req.Model, err
	}
	fl.SetMessageLimit(t, maxBatchMessage)
	var party *he.Party // band output uses no key
	if s.output == Scores {
		if party, err = Keys(ctx, t, sess.Seed[:]); err != nil {
			return 0, req.Model, err
		}
	}
	n := len(rows)
	opt := s.Options
	if d := opt.Disclose; d != nil {
		sel := make([]uint64, n)
		for i, r := range rows {
			sel[i] = s.Flags[r]
		}
		opt.Disclose = &Disclose{At: d.At, Flags: d.Flags, Values: sel}
		if s.OnDisclose != nil {
			s.OnDisclose(name, n, d.Flags)
		}
	}
	if req.Model == ModelLR {
		d := len(s.LR.Features)
		x := make([]float64, n*d)
		for i, r := range rows {
			copy(x[i*d:(i+1)*d], s.lrX[r*d:(r+1)*d])
		}
		u := make([]float64, n)
		if err := s.LR.PartialScore(x, u); err != nil {
			return n, req.Model, fl.Fail(ctx, t, withheld(err, "the center's"))
		}
		return n, req.Model, linearPassive(ctx, t, party, u, opt, s.LR.Training)
	}
	d := s.Table.Cols()
	src := s.treeX
	if req.Model == ModelScorecard {
		src = s.cardX
	}
	x := make([]float64, n*d)
	for i, r := range rows {
		copy(x[i*d:(i+1)*d], src[r*d:(r+1)*d])
	}
	if req.Model == ModelScorecard {
		return n, req.Model, ScorecardPassive(ctx, t, party, s.Card, s.Scorecard, x, d, opt)
	}
	return n, req.Model, TreesPassive(ctx, t, party, s.Trees, x, d, opt)
}

// alignCharged is the center's side of the private set intersection
// (align.AlignWith), with the bank's quota of scorings charged in its
// BeforeReveal hook: after the center knows the intersection, before the
// message that shows the bank which of its ids the center holds. A bank
// past its quota learns no membership; the refusal (countScores) names no
// id and not the intersection's size. The table's ids passed Prepare's
// checks, so no error of the center's own ids, which would name its rows,
// ends the bank's RPC.
//
// In the unbalanced mode (the default) the hook runs when the center
// learns the intersection, which the bank already knows (Quota).
func (s *Service) alignCharged(ctx context.Context, t fl.Transport, name string, bank *bankState, modelName string) ([]int, error) {
	o := align.Options{
		MaxPeerIDs:       bank.quota.IDs,
		BalancedProtocol: s.Options.BalancedProtocol,
		BeforeReveal: func(rows []int) error {
			return s.countScores(name, bank, modelName, rows)
		},
	}
	if !s.Options.BalancedPSI {
		set, err := s.PSIStore.Set(ctx, name, s.Table.IDs)
		if err != nil {
			// The table passed Prepare's checks: this is the store's
			// own fault (its folder), which stays in the center's log.
			s.Logger.Error("scoring service: the PSI store failed", "bank", name, "err", err)
			return nil, fl.Fail(ctx, t, fmt.Errorf("%w: the center cannot align now (the reason is in its log)", ErrOptions))
		}
		o.Center = set
	}
	res, err := align.AlignWith(ctx, t, s.Table.IDs, o)
	if err != nil {
		return nil, err
	}
	return res.Rows, nil
}

// balancedProtocol is the request's name of the balanced alignment's
// protocol: "" for the default (KKRT) or the unbalanced alignment.
func balancedProtocol(o Options) string {
	if !o.BalancedPSI || o.BalancedProtocol == align.KKRT {
		return ""
	}
	return o.BalancedProtocol.String()
}

func psiMode(balanced bool) string {
	if balanced {
		return "balanced"
	}
	return "unbalanced"
}

// training returns the training id of the center's half of model name.
func (s *Service) training(name string) string {
	switch {
	case name == ModelLR && s.LR != nil:
		return s.LR.Training
	case name == ModelTrees && s.Trees != nil:
		return s.Trees.Training
	case name == ModelScorecard && s.Scorecard != nil:
		return s.Scorecard.Training
	}
	return ""
}

// Scored is what a bank's session returns: the aligned enterprises (ids in
// the common order) and their result.
type Scored struct {
	IDs []string
	*Result
}

// RequestLR is the bank's side of a session with a Service: t is a fresh
// transport to it (link.Dial). ids and x are the bank's enterprises and raw
// features in half's column order; the enterprises the center also knows
// are scored.
func RequestLR(ctx context.Context, t fl.Transport, ids []string, x []float64, half *model.LRHalf, opt Options) (*Scored, error) {
	d := len(half.Features)
	if err := half.Validate(); err != nil {
		return nil, err
	}
	if d == 0 || len(x) != len(ids)*d {
		return nil, fmt.Errorf("%w: %d values for %d enterprises x %d features", model.ErrShape, len(x), len(ids), d)
	}
	return runRequest(ctx, t, ModelLR, half.Training, opt, ids, func(t fl.Transport, party *he.Party, rows []int) (*Result, error) {
		sel := make([]float64, len(rows)*d)
		for i, r := range rows {
			copy(sel[i*d:(i+1)*d], x[r*d:(r+1)*d])
		}
		u := make([]float64, len(rows))
		if err := half.PartialScore(sel, u); err != nil {
			return nil, fl.Fail(ctx, t, err)
		}
		return linearActive(ctx, t, party, u, opt, half.Training)
	})
}

// RequestTrees is RequestLR for the bank's half of a tree ensemble; x holds
// the bank's raw features, d per enterprise, in training order.
func RequestTrees(ctx context.Context, t fl.Transport, ids []string, x []float64, d int, m *boost.ActiveModel, opt Options) (*Scored, error) {
	if d < 1 || len(x) != len(ids)*d {
		return nil, fmt.Errorf("%w: %d values for %d enterprises x %d features", model.ErrShape, len(x), len(ids), d)
	}
	return runRequest(ctx, t, ModelTrees, m.Training, opt, ids, func(t fl.Transport, party *he.Party, rows []int) (*Result, error) {
		sel := make([]float64, len(rows)*d)
		for i, r := range rows {
			copy(sel[i*d:(i+1)*d], x[r*d:(r+1)*d])
		}
		return TreesActive(ctx, t, party, m, sel, d, opt)
	})
}

// RequestScorecard is RequestLR for the bank's half of a WOE scorecard,
// card the points' scaling both halves were built on; x holds the bank's
// raw features, d per enterprise, in training order, categorical ones as
// the half's levels (model.ScorecardHalf.Encode).
func RequestScorecard(ctx context.Context, t fl.Transport, ids []string, x []float64, d int, half *model.ScorecardHalf, card model.Scorecard, opt Options) (*Scored, error) {
	if d < 1 || len(x) != len(ids)*d {
		return nil, fmt.Errorf("%w: %d values for %d enterprises x %d features", model.ErrShape, len(x), len(ids), d)
	}
	if err := half.Validate(); err != nil {
		return nil, err
	}
	return runRequest(ctx, t, ModelScorecard, half.Training, opt, ids, func(t fl.Transport, party *he.Party, rows []int) (*Result, error) {
		sel := make([]float64, len(rows)*d)
		for i, r := range rows {
			copy(sel[i*d:(i+1)*d], x[r*d:(r+1)*d])
		}
		return ScorecardActive(ctx, t, party, card, half, sel, d, opt)
	})
}

// runRequest runs a session up to the keys (Scores output only), then
// score over the bound transport.
func runRequest(ctx context.Context, t fl.Transport, modelName, training string, opt Options, ids []string, score func(fl.Transport, *he.Party, []int) (*Result, error)) (*Scored, error) {
	o, err := opt.normalize()
	if err != nil {
		return nil, err
	}
	sess, err := fl.Handshake(ctx, t, fl.Hello{Role: fl.RoleActive, Params: he.Linear14.ID})
	if err != nil {
		return nil, err
	}
	bt := fl.Bind(t, sess)
	if err := fl.SendJSON(ctx, bt, TypeRequest, request{Version: requestVersion, Model: modelName, Output: o.Output, Training: training, BalancedPSI: opt.BalancedPSI, BalancedProtocol: balancedProtocol(opt)}); err != nil {
		return nil, err
	}
	ao := align.Options{Progress: opt.Progress, Logger: opt.Logger, BalancedProtocol: opt.BalancedProtocol}
	if !opt.BalancedPSI {
		ao.Cache = opt.PSICache
		if ao.Cache == nil {
			ao.Cache = psi.NewCache("", "")
		}
	}
	al, err := align.AlignWith(ctx, bt, ids, ao)
	if err != nil {
		return nil, err
	}
	var party *he.Party
	if o.Output == Scores {
		if party, err = KeysWith(ctx, bt, sess.Seed[:], opt); err != nil {
			return nil, err
		}
	}
	res, err := score(bt, party, al.Rows)
	if err != nil {
		return nil, err
	}
	out := &Scored{IDs: make([]string, len(al.Rows)), Result: res}
	for i, r := range al.Rows {
		out.IDs[i] = ids[r]
	}
	return out, nil
}
