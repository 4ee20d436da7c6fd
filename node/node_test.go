package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/veil-fl/veil/dataset"
	"github.com/veil-fl/veil/fl"
	"github.com/veil-fl/veil/fl/link"
	"github.com/veil-fl/veil/fl/pki"
	"github.com/veil-fl/veil/node/config"
	"github.com/veil-fl/veil/node/registry"
)

// bankBColumns are the center's columns bank-b's policy allows.
var bankBColumns = []string{"tax_arrears", "social_insurance_arrears_months", "serious_dishonesty"}

// fixture is a center serving bank-a and bank-b on loopback with a pilot
// PKI, and their data, in a temporary folder.
type fixture struct {
	dir    string
	center *Center
	addr   string
	cancel context.CancelFunc
	served chan error
	bank   *dataset.Table
}

const centerYAML = `listen: 127.0.0.1:0
cert: center.pem
key: center-key.pem
ca: ca.pem
registry: center-models/
tables:
  enterprises: {source: center.csv, id: id}
  loans: {source: center.csv, id: id}
banks:
  bank-a: {tables: [enterprises, loans], models: [lr, sbt, woe], outputs: [bands, approve, scores]}
  bank-b: {tables: [enterprises], models: [lr], outputs: [bands], columns: [%s], max_rows: 5000}
limits:
  trainings: %d
  per_bank: %d
  session_timeout: 5m
  idle_timeout: 30s
`

// newFixture writes the PKI (center, bank-a, bank-b and bank-x, which the
// config does not name), synthetic tables of rows enterprises and the
// center's config, and starts the center.
func newFixture(t *testing.T, rows, trainings, perBank int) *fixture {
	t.Helper()
	return newFixtureWith(t, rows, trainings, perBank, "")
}

// newFixtureWith is newFixture with more lines of center.yaml (audit:,
// metrics:).
func newFixtureWith(t *testing.T, rows, trainings, perBank int, extra string) *fixture {
	t.Helper()
	dir := t.TempDir()
	pilot, err := pki.NewPilot("center", "bank-a", "bank-b", "bank-x")
	require.NoError(t, err)
	require.NoError(t, pilot.WritePEM(dir))
	bank, center, err := dataset.Synthesize(dataset.SynthOptions{Rows: rows, Seed: 7})
	require.NoError(t, err)
	writeCSV(t, filepath.Join(dir, "center.csv"), center)
	writeCSV(t, filepath.Join(dir, "bank.csv"), bank)
	applicants := *bank
	applicants.Labels = nil
	writeCSV(t, filepath.Join(dir, "applicants.csv"), &applicants)
	path := filepath.Join(dir, "center.yaml")
	require.NoError(t, os.WriteFile(path, append(fmt.Appendf(nil, centerYAML, strings.Join(bankBColumns, ", "), trainings, perBank), extra...), 0o644))
	cfg, err := config.LoadCenter(path)
	require.NoError(t, err)
	c, err := NewCenter(cfg, testLogger(t))
	require.NoError(t, err)
	require.NoError(t, c.Listen())
	ctx, cancel := context.WithCancel(context.Background())
	f := &fixture{dir: dir, center: c, addr: c.Addr().String(), cancel: cancel, served: make(chan error, 1), bank: bank}
	go func() { f.served <- c.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-f.served:
		case <-time.After(time.Minute):
			t.Error("the center did not stop within a minute")
		}
	})
	return f
}

func testLogger(t *testing.T) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	return slog.New(slog.DiscardHandler)
}

func writeCSV(t *testing.T, path string, tb *dataset.Table) {
	t.Helper()
	f, err := os.Create(path)
	require.NoError(t, err)
	require.NoError(t, tb.WriteCSV(f))
	require.NoError(t, f.Close())
}

// dial opens a session to the center as bank (a certificate of the pilot).
func (f *fixture) dial(t *testing.T, bank string) (fl.Transport, error) {
	t.Helper()
	id, err := fl.LoadTLS(filepath.Join(f.dir, bank+".pem"), filepath.Join(f.dir, bank+"-key.pem"), filepath.Join(f.dir, "ca.pem"))
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return link.Dial(ctx, f.addr, link.GRPCOptions{TLS: id.ClientTLS("center"), Logger: slog.New(slog.DiscardHandler)})
}

// ask sends req as bank and returns the center's answer; the session stays
// open until the test closes the transport it returns.
func (f *fixture) ask(t *testing.T, bank string, req request) (fl.Transport, *reply, error) {
	t.Helper()
	tr, err := f.dial(t, bank)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req.Version = requestVersion
	t.Cleanup(func() { tr.Close() }) // a session left open holds the center's shutdown
	rep, err := ask(ctx, tr, req)
	return tr, rep, err
}

// askClose is ask for a request whose session the test does not use.
func (f *fixture) askClose(t *testing.T, bank string, req request) (*reply, error) {
	tr, rep, err := f.ask(t, bank, req)
	tr.Close()
	return rep, err
}

func trainReq(table, kind string) request {
	return request{Kind: KindTrain, Table: table, Model: kind, Name: "sme-credit", Rows: 100}
}

const training1 = "00112233445566778899aabbccddeeff"

func scoreReq(kind, output string, version int, training string) request {
	return request{Kind: KindScore, Model: kind, Name: "sme-credit", ModelVersion: version, Training: training, Output: output, Rows: 100}
}

// putCenterHalf stores a (fake) center half of bank's in the center's
// registry: the policy and training checks come before any file is read.
func (f *fixture) putCenterHalf(t *testing.T, bank, kind, training string, columns []string) registry.Meta {
	t.Helper()
	m, err := f.center.reg.Put(registry.Meta{Owner: bank, Name: "sme-credit", Kind: kind, Created: time.Now(), Training: training,
		Table: "enterprises", Columns: columns}, map[string][]byte{halfFile(fl.RolePassive, kind): []byte("{}")})
	require.NoError(t, err)
	return m
}

// TestRefusals: every request outside a bank's policy is refused with an
// error that matches ErrRefused and names the rule with its value; a
// request for a model the center holds no half of, or of another
// training, is refused with ErrMismatch; requests inside the policy are
// granted.
func TestRefusals(t *testing.T) {
	f := newFixture(t, 300, 2, 4)
	f.putCenterHalf(t, "bank-b", "lr", training1, []string{"tax_paid_annual"}) // a column bank-b may not use
	f.putCenterHalf(t, "bank-a", "lr", training1, []string{"tax_paid_annual"})
	for _, tc := range []struct {
		name   string
		bank   string
		req    request
		is     error
		substr string
	}{
		{"train sbt", "bank-b", trainReq("enterprises", "sbt"), ErrRefused, "bank-b may not train sbt (banks.bank-b.models: [lr])"},
		{"train woe", "bank-b", trainReq("enterprises", "woe"), ErrRefused, "banks.bank-b.models: [lr]"},
		{"table", "bank-b", trainReq("loans", "lr"), ErrRefused, `table "loans" (banks.bank-b.tables: [enterprises])`},
		{"unknown table", "bank-a", trainReq("people", "lr"), ErrRefused, "banks.bank-a.tables: [enterprises, loans]"},
		{"rows", "bank-b", func() request { r := trainReq("enterprises", "lr"); r.Rows = 5001; return r }(), ErrRefused, "5001 rows, at most 5000 a session (banks.bank-b.max_rows)"},
		{"rows over the limit", "bank-a", func() request { r := trainReq("enterprises", "lr"); r.Rows = 2_000_000; return r }(), ErrRefused, "(limits.rows)"},
		{"output scores", "bank-b", scoreReq("lr", OutputScores, 1, training1), ErrRefused, "bank-b may not ask for scores (banks.bank-b.outputs: [bands])"},
		{"score sbt", "bank-b", scoreReq("sbt", OutputBands, 1, training1), ErrRefused, "banks.bank-b.models: [lr]"},
		{"columns", "bank-b", scoreReq("lr", OutputBands, 1, training1), ErrRefused, `a column of the center's that bank-b may no longer use (banks.bank-b.columns)`},
		{"other training", "bank-a", scoreReq("lr", OutputBands, 1, strings.Repeat("ab", 16)), ErrMismatch, "training " + training1 + ", the bank's the lr model of training abab"},
		{"other kind", "bank-a", scoreReq("sbt", OutputBands, 1, training1), ErrMismatch, "is the lr model"},
		{"no such version", "bank-a", scoreReq("lr", OutputBands, 2, training1), ErrMismatch, "holds no half of bank-a's model sme-credit version 2"},
		{"granted training", "bank-a", trainReq("loans", "woe"), nil, ""},
		{"granted training on the policy's columns", "bank-b", trainReq("enterprises", "lr"), nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := f.askClose(t, tc.bank, tc.req)
			if tc.is == nil {
				require.NoError(t, err)
				require.True(t, rep.Granted)
				if tc.bank == "bank-b" {
					require.Equal(t, len(bankBColumns), rep.Columns, "the grant says how many columns the center trains with")
				}
				return
			}
			require.ErrorIs(t, err, tc.is)
			require.Contains(t, err.Error(), tc.substr)
			for _, col := range append(bankBColumns, "tax_paid_annual") {
				require.NotContains(t, err.Error(), col, "a refusal names no column of the center's")
			}
			var perr *PolicyError
			require.ErrorAs(t, err, &perr)
		})
	}
}

// TestUnknownCertificate: a certificate of the center's CA whose name the
// config does not list, and one of another CA, are refused at the TLS
// handshake.
func TestUnknownCertificate(t *testing.T) {
	f := newFixture(t, 200, 2, 4)
	_, err := f.dial(t, "bank-x")
	require.Error(t, err)
	require.Contains(t, err.Error(), "fl: dial")

	other, err := pki.NewPilot("center", "bank-a")
	require.NoError(t, err)
	id, err := other.Identity("bank-a")
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err = link.Dial(ctx, f.addr, link.GRPCOptions{TLS: id.ClientTLS("center"), Logger: slog.New(slog.DiscardHandler)})
	require.Error(t, err)

	// The listed banks are served.
	_, err = f.askClose(t, "bank-a", trainReq("enterprises", "lr"))
	require.NoError(t, err)
}

// TestUnknownBankAtRequest: a session whose verified name is not in the
// banks is refused at the request too (defence in depth behind TLS),
// naming the rule.
func TestUnknownBankAtRequest(t *testing.T) {
	f := newFixture(t, 200, 2, 4)
	ta, tc := fl.NewPipe()
	defer ta.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- f.center.handle(fl.WithPeerIdentity(ctx, fl.Identity{Name: "bank-x"}), tc)
	}()
	_, err := ask(ctx, ta, request{Version: requestVersion, Kind: KindTrain, Table: "enterprises", Model: "lr", Name: "m", Rows: 1})
	require.ErrorIs(t, err, ErrRefused)
	require.Contains(t, err.Error(), `no bank "bank-x" in the center's banks (banks)`)
	require.NoError(t, <-done)
}

// TestBusy: over a limit the bank gets ErrBusy naming it, the running
// session is undisturbed, and once it ends the same request is granted.
func TestBusy(t *testing.T) {
	f := newFixture(t, 200, 1, 1)
	held, _, err := f.ask(t, "bank-a", trainReq("enterprises", "lr"))
	require.NoError(t, err)

	_, err = f.askClose(t, "bank-b", trainReq("enterprises", "lr"))
	require.ErrorIs(t, err, ErrBusy)
	require.Contains(t, err.Error(), "center busy: 1 trainings running (limits.trainings)")
	_, err = f.askClose(t, "bank-a", trainReq("enterprises", "lr"))
	require.ErrorIs(t, err, ErrBusy)
	require.Contains(t, err.Error(), "1 sessions of bank-a running (limits.per_bank)")

	// The held session was not disturbed: the center still waits for its
	// job's handshake. Ending it frees the slots.
	require.NoError(t, held.Send(context.Background(), fl.Message{Type: "ping"}))
	held.Close()
	require.Eventually(t, func() bool {
		rep, err := f.askClose(t, "bank-b", trainReq("enterprises", "lr"))
		return err == nil && rep.Granted
	}, 30*time.Second, 100*time.Millisecond)
}

// TestGracefulShutdown: once Serve's ctx ends new sessions are refused,
// a running one goes on, and Serve returns when it ends.
func TestGracefulShutdown(t *testing.T) {
	f := newFixture(t, 200, 2, 4)
	held, _, err := f.ask(t, "bank-a", trainReq("enterprises", "lr"))
	require.NoError(t, err)
	f.cancel()
	require.Eventually(t, func() bool {
		tr, err := f.dial(t, "bank-b")
		if err != nil {
			return true
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, err = ask(ctx, tr, request{Version: requestVersion, Kind: KindTrain, Table: "enterprises", Model: "lr", Name: "m", Rows: 1})
		tr.Close()
		return err != nil
	}, 30*time.Second, 50*time.Millisecond, "new sessions are refused while draining")
	select {
	case err := <-f.served:
		t.Fatalf("Serve returned (%v) while a session runs", err)
	case <-time.After(200 * time.Millisecond):
	}
	held.Close()
	select {
	case err := <-f.served:
		require.NoError(t, err)
		f.served <- nil // for the cleanup
	case <-time.After(time.Minute):
		t.Fatal("Serve did not return after the last session ended")
	}
}

// TestNewCenterChecksColumns: a policy naming a column the table lacks is
// an error naming the key.
func TestNewCenterChecksColumns(t *testing.T) {
	dir := t.TempDir()
	pilot, err := pki.NewPilot("center", "bank-a", "bank-b")
	require.NoError(t, err)
	require.NoError(t, pilot.WritePEM(dir))
	_, center, err := dataset.Synthesize(dataset.SynthOptions{Rows: 50, Seed: 1})
	require.NoError(t, err)
	writeCSV(t, filepath.Join(dir, "center.csv"), center)
	path := filepath.Join(dir, "center.yaml")
	require.NoError(t, os.WriteFile(path, fmt.Appendf(nil, centerYAML, "tax_arrears, no_such_column", 2, 4), 0o644))
	cfg, err := config.LoadCenter(path)
	require.NoError(t, err)
	_, err = NewCenter(cfg, nil)
	require.Error(t, err)
	require.Contains(t, err.Error(), "banks.bank-b.columns")
	require.Contains(t, err.Error(), "no_such_column")
}

// TestReload: a changed table is served to new sessions after Reload;
// the tables a running session took stay as they were.
func TestReload(t *testing.T) {
	f := newFixture(t, 200, 2, 4)
	before := f.center.tables.Load()
	require.Equal(t, 200, before.tables["enterprises"].Rows())
	_, center, err := dataset.Synthesize(dataset.SynthOptions{Rows: 120, Seed: 9})
	require.NoError(t, err)
	writeCSV(t, filepath.Join(f.dir, "center.csv"), center)
	require.NoError(t, f.center.Reload(context.Background()))
	after := f.center.tables.Load()
	require.Equal(t, 120, after.tables["enterprises"].Rows())
	require.Equal(t, 200, before.tables["enterprises"].Rows(), "a running session's tables do not change")
	require.Equal(t, before.gen+1, after.gen)

	// A broken source keeps the tables served.
	require.NoError(t, os.WriteFile(filepath.Join(f.dir, "center.csv"), []byte("id,a\nx,1\nx,2\n"), 0o644))
	require.Error(t, f.center.Reload(context.Background()))
	require.Same(t, after, f.center.tables.Load())
}

// jobYAML and scoreYAML are the banks' configs (center's address first).
const jobYAML = `center: %s
cert: %s.pem
key: %s-key.pem
ca: ca.pem
registry: %s-models/
data: {source: bank.csv, id: id, label: y}
table: enterprises
model: %s
name: sme-credit
%s
`

const scoreYAML = `center: %s
cert: %s.pem
key: %s-key.pem
ca: ca.pem
registry: %s-models/
data: {source: applicants.csv, id: id}
model: sme-credit
output: %s
out: %s-out/
`

func (f *fixture) jobConfig(t *testing.T, bank, kind, settings string) *config.Job {
	t.Helper()
	path := filepath.Join(f.dir, bank+"-"+kind+"-job.yaml")
	require.NoError(t, os.WriteFile(path, fmt.Appendf(nil, jobYAML, f.addr, bank, bank, bank, kind, settings), 0o644))
	cfg, err := config.LoadJob(path)
	require.NoError(t, err)
	return cfg
}

func (f *fixture) scoreConfig(t *testing.T, bank, output string) *config.Score {
	t.Helper()
	path := filepath.Join(f.dir, bank+"-"+output+"-score.yaml")
	require.NoError(t, os.WriteFile(path, fmt.Appendf(nil, scoreYAML, f.addr, bank, bank, bank, output, bank), 0o644))
	cfg, err := config.LoadScore(path)
	require.NoError(t, err)
	return cfg
}

// TestTrainAndScore: bank-a (SBT) and bank-b (LR on its three columns)
// train at once through the node; both registries hold halves of the same
// trainings with their digests; each bank then scores its enterprises with
// its registered model; bank-b's requests for SBT and for scores are
// refused naming the rule, and a bank half of another training is
// refused at scoring.
func TestTrainAndScore(t *testing.T) {
	if testing.Short() {
		t.Skip("two federated trainings and scorings: not in -short")
	}
	f := newFixture(t, 600, 2, 4)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	jobs := map[string]*config.Job{
		"bank-a": f.jobConfig(t, "bank-a", "sbt", "sbt: {trees: 2, depth: 2}"),
		"bank-b": f.jobConfig(t, "bank-b", "lr", "lr: {epochs: 2}"),
	}
	results := map[string]*TrainResult{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for bank, cfg := range jobs {
		wg.Go(func() {
			r, err := Train(ctx, cfg, testLogger(t).With("party", bank))
			if err != nil {
				errs <- fmt.Errorf("%s: %w", bank, err)
				return
			}
			mu.Lock()
			results[bank] = r
			mu.Unlock()
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	for bank, r := range results {
		t.Logf("%s: %+v", bank, *r)
		require.Equal(t, 1, r.Version)
		require.Equal(t, 1, r.CenterVersion)
		require.Greater(t, r.RowsAligned, 300)
		require.Greater(t, r.AUC, 0.5, "%s's model learned something", bank)
		require.Greater(t, r.BytesSent, uint64(0))

		own, err := registry.Open(filepath.Join(f.dir, bank+"-models"))
		require.NoError(t, err)
		bm, err := own.Get("", "sme-credit", 0)
		require.NoError(t, err)
		cm, err := f.center.reg.Get(bank, "sme-credit", r.CenterVersion)
		require.NoError(t, err)
		require.Equal(t, r.Training, bm.Training)
		require.Equal(t, bm.Training, cm.Training, "both halves record the same training")
		require.Equal(t, bm.AlignedDigest, cm.AlignedDigest)
		require.Equal(t, jobs[bank].Digest, bm.ConfigDigest)
		require.Equal(t, jobs[bank].Digest, cm.ConfigDigest)
		require.Equal(t, r.AUC, bm.Metrics["auc"])
		require.Equal(t, "enterprises", cm.Table)
	}
	require.Equal(t, len(bankBColumns), results["bank-b"].CenterColumns)
	cm, err := f.center.reg.Get("bank-b", "sme-credit", 1)
	require.NoError(t, err)
	require.ElementsMatch(t, bankBColumns, cm.Columns, "the center trained bank-b on its policy's columns only")
	require.Greater(t, results["bank-a"].CenterColumns, len(bankBColumns))

	// Each bank scores its enterprises with its registered model.
	for _, bank := range []string{"bank-a", "bank-b"} {
		res, err := Score(ctx, f.scoreConfig(t, bank, OutputBands), testLogger(t))
		require.NoError(t, err, bank)
		t.Logf("%s scoring: %+v", bank, *res)
		require.Equal(t, f.bank.Rows(), res.Rows)
		require.Greater(t, res.Scored, 300)
		sum := 0
		for _, c := range res.Grades {
			sum += c
		}
		require.Equal(t, res.Scored, sum)
		b, err := os.ReadFile(filepath.Join(res.Out, "grades.csv"))
		require.NoError(t, err)
		require.Equal(t, res.Scored+1, strings.Count(string(b), "\n"))
		w, err := os.ReadFile(filepath.Join(res.Out, "whitelist.csv"))
		require.NoError(t, err)
		require.Equal(t, res.Whitelisted+1, strings.Count(string(w), "\n"))
	}

	// bank-b asking for scores, or to train SBT, is refused naming the rule.
	_, err = Score(ctx, f.scoreConfig(t, "bank-b", OutputScores), nil)
	require.ErrorIs(t, err, ErrRefused)
	require.Contains(t, err.Error(), "banks.bank-b.outputs: [bands]")
	_, err = Train(ctx, f.jobConfig(t, "bank-b", "sbt", ""), nil)
	require.ErrorIs(t, err, ErrRefused)
	require.Contains(t, err.Error(), "bank-b may not train sbt (banks.bank-b.models: [lr])")

	// bank-a's approve output: one cut, approved or not.
	res, err := Score(ctx, f.scoreConfig(t, "bank-a", OutputApprove), nil)
	require.NoError(t, err)
	require.Len(t, res.Grades, 2)
	require.Equal(t, res.Grades[0], res.Whitelisted)

	// A bank half of another training: bank-b's registry gets a version 2
	// whose training differs from the center's version 1.
	own, err := registry.Open(filepath.Join(f.dir, "bank-b-models"))
	require.NoError(t, err)
	bm, err := own.Get("", "sme-credit", 1)
	require.NoError(t, err)
	files := map[string][]byte{}
	for _, name := range bm.Files {
		if name == registry.MetaFile {
			continue
		}
		b, err := own.ReadFile(bm, name)
		require.NoError(t, err)
		files[name] = b
	}
	forged := bm
	forged.Version, forged.Training = 2, strings.Repeat("0f", 16)
	forged.Metrics = map[string]float64{"center_version": 1}
	_, err = own.Put(forged, files)
	require.NoError(t, err)
	_, err = Score(ctx, f.scoreConfig(t, "bank-b", OutputBands), nil)
	require.ErrorIs(t, err, ErrMismatch)
	require.Contains(t, err.Error(), "halves of different trainings make no model")
	require.True(t, slices.Contains(bm.Files, halfFile(fl.RoleActive, "lr")))
	require.False(t, errors.Is(err, ErrRefused))
}

// TestScorecardScoring: bank-a trains a WOE scorecard through the node and
// scores with it (bands, then scores with its points): both registries
// record the scaling, which the training id covers.
func TestScorecardScoring(t *testing.T) {
	if testing.Short() {
		t.Skip("a federated scorecard training and two scorings: not in -short")
	}
	f := newFixture(t, 600, 2, 4)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	r, err := Train(ctx, f.jobConfig(t, "bank-a", "woe", "woe: {bins: 8, pdo: 40}\nlr: {epochs: 2}"), testLogger(t))
	require.NoError(t, err)
	require.Greater(t, r.AUC, 0.5)
	cm, err := f.center.reg.Get("bank-a", "sme-credit", r.CenterVersion)
	require.NoError(t, err)
	require.Equal(t, 40.0, cm.Metrics["pdo"], "the center records the bank's scaling")
	for _, output := range []string{OutputBands, OutputScores} {
		res, err := Score(ctx, f.scoreConfig(t, "bank-a", output), testLogger(t))
		require.NoError(t, err, output)
		require.Greater(t, res.Scored, 300)
		if output == OutputScores {
			g, err := os.ReadFile(filepath.Join(res.Out, "grades.csv"))
			require.NoError(t, err)
			require.Contains(t, string(g), "probability_of_default,points")
		}
	}
}
