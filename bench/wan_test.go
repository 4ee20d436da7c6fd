package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/veil-fl/veil/fl"
)

func TestSplitWANArgs(t *testing.T) {
	for _, tc := range []struct {
		name       string
		args       []string
		wan, other []string
	}{
		{"none", []string{"-json", "-only", "wan_lr"}, nil, []string{"-json", "-only", "wan_lr"}},
		{"separate value", []string{"-json", "-wan-rate", "50mbit", "-runs", "1"}, []string{"-wan-rate", "50mbit"}, []string{"-json", "-runs", "1"}},
		{"joined value", []string{"--wan-delay=10ms", "-json"}, []string{"--wan-delay=10ms"}, []string{"-json"}},
		{"not a flag", []string{"-only", "wan-rate"}, nil, []string{"-only", "wan-rate"}},
		{"three dashes", []string{"---wan-rate", "1"}, nil, []string{"---wan-rate", "1"}},
		{"after --", []string{"-wan-trees", "2", "--", "-wan-depth", "1"}, []string{"-wan-trees", "2"}, []string{"--", "-wan-depth", "1"}},
		{"last without value", []string{"-json", "-wan-rows"}, []string{"-wan-rows"}, []string{"-json"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wan, other := splitWANArgs(tc.args)
			require.Equal(t, tc.wan, wan)
			require.Equal(t, tc.other, other)
		})
	}
}

func TestWANConfigCheck(t *testing.T) {
	require.NoError(t, defaultWANConfig().check())
	for _, tc := range []struct {
		name string
		set  func(*wanConfig)
		want string
	}{
		{"rate without unit", func(c *wanConfig) { c.Rate = "100" }, "-wan-rate"},
		{"rate injecting", func(c *wanConfig) { c.Rate = "100mbit burst 1" }, "-wan-rate"},
		{"negative delay", func(c *wanConfig) { c.Delay = -time.Millisecond }, "-wan-delay"},
		{"few rows", func(c *wanConfig) { c.Rows = 10 }, "-wan-rows"},
		{"no epochs", func(c *wanConfig) { c.Epochs = 0 }, "-wan-epochs"},
		{"no trees", func(c *wanConfig) { c.Trees = 0 }, "-wan-trees"},
		{"no depth", func(c *wanConfig) { c.Depth = 0 }, "-wan-depth"},
		{"no timeout", func(c *wanConfig) { c.Timeout = 0 }, "-wan-timeout"},
		{"infinite plan", func(c *wanConfig) { c.PlanMbps = math.Inf(1) }, "-wan-plan-mbps"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := defaultWANConfig()
			tc.set(&c)
			require.ErrorContains(t, c.check(), tc.want)
		})
	}
}

func TestRateMbps(t *testing.T) {
	for _, tc := range []struct {
		rate string
		mbps float64
	}{{"100mbit", 100}, {"1gbit", 1000}, {"512kbit", 0.512}, {"2.5mbit", 2.5}, {"10mbps", 80}, {"1000000bit", 1}} {
		got, err := rateMbps(tc.rate)
		require.NoError(t, err, tc.rate)
		require.InDelta(t, tc.mbps, got, 1e-9, tc.rate)
	}
	for _, bad := range []string{"", "100", "mbit", "0mbit", "-1mbit", "1e3mbit", "100 mbit", "100mbit;"} {
		_, err := rateMbps(bad)
		require.Error(t, err, bad)
	}
	c := defaultWANConfig()
	require.Equal(t, 100.0, c.planMbps(), "the bank plans for the shaped rate by default")
	c.PlanMbps = 0
	require.Equal(t, 0.0, c.planMbps())
	c.PlanMbps, c.Rate = -1, "1gbit"
	require.Equal(t, 1000.0, c.planMbps())
}

func TestDecodePartyResult(t *testing.T) {
	good := `{"party":"bank","seconds":10,"train_seconds":8,"sent":100,"recv":200,"sent_msgs":3,"recv_msgs":4,"model_bytes":250,` +
		`"key_bytes":100,"loop_bytes":140,"key_seconds":2,"loop_seconds":5,"rows_aligned":1000,"train_rows":800,"cols":10,"auc":0.7,"epochs":3}`
	r, err := decodePartyResult([]byte("a log line\n"+good+"\n\n"), "bank")
	require.NoError(t, err)
	require.Equal(t, partyResult{Party: "bank", Seconds: 10, TrainSeconds: 8, Sent: 100, Recv: 200, SentMsgs: 3, RecvMsgs: 4, ModelBytes: 250,
		KeyBytes: 100, LoopBytes: 140, KeySeconds: 2, LoopSeconds: 5, RowsAligned: 1000, TrainRows: 800, Cols: 10, AUC: 0.7, Epochs: 3}, r)
	for _, tc := range []struct {
		name, out, want string
	}{
		{"empty", "", "printed no result"},
		{"not JSON", "bank done", "result"},
		{"other party", good, "where the center's"},
		{"unknown field", strings.Replace(good, `"auc"`, `"x":1,"auc"`, 1), "unknown field"},
		{"negative time", strings.Replace(good, `"seconds":10`, `"seconds":-1`, 1), "times"},
		{"training longer than job", strings.Replace(good, `"train_seconds":8`, `"train_seconds":11`, 1), "times"},
		{"model bytes above job", strings.Replace(good, `"model_bytes":250`, `"model_bytes":301`, 1), "model bytes"},
		{"keys above model", strings.Replace(good, `"key_bytes":100`, `"key_bytes":251`, 1), "model bytes"},
		{"loop above model", strings.Replace(good, `"loop_bytes":140`, `"loop_bytes":151`, 1), "model bytes"},
		{"phases longer than training", strings.Replace(good, `"loop_seconds":5`, `"loop_seconds":7`, 1), "key generation"},
		{"training rows above aligned", strings.Replace(good, `"train_rows":800`, `"train_rows":1001`, 1), "counts"},
		{"negative columns", strings.Replace(good, `"cols":10`, `"cols":-1`, 1), "counts"},
		{"AUC above 1", strings.Replace(good, `"auc":0.7`, `"auc":1.5`, 1), "AUC"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			party := "bank"
			if tc.name == "other party" {
				party = "center"
			}
			_, err := decodePartyResult([]byte(tc.out), party)
			require.ErrorContains(t, err, tc.want)
		})
	}
}

func FuzzDecodePartyResult(f *testing.F) {
	f.Add([]byte(`{"party":"bank","seconds":1,"train_seconds":1,"sent":1,"recv":1,"model_bytes":2,"rows_aligned":2,"train_rows":1,"auc":0.5}`))
	f.Add([]byte("\n\n"))
	f.Add([]byte(`{"party":"bank","seconds":1e400}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := decodePartyResult(b, "bank")
		if err == nil && (r.Party != "bank" || r.TrainRows > r.RowsAligned || r.ModelBytes > r.Sent+r.Recv) {
			t.Fatalf("accepted an inconsistent result %+v", r)
		}
	})
}

func TestCountingTransport(t *testing.T) {
	ta, tb := fl.NewPipe()
	defer tb.Close()
	c := newCountingTransport(ta)
	defer c.Close()
	ctx := context.Background()
	go func() {
		for _, m := range []fl.Message{{Type: "x", Payload: make([]byte, 10)}, {Type: "y", Payload: make([]byte, 5)}} {
			_ = tb.Send(ctx, m)
		}
	}()
	for _, m := range []fl.Message{{Type: "x", Payload: make([]byte, 3)}, {Type: "x", Payload: make([]byte, 4)}} {
		require.NoError(t, c.Send(ctx, m))
		_, err := tb.Recv(ctx)
		require.NoError(t, err)
	}
	for range 2 {
		_, err := c.Recv(ctx)
		require.NoError(t, err)
	}
	require.Equal(t, map[string]kindCount{"x": {SentMsgs: 2, Sent: 7, RecvMsgs: 1, Recv: 10}, "y": {RecvMsgs: 1, Recv: 5}}, c.Kinds())
	require.Equal(t, ta.Stats(), c.Stats())
	var w fl.Wrapper = c
	require.Equal(t, ta, w.Unwrap(), "fl.SetMessageLimit looks through it")

	text := kindsText(c.Kinds(), 1)
	require.Contains(t, text, ": x 0.0 MB (77%, 2 to center, 1 to bank), 1 more types")
	require.Contains(t, kindsText(c.Kinds(), 2), "x 0.0 MB (77%, 2 to center, 1 to bank), y 0.0 MB (23%, 1 to bank)")
	require.Equal(t, "no per-type counts", kindsText(nil, 3))
}

func TestParseLinkCounters(t *testing.T) {
	tx, err := parseTxBytes([]byte(`[{"ifname":"veil-a","stats64":{"rx":{"bytes":5},"tx":{"bytes":1234}}}]`))
	require.NoError(t, err)
	require.Equal(t, uint64(1234), tx)
	for _, bad := range []string{``, `[]`, `[{"ifname":"a"}]`, `[{"stats64":{"tx":{}}}]`, `[{"stats64":{"tx":{"bytes":1}}},{"stats64":{"tx":{"bytes":1}}}]`, `{"x":1}`} {
		_, err := parseTxBytes([]byte(bad))
		require.Error(t, err, bad)
	}
	kind, sent, err := parseQdisc([]byte(`[{"kind":"tbf","handle":"8001:","root":true,"options":{"rate":12500000},"bytes":777,"packets":3}]`))
	require.NoError(t, err)
	require.Equal(t, "tbf", kind)
	require.Equal(t, uint64(777), sent)
	for _, bad := range []string{``, `[]`, `[{"kind":"tbf","root":false,"bytes":1}]`, `[{"kind":"tbf","root":true}]`} {
		_, _, err := parseQdisc([]byte(bad))
		require.Error(t, err, bad)
	}
}

func FuzzParseLinkCounters(f *testing.F) {
	f.Add([]byte(`[{"ifname":"veil-a","stats64":{"tx":{"bytes":1}}}]`))
	f.Add([]byte(`[{"kind":"noqueue","root":true,"bytes":0}]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = parseTxBytes(b)
		_, _, _ = parseQdisc(b)
	})
}

// echoServer echoes every connection until it ends.
func echoServer(t *testing.T) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { lis.Close() })
	go func() {
		for {
			c, err := lis.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_, _ = io.Copy(c, c)
			}()
		}
	}()
	return lis.Addr().String()
}

// TestDelayProxy sends bytes through the proxy to an echo server: they come
// back whole, in order, and a round trip takes at least twice the delay.
func TestDelayProxy(t *testing.T) {
	target := echoServer(t)
	for _, delay := range []time.Duration{0, 40 * time.Millisecond} {
		t.Run(delay.String(), func(t *testing.T) {
			p, err := startDelayProxy("127.0.0.1:0", target, delay)
			require.NoError(t, err)
			defer func() { require.NoError(t, p.Close()) }()
			c, err := net.Dial("tcp", p.Addr())
			require.NoError(t, err)
			defer c.Close()
			require.NoError(t, c.SetDeadline(time.Now().Add(30*time.Second)))

			start := time.Now()
			_, err = c.Write([]byte("ping"))
			require.NoError(t, err)
			got := make([]byte, 4)
			_, err = io.ReadFull(c, got)
			require.NoError(t, err)
			require.Equal(t, "ping", string(got))
			require.GreaterOrEqual(t, time.Since(start), 2*delay, "a round trip crosses the proxy twice")

			// More than the proxy's window, both ways at once.
			payload := make([]byte, proxyWindow+3*proxyChunk+17)
			_, err = rand.Read(payload)
			require.NoError(t, err)
			errc := make(chan error, 1)
			go func() {
				_, err := c.Write(payload)
				if err == nil {
					err = c.(*net.TCPConn).CloseWrite()
				}
				errc <- err
			}()
			back, err := io.ReadAll(c)
			require.NoError(t, err)
			require.NoError(t, <-errc)
			require.True(t, bytes.Equal(payload, back), "the echo differs from what was sent (%d bytes back of %d)", len(back), len(payload))
		})
	}
}

func TestDelayProxyUnreachable(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	target := lis.Addr().String()
	require.NoError(t, lis.Close()) // nothing listens there now
	p, err := startDelayProxy("127.0.0.1:0", target, time.Millisecond)
	require.NoError(t, err)
	defer p.Close()
	c, err := net.Dial("tcp", p.Addr())
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.SetDeadline(time.Now().Add(30*time.Second)))
	_, err = c.Read(make([]byte, 1))
	require.Error(t, err, "the proxy closes a connection it cannot forward")
}

// wanReady skips the test unless this machine can run the WAN mode.
func wanReady(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("skipping the WAN job in -short mode: it runs two processes in two network namespaces")
	}
	if os.Geteuid() != 0 {
		t.Skip("skipping: the WAN mode needs root (network namespaces, veth, tc)")
	}
	if !haveIPRoute2() {
		t.Skip("skipping: the WAN mode needs iproute2 (ip, tc), which is not installed")
	}
}

// ourNetns lists the namespaces this process made.
func ourNetns() []string {
	var ours []string
	for _, n := range netnsList(context.Background()) {
		if strings.HasPrefix(n, fmt.Sprintf("veil-wan-%d-", os.Getpid())) {
			ours = append(ours, n)
		}
	}
	return ours
}

// TestWANShapedJob runs a tiny SecureBoost job (300 rows, one tree of
// depth 2) as two processes in two namespaces, unshaped and shaped at 50
// Mbit/s, twice each, alternating: each party's bytes are the other's, the figures carry them, the
// shaped run's traffic went through tbf, and the namespaces are gone after.
func TestWANShapedJob(t *testing.T) {
	wanReady(t)
	c := defaultWANConfig()
	c.Rate, c.Rows, c.Trees, c.Depth, c.Timeout = "50mbit", 300, 1, 2, 5*time.Minute
	c.Delay = 2 * time.Millisecond // through the delaying proxy
	j := wanJob{Model: "sbt", Data: "synthetic", Cfg: c}
	var log bytes.Buffer
	// Two runs each: unshaped, shaped, unshaped again (tbf taken off), shaped.
	unshaped, shaped, err := runWANPair(context.Background(), &log, j, 2)
	require.NoError(t, err, log.String())
	require.Empty(t, ourNetns(), "the namespaces are deleted after the runs")

	require.Len(t, unshaped, 2)
	require.Len(t, shaped, 2)
	for _, r := range append(unshaped, shaped...) {
		b, c := r.Bank, r.Center
		require.Equal(t, b.Sent, c.Recv, "bank sent = center received")
		require.Equal(t, b.Recv, c.Sent, "bank received = center sent")
		require.Equal(t, b.SentMsgs, c.RecvMsgs)
		// Each end counts the model's bytes from its own start to its own
		// end: the windows differ by the frames in flight at either edge.
		require.InEpsilon(t, float64(b.ModelBytes), float64(c.ModelBytes), 0.01, "the model's bytes at both ends")
		require.Positive(t, b.KeyBytes)
		require.Positive(t, b.LoopBytes)
		require.Equal(t, 1, b.Trees)
		require.Greater(t, b.AUC, 0.0)
		// The veth carried the job's frames plus TLS, TCP and IP.
		require.GreaterOrEqual(t, r.BankWire, b.Sent)
		require.GreaterOrEqual(t, r.CenterWire, c.Sent)
		require.Equal(t, unshaped[0].Bank.ModelBytes, b.ModelBytes, "the same job sends the same bytes")
		// The payloads by type are nearly all of the frames' bytes.
		var sent, recv uint64
		for _, k := range b.Kinds {
			sent, recv = sent+k.Sent, recv+k.Recv
		}
		require.InDelta(t, 1, float64(sent)/float64(b.Sent), 0.02)
		require.InDelta(t, 1, float64(recv)/float64(b.Recv), 0.02)
	}
	for i := range 2 {
		require.Zero(t, unshaped[i].QdiscBytes)
		require.GreaterOrEqual(t, shaped[i].QdiscBytes, shaped[i].Bank.Sent, "the shaped run's traffic went through tbf")
	}

	figs := wanFigures(j, unshaped[0], shaped[0], 1)
	require.Len(t, figs, 2)
	require.Equal(t, "wan_sbt", figs[0].Name)
	require.Equal(t, shaped[0].Bank.TrainSeconds, figs[0].Value)
	require.NotNil(t, figs[0].Baseline)
	require.Equal(t, unshaped[0].Bank.TrainSeconds, *figs[0].Baseline)
	require.Equal(t, "wan_sbt_bytes_mb", figs[1].Name)
	require.Equal(t, float64(shaped[0].Bank.ModelBytes)/1e6, figs[1].Value)
	require.Contains(t, figs[0].Note, "tbf 50mbit")
	require.Contains(t, figs[0].Note, "plus 2ms each way by a delaying proxy")
	require.Contains(t, figs[0].Note, fmt.Sprintf("bank to center %.1f MB", float64(shaped[0].Bank.Sent)/1e6))
}

func TestMedianPair(t *testing.T) {
	run := func(sec float64) wanRun { return wanRun{Bank: partyResult{TrainSeconds: sec}} }
	// Ratios 96/60 = 1.6, 44/67 = 0.66, 31/15 = 2.07: the median is the first
	// pair's, though each mode's median (60 and 44) would give 0.73.
	u, s := medianPair([]wanRun{run(60), run(67), run(15)}, []wanRun{run(96), run(44), run(31)})
	require.Equal(t, 60.0, u.Bank.TrainSeconds)
	require.Equal(t, 96.0, s.Bank.TrainSeconds)
	u, s = medianPair([]wanRun{run(2)}, []wanRun{run(3)})
	require.Equal(t, 2.0, u.Bank.TrainSeconds)
	require.Equal(t, 3.0, s.Bank.TrainSeconds)
}

// A WAN figure on data that is absent is skipped, not failed, and says so.
func TestWANSkipsWithoutData(t *testing.T) {
	saved := wan
	defer func() { wan = saved }()
	wan.Shared = t.TempDir()
	figs, err := wanFigure("wan_sbt_default_credit", "sbt", "default_credit", 1)
	require.NoError(t, err)
	require.Empty(t, figs)
	_, err = sharedDataDir(wan)
	require.ErrorContains(t, err, "default_credit_hetero_guest.csv not found in "+wan.Shared)
}

// TestWANFailedJob: a party that fails stops its peer, the error says
// which and why, and the namespaces are deleted all the same.
func TestWANFailedJob(t *testing.T) {
	wanReady(t)
	c := defaultWANConfig()
	c.Rows, c.Timeout = 300, time.Minute
	j := wanJob{Model: "nope", Data: "synthetic", Cfg: c}
	var log bytes.Buffer
	_, _, err := runWANPair(context.Background(), &log, j, 1)
	require.ErrorContains(t, err, `-wan-model "nope"`)
	require.Empty(t, ourNetns(), "the namespaces are deleted after a failed run")
}

// TestWANNetnsGoneAfterKill: namespaces whose runner was killed before its
// teardown are removed by the next runner.
func TestWANNetnsGoneAfterKill(t *testing.T) {
	wanReady(t)
	// A process that is certainly gone: one that ran and was reaped.
	cmd := exec.Command("true")
	require.NoError(t, cmd.Run())
	dead := cmd.Process.Pid
	p, err := newNetnsPair(context.Background(), dead)
	require.NoError(t, err)
	defer p.teardown()
	require.True(t, netnsExists(context.Background(), p.a))
	dir, err := os.MkdirTemp("", fmt.Sprintf("veil-wan-%d-", dead))
	require.NoError(t, err)
	defer os.RemoveAll(dir)
	mine, err := os.MkdirTemp("", fmt.Sprintf("veil-wan-%d-", os.Getpid()))
	require.NoError(t, err)
	defer os.RemoveAll(mine)
	q, err := newNetnsPair(context.Background(), os.Getpid())
	require.NoError(t, err)
	require.NoError(t, q.teardown())
	require.False(t, netnsExists(context.Background(), p.a), "a dead runner's namespaces are removed")
	require.False(t, netnsExists(context.Background(), p.b))
	require.NoDirExists(t, dir, "a dead runner's temporary folder is removed")
	require.DirExists(t, mine, "a live runner's stays")
}
