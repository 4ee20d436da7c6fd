// Package metrics is the credit center's (or a bank node's) Prometheus
// metrics: sessions started, ended, active and refused, their duration,
// the bytes each way and the rows scored, on a registry of their own (never
// the process-wide default) served on a separate HTTP listener (Serve, or
// Handler to mount it yourself) such as the center's `metrics:
// 127.0.0.1:9464`.
//
// The node calls a small API: SessionStarted(bank, kind) when a session is
// admitted, returning the *Session whose End(Result) the node calls once
// when it ends (outcome, bytes each way, rows scored), and Refused(bank,
// reason) for a session turned away before it starts. The series are
//
//	veil_sessions_started_total{bank,kind}
//	veil_sessions_ended_total{bank,kind,outcome}
//	veil_sessions_active{kind}
//	veil_sessions_refused_total{bank,reason}
//	veil_session_duration_seconds{kind}          (histogram)
//	veil_session_bytes_total{bank,direction}     (direction "sent" or "received")
//	veil_rows_scored_total{bank}
//
// plus the Go runtime and process collectors (go_*, process_*: the node's
// memory and file descriptors).
//
// What a scraper learns: per bank (the name on its certificate), how many
// sessions of which kind it ran, how they ended, how long they took, how
// many bytes crossed the wire and how many rows it scored. Never a value,
// an enterprise id, a score or key material: every label is a bank name or
// a word from the node's own fixed vocabulary (kind, outcome, reason), and
// every value is a count, a size or a duration. Label values are the
// caller's responsibility; bank must be an authenticated peer's name (or ""
// when none is known), and Options.Banks bounds the bank label to a known
// set so that an unauthenticated peer cannot grow the series without limit.
package metrics
