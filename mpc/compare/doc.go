// Package compare tells one party, for values additively shared between
// two parties modulo 2^32, whether each value is non-negative as a signed
// 32-bit integer, and tells the other party nothing: the comparison behind
// band output (fl/score), where the bank learns a record's grade and
// neither party learns the score.
//
// # Protocol
//
// A batch has n records and K cuts. The Helper holds x_r per record, the
// Learner y_rj per record and cut; w_rj = x_r + y_rj mod 2^32. The sign
// of w is msb(x) ^ msb(y) ^ carry, where carry = [low(x) + low(y) >= 2^31]
// over the low 31 bits, that is [alpha < beta] with alpha = 2^31 - 1 -
// low(x) (the helper's) and beta = low(y) (the learner's): a millionaires'
// problem, solved as in CrypTFlow2 (Rathee, Rathee, Goyal, Gupta, Sharma,
// Chandran and Rastogi, "CrypTFlow2: Practical 2-Party Secure Inference",
// CCS 2020, section 3, with m = 4):
//
//  1. Leaves. The 31 bits are cut into 7 blocks of 4 bits and one of 3. For
//     each block the learner offers, in one 1-out-of-16 (or 8) OT, for every
//     value v of the helper's block and every cut j the bits [v < beta_j's
//     block] and [v = beta_j's block], each masked by a fresh random bit it
//     keeps; the helper chooses its block of alpha. Each party now holds
//     XOR shares of lt and eq for every block and cut; one OT serves all
//     cuts, since the helper's input does not depend on the cut.
//  2. Tree. Adjacent blocks combine, lower and higher, into lt = lt_hi ^
//     (eq_hi & lt_lo) and eq = eq_hi & eq_lo: the helper chooses with its
//     three shares (eq_hi, lt_lo, eq_lo) in a 1-out-of-8 OT whose eight
//     messages are the learner's fresh bits XOR the two ANDs for each
//     possible share (1-out-of-4 at the root, which needs lt only). Three
//     levels for eight leaves.
//  3. Output. The helper sends msb(x_r) ^ its share of the carry for every
//     record and cut; the learner adds msb(y_rj) and its share.
//
// The OTs come from package ot: one extension per batch, 31 + 20K random
// OTs per record, made before the choices are known and derandomized per
// step. A batch is one message from the helper to start, then one answer
// each way per step: 5 helper messages and 4 learner messages (Messages).
// For K = 4 a record costs 1,960 bytes (1,776 of them the extension).
//
// # What each party receives
//
// The helper receives, per OT, 2^k messages of which it can open one; the
// one it opens is the learner's fresh random bit XOR a function of the
// inputs, so its view is uniform: it learns nothing, not even the output.
//
// The learner receives the extension's columns (pseudorandom, package ot),
// per OT the helper's choice XOR the random choice bits of the OT, which
// it never sees (a one-time pad), and per record and cut one output share,
// which is the output XOR bits it knows. So its view is a function of its
// own inputs, its randomness and the outputs: the comparisons and nothing
// else. TestLearnerViewIndependentOfInputs checks it over 200 sessions of
// the same records and shows the check failing for the weak variant that
// sends the choices unmasked.
//
// Semi-honest, like package ot. A dishonest learner can choose its y and
// so learn the comparison of the helper's x with thresholds of its choice,
// K per record and batch: what its inputs could ask honestly.
package compare
