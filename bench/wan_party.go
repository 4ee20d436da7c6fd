package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math"
	"net"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/veil-fl/veil/dataset"
	"github.com/veil-fl/veil/fl"
	"github.com/veil-fl/veil/fl/boost"
	"github.com/veil-fl/veil/fl/link"
	"github.com/veil-fl/veil/fl/vlr"
	"github.com/veil-fl/veil/job"
	"github.com/veil-fl/veil/model"
)

// partyResult is what one party's process of a WAN job prints, as one JSON
// line on its standard output.
type partyResult struct {
	Party string `json:"party"` // bank or center
	// Seconds is the job's wall time at this party: from dialing (bank) or
	// listening (center) to the job's end; TrainSeconds the model's
	// training alone.
	Seconds      float64 `json:"seconds"`
	TrainSeconds float64 `json:"train_seconds"`
	// The job's traffic at this end (fl.Stats: frames with their gRPC
	// prefix) and the model's share of it, both ways.
	Sent       uint64 `json:"sent"`
	Recv       uint64 `json:"recv"`
	SentMsgs   uint64 `json:"sent_msgs"`
	RecvMsgs   uint64 `json:"recv_msgs"`
	ModelBytes uint64 `json:"model_bytes"`
	// The bank's breakdown of the model's bytes and time: its setup and
	// key generation (to the first epoch or tree), and its epochs or trees
	// (to the last one's end; the test scoring follows).
	KeyBytes    uint64  `json:"key_bytes,omitempty"`
	LoopBytes   uint64  `json:"loop_bytes,omitempty"`
	KeySeconds  float64 `json:"key_seconds,omitempty"`
	LoopSeconds float64 `json:"loop_seconds,omitempty"`
	// Kinds counts the bank's messages by type, both ways: payload bytes
	// (the frames' headers and prefixes aside).
	Kinds map[string]kindCount `json:"kinds,omitempty"`
	// The data: rows both hold, training rows, this party's columns.
	RowsAligned int `json:"rows_aligned"`
	TrainRows   int `json:"train_rows"`
	Cols        int `json:"cols"`
	// The bank's test AUC (0 at the center), to see that nothing broke.
	AUC    float64 `json:"auc"`
	Epochs int     `json:"epochs,omitempty"`
	Trees  int     `json:"trees,omitempty"`
}

// decodePartyResult reads the last non-empty line of a party's standard
// output as its result, and checks that it is party's and sane.
func decodePartyResult(out []byte, party string) (partyResult, error) {
	var r partyResult
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	last := strings.TrimSpace(lines[len(lines)-1])
	if last == "" {
		return r, fmt.Errorf("wan: the %s's process printed no result", party)
	}
	dec := json.NewDecoder(strings.NewReader(last))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return r, fmt.Errorf("wan: the %s's result %.200q: %w", party, last, err)
	}
	switch {
	case r.Party != party:
		return r, fmt.Errorf("wan: a result of party %q where the %s's was expected", r.Party, party)
	case !(r.Seconds >= 0 && r.Seconds < 1e7) || !(r.TrainSeconds >= 0 && r.TrainSeconds <= r.Seconds):
		return r, fmt.Errorf("wan: the %s's result: times %v s (training %v s) out of range", party, r.Seconds, r.TrainSeconds)
	case r.ModelBytes > r.Sent+r.Recv || r.KeyBytes > r.ModelBytes || r.LoopBytes > r.ModelBytes-r.KeyBytes:
		return r, fmt.Errorf("wan: the %s's result: model bytes %d (keys %d, loop %d) above the job's %d", party, r.ModelBytes, r.KeyBytes, r.LoopBytes, r.Sent+r.Recv)
	case !(r.KeySeconds >= 0 && r.LoopSeconds >= 0 && r.KeySeconds+r.LoopSeconds <= r.TrainSeconds):
		return r, fmt.Errorf("wan: the %s's result: key generation %v s and loop %v s beyond the training's %v s", party, r.KeySeconds, r.LoopSeconds, r.TrainSeconds)
	case r.RowsAligned < 0 || r.TrainRows < 0 || r.TrainRows > r.RowsAligned || r.Cols < 0 || r.Epochs < 0 || r.Trees < 0:
		return r, fmt.Errorf("wan: the %s's result: counts out of range (rows %d, training %d, columns %d)", party, r.RowsAligned, r.TrainRows, r.Cols)
	case !kindsFit(r):
		return r, fmt.Errorf("wan: the %s's result: its messages by type add up to more than its traffic", party)
	case !(r.AUC >= 0 && r.AUC <= 1):
		return r, fmt.Errorf("wan: the %s's result: AUC %v out of [0, 1]", party, r.AUC)
	}
	return r, nil
}

// kindsFit tells whether r's per-type counts fit in its traffic.
func kindsFit(r partyResult) bool {
	var sent, recv, sentMsgs, recvMsgs uint64
	for _, k := range r.Kinds {
		sent, recv, sentMsgs, recvMsgs = sent+k.Sent, recv+k.Recv, sentMsgs+k.SentMsgs, recvMsgs+k.RecvMsgs
		if sent < k.Sent || recv < k.Recv || sentMsgs < k.SentMsgs || recvMsgs < k.RecvMsgs {
			return false // overflow
		}
	}
	return sent <= r.Sent && recv <= r.Recv && sentMsgs <= r.SentMsgs && recvMsgs <= r.RecvMsgs
}

// kindCount is the traffic of one message type at one end.
type kindCount struct {
	SentMsgs uint64 `json:"sent_msgs,omitempty"`
	Sent     uint64 `json:"sent,omitempty"`
	RecvMsgs uint64 `json:"recv_msgs,omitempty"`
	Recv     uint64 `json:"recv,omitempty"`
}

// countingTransport counts the messages of each type that cross it, with
// their payload bytes. It is an fl.Wrapper, so that fl.SetMessageLimit
// still reaches the link.
type countingTransport struct {
	fl.Transport
	mu    sync.Mutex
	kinds map[string]kindCount
}

func newCountingTransport(t fl.Transport) *countingTransport {
	return &countingTransport{Transport: t, kinds: map[string]kindCount{}}
}

// Unwrap implements fl.Wrapper.
func (c *countingTransport) Unwrap() fl.Transport { return c.Transport }

func (c *countingTransport) Send(ctx context.Context, m fl.Message) error {
	err := c.Transport.Send(ctx, m)
	if err == nil {
		c.mu.Lock()
		k := c.kinds[m.Type]
		k.SentMsgs++
		k.Sent += uint64(len(m.Payload))
		c.kinds[m.Type] = k
		c.mu.Unlock()
	}
	return err
}

func (c *countingTransport) Recv(ctx context.Context) (fl.Message, error) {
	m, err := c.Transport.Recv(ctx)
	if err == nil {
		c.mu.Lock()
		k := c.kinds[m.Type]
		k.RecvMsgs++
		k.Recv += uint64(len(m.Payload))
		c.kinds[m.Type] = k
		c.mu.Unlock()
	}
	return m, err
}

// Kinds returns a copy of the counts.
func (c *countingTransport) Kinds() map[string]kindCount {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.kinds)
}

// partyArgs returns the command line of one party's process of j.
func partyArgs(j wanJob, party, pkiDir string) []string {
	c := j.Cfg
	args := []string{"-wan-party", party, "-wan-model", j.Model, "-wan-data", j.Data, "-wan-pki", pkiDir,
		"-wan-rows", strconv.Itoa(c.Rows), "-wan-epochs", strconv.Itoa(c.Epochs), "-wan-trees", strconv.Itoa(c.Trees),
		"-wan-depth", strconv.Itoa(c.Depth), "-wan-timeout", c.Timeout.String(), "-wan-delay", c.Delay.String(),
		"-wan-plan-mbps", strconv.FormatFloat(c.planMbps(), 'g', -1, 64)}
	if j.Shared != "" {
		args = append(args, "-wan-shared", j.Shared)
	}
	return args
}

// partyMain is the main of a party's process (-wan-party bank|center): it
// runs its side of the job against the peer's process and prints its
// partyResult. It returns the exit code.
func partyMain(args []string, stdout, stderr io.Writer) int {
	c := defaultWANConfig()
	fs := wanFlags(&c)
	fs.SetOutput(stderr)
	var j wanJob
	var party, pkiDir string
	fs.StringVar(&party, "wan-party", "", "this process's party: bank or center")
	fs.StringVar(&j.Model, "wan-model", "", "the model: lr or sbt")
	fs.StringVar(&j.Data, "wan-data", "synthetic", "the data: synthetic or default_credit")
	fs.StringVar(&pkiDir, "wan-pki", "", "folder of ca.pem and the parties' certificates and keys")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	j.Cfg, j.Shared = c, c.Shared
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn})).With("party", party)
	ctx, cancel := context.WithTimeout(context.Background(), c.Timeout)
	defer cancel()
	r, err := runParty(ctx, j, party, pkiDir, log)
	if err != nil {
		fmt.Fprintf(stderr, "bench: WAN %s: %v\n", party, err)
		return 1
	}
	if err := json.NewEncoder(stdout).Encode(r); err != nil {
		fmt.Fprintf(stderr, "bench: WAN %s: %v\n", party, err)
		return 1
	}
	return 0
}

// partyTable returns party's table of j's data.
func partyTable(j wanJob, party string) (*dataset.Table, error) {
	switch j.Data {
	case "synthetic":
		bank, center, err := dataset.Synthesize(dataset.SynthOptions{Rows: j.Cfg.Rows, Seed: 42})
		if err != nil {
			return nil, err
		}
		if party == "bank" {
			return bank, nil
		}
		return center, nil
	case "default_credit":
		if j.Shared == "" {
			return nil, errors.New("default_credit needs -wan-shared")
		}
		if party == "bank" {
			return dataset.ReadCSV(filepath.Join(j.Shared, "default_credit_hetero_guest.csv"), dataset.CSVOptions{LabelColumn: "y"})
		}
		return dataset.ReadCSV(filepath.Join(j.Shared, "default_credit_hetero_host.csv"), dataset.CSVOptions{})
	}
	return nil, fmt.Errorf("-wan-data %q: want synthetic or default_credit", j.Data)
}

// partySpec is the job spec of one party: the model and the options
// examples/twoparty uses by default, with j's epochs, trees and depth.
func partySpec(j wanJob, train *dataset.Table, log *slog.Logger) (job.Spec, error) {
	s := job.Spec{Train: train, TestFraction: 0.2, Seed: 42, Logger: log,
		LR: vlr.Options{Epochs: j.Cfg.Epochs, Seed: 42, Degree: 5, Bound: 8, TrackLoss: true,
			Optimizer: model.OptimizerOptions{Name: "momentum", L2: -1}},
		SBT: boost.Options{GBDTOptions: model.GBDTOptions{Trees: j.Cfg.Trees, MaxDepth: j.Cfg.Depth, Bins: 32, LearningRate: 0.3, Lambda: 1},
			LinkMbps: j.Cfg.planMbps()},
	}
	switch j.Model {
	case "lr":
		s.Models = []job.Kind{job.LR}
	case "sbt":
		s.Models = []job.Kind{job.SBT}
	default:
		return s, fmt.Errorf("-wan-model %q: want lr or sbt", j.Model)
	}
	return s, nil
}

// runParty runs party's side of j: the center listens on its end of the
// veth, the bank dials it (through a delaying proxy with -wan-delay).
func runParty(ctx context.Context, j wanJob, party, pkiDir string, log *slog.Logger) (partyResult, error) {
	r := partyResult{Party: party}
	if party != "bank" && party != "center" {
		return r, fmt.Errorf("-wan-party %q: want bank or center", party)
	}
	train, err := partyTable(j, party)
	if err != nil {
		return r, fmt.Errorf("loading the %s's table: %w", party, err)
	}
	spec, err := partySpec(j, train, log)
	if err != nil {
		return r, err
	}
	id, err := fl.LoadTLS(filepath.Join(pkiDir, party+".pem"), filepath.Join(pkiDir, party+"-key.pem"), filepath.Join(pkiDir, "ca.pem"))
	if err != nil {
		return r, err
	}
	target := net.JoinHostPort(addrB, wanPort)
	var start time.Time
	var t fl.Transport
	var res *job.Result
	if party == "center" {
		lis, err := net.Listen("tcp", target)
		if err != nil {
			return r, fmt.Errorf("listening on %s: %w", target, err)
		}
		if t, err = link.Accept(ctx, lis, link.GRPCOptions{TLS: id.ServerTLS("bank")}); err != nil {
			return r, err
		}
		defer t.Close()
		start = time.Now() // from the session's start, as the bank's
		if res, err = job.RunPassive(ctx, t, spec); err != nil {
			return r, err
		}
	} else {
		addr := target
		if j.Cfg.Delay > 0 {
			p, err := startDelayProxy("127.0.0.1:0", target, j.Cfg.Delay)
			if err != nil {
				return r, err
			}
			defer p.Close()
			addr = p.Addr()
		}
		// The center may not listen yet: retry for about 30 s.
		if t, err = link.DialRetry(ctx, addr, link.GRPCOptions{TLS: id.ClientTLS("center")}, link.Backoff{Initial: 50 * time.Millisecond, Max: time.Second, Attempts: 40}); err != nil {
			return r, err
		}
		defer t.Close()
		start = time.Now()
		ph := &phases{stats: t.Stats}
		spec.Progress = ph.event
		ct := newCountingTransport(t)
		if res, err = job.RunActive(ctx, ct, spec); err != nil {
			return r, err
		}
		r.Kinds = ct.Kinds()
		if err := ph.result(&r); err != nil {
			return r, err
		}
	}
	r.Seconds = time.Since(start).Seconds()
	st := res.Stats
	r.Sent, r.Recv, r.SentMsgs, r.RecvMsgs = st.SentBytes, st.RecvBytes, st.SentMessages, st.RecvMessages
	r.RowsAligned, r.TrainRows, r.Cols = res.RowsAligned, res.Data.TrainRows(), res.Data.XCols
	if len(res.Models) != 1 {
		return r, fmt.Errorf("the job trained %d models, want 1", len(res.Models))
	}
	m := res.Models[0]
	r.TrainSeconds, r.ModelBytes, r.Epochs, r.Trees = m.TrainTime.Seconds(), m.Bytes, m.Epochs, m.Trees
	if party == "bank" && !math.IsNaN(m.AUC) {
		r.AUC = m.AUC
	}
	return r, nil
}

// phases records, from the bank's progress events, its traffic and time
// when the model's setup starts, when its epochs or trees start (key
// generation done) and when they end.
type phases struct {
	stats func() fl.Stats
	mu    sync.Mutex
	at    [3]fl.Stats
	when  [3]time.Time
	seen  [3]bool
}

func (p *phases) mark(i int) {
	if !p.seen[i] {
		p.at[i], p.when[i], p.seen[i] = p.stats(), time.Now(), true
	}
}

func (p *phases) event(e job.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case strings.HasSuffix(e.Step, ": setup"):
		p.mark(0)
	case strings.HasSuffix(e.Step, ": epochs") || strings.HasSuffix(e.Step, ": trees"):
		p.mark(1)
		if e.End {
			p.mark(2)
		}
	}
}

// result sets r's breakdown, or says which event never came.
func (p *phases) result(r *partyResult) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, what := range []string{"the model's setup", "its first epoch or tree", "the end of its epochs or trees"} {
		if !p.seen[i] {
			return fmt.Errorf("the job reported no progress event for %s", what)
		}
	}
	both := func(s fl.Stats) uint64 { return s.SentBytes + s.RecvBytes }
	r.KeyBytes, r.LoopBytes = both(p.at[1])-both(p.at[0]), both(p.at[2])-both(p.at[1])
	r.KeySeconds, r.LoopSeconds = p.when[1].Sub(p.when[0]).Seconds(), p.when[2].Sub(p.when[1]).Seconds()
	return nil
}

// runWANJob runs j once in p's namespaces: the center's process in b, the
// bank's in a, both the runner's own executable with -wan-party. If either
// process fails, the other is stopped. The link's counters are read before
// and after.
func runWANJob(ctx context.Context, log io.Writer, p *netnsPair, exe, pkiDir string, j wanJob, shaped bool) (wanRun, error) {
	run := wanRun{Shaped: shaped}
	a0, b0, err := p.txBytes(ctx)
	if err != nil {
		return run, err
	}
	_, q0, err := p.qdiscBytes(ctx)
	if err != nil {
		return run, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type outcome struct {
		party string
		out   []byte
		err   error
	}
	done := make(chan outcome, 2)
	var wg sync.WaitGroup
	start := time.Now()
	for _, party := range []string{"center", "bank"} {
		ns := p.b
		if party == "bank" {
			ns = p.a
		}
		cmd := exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", ns, exe}, partyArgs(j, party, pkiDir)...)...)
		// ip netns exec execs the party in place: the kill signal reaches
		// it, and so does the runner's death.
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		cmd.WaitDelay = 5 * time.Second
		var stdout bytes.Buffer
		stderr := &tailBuffer{max: 4096}
		cmd.Stdout, cmd.Stderr = &stdout, io.MultiWriter(log, stderr)
		if err := cmd.Start(); err != nil {
			return run, fmt.Errorf("wan: starting the %s's process: %w", party, err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := cmd.Wait()
			if err != nil {
				err = fmt.Errorf("wan: the %s's process: %w (its last words: %s)", party, err, lastLines(stderr.Bytes(), 3))
				cancel() // the peer would wait for it until its deadline
			}
			done <- outcome{party, stdout.Bytes(), err}
		}()
	}
	wg.Wait()
	close(done)
	run.ProcessSeconds = time.Since(start).Seconds()
	var errs []error
	for o := range done {
		if o.err != nil {
			errs = append(errs, o.err)
			continue
		}
		r, err := decodePartyResult(o.out, o.party)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if o.party == "bank" {
			run.Bank = r
		} else {
			run.Center = r
		}
	}
	if err := errors.Join(errs...); err != nil {
		return run, err
	}
	run.Seconds = run.Bank.Seconds
	a1, b1, err := p.txBytes(ctx)
	if err != nil {
		return run, err
	}
	kind, q1, err := p.qdiscBytes(ctx)
	if err != nil {
		return run, err
	}
	run.BankWire, run.CenterWire = a1-a0, b1-b0
	switch {
	case shaped && kind != "tbf":
		return run, fmt.Errorf("wan: the shaped run's qdisc is %q, not tbf", kind)
	case !shaped && kind == "tbf":
		return run, errors.New("wan: the unshaped run's qdisc is tbf")
	case shaped:
		run.QdiscBytes = q1 - q0
	}
	return run, nil
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = append(t.b[:0], t.b[len(t.b)-t.max:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) Bytes() []byte {
	t.mu.Lock()
	defer t.mu.Unlock()
	return bytes.Clone(t.b)
}
