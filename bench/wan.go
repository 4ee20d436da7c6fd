package main

// The WAN mode (issue 18): a whole job (job.RunActive / job.RunPassive over
// fl/link's gRPC with mutual TLS) run as two processes, the bank and the
// credit center, each in its own network namespace, joined by a veth pair
// whose two ends are shaped with tbf. Every figure is measured twice in the
// same namespaces: unshaped (the baseline) and shaped.
//
// Figures, for LR (30 epochs, full batch) and SecureBoost (30 trees of
// depth 3) on the synthetic pair (30,000 enterprises per party) and, when
// ../shared/data is present, on default_credit (names with
// _default_credit):
//   - wan_lr, wan_sbt: the bank's wall time of the training (key
//     generation and epochs or trees, job.Model.TrainTime) on the shaped
//     link; baseline the unshaped, ratio shaped/unshaped. The note gives the
//     whole job's time, both phases' and the bytes each way.
//   - wan_lr_bytes_per_sample_epoch: LR's bytes (keys, epochs, test
//     scoring), both ways, per training row and epoch; wan_sbt_bytes_mb:
//     SecureBoost's in MB. The notes split them by phase and message type.
//
// The runner keeps only the figures -only names, so name the bytes and
// default_credit figures too to see them:
//
//	go run ./bench -json -runs 1 -only wan_lr,wan_sbt
//	go run ./bench -json -runs 1 -only wan_sbt_default_credit,wan_sbt_default_credit_bytes_mb
//
// Quick checks with less work (-wan-* flags, below):
//
//	go run ./bench -only wan_sbt -wan-trees 2 -wan-rows 3000 -wan-delay 10ms
//
// It needs root and iproute2 (ip, tc; installed with apt-get when missing
// and possible); without them each WAN figure says why on stderr and is
// skipped. Only the two namespaces' private addresses are used; nothing is
// added to the host's own network namespace, and both namespaces (with the
// veth pair inside them) are deleted when the figure ends, on error and on
// SIGINT/SIGTERM too.
//
// The link: tbf on the egress of both veth ends, so each direction gets
// -wan-rate (default 100mbit, a leased line between two institutions),
// burst 256kb (256 KiB: above the 64 KiB GSO segments a veth hands to the
// qdisc and above rate/HZ, so the shaper holds the rate without starving
// a segment) and latency 50ms (the longest a packet waits in the tbf queue,
// which at 100 Mbit/s lets about 600 KiB queue before drops, like a router's
// buffer). netem is not available here; -wan-delay adds a one-way delay in
// each direction with a delaying TCP proxy in the bank's process (see
// wan_proxy.go).
//
// The WAN options are flags of their own (-wan-rate, -wan-delay, -wan-rows,
// -wan-epochs, -wan-trees, -wan-depth, -wan-shared, -wan-timeout), which
// this file's init takes out of the command line before the runner parses
// it (the runner's flags are bench/main.go's). A process started with
// -wan-party is one party of a WAN job, not the runner (wan_party.go).

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/veil-fl/veil/fl/pki"
)

// wanConfig is the WAN mode's configuration, from the -wan-* flags.
type wanConfig struct {
	Rate    string        // tbf rate, tc syntax (100mbit)
	Burst   string        // tbf burst
	Latency string        // tbf latency
	Delay   time.Duration // one-way delay added each way by the proxy (0: no proxy)
	Rows    int           // synthetic enterprises per party
	Epochs  int           // LR epochs
	Trees   int           // SecureBoost trees
	Depth   int           // SecureBoost depth
	Shared  string        // the shared data folder ("": look for ../shared/data)
	// PlanMbps is the link speed the bank plans SecureBoost for
	// (boost.Options.LinkMbps) in both runs: negative means Rate's, 0
	// none (every level in the whole layout).
	PlanMbps float64
	Timeout  time.Duration // deadline of one party's job
}

func defaultWANConfig() wanConfig {
	return wanConfig{Rate: "100mbit", Burst: "256kb", Latency: "50ms", Rows: 30_000, Epochs: 30, Trees: 30, Depth: 3, PlanMbps: -1, Timeout: time.Hour}
}

// wanFlags returns a flag set that fills c.
func wanFlags(c *wanConfig) *flag.FlagSet {
	fs := flag.NewFlagSet("bench (WAN)", flag.ContinueOnError)
	fs.StringVar(&c.Rate, "wan-rate", c.Rate, "WAN figures: tbf rate of each direction, in tc's syntax (100mbit, 1gbit)")
	fs.DurationVar(&c.Delay, "wan-delay", c.Delay, "WAN figures: one-way delay added in each direction by a delaying proxy (0: none)")
	fs.IntVar(&c.Rows, "wan-rows", c.Rows, "WAN figures: synthetic enterprises per party")
	fs.IntVar(&c.Epochs, "wan-epochs", c.Epochs, "WAN figures: LR epochs")
	fs.IntVar(&c.Trees, "wan-trees", c.Trees, "WAN figures: SecureBoost trees")
	fs.IntVar(&c.Depth, "wan-depth", c.Depth, "WAN figures: SecureBoost depth")
	fs.StringVar(&c.Shared, "wan-shared", c.Shared, "WAN figures: the shared data folder holding default_credit (default: ../shared/data when present)")
	fs.DurationVar(&c.Timeout, "wan-timeout", c.Timeout, "WAN figures: deadline of each party's job")
	fs.Float64Var(&c.PlanMbps, "wan-plan-mbps", c.PlanMbps, "WAN figures: the link speed in Mbit/s the bank plans SecureBoost for (boost.Options.LinkMbps), in the shaped and the unshaped run alike (negative: -wan-rate's; 0: none)")
	return fs
}

var tcRate = regexp.MustCompile(`^([0-9]+(\.[0-9]+)?)(bit|kbit|mbit|gbit|bps|kbps|mbps|gbps)$`)

// rateMbps reads a tc rate (decimal prefixes; bit is bits per second, bps
// bytes per second, as tc reads them) in Mbit/s.
func rateMbps(rate string) (float64, error) {
	m := tcRate.FindStringSubmatch(rate)
	if m == nil {
		return 0, fmt.Errorf("-wan-rate %q: want a tc rate such as 100mbit or 1gbit", rate)
	}
	v, err := strconv.ParseFloat(m[1], 64)
	if err != nil || v <= 0 {
		return 0, fmt.Errorf("-wan-rate %q: want a positive rate", rate)
	}
	scale := map[string]float64{"bit": 1e-6, "kbit": 1e-3, "mbit": 1, "gbit": 1e3, "bps": 8e-6, "kbps": 8e-3, "mbps": 8, "gbps": 8e3}
	return v * scale[m[3]], nil
}

// planMbps is the link speed the bank plans for: PlanMbps, or Rate's.
func (c wanConfig) planMbps() float64 {
	if c.PlanMbps >= 0 {
		return c.PlanMbps
	}
	r, _ := rateMbps(c.Rate) // checked
	return r
}

func (c wanConfig) check() error {
	if _, err := rateMbps(c.Rate); err != nil {
		return err
	}
	switch {
	case math.IsNaN(c.PlanMbps) || math.IsInf(c.PlanMbps, 0):
		return fmt.Errorf("-wan-plan-mbps %v: want a finite speed", c.PlanMbps)
	case c.Delay < 0 || c.Delay > 10*time.Second:
		return fmt.Errorf("-wan-delay %v: want 0 to 10s", c.Delay)
	case c.Rows < 100 || c.Rows > 10_000_000:
		return fmt.Errorf("-wan-rows %d: want 100 to 10,000,000", c.Rows)
	case c.Epochs < 1:
		return fmt.Errorf("-wan-epochs %d: want at least 1", c.Epochs)
	case c.Trees < 1:
		return fmt.Errorf("-wan-trees %d: want at least 1", c.Trees)
	case c.Depth < 1:
		return fmt.Errorf("-wan-depth %d: want at least 1", c.Depth)
	case c.Timeout <= 0:
		return fmt.Errorf("-wan-timeout %v: want a positive duration", c.Timeout)
	}
	return nil
}

// wan is the runner's WAN configuration, set by init from the command line.
var wan = defaultWANConfig()

// splitWANArgs takes the -wan-* flags (and their values) out of args: it
// returns them and the rest, in order. A flag is -wan-NAME=V, or -wan-NAME
// followed by its value; "--" ends the flags.
func splitWANArgs(args []string) (wanArgs, rest []string) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return wanArgs, append(rest, args[i:]...)
		}
		name := strings.TrimLeft(a, "-")
		if !strings.HasPrefix(a, "-") || !strings.HasPrefix(name, "wan-") || len(a)-len(name) > 2 {
			rest = append(rest, a)
			continue
		}
		wanArgs = append(wanArgs, a)
		if !strings.Contains(name, "=") && i+1 < len(args) {
			i++
			wanArgs = append(wanArgs, args[i])
		}
	}
	return wanArgs, rest
}

func init() {
	wanArgs, rest := splitWANArgs(os.Args[1:])
	if len(wanArgs) == 0 {
		return
	}
	if slices.ContainsFunc(wanArgs, func(a string) bool {
		return strings.TrimLeft(a, "-") == "wan-party" || strings.HasPrefix(strings.TrimLeft(a, "-"), "wan-party=")
	}) {
		// This process is one party of a WAN job, started by the runner.
		os.Exit(partyMain(os.Args[1:], os.Stdout, os.Stderr))
	}
	fs := wanFlags(&wan)
	fs.SetOutput(os.Stderr)
	err := fs.Parse(wanArgs)
	if err == nil {
		err = wan.check()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	os.Args = append(os.Args[:1], rest...)
}

// The WAN figures: for each model and data set, the job's wall time (value:
// shaped; baseline: unshaped) and its bytes.
func init() {
	for _, m := range []string{"lr", "sbt"} {
		for _, d := range []string{"", "_default_credit"} {
			base := "wan_" + m + d
			bytesName := base + "_bytes_mb"
			if m == "lr" {
				bytesName = base + "_bytes_per_sample_epoch"
			}
			for _, name := range []string{base, bytesName} {
				suite = append(suite, benchmark{name, func(runs int) ([]figure, error) {
					return wanFigure(name, m, strings.TrimPrefix(d, "_"), runs)
				}})
			}
		}
	}
}

// wanMeasured caches each (model, data) measurement: a time figure and its
// bytes figure come from the same runs.
var wanMeasured = struct {
	sync.Mutex
	figs map[string][]figure
}{figs: map[string][]figure{}}

// wanFigure returns the figure called name of the WAN measurement of model
// on data ("" for synthetic), measuring it unless done already. Without
// root, iproute2 or the data, it says why on stderr and returns none.
func wanFigure(name, modelName, data string, runs int) ([]figure, error) {
	wanMeasured.Lock()
	defer wanMeasured.Unlock()
	key := modelName + "/" + data
	figs, ok := wanMeasured.figs[key]
	if !ok {
		var err error
		figs, err = measureWAN(context.Background(), os.Stderr, modelName, data, runs)
		var skip *skipError
		if errors.As(err, &skip) {
			fmt.Fprintf(os.Stderr, "  skipped %s: %v\n", name, skip.why)
			figs, err = nil, nil
		}
		if err != nil {
			return nil, err
		}
		wanMeasured.figs[key] = figs
	}
	var out []figure
	for _, f := range figs {
		if f.Name == name {
			out = append(out, f)
		}
	}
	return out, nil
}

// skipError is a WAN figure that cannot run here (no root, no iproute2, no
// data): the runner skips it.
type skipError struct{ why error }

func (e *skipError) Error() string { return "skipped: " + e.why.Error() }

// sharedDataDir returns the folder holding default_credit's pair: -wan-shared,
// or ../shared/data seen from the repository root (the runner's) or from
// bench/ (its tests').
func sharedDataDir(c wanConfig) (string, error) {
	dirs := []string{c.Shared}
	if c.Shared == "" {
		dirs = []string{filepath.Join("..", "shared", "data"), filepath.Join("..", "..", "shared", "data")}
	}
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "default_credit_hetero_guest.csv")); err == nil {
			return filepath.Abs(d)
		}
	}
	return "", fmt.Errorf("default_credit_hetero_guest.csv not found in %s (the shared data folder is absent)", strings.Join(dirs, " or "))
}

// wanJob is one WAN job as both parties run it.
type wanJob struct {
	Model string // lr or sbt
	Data  string // synthetic or default_credit
	// Shared is the shared data folder (default_credit).
	Shared string
	Cfg    wanConfig
}

// wanRun is one run of a job: both parties' results and the link's counters.
type wanRun struct {
	Bank, Center partyResult
	// Seconds is the bank's wall time of the job (partyResult.Seconds);
	// ProcessSeconds the runner's, from starting both processes to both
	// ending (data loading included).
	Seconds, ProcessSeconds float64
	// Wire is the bytes each veth end transmitted during the run (IP
	// packets: the job's frames plus gRPC, TLS, TCP and IP overhead);
	// BankWire from the bank's end, CenterWire from the center's.
	BankWire, CenterWire uint64
	// Shaped tells whether tbf was on; QdiscBytes is what the bank's end's
	// tbf sent during the run (0 unshaped).
	Shaped     bool
	QdiscBytes uint64
}

// measureWAN runs the job of modelName on data unshaped, then shaped, runs
// times each, in one pair of namespaces, and returns its figures.
func measureWAN(ctx context.Context, log io.Writer, modelName, data string, runs int) ([]figure, error) {
	j := wanJob{Model: modelName, Data: "synthetic", Cfg: wan}
	if data != "" {
		dir, err := sharedDataDir(wan)
		if err != nil {
			return nil, &skipError{err}
		}
		j.Data, j.Shared = data, dir
	}
	unshaped, shaped, err := runWANPair(ctx, log, j, runs)
	if err != nil {
		return nil, err
	}
	u, sh := medianPair(unshaped, shaped)
	return wanFigures(j, u, sh, len(unshaped)), nil
}

// runWANPair sets the namespaces up, runs the job runs times unshaped and
// runs times shaped, alternating, and tears the namespaces down, also on SIGINT or
// SIGTERM (which then ends the runs with an error).
func runWANPair(ctx context.Context, log io.Writer, j wanJob, runs int) (unshaped, shaped []wanRun, err error) {
	if err := wanAvailable(ctx, log); err != nil {
		return nil, nil, err
	}
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	exe, err := os.Executable()
	if err != nil {
		return nil, nil, fmt.Errorf("wan: the bench's own executable: %w", err)
	}
	// Named after this process, like the namespaces, so that a later
	// runner removes it if this one is killed (removeStale).
	dir, err := os.MkdirTemp("", fmt.Sprintf("veil-wan-%d-", os.Getpid()))
	if err != nil {
		return nil, nil, fmt.Errorf("wan: temporary folder: %w", err)
	}
	defer os.RemoveAll(dir)
	pilot, err := pki.NewPilot("bank", "center")
	if err != nil {
		return nil, nil, fmt.Errorf("wan: pilot PKI: %w", err)
	}
	if err := pilot.WritePEM(dir); err != nil {
		return nil, nil, fmt.Errorf("wan: pilot PKI: %w", err)
	}
	link, err := newNetnsPair(ctx, os.Getpid())
	if err != nil {
		return nil, nil, err
	}
	defer func() {
		if terr := link.teardown(); terr != nil && err == nil {
			err = terr
		}
	}()
	// Unshaped and shaped runs alternate, so that a change in the
	// machine's load weighs on both alike.
	for r := range runs {
		for _, shape := range []bool{false, true} {
			if err := link.setShaped(ctx, j.Cfg, shape); err != nil {
				return nil, nil, err
			}
			fmt.Fprintf(log, "  %s on %s, %s, run %d of %d...\n", j.Model, j.Data, j.linkText(shape), r+1, runs)
			run, err := runWANJob(ctx, log, link, exe, dir, j, shape)
			if err != nil {
				if ctx.Err() != nil {
					return nil, nil, fmt.Errorf("wan: interrupted: %w", err)
				}
				return nil, nil, err
			}
			fmt.Fprintf(log, "    training %.1f s (job %.1f s), bank sent %.1f MB, received %.1f MB, test AUC %.4f\n",
				run.Bank.TrainSeconds, run.Seconds, float64(run.Bank.Sent)/1e6, float64(run.Bank.Recv)/1e6, run.Bank.AUC)
			if shape {
				shaped = append(shaped, run)
			} else {
				unshaped = append(unshaped, run)
			}
		}
	}
	return unshaped, shaped, nil
}

func (j wanJob) linkText(shaped bool) string {
	s := "unshaped veth"
	if shaped {
		s = "tbf " + j.Cfg.Rate + " each way (burst " + j.Cfg.Burst + ", latency " + j.Cfg.Latency + ")"
	}
	if j.Cfg.Delay > 0 {
		s += fmt.Sprintf(", plus %v each way by a delaying proxy", j.Cfg.Delay)
	}
	return s
}

// medianPair returns the pair of runs (the i-th unshaped and the i-th
// shaped, which ran one after the other) whose ratio of training times is
// the median: on a machine whose load changes, the pairs' ratios are
// steadier than the ratio of each mode's median.
func medianPair(unshaped, shaped []wanRun) (wanRun, wanRun) {
	idx := make([]int, min(len(unshaped), len(shaped)))
	for i := range idx {
		idx[i] = i
	}
	ratio := func(i int) float64 { return shaped[i].Bank.TrainSeconds / unshaped[i].Bank.TrainSeconds }
	slices.SortFunc(idx, func(a, b int) int { return cmp.Compare(ratio(a), ratio(b)) })
	m := idx[len(idx)/2]
	return unshaped[m], shaped[m]
}

// wanFigures turns the median pair of runs (of pairs) into figures.
func wanFigures(j wanJob, unshaped, shaped wanRun, pairs int) []figure {
	base := "wan_" + j.Model
	if j.Data != "synthetic" {
		base += "_" + j.Data
	}
	b, u := shaped.Bank, unshaped.Bank
	sizes := fmt.Sprintf("%s, %d rows aligned (%d training), %d + %d columns", j.dataText(), b.RowsAligned, b.TrainRows, b.Cols, shaped.Center.Cols)
	what, unit, units := fmt.Sprintf("LR, %d epochs full batch (secret-shared weights, degree-5 sigmoid)", b.Epochs), "epoch", b.Epochs
	if j.Model == "sbt" {
		what, unit, units = fmt.Sprintf("SecureBoost, %d trees of depth %d, 32 bins", b.Trees, j.Cfg.Depth), "tree", b.Trees
		if p := j.Cfg.planMbps(); p > 0 {
			what += fmt.Sprintf(", the bank planning for %g Mbit/s in both runs (boost.Options.LinkMbps)", p)
		} else {
			what += ", no link speed given (boost.Options.LinkMbps 0)"
		}
	}
	units = max(units, 1)
	each := fmt.Sprintf("bank to center %.1f MB, center to bank %.1f MB (the job's frames; IP packets on the veth %.1f and %.1f MB)",
		float64(b.Sent)/1e6, float64(b.Recv)/1e6, float64(shaped.BankWire)/1e6, float64(shaped.CenterWire)/1e6)
	split := fmt.Sprintf("setup and key generation %.1f MB, %s %.1f MB (%.2f MB per %s), test scoring %.1f MB",
		float64(b.KeyBytes)/1e6, unit+"s", float64(b.LoopBytes)/1e6, float64(b.LoopBytes)/1e6/float64(units), unit,
		float64(b.ModelBytes-b.KeyBytes-b.LoopBytes)/1e6)
	procs := fmt.Sprintf("bank and center in two processes, two network namespaces joined by a veth pair, gRPC with mutual TLS, on one machine of %s", cores())
	times := fmt.Sprintf("key generation %.1f s, %s %.1f s, whole job %.1f s (handshake, PSI, split, preparation, training, test scoring); unshaped: key generation %.1f s, %s %.1f s, whole job %.1f s",
		b.KeySeconds, unit+"s", b.LoopSeconds, shaped.Seconds, u.KeySeconds, unit+"s", u.LoopSeconds, unshaped.Seconds)
	t := figure{Name: base, Value: b.TrainSeconds, Unit: "s",
		Note: fmt.Sprintf("the bank's wall time of the training (key generation and %ss, as job.Model.TrainTime), %s, %s; link: %s; shaped: %s; %s; test AUC %.4f shaped, %.4f unshaped; baseline: the same training on the unshaped veth, run just before; the pair of median ratio of %d; %s",
			unit, what, sizes, j.linkText(true), times, each, b.AUC, u.AUC, pairs, procs)}
	split += "; " + kindsText(b.Kinds, 8)
	var bf figure
	if j.Model == "lr" {
		bf = figure{Name: base + "_bytes_per_sample_epoch", Value: float64(b.ModelBytes) / float64(b.TrainRows) / float64(units), Unit: "bytes/sample",
			Note: fmt.Sprintf("LR's bytes (key generation, epochs and test scoring), both directions, per training row and epoch; the epochs alone %.0f bytes per row and epoch; %s; whole job %s; %s, %s",
				float64(b.LoopBytes)/float64(b.TrainRows)/float64(units), split, each, what, sizes)}
	} else {
		bf = figure{Name: base + "_bytes_mb", Value: float64(b.ModelBytes) / 1e6, Unit: "MB",
			Note: fmt.Sprintf("SecureBoost's bytes (key generation, trees and test scoring), both directions: %s; whole job %s; %s, %s", split, each, what, sizes)}
	}
	return []figure{withBaseline(t, u.TrainSeconds), bf}
}

// kindsText lists the n message types of most bytes, both ways, with
// their share of all types' bytes and their direction.
func kindsText(kinds map[string]kindCount, n int) string {
	if len(kinds) == 0 {
		return "no per-type counts"
	}
	names := slices.Collect(maps.Keys(kinds))
	var total uint64
	for _, k := range kinds {
		total += k.Sent + k.Recv
	}
	both := func(name string) uint64 { return kinds[name].Sent + kinds[name].Recv }
	slices.SortFunc(names, func(a, b string) int {
		if c := cmp.Compare(both(b), both(a)); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	var parts []string
	for i, name := range names {
		if i == n {
			parts = append(parts, fmt.Sprintf("%d more types", len(names)-n))
			break
		}
		k := kinds[name]
		dir := fmt.Sprintf("%d to center", k.SentMsgs)
		if k.RecvMsgs > 0 && k.SentMsgs > 0 {
			dir = fmt.Sprintf("%d to center, %d to bank", k.SentMsgs, k.RecvMsgs)
		} else if k.RecvMsgs > 0 {
			dir = fmt.Sprintf("%d to bank", k.RecvMsgs)
		}
		parts = append(parts, fmt.Sprintf("%s %.1f MB (%.0f%%, %s)", name, float64(both(name))/1e6, 100*float64(both(name))/float64(max(total, 1)), dir))
	}
	return "the job's messages by type (payload bytes, messages each way): " + strings.Join(parts, ", ")
}

func (j wanJob) dataText() string {
	if j.Data == "synthetic" {
		return fmt.Sprintf("synthetic enterprises (dataset.Synthesize, %d per party, seed 42)", j.Cfg.Rows)
	}
	return j.Data + " (" + filepath.Join(j.Shared, j.Data+"_hetero_{guest,host}.csv") + ")"
}
