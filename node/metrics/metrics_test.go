package metrics

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// serve starts m's listener on 127.0.0.1:0 and returns its /metrics URL.
func serve(t *testing.T, m *Metrics) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return "http://" + ln.Addr().String() + "/metrics"
}

func scrape(t *testing.T, url string) string {
	t.Helper()
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s: %s", url, resp.Status, b)
	}
	return string(b)
}

// TestScrape runs sessions and refusals and checks the series a scrape over
// a real listener shows, during a session and after.
func TestScrape(t *testing.T) {
	clk := &clock{t: time.Date(2026, 12, 7, 6, 0, 0, 0, time.UTC)}
	m, err := New(Options{Banks: []string{"bank-a", "bank-b"}, NoProcess: true, Now: clk.now, Buckets: []float64{1, 10, 100}})
	if err != nil {
		t.Fatal(err)
	}
	url := serve(t, m)

	train := m.SessionStarted("bank-a", "train-lr")
	score := m.SessionStarted("bank-b", "score")
	// During the sessions: both active, none ended.
	during := scrape(t, url)
	for _, want := range []string{
		`veil_sessions_active{kind="score"} 1`,
		`veil_sessions_active{kind="train-lr"} 1`,
		`veil_sessions_started_total{bank="bank-a",kind="train-lr"} 1`,
		`veil_sessions_started_total{bank="bank-b",kind="score"} 1`,
	} {
		if !strings.Contains(during, want+"\n") {
			t.Errorf("scrape during the sessions lacks %q:\n%s", want, during)
		}
	}
	if strings.Contains(during, "veil_sessions_ended_total{") {
		t.Errorf("scrape during the sessions shows an ended session:\n%s", during)
	}

	clk.add(2500 * time.Millisecond)
	score.End(Result{Outcome: OutcomeOK, BytesSent: 1000, BytesReceived: 250, RowsScored: 30000})
	score.End(Result{Outcome: OutcomeError, BytesSent: 1, BytesReceived: 1, RowsScored: 1}) // ignored
	clk.add(40 * time.Second)
	train.End(Result{Outcome: OutcomeAborted, BytesSent: 5 << 20, BytesReceived: 7 << 20})
	m.Refused("bank-a", "busy")
	m.Refused("bank-a", "busy")
	m.Refused("mallory", "not-whitelisted")
	m.Refused("", "bad-certificate")
	again := m.SessionStarted("intruder", "score") // not in Banks: unknown
	again.End(Result{})                            // "" outcome: error

	want := `
# HELP veil_rows_scored_total Rows scored, by bank.
# TYPE veil_rows_scored_total counter
veil_rows_scored_total{bank="bank-b"} 30000
# HELP veil_session_bytes_total Bytes of ended sessions on the wire, by bank and direction (sent, received).
# TYPE veil_session_bytes_total counter
veil_session_bytes_total{bank="bank-a",direction="received"} 7.340032e+06
veil_session_bytes_total{bank="bank-a",direction="sent"} 5.24288e+06
veil_session_bytes_total{bank="bank-b",direction="received"} 250
veil_session_bytes_total{bank="bank-b",direction="sent"} 1000
veil_session_bytes_total{bank="unknown",direction="received"} 0
veil_session_bytes_total{bank="unknown",direction="sent"} 0
# HELP veil_session_duration_seconds Duration of ended sessions, by kind.
# TYPE veil_session_duration_seconds histogram
veil_session_duration_seconds_bucket{kind="score",le="1"} 1
veil_session_duration_seconds_bucket{kind="score",le="10"} 2
veil_session_duration_seconds_bucket{kind="score",le="100"} 2
veil_session_duration_seconds_bucket{kind="score",le="+Inf"} 2
veil_session_duration_seconds_sum{kind="score"} 2.5
veil_session_duration_seconds_count{kind="score"} 2
veil_session_duration_seconds_bucket{kind="train-lr",le="1"} 0
veil_session_duration_seconds_bucket{kind="train-lr",le="10"} 0
veil_session_duration_seconds_bucket{kind="train-lr",le="100"} 1
veil_session_duration_seconds_bucket{kind="train-lr",le="+Inf"} 1
veil_session_duration_seconds_sum{kind="train-lr"} 42.5
veil_session_duration_seconds_count{kind="train-lr"} 1
# HELP veil_sessions_active Sessions running now, by kind.
# TYPE veil_sessions_active gauge
veil_sessions_active{kind="score"} 0
veil_sessions_active{kind="train-lr"} 0
# HELP veil_sessions_ended_total Sessions ended, by bank, kind and outcome.
# TYPE veil_sessions_ended_total counter
veil_sessions_ended_total{bank="bank-a",kind="train-lr",outcome="aborted"} 1
veil_sessions_ended_total{bank="bank-b",kind="score",outcome="ok"} 1
veil_sessions_ended_total{bank="unknown",kind="score",outcome="error"} 1
# HELP veil_sessions_refused_total Sessions refused before they started, by bank and reason.
# TYPE veil_sessions_refused_total counter
veil_sessions_refused_total{bank="bank-a",reason="busy"} 2
veil_sessions_refused_total{bank="unknown",reason="bad-certificate"} 1
veil_sessions_refused_total{bank="unknown",reason="not-whitelisted"} 1
# HELP veil_sessions_started_total Sessions admitted, by bank and kind.
# TYPE veil_sessions_started_total counter
veil_sessions_started_total{bank="bank-a",kind="train-lr"} 1
veil_sessions_started_total{bank="bank-b",kind="score"} 1
veil_sessions_started_total{bank="unknown",kind="score"} 1
`
	// The exposition as scraped over HTTP, parsed and compared series by
	// series with the expected text.
	names := []string{"veil_rows_scored_total", "veil_session_bytes_total", "veil_session_duration_seconds",
		"veil_sessions_active", "veil_sessions_ended_total", "veil_sessions_refused_total", "veil_sessions_started_total"}
	if err := testutil.ScrapeAndCompare(url, strings.NewReader(want), names...); err != nil {
		t.Error(err)
	}
	// And the registry directly, for the same values.
	if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(want), names...); err != nil {
		t.Error(err)
	}
	if n := testutil.ToFloat64(m.ended.WithLabelValues("bank-b", "score", OutcomeOK)); n != 1 {
		t.Errorf("ended ok for bank-b = %v, want 1", n)
	}
}

// TestNoBanksSet: without Options.Banks any named bank is its own label,
// and an unnamed one is unknown.
func TestNoBanksSet(t *testing.T) {
	m, err := New(Options{NoProcess: true})
	if err != nil {
		t.Fatal(err)
	}
	m.Refused("bank-z", "busy")
	m.Refused("", "busy")
	for _, tc := range []struct {
		bank string
		want float64
	}{{"bank-z", 1}, {UnknownBank, 1}, {"bank-a", 0}} {
		if got := testutil.ToFloat64(m.refused.WithLabelValues(tc.bank, "busy")); got != tc.want {
			t.Errorf("refused{bank=%q} = %v, want %v", tc.bank, got, tc.want)
		}
	}
}

// TestConcurrentSessions: many sessions started and ended at once leave
// counts that add up and no session active.
func TestConcurrentSessions(t *testing.T) {
	m, err := New(Options{NoProcess: true})
	if err != nil {
		t.Fatal(err)
	}
	const n = 200
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := m.SessionStarted(fmt.Sprintf("bank-%d", i%4), "score")
			defer s.End(Result{Outcome: OutcomeError})
			s.End(Result{Outcome: OutcomeOK, BytesSent: 10, RowsScored: 3})
		}()
	}
	wg.Wait()
	if got := testutil.ToFloat64(m.active.WithLabelValues("score")); got != 0 {
		t.Errorf("active = %v, want 0", got)
	}
	var ended, rows float64
	for b := range 4 {
		bank := fmt.Sprintf("bank-%d", b)
		ended += testutil.ToFloat64(m.ended.WithLabelValues(bank, "score", OutcomeOK))
		rows += testutil.ToFloat64(m.rows.WithLabelValues(bank))
	}
	if ended != n || rows != 3*n {
		t.Errorf("ended ok %v, rows %v; want %d, %d", ended, rows, n, 3*n)
	}
	if got := testutil.CollectAndCount(m.ended); got != 4 {
		t.Errorf("%d ended series, want 4 (one per bank, outcome ok only)", got)
	}
}

// TestProcessCollectors: by default the node's memory is exported too.
func TestProcessCollectors(t *testing.T) {
	m, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	text := scrape(t, serve(t, m))
	for _, want := range []string{"go_memstats_heap_inuse_bytes ", "go_goroutines ", "promhttp_metric_handler_requests_total"} {
		if !strings.Contains(text, want) {
			t.Errorf("scrape lacks %q", want)
		}
	}
}

func TestBadBuckets(t *testing.T) {
	for _, b := range [][]float64{{0, 1}, {1, 1}, {2, 1}, {-1}} {
		if _, err := New(Options{Buckets: b}); err == nil {
			t.Errorf("buckets %v accepted", b)
		}
	}
}

// TestListenAndServe: the listener stops when the context is done, and a
// taken address is an error naming it.
func TestListenAndServe(t *testing.T) {
	m, err := New(Options{NoProcess: true})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	err = m.ListenAndServe(context.Background(), ln.Addr().String())
	if err == nil || !strings.Contains(err.Error(), ln.Addr().String()) {
		t.Errorf("ListenAndServe on a taken address: %v, want an error naming it", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.ListenAndServe(ctx, "127.0.0.1:0") }()
	time.Sleep(50 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("ListenAndServe after cancel: %v, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("ListenAndServe did not return after its context was done")
	}
}
