// Package ot is oblivious transfer between two parties at the scale of a
// scoring batch: a few hundred base OTs once per session, extended to
// millions of OTs that cost a hash or two each. It does no I/O: each step
// takes the peer's message and returns the next one, and the caller moves
// them.
//
// # Protocol
//
// Setup, once per session (three messages: 4 KiB, 4 KiB and 11 KiB):
//
//  1. [NewChooser]: the chooser draws Kappa = 128 pairs of 16-byte seeds
//     (k_i^0, k_i^1) and offers each pair in a base OT: circl's Simplest
//     OT (Chou and Orlandi, "The Simplest Protocol for Oblivious Transfer",
//     LATINCRYPT 2015, ot/simot) over ristretto255, one group element each.
//  2. [NewOfferer]: the offerer draws the secret s (128 random bits) and
//     asks for seed s_i of base OT i.
//  3. [Chooser.Accept] seals both seeds of each base OT, each under a key
//     only one of the offerer's possible answers derives; [Offerer.Finish]
//     opens the chosen ones.
//
// Extension (Ishai, Kilian, Nissim and Petrank, "Extending Oblivious
// Transfers Efficiently", CRYPTO 2003), per batch of m OTs with the
// chooser's choice bits r: G(k) is AES-128 in counter mode keyed by a seed,
// read in step by both ends across batches. [Chooser.Extend] sends, for
// each base OT i, the column u_i = G(k_i^0) ^ G(k_i^1) ^ r (16 bytes an OT
// in all); [Offerer.Extend] computes q_i = G(k_i^(s_i)) ^ s_i u_i. Row j of
// the two matrices then satisfies t_j = q_j ^ r_j s: the chooser holds
// t_j, the offerer q_j and q_j ^ s, and hashing them (H, below) gives a
// random OT: the offerer has two keys, the chooser the one of index r_j.
//
// On those random OTs:
//
//   - [ChooserBatch.Derandomize], [OffererBatch.Offer],
//     [ChooserBatch.Receive]: 1-out-of-2^k OT of w-bit messages from k
//     random OTs (choose.go: Naor and Pinkas, STOC 1999, with Beaver's
//     derandomization). The chooser sends k bits c ^ r, the offerer 2^k
//     masked messages.
//   - [OffererBatch.Correlate], [ChooserBatch.Correlate]: correlated OT
//     modulo 2^w on the batch's choice bits (Asharov, Lindell, Schneider and
//     Zohner, CCS 2013): additive shares of r_i delta_i for the offerer's
//     delta_i, one w-bit word an OT from the offerer.
//
// H is the tweakable circular correlation-robust hash of Guo, Katz, Wang and
// Yu (IEEE S&P 2020), H(i, x) = pi(pi(x) ^ i) ^ pi(x) with pi AES-128 under
// a fixed public key, the tweak i naming the OT (its session-wide index)
// and the use. Every hash call of a session has its own tweak.
//
// # What each party receives
//
// The offerer receives 128 group elements and 128 pairs of sealed seeds in
// the setup, the columns u_i (m bits each) per batch, and k bits c ^ r per
// 1-out-of-2^k OT. The columns are r masked by the stream of a seed it does
// not hold (G(k_i^(1-s_i))), and c ^ r is c under the one-time pad r: it
// learns nothing about the chooser's choices.
//
// The chooser receives 128 group elements, and per OT the masked messages
// or corrections. It holds one key of each random OT; the other, H of
// q_j ^ s or q_j, looks random to it as long as s is secret (correlation
// robustness), so the messages it did not choose, and the offerer's share
// of each correlated OT, stay hidden. In a 1-out-of-2^k OT each message not
// chosen has a pad piece of its own from a key the chooser lacks
// (TestChooseHidesOtherMessages attacks the weak variant in which pads
// share pieces and the chooser learns the XOR of the other messages).
//
// # Security
//
// Semi-honest, like the rest of Veil: a party that deviates (the offerer
// answering base OTs with other elements, the chooser sending columns
// that are not of the form above) breaks correctness and, for IKNP, can
// learn the offerer's s (KOS15 adds the consistency check that stops it;
// Veil's threat model does not need it). Randomness is crypto/rand; seeds
// live only in the Chooser and Offerer, which serve one session.
//
// # Cost
//
// On the 2-core development machine (BenchmarkExtend, BenchmarkChoose16,
// both ends in one process): 8.3 million random OTs a second, 1.3 million
// 1-out-of-16 OTs a second, 50 ms for the setup.
package ot
