package main

// The unbalanced PSI figures (issue 21): a bank's 200,000 ids against a
// credit center's 800,000, of which 100,000 shared, in the unbalanced mode
// (fl/align Options.Center and Cache): the first session of a key epoch
// (the center encodes its table, the bank receives and checks all of it)
// and a later one (the cache used: O(the bank's ids)), with both parties
// in one process over the in-memory pipe and in two processes over gRPC
// with mutual TLS on loopback. The one-process run also times the balanced
// ECDH PSI of the same sets, the baseline, and the balanced KKRT PSI (in
// the note).
//
//	psi_unbalanced_200k_800k               later session, one process (s; baseline: balanced)
//	psi_unbalanced_200k_800k_10pct_new     a later session with 10% of the bank's ids new, one process (s)
//	psi_unbalanced_200k_800k_first         first session, one process (s)
//	psi_unbalanced_200k_800k_to_center_mb  later session's bytes, bank to center
//	psi_unbalanced_200k_800k_to_bank_mb    later session's bytes, center to bank
//	psi_unbalanced_200k_800k_2proc         later session, two processes (s)
//	psi_unbalanced_200k_800k_2proc_first   first session, two processes (s)
//	psi_unbalanced_200k_800k_2proc_10pct_new  10% new, two processes (s)
//
// A later session with the same ids asks the center nothing: the bank's
// cache remembers the center's answers for its ids (psi.Query.Ask), so it
// costs the center's sync of its table and the bank's lookups. The 10%
// session replaces 20,000 of the bank's ids, half of them the center's.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/veil-fl/veil/fl"
	"github.com/veil-fl/veil/fl/align"
	"github.com/veil-fl/veil/fl/link"
	"github.com/veil-fl/veil/fl/pki"
	"github.com/veil-fl/veil/mpc/psi"
)

const (
	ubBank, ubCenter, ubShared = 200_000, 800_000, 100_000
	ubName                     = "psi_unbalanced_200k_800k"
	// ubCenterEnv starts this process as the center of the two-process
	// figure: the value is the folder of the PKI's PEM files.
	ubCenterEnv = "VEIL_BENCH_PSI_UB_CENTER"
)

// ubIDs returns the parties' ids: the center's 0..800k, the bank's
// 700k..900k (credit-code-like strings).
func ubIDs() (bank, center []string) {
	center = make([]string, ubCenter)
	for i := range center {
		center[i] = fmt.Sprintf("91210200%010d", i)
	}
	bank = make([]string, ubBank)
	for i := range bank {
		bank[i] = fmt.Sprintf("91210200%010d", ubCenter-ubShared+i)
	}
	return bank, center
}

// ubMoved returns the bank's ids of the 10% session: the first 20,000
// replaced by 10,000 of the center's ids the bank did not hold and 10,000
// that no one holds.
func ubMoved(bank []string) []string {
	moved := append([]string(nil), bank...)
	for i := range ubBank / 10 {
		if i%2 == 0 {
			moved[i] = fmt.Sprintf("91210200%010d", i)
		} else {
			moved[i] = fmt.Sprintf("91210299%010d", i)
		}
	}
	return moved
}

// ubSession is one measured session.
type ubSession struct {
	seconds          float64
	cpu              float64 // CPU-seconds of this process (one process: both parties)
	toCenter, toBank uint64
	rows             int
}

type ubResult struct {
	first, later ubSession
	moved        ubSession // the 10% session, after later
	balanced     float64   // one process only: ECDH
	balancedCPU  float64
	kkrt         ubSession // one process only: the balanced KKRT PSI
	err          error
}

var (
	ubOnce  [2]sync.Once
	ubMeas  [2]ubResult
	ubNotes = [2]string{"both parties in one process (in-memory pipe)", "two processes, gRPC with mutual TLS on loopback"}
)

func init() {
	if dir := os.Getenv(ubCenterEnv); dir != "" {
		os.Exit(ubCenterMain(dir))
	}
	fig := func(name string, proc int, get func(r *ubResult) figure) {
		suite = append(suite, benchmark{name, func(runs int) ([]figure, error) {
			ubOnce[proc].Do(func() { ubMeas[proc] = ubMeasure(proc, runs) })
			r := &ubMeas[proc]
			if r.err != nil {
				return nil, r.err
			}
			f := get(r)
			f.Name = name
			return []figure{f}, nil
		}})
	}
	sizes := func(r *ubResult) string {
		return fmt.Sprintf("bank %d ids, center %d, %d shared (%d aligned); %d cores (GOMAXPROCS), shared with other work", ubBank, ubCenter, ubShared, r.later.rows, runtime.GOMAXPROCS(0))
	}
	fig(ubName, 0, func(r *ubResult) figure {
		ratio := r.balanced / r.later.seconds
		return figure{Value: r.later.seconds, Unit: "s", Baseline: &r.balanced, Ratio: &ratio,
			Note: fmt.Sprintf("later session of the epoch with the same bank ids (the bank's cache and its memo of the center's answers used: no id asked; the center's set synced): %s; %.1f CPU-seconds for both parties (balanced: %.1f); baseline: balanced ECDH PSI of the same sets in the same run; the balanced KKRT PSI (fl/align's balanced default) %.2f s, %.1f CPU-s, bank sent %.1f MB, received %.1f MB; first session %.1f s (%.1f CPU-s); %s",
				ubNotes[0], r.later.cpu, r.balancedCPU, r.kkrt.seconds, r.kkrt.cpu, float64(r.kkrt.toCenter)/1e6, float64(r.kkrt.toBank)/1e6, r.first.seconds, r.first.cpu, sizes(r))}
	})
	fig(ubName+"_10pct_new", 0, func(r *ubResult) figure {
		return figure{Value: r.moved.seconds, Unit: "s",
			Note: fmt.Sprintf("a later session after the one above in which %d of the bank's %d ids are new to the epoch (half of them the center's): only those are asked; %.1f CPU-seconds for both parties; bank to center %.2f MB, back %.2f MB; %d aligned; %s; %s",
				ubBank/10, ubBank, r.moved.cpu, float64(r.moved.toCenter)/1e6, float64(r.moved.toBank)/1e6, r.moved.rows, ubNotes[0], sizes(r))}
	})
	fig(ubName+"_first", 0, func(r *ubResult) figure {
		return figure{Value: r.first.seconds, Unit: "s",
			Note: fmt.Sprintf("first session of an epoch: the center encodes its %d ids and sends them all (%.1f MB), the bank checks and indexes them, then the session as later ones (the bank received %.1f MB in all); %.1f CPU-seconds for both parties; %s; %s",
				ubCenter, float64(ubCenter*psi.PointSize)/1e6, float64(r.first.toBank)/1e6, r.first.cpu, ubNotes[0], sizes(r))}
	})
	fig(ubName+"_to_center_mb", 0, func(r *ubResult) figure {
		return figure{Value: float64(r.later.toCenter) / 1e6, Unit: "MB",
			Note: fmt.Sprintf("later session, bank to center (cache state, the ask: the id count and no id, as every answer is remembered; matched slots, 4 bytes each; digest); first session %.2f MB; %s", float64(r.first.toCenter)/1e6, sizes(r))}
	})
	fig(ubName+"_to_bank_mb", 0, func(r *ubResult) figure {
		return figure{Value: float64(r.later.toBank) / 1e6, Unit: "MB",
			Note: fmt.Sprintf("later session, center to bank (an empty update and the digest: no id asked, so no reply); first session %.2f MB (the whole encoded set); %s", float64(r.first.toBank)/1e6, sizes(r))}
	})
	fig(ubName+"_2proc", 1, func(r *ubResult) figure {
		return figure{Value: r.later.seconds, Unit: "s",
			Note: fmt.Sprintf("later session, %s; bytes at the bank's end (frames): sent %.1f MB, received %.1f MB; first session %.1f s; %s",
				ubNotes[1], float64(r.later.toCenter)/1e6, float64(r.later.toBank)/1e6, r.first.seconds, sizes(r))}
	})
	fig(ubName+"_2proc_10pct_new", 1, func(r *ubResult) figure {
		return figure{Value: r.moved.seconds, Unit: "s",
			Note: fmt.Sprintf("a later session with %d of the bank's %d ids new to the epoch, %s; bank sent %.2f MB, received %.2f MB; %s",
				ubBank/10, ubBank, ubNotes[1], float64(r.moved.toCenter)/1e6, float64(r.moved.toBank)/1e6, sizes(r))}
	})
	fig(ubName+"_2proc_first", 1, func(r *ubResult) figure {
		return figure{Value: r.first.seconds, Unit: "s",
			Note: fmt.Sprintf("first session, %s; the bank received %.1f MB; %s", ubNotes[1], float64(r.first.toBank)/1e6, sizes(r))}
	})
}

// ubMeasure runs the sessions: for each of runs epochs a first and a later
// session (medians), and in one process the balanced baseline.
func ubMeasure(proc, runs int) ubResult {
	bankIDs, centerIDs := ubIDs()
	var firsts, laters, moveds []ubSession
	var balanced, balancedCPU []float64
	var kkrts []ubSession
	for range runs {
		var first, later, moved ubSession
		var err error
		if proc == 0 {
			first, later, moved, err = ubOneProcess(bankIDs, centerIDs)
		} else {
			first, later, moved, err = ubTwoProcesses(bankIDs)
		}
		if err != nil {
			return ubResult{err: err}
		}
		firsts, laters, moveds = append(firsts, first), append(laters, later), append(moveds, moved)
		if proc == 0 {
			s, err := ubBalanced(bankIDs, centerIDs, align.ECDH)
			if err != nil {
				return ubResult{err: err}
			}
			balanced, balancedCPU = append(balanced, s.seconds), append(balancedCPU, s.cpu)
			k, err := ubBalanced(bankIDs, centerIDs, align.KKRT)
			if err != nil {
				return ubResult{err: err}
			}
			kkrts = append(kkrts, k)
		}
	}
	r := ubResult{first: ubMedian(firsts), later: ubMedian(laters), moved: ubMedian(moveds)}
	if proc == 0 {
		r.balanced, r.balancedCPU = ubMedianOf(balanced), ubMedianOf(balancedCPU)
		r.kkrt = ubMedian(kkrts)
	}
	return r
}

func ubMedian(s []ubSession) ubSession {
	secs := make([]float64, len(s))
	for i := range s {
		secs[i] = s[i].seconds
	}
	m := ubMedianOf(secs)
	for _, x := range s {
		if x.seconds == m {
			return x
		}
	}
	return s[0]
}

func ubMedianOf(v []float64) float64 {
	w := append([]float64(nil), v...)
	for i := range w {
		for j := i + 1; j < len(w); j++ {
			if w[j] < w[i] {
				w[i], w[j] = w[j], w[i]
			}
		}
	}
	return w[len(w)/2]
}

// ubPair runs one alignment over the in-memory pipe and times it.
func ubPair(bankIDs, centerIDs []string, bo align.Options, center func(ctx context.Context) (align.Options, error)) (ubSession, error) {
	ta, tc := fl.NewPipe()
	defer ta.Close()
	defer tc.Close()
	ctx := context.Background()
	start, cpu0 := time.Now(), ubCPU()
	done := make(chan error, 1)
	go func() {
		co, err := center(ctx)
		if err != nil {
			done <- err
			_ = fl.Abort(ctx, tc, err)
			return
		}
		_, err = align.AlignWith(ctx, tc, centerIDs, co)
		done <- err
	}()
	res, err := align.AlignWith(ctx, ta, bankIDs, bo)
	if cerr := <-done; err == nil {
		err = cerr
	}
	if err != nil {
		return ubSession{}, err
	}
	st := ta.Stats()
	return ubSession{seconds: time.Since(start).Seconds(), cpu: ubCPU() - cpu0, toCenter: st.SentBytes, toBank: st.RecvBytes, rows: len(res.Rows)}, nil
}

// ubCPU returns the CPU-seconds (user and system) this process has used.
func ubCPU() float64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

func ubOneProcess(bankIDs, centerIDs []string) (first, later, moved ubSession, err error) {
	store := &psi.CenterStore{Center: "center"}
	cache := psi.NewCache("center", "bank")
	center := func(ctx context.Context) (align.Options, error) {
		set, err := store.Set(ctx, "bank", centerIDs)
		return align.Options{Center: set}, err
	}
	if first, err = ubPair(bankIDs, centerIDs, align.Options{Cache: cache}, center); err != nil {
		return
	}
	runtime.GC()
	if later, err = ubPair(bankIDs, centerIDs, align.Options{Cache: cache}, center); err != nil {
		return
	}
	runtime.GC()
	moved, err = ubPair(ubMoved(bankIDs), centerIDs, align.Options{Cache: cache}, center)
	return
}

func ubBalanced(bankIDs, centerIDs []string, p align.Protocol) (ubSession, error) {
	runtime.GC()
	o := align.Options{BalancedProtocol: p}
	return ubPair(bankIDs, centerIDs, o, func(context.Context) (align.Options, error) { return o, nil })
}

// ubTwoProcesses starts this executable as the center (ubCenterMain) and
// runs two sessions against it as the bank.
func ubTwoProcesses(bankIDs []string) (first, later, moved ubSession, err error) {
	dir, err := os.MkdirTemp("", "veil-psi-ub-")
	if err != nil {
		return
	}
	defer os.RemoveAll(dir)
	pilot, err := pki.NewPilot("bank", "center")
	if err != nil {
		return
	}
	if err = pilot.WritePEM(dir); err != nil {
		return
	}
	exe, err := os.Executable()
	if err != nil {
		return
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), ubCenterEnv+"="+dir)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return
	}
	if err = cmd.Start(); err != nil {
		return
	}
	defer func() {
		stdin.Close() // the center stops when its input ends
		if werr := cmd.Wait(); err == nil && werr != nil {
			err = fmt.Errorf("the center's process: %w", werr)
		}
	}()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		return first, later, moved, fmt.Errorf("the center's process gave no address: %w", err)
	}
	addr := strings.TrimSpace(strings.TrimPrefix(line, "ADDR "))
	id, err := fl.LoadTLS(filepath.Join(dir, "bank.pem"), filepath.Join(dir, "bank-key.pem"), filepath.Join(dir, "ca.pem"))
	if err != nil {
		return
	}
	cache := psi.NewCache("center", "bank")
	session := func(bankIDs []string) (ubSession, error) {
		ctx := context.Background()
		start := time.Now()
		t, err := link.Dial(ctx, addr, link.GRPCOptions{TLS: id.ClientTLS("center")})
		if err != nil {
			return ubSession{}, err
		}
		defer t.Close()
		res, err := align.AlignWith(ctx, t, bankIDs, align.Options{Cache: cache})
		if err != nil {
			return ubSession{}, err
		}
		st := t.Stats()
		return ubSession{seconds: time.Since(start).Seconds(), toCenter: st.SentBytes, toBank: st.RecvBytes, rows: len(res.Rows)}, nil
	}
	if first, err = session(bankIDs); err != nil {
		return
	}
	runtime.GC()
	if later, err = session(bankIDs); err != nil {
		return
	}
	runtime.GC()
	moved, err = session(ubMoved(bankIDs))
	return
}

// ubCenterMain is the center's process: it serves alignments of its
// 800,000 ids to the bank named in the client certificate, from one store
// (one epoch), until its standard input ends.
func ubCenterMain(dir string) int {
	_, centerIDs := ubIDs()
	id, err := fl.LoadTLS(filepath.Join(dir, "center.pem"), filepath.Join(dir, "center-key.pem"), filepath.Join(dir, "ca.pem"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "psi center:", err)
		return 1
	}
	store := &psi.CenterStore{Center: "center"}
	srv, addr, err := link.Listen("127.0.0.1:0", func(ctx context.Context, t fl.Transport) error {
		peer, ok := fl.PeerIdentity(ctx)
		if !ok {
			return errors.New("no client certificate")
		}
		set, err := store.Set(ctx, peer.Name, centerIDs)
		if err != nil {
			return err
		}
		_, err = align.AlignWith(ctx, t, centerIDs, align.Options{Center: set})
		if err != nil {
			fmt.Fprintln(os.Stderr, "psi center:", err)
		}
		return err
	}, link.GRPCOptions{TLS: id.ServerTLS("bank")})
	if err != nil {
		fmt.Fprintln(os.Stderr, "psi center:", err)
		return 1
	}
	fmt.Printf("ADDR %s\n", addr)
	_, _ = bufio.NewReader(os.Stdin).ReadString(0) // until the runner closes it
	_ = srv.Close()
	return 0
}
