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
//
// # Conditional disclosure
//
// Discloser and Recipient compute the same comparisons as a garbled
// circuit and release, with them, one secret of the discloser's per record
// (the credit center's flags: fl/score) exactly when the record's sum at
// the release cut is negative (its logit at or below the whitelist's cut).
// The discloser (the center) holds x_r, the cut constants k_j are public,
// the recipient (the bank) holds one input y_r per record: for a linear
// model its fixed-point partial score, for trees its share of the score.
// Two messages a batch:
//
//  1. Recipient to discloser: 64 random OTs per record (it is the OT
//     chooser here, on a session of its own) and, derandomized, the 32 bits
//     of y_r, once for each 64-bit half of a label.
//  2. Discloser to recipient: the labels of those bits (1-out-of-2 OT of
//     the two halves; the other label stays hidden), a constant-0 label per
//     record, the garbled gates (half-gates, Zahur, Rosulek and Evans,
//     EUROCRYPT 2015, with free XOR under an offset R and the tweakable
//     circular correlation-robust hash of package ot's kind): per record and
//     cut the carry chain of (x_r - k_j) + y_r, 31 AND gates (x_r - k_j is
//     the discloser's, so XORing its bits is a swap of labels the recipient
//     cannot see), and the release gate; one decoding bit per cut's sign
//     and for the release; and the secret XOR H(L1, r), where L1 is the
//     release wire's label of value 1.
//
// The release is sign AND a range check: Bounded, the recipient's input
// must satisfy |y_r| < 2^29 (its top three bits equal; a partial score
// within MaxBandInput); for a random share, the sum must lie in
// [-2^30, 0), the window every honest negative sum falls in. For K cuts a
// record costs 31K + 1 (or + 2) AND gates, 32 bytes each, plus 2 KiB of
// OTs: 6.1 KB a record for 4 cuts (ReleaseMessageBytes), about 0.3 ms on
// the loaded 2-core machine (BenchmarkRelease).
//
// What each party receives. The discloser receives the extension's columns
// and the derandomized choices, a one-time pad of random choice bits (as
// the offerer of package ot receives): nothing about y, the bits or what
// was released. The recipient receives one label per input bit, whose
// other label is hidden by the OT, the constant label, the gates, the
// decoding bits and the masked secrets. Half-gates garbling is private:
// given the decoding bits, the labels it computes show the decoded bits
// and nothing else; the label of value 1 of an undecoded-to-1 release wire
// is its label XOR R, and R never reaches it, so for a record not
// released the masked secret is pseudorandom (TestCheatingRecipient: the
// label it holds opens a value that is not the secret, uniform bit by
// bit). So, per record: the K comparison bits, the release bit, and the
// secret when released: as shapes, n x K bits, n bits and, for the
// released records, n_released secrets of SecretBits bits.
//
// A recipient that cheats. Its only freedom is its input: its choice bits
// pick one label per input wire, so every bit and the release come from
// one y'_r per record, the same for all cuts. Flipping the top choice bit
// (y + 2^31, which turns every comparison over in modular arithmetic)
// releases nothing: the range check or the window fails; keyed by the sign
// alone (weakRelease: what any disclosure keyed by a bit the recipient
// holds unauthenticated amounts to, an XOR share of the comparison or a
// list of the ids it calls approved) the same flip opens exactly the
// records above the cut (TestCheatingRecipient). What remains is what an
// ideal service that took the bank's partial score on trust would allow: a
// bank claiming a lower partial score y' is released the secrets of the
// records that y' approves, and its comparison bits in that batch are the
// bits of y', not of its true score; with cuts public, a shift by the
// distance between two cuts can show it the true release bit through the
// next cut while it receives the secrets of one more grade (approve output,
// one cut, leaves no such second cut). For trees the bank's own leaf
// weights are such an input too. The quotas of fl/score bound the
// sessions in which a bank can try. The OT extension is semi-honest
// (package ot: IKNP without KOS15's check); a recipient that sends
// malformed columns could learn the offerer's secret and so both labels of
// its inputs, evaluating the circuit on more than one y.
package compare
