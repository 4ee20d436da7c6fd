// Package audit is a node's tamper-evident audit log: what was revealed to
// whom, session by session, in one append-only file of JSON lines (the
// center's config names it, `audit: audit.jsonl`; a bank's job config may
// name its own).
//
// Records. Open writes an open record each time it opens the file (the
// first record of a new file; a continued one after a restart). The node
// appends, with Log.Append:
//
//   - a Begin when a session starts: session id, peer (certificate common
//     name and SHA-256 fingerprint, PeerOf), protocol, model, table and
//     the names of the logging party's columns it uses (names, never
//     values; the peer's columns as a count);
//   - a Step, a disclosure-step summary, as a running session's steps
//     finish: what was revealed since its last step record, as counts and
//     shapes (Disclosure: to whom, which step, what, how many vectors of
//     which shape, how many values in all);
//   - a Session when it ends, before its result is released: what Begin
//     says, rows aligned (or scored), the session's total disclosures,
//     bytes each way, duration, outcome and error text. Session.Summary
//     says its disclosures in words: "to bank-a: 30 x LR gradient of its 13
//     columns; 30 x loss sum".
//
// What is never logged. No raw value, enterprise id, score or key material
// enters the log, by construction: records hold names (peer, table,
// columns, model, protocol step), counts, shapes and digests (the peer's
// certificate fingerprint; a torn line's SHA-256), and no field of any
// record can hold a number series or a data id. Error texts come from fl
// and its protocols, whose errors name shapes, steps and roles, never
// values; they are cut at 2 KiB. The counts are to come from the code
// paths that decrypt (the joint-decryption plans' admissions), not from
// an estimate: a Tally per session counts them as they are admitted and
// gives the Step records' increments (Flush) and the Session's totals
// (Total).
//
// The chain. Each line is a Record's JSON (encoding/json of fixed structs:
// deterministic) ending with a member "hash": the hex SHA-256 of the line
// without that member, that is of the bytes before `,"hash":"` followed by
// `}`. Each record's prev is the previous record's hash; the first's is
// Genesis, the SHA-256 of "veil-fl/veil audit log, format 1"; seq numbers
// the records from 1, so a record's seq is its line number. A record is
// appended under a mutex (many sessions append concurrently), written in
// one write and fsync'd before Append returns. Verify names the first
// line that fails: an altered byte breaks its line's hash (or its form), a
// removed, inserted or reordered line breaks the numbering or the chain
// there. Records cut from the tail, or a chain recomputed from scratch by
// someone who can rewrite the file, are found only against a head kept
// apart (Log.Head after each append: put it in the node's structured log,
// or send it to whoever audits the center).
//
// Restarts and crashes. Open verifies the whole existing file (a file that
// fails is refused, naming the line) and continues its chain. A crash in
// the middle of an append leaves a last line without its newline: Open
// cuts that torn line away (its append never returned, so its session's
// result was never released) and says so in its open record (line number,
// bytes, SHA-256): never silently. Verify, which only reads, reports a
// torn line as ErrTorn. Sessions begun and never ended (the node killed)
// are listed by Log.Unfinished after Open, with what their step records
// say they disclosed, for the node to close with an aborted Session
// record. Open holds an exclusive lock (flock) on the file: one writer.
//
// Report and Summarize aggregate the disclosures per bank and period, as
// `veil audit report FILE [-bank NAME] [-since T]` prints them.
package audit
