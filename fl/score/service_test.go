package score

import (
	"context"
	"fmt"
	"github.com/veil-fl/veil/mpc/psi"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/veil-fl/veil/dataset"
	"github.com/veil-fl/veil/fl"
	"github.com/veil-fl/veil/fl/align"
	"github.com/veil-fl/veil/fl/boost"
	"github.com/veil-fl/veil/fl/fltest"
	"github.com/veil-fl/veil/fl/link"
	"github.com/veil-fl/veil/he"
	"github.com/veil-fl/veil/model"
)

// serviceFixture is a center table, the two halves of an LR and of a tree
// ensemble trained on the synthetic pair, and the plaintext logit of every
// enterprise both know.
type serviceFixture struct {
	bank, center *dataset.Table
	lrBank       *model.LRHalf
	lrCenter     *model.LRHalf
	treesBank    *boost.ActiveModel
	treesCenter  *boost.PassiveModel
	wantLR       map[string]float64
	wantTrees    map[string]float64
}

func newServiceFixture(t *testing.T, rows int) *serviceFixture {
	t.Helper()
	bank, center, err := dataset.Synthesize(dataset.SynthOptions{Rows: rows, Seed: 21})
	require.NoError(t, err)
	rb, rc := dataset.Align(bank, center)
	ab, ac := bank.Select(rb), center.Select(rc)
	db, dc := ab.Cols(), ac.Cols()
	f := &serviceFixture{bank: bank, center: center, wantLR: map[string]float64{}, wantTrees: map[string]float64{}}

	half := func(party model.Role, tab *dataset.Table, r *rand.Rand) *model.LRHalf {
		st, err := model.FitStandardizer(tab.X, tab.Cols())
		require.NoError(t, err)
		w := normals(r, tab.Cols(), 0.3)
		return &model.LRHalf{Version: model.LRVersion, Party: party, Features: tab.Columns, Standardizer: st, Weights: w}
	}
	r := rand.New(rand.NewPCG(3, 3))
	f.lrBank, f.lrCenter = half(model.Active, ab, r), half(model.Passive, ac, r)
	f.lrBank.Intercept = -1

	joined := model.JoinColumns(ab.X, db, ac.X, dc)
	g, err := model.TrainGBDT(joined, ab.Labels, db+dc, model.GBDTOptions{Trees: 10, MaxDepth: 3})
	require.NoError(t, err)
	f.treesBank, f.treesCenter, err = boost.SplitGBDT(g, db)
	require.NoError(t, err)
	logits, err := g.PredictLogit(joined, db+dc)
	require.NoError(t, err)
	ub, uc := make([]float64, ab.Rows()), make([]float64, ac.Rows())
	require.NoError(t, f.lrBank.PartialScore(ab.X, ub))
	require.NoError(t, f.lrCenter.PartialScore(ac.X, uc))
	for i, id := range ab.IDs {
		f.wantLR[id] = ub[i] + uc[i]
		f.wantTrees[id] = logits[i]
	}
	return f
}

// serve starts the center's service on loopback with mutual TLS, serving
// banks bank0..bank39 (bank40 has a certificate of the same CA but is not
// on the list) with generous quotas unless the service is adjusted.
func (f *serviceFixture) serve(t *testing.T, o Options, maxSessions int, adjust ...func(*Service)) (addr string, pki *fltest.PKI) {
	t.Helper()
	names := []string{"center"}
	banks := map[string]Quota{}
	for i := range 41 {
		names = append(names, fmt.Sprintf("bank%d", i))
		if i < 40 {
			banks[fmt.Sprintf("bank%d", i)] = Quota{Sessions: 32, ScoresPerDay: 1000}
		}
	}
	pki, err := fltest.NewPKI(names...)
	require.NoError(t, err)
	svc := &Service{Table: f.center, LR: f.lrCenter, Trees: f.treesCenter, Options: o, MaxSessions: maxSessions, Banks: banks}
	for _, a := range adjust {
		a(svc)
	}
	require.NoError(t, svc.Prepare())
	srv, a, err := link.Listen("127.0.0.1:0", svc.Handle, link.GRPCOptions{TLS: pki.ServerTLS("center")})
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		require.NoError(t, srv.Shutdown(ctx), "graceful shutdown")
	})
	return a.String(), pki
}

// bankRequest runs one bank session: a random subset of the bank's
// enterprises plus ids the center does not know.
func (f *serviceFixture) bankRequest(ctx context.Context, addr string, pki *fltest.PKI, k int, modelName string, o Options) (*Scored, error) {
	r := rand.New(rand.NewPCG(uint64(k), 99))
	var ids []string
	var rows []int
	for i, id := range f.bank.IDs {
		if r.IntN(4) > 0 {
			ids, rows = append(ids, id), append(rows, i)
		}
	}
	for j := range 10 {
		ids, rows = append(ids, "unknown-"+strconv.Itoa(k)+"-"+strconv.Itoa(j)), append(rows, 0)
	}
	d := f.bank.Cols()
	x := make([]float64, len(rows)*d)
	for i, row := range rows {
		copy(x[i*d:(i+1)*d], f.bank.X[row*d:(row+1)*d])
	}
	t, err := link.Dial(ctx, addr, link.GRPCOptions{TLS: pki.ClientTLS(fmt.Sprintf("bank%d", k), "center")})
	if err != nil {
		return nil, err
	}
	defer t.Close()
	if modelName == ModelLR {
		return RequestLR(ctx, t, ids, x, f.lrBank, o)
	}
	return RequestTrees(ctx, t, ids, x, d, f.treesBank, o)
}

// check compares a session's answers with the plaintext logits. A band
// may differ only near a cut: within the scores' precision when it comes
// from decrypted scores, within BandEpsilon with band output.
func (f *serviceFixture) check(s *Scored, modelName string, o Options) error {
	want, eps := f.wantLR, BandEpsilon(2)+refSlack
	if modelName == ModelTrees {
		want, eps = f.wantTrees, BandEpsilon(1+len(f.treesCenter.Splits))+refSlack
	}
	if s.Logits != nil {
		eps = scoresPrecision
	}
	if len(s.IDs) == 0 {
		return fmt.Errorf("no enterprise aligned")
	}
	for i, id := range s.IDs {
		z, ok := want[id]
		if !ok {
			return fmt.Errorf("scored %q, which the center does not know", id)
		}
		if s.Logits != nil && math.Abs(s.Logits[i]-z) > 1e-4 {
			return fmt.Errorf("%s: logit %v, plaintext %v", id, s.Logits[i], z)
		}
		if o.Cuts.Len() > 0 && s.Bands[i] != Band(z, o.Cuts) && !nearCut(z, o.Cuts.Logits(), eps) {
			return fmt.Errorf("%s: band %d, plaintext %d (logit %v)", id, s.Bands[i], Band(z, o.Cuts), z)
		}
	}
	return nil
}

// nearCut reports whether z is within eps of a cut, where a band may
// honestly differ.
func nearCut(z float64, cuts []float64, eps float64) bool {
	for _, c := range cuts {
		if math.Abs(z-c) <= eps {
			return true
		}
	}
	return false
}

// TestServiceLoad: 32 concurrent bank sessions against one service over
// gRPC with mutual TLS, half LR and half trees; every answer is checked
// against the plaintext model, and the process's peak memory is reported.
func TestServiceLoad(t *testing.T) {
	f := newServiceFixture(t, 400)
	o := Options{Output: Scores, Cuts: LogitCuts(-2, -1, 0)}
	addr, pki := f.serve(t, o, 32)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	sessions := 32
	if testing.Short() { // the race detector's pass
		sessions = 8
	}
	errs := make([]error, sessions)
	var wg sync.WaitGroup
	start := time.Now()
	for k := range sessions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			modelName := []string{ModelLR, ModelTrees}[k%2]
			s, err := f.bankRequest(ctx, addr, pki, k, modelName, o)
			if err == nil {
				err = f.check(s, modelName, o)
			}
			errs[k] = err
		}()
	}
	wg.Wait()
	for k, err := range errs {
		require.NoError(t, err, "session %d", k)
	}
	t.Logf("%d concurrent sessions answered correctly in %.1f s; peak RSS %s", sessions, time.Since(start).Seconds(), peakRSS())
}

// TestServiceBandsOnly: a service that allows bands only refuses a bank
// asking for scores, and serves bands.
func TestServiceBandsOnly(t *testing.T) {
	f := newServiceFixture(t, 300)
	o := Options{Cuts: LogitCuts(-1.5, 0)}
	addr, pki := f.serve(t, o, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	_, err := f.bankRequest(ctx, addr, pki, 1, ModelLR, Options{Output: Scores})
	require.ErrorContains(t, err, "allows bands")
	// The center fixes the cuts: a bank cannot pick its own thresholds.
	_, err = f.bankRequest(ctx, addr, pki, 3, ModelLR, Options{Cuts: LogitCuts(-1.5, -0.7, 0)})
	require.ErrorIs(t, err, fl.ErrPeerAborted)
	require.ErrorContains(t, err, "cut points")
	s, err := f.bankRequest(ctx, addr, pki, 2, ModelTrees, o)
	require.NoError(t, err)
	require.Nil(t, s.Logits)
	require.NoError(t, f.check(s, ModelTrees, o))
}

// peakRSS reads the process's peak resident memory (Linux), or says why not.
func peakRSS() string {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "unknown"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			return strings.TrimSpace(rest)
		}
	}
	return "unknown"
}

// TestServiceRefusals: over gRPC with mutual TLS, the service refuses a
// certificate of its CA that is not on its list of banks, a bank past its
// quota of sessions per day or of sessions at once, a session past the
// service's MaxSessions (ErrBusy), a session that submits more ids than
// its quota (refused at the announcement, before the ids are read), an
// enterprise scored more often than its daily quota (refused before the
// bank learns which of its ids the center holds), and a bank that stalls
// (it loses its slot after IdleTimeout); every refusal names the rule, and
// the service goes on serving.
func TestServiceRefusals(t *testing.T) {
	f := newServiceFixture(t, 300)
	o := Options{Output: Scores}
	day := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	var clock sync.Mutex
	now := func() time.Time { clock.Lock(); defer clock.Unlock(); return day }
	addr, pki := f.serve(t, o, 8, func(s *Service) {
		s.Banks["bank1"] = Quota{SessionsPerDay: 1}
		s.Banks["bank2"] = Quota{IDs: 10}
		s.Banks["bank3"] = Quota{ScoresPerDay: 1}
		s.Banks["bank6"] = Quota{Sessions: 1}
		s.Banks["bank7"] = Quota{ScoresPerDay: 1}
		// Long enough for a bank on a loaded machine to blind 5000 ids
		// before it announces them (the oversized announcement below).
		s.IdleTimeout = 10 * time.Second
		s.Now = now
	})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	t.Run("not on the list", func(t *testing.T) {
		_, err := f.bankRequest(ctx, addr, pki, 40, ModelLR, o)
		require.ErrorIs(t, err, fl.ErrPeerAborted)
		require.ErrorContains(t, err, "not a bank this service serves")
	})
	t.Run("sessions per day", func(t *testing.T) {
		s, err := f.bankRequest(ctx, addr, pki, 1, ModelLR, o)
		require.NoError(t, err)
		require.NoError(t, f.check(s, ModelLR, o))
		_, err = f.bankRequest(ctx, addr, pki, 1, ModelLR, o)
		require.ErrorContains(t, err, "quota of sessions per day")
		clock.Lock()
		day = day.Add(24 * time.Hour)
		clock.Unlock()
		_, err = f.bankRequest(ctx, addr, pki, 1, ModelLR, o)
		require.NoError(t, err, "a new day")
	})
	t.Run("ids per session", func(t *testing.T) {
		_, err := f.bankRequest(ctx, addr, pki, 2, ModelLR, o)
		require.ErrorIs(t, err, fl.ErrPeerAborted)
		require.ErrorContains(t, err, "more ids than allowed: 240 ids, at most 10")
	})
	t.Run("an oversized announcement", func(t *testing.T) {
		tr, err := link.Dial(ctx, addr, link.GRPCOptions{TLS: pki.ClientTLS("bank2", "center")})
		require.NoError(t, err)
		defer tr.Close()
		ids := make([]string, 5000) // 160 KB of blinded ids, over the 300-row table's and the quota's
		for i := range ids {
			ids[i] = fmt.Sprintf("probe-%d", i)
		}
		_, err = RequestLR(ctx, tr, ids, make([]float64, len(ids)*len(f.lrBank.Features)), f.lrBank, o)
		require.ErrorIs(t, err, fl.ErrPeerAborted)
		require.ErrorContains(t, err, "over this session's")
	})
	t.Run("scores per enterprise and day", func(t *testing.T) {
		_, err := f.bankRequest(ctx, addr, pki, 3, ModelTrees, o)
		require.NoError(t, err)
		_, err = f.bankRequest(ctx, addr, pki, 3, ModelTrees, o)
		require.ErrorContains(t, err, "quota of scores per enterprise and day")
		_, err = f.bankRequest(ctx, addr, pki, 3, ModelLR, o)
		require.NoError(t, err, "another model has its own count")
	})
	// The quota of scores per enterprise is charged when the center learns
	// the intersection: in the balanced alignment before the bank learns
	// which of its ids the center holds, so a refused bank learns no
	// membership; in the unbalanced one (the default) after (the bank finds
	// its ids in its cache), so a refused session shows membership but
	// scores nothing. Each mode on a service of its own, with bank7's quota
	// of one score a day.
	for _, mode := range []string{"balanced kkrt", "balanced ecdh", "unbalanced"} {
		balanced := mode != "unbalanced"
		t.Run("the quota is charged before scoring/"+mode, func(t *testing.T) {
			om := o
			om.BalancedPSI = balanced
			if mode == "balanced ecdh" {
				om.BalancedProtocol = align.ECDH
			}
			addr, pki := f.serve(t, om, 8, func(s *Service) { s.Banks["bank7"] = Quota{ScoresPerDay: 1} })
			// Ids both parties hold, in the bank's order, and ids only the
			// bank holds.
			held := map[string]bool{}
			for _, id := range f.center.IDs {
				held[id] = true
			}
			var common []string
			for _, id := range f.bank.IDs {
				if held[id] {
					common = append(common, id)
				}
			}
			require.Greater(t, len(common), 100)
			a, b := common[:40], common[40:100]
			unknown := []string{"unknown-7-0", "unknown-7-1", "unknown-7-2"}
			s, err := f.requestIDs(ctx, addr, pki, 7, a, om, nil)
			require.NoError(t, err)
			require.Len(t, s.IDs, len(a))
			// a's enterprises are at their quota: a session with them and
			// b's is refused before any scoring.
			tap := &recvTap{}
			_, err = f.requestIDs(ctx, addr, pki, 7, append(append(append([]string(nil), a...), b...), unknown...), om, tap.wrap)
			require.ErrorIs(t, err, fl.ErrPeerAborted)
			require.ErrorContains(t, err, "40 of the enterprises")
			require.ErrorContains(t, err, "quota of scores per enterprise and day")
			require.NotContains(t, err.Error(), strconv.Itoa(len(a)+len(b)), "the size of the intersection")
			require.False(t, tap.saw(align.TypeDigest))
			switch mode {
			case "balanced ecdh":
				require.True(t, tap.saw(align.TypeBlinded), "the session reached the intersection")
				require.False(t, tap.saw(align.TypeReblinded), "the bank received the center's reblinded ids")
			case "balanced kkrt":
				// The center is KKRT's receiver (its hook): the bank got its
				// setup and codes, not the matches.
				require.Equal(t, 2, tap.count(align.TypeKKRT), "the bank received the center's matches")
			default:
				require.True(t, tap.saw(align.TypeReply), "the bank found its ids in its cache")
			}
			// The refused session charged nothing: b's enterprises score once.
			s, err = f.requestIDs(ctx, addr, pki, 7, append(append([]string(nil), b...), unknown...), om, nil)
			require.NoError(t, err)
			require.Len(t, s.IDs, len(b))
			require.NoError(t, f.check(s, ModelLR, om))
		})
	}
	t.Run("sessions at once", func(t *testing.T) {
		held, err := holdSession(ctx, addr, pki, 6)
		require.NoError(t, err)
		defer held.Close()
		_, err = f.bankRequest(ctx, addr, pki, 6, ModelLR, o)
		require.ErrorIs(t, err, fl.ErrPeerAborted)
		require.ErrorContains(t, err, "quota of sessions at once")
	})
	t.Run("the service's MaxSessions", func(t *testing.T) {
		addr, pki := f.serve(t, o, 1)
		held, err := holdSession(ctx, addr, pki, 8)
		require.NoError(t, err)
		defer held.Close()
		_, err = f.bankRequest(ctx, addr, pki, 9, ModelLR, o)
		require.ErrorIs(t, err, fl.ErrPeerAborted)
		require.ErrorContains(t, err, ErrBusy.Error())
		require.ErrorContains(t, err, "MaxSessions")
	})
	t.Run("a stalled bank loses its slot", func(t *testing.T) {
		tr, err := link.Dial(ctx, addr, link.GRPCOptions{TLS: pki.ClientTLS("bank4", "center")})
		require.NoError(t, err)
		defer tr.Close()
		start := time.Now()
		for err == nil { // read the center's hello, never answer; the center gives up
			_, err = tr.Recv(ctx)
		}
		require.ErrorIs(t, err, fl.ErrPeerAborted)
		require.ErrorContains(t, err, "idle")
		require.Less(t, time.Since(start), 40*time.Second)
	})
	s, err := f.bankRequest(ctx, addr, pki, 5, ModelLR, o)
	require.NoError(t, err, "the service still serves")
	require.NoError(t, f.check(s, ModelLR, o))
}

// requestIDs runs one LR session of bank k for the given ids (features
// from the bank's table, zeros for ids it does not hold), over wrap(t) when
// wrap is not nil.
func (f *serviceFixture) requestIDs(ctx context.Context, addr string, pki *fltest.PKI, k int, ids []string, o Options, wrap func(fl.Transport) fl.Transport) (*Scored, error) {
	row := map[string]int{}
	for i, id := range f.bank.IDs {
		row[id] = i
	}
	d := f.bank.Cols()
	x := make([]float64, len(ids)*d)
	for i, id := range ids {
		if r, ok := row[id]; ok {
			copy(x[i*d:(i+1)*d], f.bank.X[r*d:(r+1)*d])
		}
	}
	t, err := link.Dial(ctx, addr, link.GRPCOptions{TLS: pki.ClientTLS(fmt.Sprintf("bank%d", k), "center")})
	if err != nil {
		return nil, err
	}
	defer t.Close()
	var tr fl.Transport = t
	if wrap != nil {
		tr = wrap(t)
	}
	return RequestLR(ctx, tr, ids, x, f.lrBank, o)
}

// recvTap records the types of the messages a bank receives.
type recvTap struct {
	fl.Transport
	mu     sync.Mutex
	types  map[string]bool
	counts map[string]int
}

func (r *recvTap) wrap(t fl.Transport) fl.Transport { r.Transport = t; return r }

func (r *recvTap) Unwrap() fl.Transport { return r.Transport }

func (r *recvTap) Recv(ctx context.Context) (fl.Message, error) {
	m, err := r.Transport.Recv(ctx)
	if err == nil {
		r.mu.Lock()
		if r.types == nil {
			r.types = map[string]bool{}
		}
		r.types[m.Type] = true
		if r.counts == nil {
			r.counts = map[string]int{}
		}
		r.counts[m.Type]++
		r.mu.Unlock()
	}
	return m, err
}

func (r *recvTap) count(typ string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.counts[typ]
}

func (r *recvTap) saw(typ string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.types[typ]
}

// holdSession opens an LR session (Scores) as bank k and stops once the
// center has sent its encoded table: it has admitted the bank and holds one
// of its slots until the transport closes (or IdleTimeout).
func holdSession(ctx context.Context, addr string, pki *fltest.PKI, k int) (fl.Transport, error) {
	t, err := link.Dial(ctx, addr, link.GRPCOptions{TLS: pki.ClientTLS(fmt.Sprintf("bank%d", k), "center")})
	if err != nil {
		return nil, err
	}
	err = func() error {
		sess, err := fl.Handshake(ctx, t, fl.Hello{Role: fl.RoleActive, Params: he.Linear14.ID})
		if err != nil {
			return err
		}
		bt := fl.Bind(t, sess)
		if err := fl.SendJSON(ctx, bt, TypeRequest, request{Version: requestVersion, Model: ModelLR, Output: Scores}); err != nil {
			return err
		}
		st, err := psi.NewCache("", "").State().MarshalBinary()
		if err != nil {
			return err
		}
		if err := bt.Send(ctx, fl.Message{Type: align.TypeCacheState, Payload: st}); err != nil {
			return err
		}
		_, err = fl.Expect(ctx, bt, align.TypeUpdate)
		return err
	}()
	if err != nil {
		t.Close()
		return nil, err
	}
	return t, nil
}

// TestQuotaBounds: a daily quota of scorings beyond what the service
// counts is refused when the service is prepared, and the largest allowed
// counts to its end without wrapping around.
func TestQuotaBounds(t *testing.T) {
	f := newServiceFixture(t, 100)
	svc := &Service{Table: f.center, LR: f.lrCenter, Banks: map[string]Quota{"bank0": {ScoresPerDay: MaxScoresPerDay + 1}}}
	err := svc.Prepare()
	require.ErrorIs(t, err, ErrOptions)
	require.ErrorContains(t, err, fmt.Sprintf("at most %d", MaxScoresPerDay))

	svc = &Service{Table: f.center, LR: f.lrCenter, Banks: map[string]Quota{"bank0": {ScoresPerDay: MaxScoresPerDay}}}
	require.NoError(t, svc.Prepare())
	b := svc.banks["bank0"]
	for range MaxScoresPerDay {
		require.NoError(t, svc.countScores("bank0", b, ModelLR, []int{0, 1}))
	}
	err = svc.countScores("bank0", b, ModelLR, []int{1})
	require.ErrorIs(t, err, ErrQuota)
	require.ErrorContains(t, err, "quota of scores per enterprise and day")
	require.EqualValues(t, MaxScoresPerDay, b.scored[ModelLR][0])
	require.NoError(t, svc.countScores("bank0", b, ModelTrees, []int{0}), "another model has its own count")
}

// TestRequestVersion: a bank of an older build (its request has no
// version: it would align in the balanced mode's messages) is refused at
// its request with the versions named, not at the first PSI message.
func TestRequestVersion(t *testing.T) {
	f := newServiceFixture(t, 100)
	addr, pki := f.serve(t, Options{Output: Scores}, 4)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	tr, err := link.Dial(ctx, addr, link.GRPCOptions{TLS: pki.ClientTLS("bank0", "center")})
	require.NoError(t, err)
	defer tr.Close()
	sess, err := fl.Handshake(ctx, tr, fl.Hello{Role: fl.RoleActive, Params: he.Linear14.ID})
	require.NoError(t, err)
	bt := fl.Bind(tr, sess)
	require.NoError(t, fl.SendJSON(ctx, bt, TypeRequest, request{Model: ModelLR, Output: Scores}))
	_, err = fl.Expect(ctx, bt, align.TypeUpdate)
	require.ErrorIs(t, err, fl.ErrPeerAborted)
	require.ErrorContains(t, err, "version 1, this center speaks 4")
}
