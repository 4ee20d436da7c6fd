package metrics

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Outcomes of a session (the outcome label of veil_sessions_ended_total).
// The node may use others from its own fixed vocabulary.
const (
	OutcomeOK       = "ok"       // the session's result was released
	OutcomeError    = "error"    // a protocol, data or peer error
	OutcomeAborted  = "aborted"  // the peer aborted, hung up or the deadline passed
	OutcomeCanceled = "canceled" // this node shut down or canceled the session
)

// Directions of veil_session_bytes_total.
const (
	DirectionSent     = "sent"
	DirectionReceived = "received"
)

// UnknownBank is the bank label of a session whose peer is not named, or is
// not among Options.Banks.
const UnknownBank = "unknown"

// DefaultBuckets are the bounds, in seconds, of veil_session_duration_seconds:
// from a scoring batch (a fraction of a second) to a whole training (hours).
var DefaultBuckets = []float64{0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 14400}

// Options configure New. The zero value is usable.
type Options struct {
	// Banks, when not empty, is the set of bank names the node knows (its
	// whitelist): any other bank label is recorded as UnknownBank, so that
	// the series stay bounded whatever names peers present.
	Banks []string
	// Buckets are the duration histogram's upper bounds in seconds;
	// nil means DefaultBuckets.
	Buckets []float64
	// NoProcess leaves out the Go runtime and process collectors (go_*,
	// process_*), for tests that compare the whole exposition.
	NoProcess bool
	// Now is the clock of session durations; nil means time.Now.
	Now func() time.Time
}

// Metrics is a node's metrics on their own registry. It is safe for
// concurrent use.
type Metrics struct {
	reg      *prometheus.Registry
	banks    map[string]bool
	now      func() time.Time
	started  *prometheus.CounterVec
	ended    *prometheus.CounterVec
	active   *prometheus.GaugeVec
	refused  *prometheus.CounterVec
	duration *prometheus.HistogramVec
	bytes    *prometheus.CounterVec
	rows     *prometheus.CounterVec
	handler  http.Handler
}

// New returns the metrics, registered on a new registry.
func New(opt Options) (*Metrics, error) {
	buckets := opt.Buckets
	if buckets == nil {
		buckets = DefaultBuckets
	}
	for i, b := range buckets {
		if !(b > 0) || (i > 0 && b <= buckets[i-1]) {
			return nil, fmt.Errorf("metrics: duration bucket %d (%v): bounds must be positive and increasing", i, b)
		}
	}
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		now: opt.Now,
		started: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "veil_sessions_started_total",
			Help: "Sessions admitted, by bank and kind.",
		}, []string{"bank", "kind"}),
		ended: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "veil_sessions_ended_total",
			Help: "Sessions ended, by bank, kind and outcome.",
		}, []string{"bank", "kind", "outcome"}),
		active: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "veil_sessions_active",
			Help: "Sessions running now, by kind.",
		}, []string{"kind"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "veil_sessions_refused_total",
			Help: "Sessions refused before they started, by bank and reason.",
		}, []string{"bank", "reason"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "veil_session_duration_seconds",
			Help:    "Duration of ended sessions, by kind.",
			Buckets: buckets,
		}, []string{"kind"}),
		bytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "veil_session_bytes_total",
			Help: "Bytes of ended sessions on the wire, by bank and direction (sent, received).",
		}, []string{"bank", "direction"}),
		rows: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "veil_rows_scored_total",
			Help: "Rows scored, by bank.",
		}, []string{"bank"}),
	}
	if m.now == nil {
		m.now = time.Now
	}
	if len(opt.Banks) > 0 {
		m.banks = make(map[string]bool, len(opt.Banks))
		for _, b := range opt.Banks {
			m.banks[b] = true
		}
	}
	cs := []prometheus.Collector{m.started, m.ended, m.active, m.refused, m.duration, m.bytes, m.rows}
	if !opt.NoProcess {
		cs = append(cs, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	for _, c := range cs {
		if err := m.reg.Register(c); err != nil {
			return nil, fmt.Errorf("metrics: register: %w", err)
		}
	}
	// promhttp_* count the scrapes and the handler's errors on m's registry.
	m.handler = promhttp.InstrumentMetricHandler(m.reg, promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		Registry:            m.reg,
		MaxRequestsInFlight: 4,
		Timeout:             10 * time.Second,
	}))
	return m, nil
}

// Registry returns the metrics' registry (for tests, or to add a collector).
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

func (m *Metrics) bank(name string) string {
	if name == "" || (m.banks != nil && !m.banks[name]) {
		return UnknownBank
	}
	return name
}

// Session is one admitted session's metrics; End records its end.
type Session struct {
	m          *Metrics
	bank, kind string
	start      time.Time
	once       sync.Once
}

// Result is how a session ended.
type Result struct {
	// Outcome is the session's outcome (OutcomeOK, ...); "" is OutcomeError.
	Outcome string
	// BytesSent and BytesReceived are the bytes this node sent to and
	// received from the peer in the session.
	BytesSent, BytesReceived uint64
	// RowsScored is the number of rows the session scored (0 for others).
	RowsScored int
}

// SessionStarted counts a session of the given kind admitted for bank and
// marks it active until its End.
func (m *Metrics) SessionStarted(bank, kind string) *Session {
	s := &Session{m: m, bank: m.bank(bank), kind: kind, start: m.now()}
	m.started.WithLabelValues(s.bank, kind).Inc()
	m.active.WithLabelValues(kind).Inc()
	return s
}

// End records the session's end: its outcome, duration, bytes and rows
// scored. Only the first call counts, so that a deferred End after an
// explicit one is harmless.
func (s *Session) End(r Result) {
	s.once.Do(func() {
		m := s.m
		outcome := r.Outcome
		if outcome == "" {
			outcome = OutcomeError
		}
		m.active.WithLabelValues(s.kind).Dec()
		m.ended.WithLabelValues(s.bank, s.kind, outcome).Inc()
		d := m.now().Sub(s.start).Seconds()
		if d < 0 {
			d = 0
		}
		m.duration.WithLabelValues(s.kind).Observe(d)
		m.bytes.WithLabelValues(s.bank, DirectionSent).Add(float64(r.BytesSent))
		m.bytes.WithLabelValues(s.bank, DirectionReceived).Add(float64(r.BytesReceived))
		if r.RowsScored > 0 {
			m.rows.WithLabelValues(s.bank).Add(float64(r.RowsScored))
		}
	})
}

// Refused counts a session refused before it started (the node busy, a
// bank not on the whitelist, a model it may not use, ...); reason is a word
// from the node's fixed vocabulary, never peer input.
func (m *Metrics) Refused(bank, reason string) {
	m.refused.WithLabelValues(m.bank(bank), reason).Inc()
}

// Handler returns the HTTP handler of the metrics exposition (text or
// protobuf, as the scraper asks).
func (m *Metrics) Handler() http.Handler { return m.handler }

// Serve serves the metrics at /metrics on ln until ctx is done, then shuts
// the server down (waiting up to 5 s for scrapes in flight) and returns
// nil; any other error of the server is returned. It closes ln.
func (m *Metrics) Serve(ctx context.Context, ln net.Listener) error {
	mux := http.NewServeMux()
	mux.Handle("/metrics", m.Handler())
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      15 * time.Second,
		IdleTimeout:       60 * time.Second,
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return fmt.Errorf("metrics: serve on %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("metrics: shut down %s: %w", ln.Addr(), err)
	}
	if err := <-done; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("metrics: serve on %s: %w", ln.Addr(), err)
	}
	return nil
}

// ListenAndServe listens on addr (the config's "metrics: 127.0.0.1:9464")
// and serves as Serve does.
func (m *Metrics) ListenAndServe(ctx context.Context, addr string) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("metrics: listen on %s: %w", addr, err)
	}
	return m.Serve(ctx, ln)
}
