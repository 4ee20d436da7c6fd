// Package psi aligns two parties' id columns with Diffie-Hellman private set
// intersection over the ristretto255 group, so that a bank and a credit center
// can join their tables row by row without showing each other the ids they do
// not share.
//
// # Protocol
//
// Each party holds a set of distinct, non-empty ids and a secret scalar drawn
// fresh by [NewParty] (k_A for party A, k_B for party B). H maps an id to a
// group element with hash_to_ristretto255 (RFC 9380, suite
// ristretto255_XMD:SHA-512_R255MAP_RO_, with a Veil-specific domain separation
// tag). The protocol is symmetric and has two rounds:
//
//  1. [Party.Blind]: each party sends H(x)^k for each of its ids x, in a secret
//     random order (a [Blinded] [Message]).
//  2. [Party.Exchange]: each party raises every point it received to its own
//     key and sends the results back in the order received (a [Reblinded]
//     [Message]).
//  3. [Party.Finish]: each party now holds H(x)^(k_A k_B) for its own ids (from
//     the peer's reply, in its own order) and for the peer's ids (which it
//     computed itself, in the peer's secret order). Equal values are shared ids.
//
// Both parties sort the shared values' encodings to put the intersection in one
// common order, so that row i of party A's aligned table and row i of party
// B's refer to the same id ([Result.Rows]), and both compute the same
// [Result.Digest] over that order, which they may compare to confirm the
// alignment.
//
// Package psi does no I/O: the caller moves the messages, which encode with
// [Message.MarshalBinary] to a 16-byte header followed by 32 bytes per id
// (1,000,000 ids make a 32 MB message; each party sends two messages). The
// encoding is flat, so a transport may cut it into chunks of any size and join
// them before [Message.UnmarshalBinary].
//
// # What each party learns
//
// Each party learns the number of ids the peer holds, the size of the
// intersection, and which of its own rows are in it, in the common order.
// It learns nothing about the peer's ids outside the intersection, nor where
// the shared ids sit in the peer's table.
//
// # Security
//
// The protocol is secure against semi-honest (honest-but-curious) parties under
// the decisional Diffie-Hellman assumption in ristretto255, with H modelled as a
// random oracle. It is not secure against a malicious peer: a peer that deviates
// can make the intersection come out wrong (for example by replying with
// other points), though it cannot learn more ids than it puts in its own set.
// Keys live only in a [Party], are drawn from crypto/rand unless the caller
// supplies another source, and are wiped by [Party.Finish]; use a Party for one
// run only. Scalar multiplication is constant-time.
//
// Group arithmetic is github.com/gtank/ristretto255 v0.1.2 (field arithmetic
// in amd64 assembly). On the 2-core development machine, one core: scalar
// multiplication 41.5 µs against 54.2 µs for github.com/cloudflare/circl's
// group.Ristretto255; hash to the group 8.2 µs against 8.7; encoding and
// decoding about 4 µs in both. gtank also rejects non-canonical encodings,
// which circl v1.6.5 accepts. Hashing, scalar multiplication and decoding run
// on runtime.GOMAXPROCS goroutines.
//
// Scalar multiplication is over three quarters of the cost: each party does
// two per id (one to blind its own ids, one to reblind the peer's), so
// 1,000,000 ids on each side cost 4,000,000 of them, about 170 CPU-seconds
// with this library, and the whole run (BenchmarkPSI1M) about 260
// CPU-seconds, over two minutes on 2 cores.
package psi
