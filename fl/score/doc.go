// Package score is encrypted batch scoring of a trained model between the
// bank (the active party) and the credit center (the passive party), over an
// fl.Transport, under the pair's two-party threshold key (he.Linear14,
// KeySpec: the conjugation key only). DESIGN.md section 6.
//
// Each party computes in plaintext what it can: its partial score of a
// linear model (LR, a WOE scorecard), or, for a tree ensemble, the decisions
// of its own splits. The center encrypts its part, batch by batch (many
// records per ciphertext, one batch's encryption overlapping the bank's work
// on the previous one); the bank combines homomorphically:
//
//   - linear: Enc(u_c) + u_b, one plaintext addition (LinearActive,
//     LinearPassive; a WOE scorecard's partial points go through the same
//     path on the logit scale: ScorecardActive, ScorecardPassive);
//   - trees: the center encrypts, per record and center split k, e_k = 1 when
//     the record satisfies the center's splits down to k and goes left at k
//     (two per slot); every path indicator is affine in the e's, so the bank
//     weighs them with its own splits and leaf weights in plaintext:
//     score = const + sum_k coef_k e_k, with no ciphertext product
//     (TreesActive, TreesPassive; see trees.go).
//
// Then only the output is decrypted, to the bank, as Options.Output says:
//
//   - Scores: the bank learns each record's logit (and derives the
//     probability, the scorecard points, the band). For a linear model it can
//     subtract its own part and so learns the center's partial score of each
//     record; for trees it learns the sum, from which it may infer some of
//     the center's decisions. The center helps decrypt exactly one vector per
//     batch: one score per record.
//   - Bands: the logit is never decrypted. The bank sends Enc(z); the center
//     returns, per record, one value per cut point c, a * (z - c) with a fresh
//     secret factor a log-uniform in [1, 2^12) and the cuts in a fresh secret
//     order per record, two per slot (he.BlindSigns; an odd count gets a
//     spare negative value), and helps decrypt those only. The
//     bank counts the positive ones: the band. What it learns beyond the band
//     is the blinded magnitudes, which place |z - c| only within a factor of
//     2^12 and cannot be tied to a particular cut. Approve/decline is one cut.
//
// The center learns nothing about the records' scores or bands: everything it
// receives is encrypted under the joint key, and it only ever contributes
// flooded decryption shares of vectors whose shape it checks (one score per
// record of the batch). For trees it also learns, from the bank's setup
// message, how its own splits nest in each tree, which it already sees in
// training. Both parties learn the number of records; the cut points are
// agreed in the clear (the center refuses a run whose output or cuts differ
// from its own Options: it decides what it agrees to reveal).
//
// The model is semi-honest, as everywhere in Veil: a bank that lies about its
// encrypted scores can make the center help decrypt other functions of its
// encrypted part, one vector (or one blinded set) per batch.
package score
