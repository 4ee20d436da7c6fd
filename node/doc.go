// Package node is the credit center's long-lived node and the bank's side
// of it: one server (Center) that many banks train and score against, each
// within what the center's config (node/config) allows it, and the bank's
// Train and Score, which run one session each from a job or scoring
// config.
//
// A session is one mutual-TLS stream (fl/link). The bank's identity is the
// name in its verified client certificate; the center accepts only the
// certificates of the banks its config names (any other is refused at the
// TLS handshake, and again at the request). Then:
//
//  1. The bank sends its request (node.request v1, JSON): train or score;
//     for a training the center's table, the model kind (lr, sbt, woe),
//     the model's name and the digest of the bank's job config; for a
//     scoring the model's name, version, kind and training id, and the
//     output (bands, approve, scores); and how many ids it brings.
//  2. The center checks it against the bank's policy (banks.NAME: its
//     tables, model kinds, outputs, columns, rows) and its limits (sessions
//     at once, per bank, trainings at once), and answers (node.reply): a
//     grant, or a refusal naming the rule, which the bank's error matches
//     as ErrRefused (outside the policy) or ErrBusy (a limit: nothing
//     running is disturbed, retry later). Until the grant no message may
//     exceed a request's size and every wait is bounded by
//     limits.idle_timeout; a whole session by limits.session_timeout.
//  3. A training runs job.RunActive / job.RunPassive over the same stream,
//     the center's table restricted to the policy's columns, its alignment
//     refusing more ids than the rows the bank may bring. The center stores
//     its half in its registry (node/registry) under BANK/NAME/VERSION and
//     tells the bank the version (node.stored); the bank stores its half
//     under NAME/VERSION, the same version when free. Both record the
//     training id (job.TrainingID), the digest of the aligned ids and of the
//     bank's job config; the bank adds its test AUC and KS.
//  4. A scoring names a registered model: the center looks up its half of
//     that version and refuses (ErrMismatch) unless it is of the bank's
//     training, then serves the session with fl/score's Service (one per
//     half and output, sharing its daily quotas), on the columns the half
//     was trained on; the bank writes grades.csv and whitelist.csv.
//
// What the center reveals to a bank, besides what the protocols it runs
// state in their package docs (job, fl/score): how many of its columns its
// policy lets the bank train with (the grant's count; their names and
// values stay with the center), the scoring's grade boundaries, the version
// it stored its half under, and, when it refuses, the rule of the bank's own
// policy or the limit that refuses. It never tells a bank of another
// bank's sessions, models or policy; a busy refusal says how many sessions
// run, and nothing more of them.
//
// Accountability. With `audit:` in its config the center keeps an audit
// log (node/audit: JSON lines, hash-chained, each fsync'd): for each
// granted session a begin record (a random session id, the bank's
// certificate name and fingerprint, protocol, model, table and the names
// of the center's columns it uses), then a step record for each value
// revealed to the bank, written before the value leaves the center, and a
// session record at the end (rows aligned or scored, the disclosures'
// totals, bytes each way, duration, outcome, error). The disclosures are
// counted where they happen: the grant's (how many center columns a
// training uses; a scoring's grade cut points) and every vector the
// protocols' disclosure plans admit for the bank (fl/joint.WithObserver:
// the session's context carries the record into every plan), including a
// scoring's bands, one per record, counted when its plan is taken up. A
// training's result is released in this order: the center's half stored
// in its registry, the session record written, then the version sent to
// the bank; a half is usable only with the bank's, which the bank stores
// only on hearing the version, so the log never shows less than a bank
// obtained (a crash in between leaves an unpaired half and a session
// NewCenter closes as aborted when it restarts). A record that cannot be written refuses the disclosure or
// withholds the result. A bank's job and scoring configs may name a log of
// its own (`audit:`), recording what its plans revealed to the center.
// With `metrics:` the center serves Prometheus metrics (node/metrics):
// sessions started, ended and active by bank and kind, refusals by a
// fixed reason word (policy, busy, mismatch, unknown-bank, malformed),
// durations, bytes and rows scored. Its structured log has one line when
// a session starts and one when it ends, with the session id; never data.
//
// The center loads its tables once (NewCenter) and shares them read-only;
// Reload (SIGHUP) reads them again for new sessions, running ones keep
// theirs. Serve stops accepting sessions when its ctx ends and returns once
// the running ones have finished or timed out.
//
// The approve output is one cut: the boundary below the bank's
// score.yaml approve grades among the center's scoring.grades; the bank
// learns approved or not, and nothing finer. Each scoring service keeps
// its half's columns encoded and its daily quotas for as long as the node
// runs (until Reload): memory grows with the halves in use.
package node
