package node

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/veil-fl/veil/dataset"
	"github.com/veil-fl/veil/fl"
	"github.com/veil-fl/veil/fl/link"
	"github.com/veil-fl/veil/fl/pki"
	"github.com/veil-fl/veil/job"
	"github.com/veil-fl/veil/model"
	"github.com/veil-fl/veil/node/config"
	"github.com/veil-fl/veil/node/registry"
)

// envInt reads a benchmark size from the environment.
func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// heapPeak samples the live heap every millisecond until stop, and returns
// its peak.
func heapPeak(stop <-chan struct{}) <-chan uint64 {
	out := make(chan uint64, 1)
	go func() {
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		var peak uint64
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			metrics.Read(s)
			peak = max(peak, s[0].Value.Uint64())
			select {
			case <-stop:
				out <- peak
				return
			case <-tick.C:
			}
		}
	}()
	return out
}

func heapNow() uint64 {
	runtime.GC()
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// BenchmarkCenterScoring8: a center holding VEIL_NODE_BENCH_ROWS
// enterprises (default 200,000) serves 8 concurrent band scorings of
// bank-a, each of VEIL_NODE_BENCH_APPLICANTS other enterprises of its
// (default 25,000), with an LR model in both registries. The center runs
// in a process of its own (TestCenterProcess); the benchmark reports its
// live heap after loading its tables (center-base-MB), its peak live heap
// while serving (center-peak-MB) and its peak RSS (center-peak-RSS-MB), and
// the 8 banks' peak live heap in this process (banks-peak-MB).
func BenchmarkCenterScoring8(b *testing.B) {
	rows := envInt("VEIL_NODE_BENCH_ROWS", 200_000)
	applicants := envInt("VEIL_NODE_BENCH_APPLICANTS", 25_000)
	const sessions = 8
	dir := b.TempDir()
	pilot, err := pki.NewPilot("center", "bank-a", "bank-b")
	must(b, err)
	must(b, pilot.WritePEM(dir))
	bank, center, err := dataset.Synthesize(dataset.SynthOptions{Rows: rows, Seed: 11})
	must(b, err)
	writeFile(b, filepath.Join(dir, "center.csv"), center)
	// Each session scores its own enterprises: an enterprise may be scored
	// only 3 times a day (score.Quota.ScoresPerDay).
	perm := rand.New(rand.NewPCG(1, 2)).Perm(rows)
	if sessions*applicants > rows {
		b.Fatalf("%d sessions of %d applicants: more than the bank's %d rows", sessions, applicants, rows)
	}
	for i := range sessions {
		sub := bank.Select(perm[i*applicants : (i+1)*applicants])
		sub.Labels = nil
		writeFile(b, filepath.Join(dir, fmt.Sprintf("applicants-%d.csv", i)), sub)
	}

	// An LR model's halves with random weights, of one training, in both
	// registries (the scoring's cost does not depend on the weights).
	r := rand.New(rand.NewPCG(5, 5))
	half := func(party model.Role, t *dataset.Table) []byte {
		st, err := model.FitStandardizer(t.X, t.Cols())
		must(b, err)
		w := make([]float64, t.Cols())
		for j := range w {
			w[j] = 0.3 * r.NormFloat64()
		}
		h := &model.LRHalf{Version: model.LRVersion, Party: party, Training: training1, Features: t.Columns, Standardizer: st, Weights: w}
		var buf bytes.Buffer
		must(b, h.Save(&buf))
		return buf.Bytes()
	}
	creg, err := registry.Open(filepath.Join(dir, "center-models"))
	must(b, err)
	_, err = creg.Put(registry.Meta{Owner: "bank-a", Name: "sme-credit", Kind: "lr", Training: training1, Table: "enterprises", Columns: center.Columns},
		map[string][]byte{halfFile(fl.RolePassive, "lr"): half(model.Passive, center)})
	must(b, err)
	breg, err := registry.Open(filepath.Join(dir, "bank-a-models"))
	must(b, err)
	_, err = breg.Put(registry.Meta{Name: "sme-credit", Kind: "lr", Training: training1, Table: "enterprises", Columns: bank.Columns},
		map[string][]byte{halfFile(fl.RoleActive, "lr"): half(model.Active, bank)})
	must(b, err)
	bank, center = nil, nil

	path := filepath.Join(dir, "center.yaml")
	// A loaded machine takes minutes to blind 200,000 ids 8 times over.
	yaml := strings.Replace(fmt.Sprintf(centerYAML, "tax_arrears", 2, sessions), "session_timeout: 5m", "session_timeout: 1h", 1)
	yaml = strings.Replace(yaml, "idle_timeout: 30s", "idle_timeout: 30m", 1)
	must(b, os.WriteFile(path, []byte(yaml), 0o644))

	// The center runs in its own process (TestCenterProcess), so that its
	// memory is its own.
	addrFile, report := filepath.Join(dir, "addr"), filepath.Join(dir, "report")
	cmd := exec.Command(os.Args[0], "-test.run=^TestCenterProcess$")
	cmd.Env = append(os.Environ(), "VEIL_NODE_CENTER_CONFIG="+path, "VEIL_NODE_CENTER_ADDR="+addrFile, "VEIL_NODE_CENTER_REPORT="+report)
	cmd.Stderr = os.Stderr
	must(b, cmd.Start())
	defer cmd.Process.Kill()
	var addr []byte
	for deadline := time.Now().Add(10 * time.Minute); len(addr) == 0; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			b.Fatal("the center did not start in 10 minutes")
		}
		addr, _ = os.ReadFile(addrFile)
	}
	f := &fixture{dir: dir, addr: string(addr)}
	scfg := make([]*config.Score, sessions)
	for i := range scfg {
		p := filepath.Join(dir, fmt.Sprintf("score-%d.yaml", i))
		must(b, os.WriteFile(p, fmt.Appendf(nil, scoreYAML, f.addr, "bank-a", "bank-a", "bank-a", OutputBands, fmt.Sprintf("bank-a-%d", i)), 0o644))
		scfg[i], err = config.LoadScore(p)
		must(b, err)
		scfg[i].Data.Source = filepath.Join(dir, fmt.Sprintf("applicants-%d.csv", i))
	}
	b.ResetTimer()
	for range b.N {
		stop := make(chan struct{})
		peak := heapPeak(stop)
		start := time.Now()
		var wg sync.WaitGroup
		errs := make([]error, sessions)
		scored := make([]int, sessions)
		for i := range sessions {
			wg.Go(func() {
				res, err := Score(context.Background(), scfg[i], nil)
				if err == nil {
					scored[i] = res.Scored
				}
				errs[i] = err
			})
		}
		wg.Wait()
		close(stop)
		must(b, errors.Join(errs...))
		secs := time.Since(start).Seconds()
		b.ReportMetric(float64(<-peak)/(1<<20), "banks-peak-MB")
		b.ReportMetric(secs, "s/8-sessions")
		b.ReportMetric(float64(scored[0]), "scored/session")
	}
	b.StopTimer()
	if st, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", cmd.Process.Pid)); err == nil {
		for _, line := range strings.Split(string(st), "\n") {
			if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
				kb, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
				b.ReportMetric(float64(kb)/1024, "center-peak-RSS-MB")
			}
		}
	}
	must(b, cmd.Process.Signal(syscall.SIGTERM))
	must(b, cmd.Wait())
	rep, err := os.ReadFile(report)
	must(b, err)
	var base, peak float64
	_, err = fmt.Sscanf(string(rep), "%g %g", &base, &peak)
	must(b, err)
	b.ReportMetric(base/(1<<20), "center-base-MB")
	b.ReportMetric(peak/(1<<20), "center-peak-MB")
}

// TestCenterProcess is BenchmarkCenterScoring8's center, in a process of
// its own: it serves VEIL_NODE_CENTER_CONFIG until SIGTERM, having written
// its address to VEIL_NODE_CENTER_ADDR, then writes the live heap after
// loading and its peak while serving to VEIL_NODE_CENTER_REPORT.
func TestCenterProcess(t *testing.T) {
	path := os.Getenv("VEIL_NODE_CENTER_CONFIG")
	if path == "" {
		t.Skip("BenchmarkCenterScoring8's center process")
	}
	cfg, err := config.LoadCenter(path)
	require.NoError(t, err)
	base := heapNow()
	c, err := NewCenter(cfg, nil)
	require.NoError(t, err)
	require.NoError(t, c.Listen())
	loaded := heapNow() - base
	stop := make(chan struct{})
	peak := heapPeak(stop)
	ctx, cancel := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer cancel()
	tmp := os.Getenv("VEIL_NODE_CENTER_ADDR") + ".tmp"
	require.NoError(t, os.WriteFile(tmp, []byte(c.Addr().String()), 0o644))
	require.NoError(t, os.Rename(tmp, os.Getenv("VEIL_NODE_CENTER_ADDR")))
	require.NoError(t, c.Serve(ctx))
	close(stop)
	require.NoError(t, os.WriteFile(os.Getenv("VEIL_NODE_CENTER_REPORT"), fmt.Appendf(nil, "%d %d\n", loaded, <-peak), 0o644))
}

// BenchmarkTraining compares one LR training session of
// VEIL_NODE_BENCH_TRAIN_ROWS enterprises (default 10,000; 5 epochs)
// through the node (Train against a Center) with the same job run
// directly over gRPC with mTLS (job.RunActive / RunPassive over
// link.Listen and link.Dial, examples/twoparty's path). It reports the
// bank's whole job and its LR training, in seconds.
func BenchmarkTraining(b *testing.B) {
	rows := envInt("VEIL_NODE_BENCH_TRAIN_ROWS", 10_000)
	dir := b.TempDir()
	pilot, err := pki.NewPilot("center", "bank-a", "bank-b")
	must(b, err)
	must(b, pilot.WritePEM(dir))
	bank, center, err := dataset.Synthesize(dataset.SynthOptions{Rows: rows, Seed: 7})
	must(b, err)
	writeFile(b, filepath.Join(dir, "center.csv"), center)
	writeFile(b, filepath.Join(dir, "bank.csv"), bank)
	path := filepath.Join(dir, "center.yaml")
	must(b, os.WriteFile(path, fmt.Appendf(nil, centerYAML, "tax_arrears", 2, 4), 0o644))
	ccfg, err := config.LoadCenter(path)
	must(b, err)
	const settings = "lr: {epochs: 5}"

	b.Run("node", func(b *testing.B) {
		c, err := NewCenter(ccfg, nil)
		must(b, err)
		must(b, c.Listen())
		ctx, cancel := context.WithCancel(context.Background())
		served := make(chan error, 1)
		go func() { served <- c.Serve(ctx) }()
		defer func() { cancel(); <-served }()
		f := &fixture{dir: dir, addr: c.Addr().String()}
		jpath := filepath.Join(dir, "job.yaml")
		must(b, os.WriteFile(jpath, fmt.Appendf(nil, jobYAML, f.addr, "bank-a", "bank-a", "bank-a", "lr", settings), 0o644))
		for range b.N {
			jcfg, err := config.LoadJob(jpath)
			must(b, err)
			start := time.Now()
			res, err := Train(context.Background(), jcfg, nil)
			must(b, err)
			b.ReportMetric(time.Since(start).Seconds(), "job-s")
			b.ReportMetric(res.TrainSeconds, "train-s")
			b.ReportMetric(res.AUC, "auc")
		}
	})

	b.Run("direct", func(b *testing.B) {
		jcfg, err := config.LoadJob(func() string {
			p := filepath.Join(dir, "job-direct.yaml")
			must(b, os.WriteFile(p, fmt.Appendf(nil, jobYAML, "127.0.0.1:1", "bank-a", "bank-a", "bank-a", "lr", settings), 0o644))
			return p
		}())
		must(b, err)
		centerID, err := pilot.Identity("center")
		must(b, err)
		bankID, err := pilot.Identity("bank-a")
		must(b, err)
		for range b.N {
			bspec, err := jcfg.Spec()
			must(b, err)
			bspec.Train = bank
			cspec := job.Spec{Train: center, Models: []job.Kind{job.LR}}
			done := make(chan error, 1)
			srv, addr, err := link.Listen("127.0.0.1:0", func(ctx context.Context, t fl.Transport) error {
				_, err := job.RunPassive(ctx, t, cspec)
				done <- err
				return err
			}, link.GRPCOptions{TLS: centerID.ServerTLS("bank-a")})
			must(b, err)
			start := time.Now()
			t, err := link.Dial(context.Background(), addr.String(), link.GRPCOptions{TLS: bankID.ClientTLS("center")})
			must(b, err)
			res, err := job.RunActive(context.Background(), t, bspec)
			must(b, err)
			must(b, <-done)
			b.ReportMetric(time.Since(start).Seconds(), "job-s")
			m := res.Model(job.LR)
			b.ReportMetric(m.TrainTime.Seconds(), "train-s")
			b.ReportMetric(m.AUC, "auc")
			t.Close()
			srv.Close()
		}
	})
}

func must(b *testing.B, err error) {
	b.Helper()
	if err != nil {
		b.Fatal(err)
	}
}

func writeFile(b *testing.B, path string, t *dataset.Table) {
	b.Helper()
	f, err := os.Create(path)
	must(b, err)
	must(b, t.WriteCSV(f))
	must(b, f.Close())
}
