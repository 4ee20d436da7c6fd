// Package vlr is vertical federated logistic regression between the bank
// (the active party: labels, its own features, the intercept) and the credit
// center (the passive party: its own features), over an fl.Transport. No
// party ever sees a gradient, a residual, a partial score or a weight during
// training: each party's weight vector exists only as two additive shares,
// one held by each party, and every value computed from them is either
// encrypted under the pair's two-party threshold key (he.Shared15) or itself
// split into two shares masked with uniform randomness. At the end each
// party receives its own weights, and the bank, when asked, the loss. This
// is the design of CAESAR (Chen et al., "When Homomorphic Encryption Marries
// Secret Sharing", KDD 2021), with CKKS threshold keys in place of each
// party's own Paillier key and the sigmoid evaluated under encryption
// instead of its first-order Taylor expansion.
//
// # The protocol, per mini-batch B of |B| rows
//
// Shares are integer polynomials: a value's shares add up, as integers, to
// the CKKS plaintext of the value (he.SharedVector). The bank's weights w_b
// (its columns, the intercept) and the center's w_c each have a share at
// both parties, as have their momenta.
//
//  1. Weights. Each party encrypts its share of the peer's weights under its
//     own key share (he.EncryptShares, a public seed for c1); the owner adds
//     its own share: Enc(w) at the linear level. Each party receives one
//     seeded ciphertext per block of the peer's weights' layout.
//  2. Partial scores. Each party computes Enc(u) = X Enc(w) on its own
//     columns (he.MulVector), keeps twice its real parts (he.RealParts: the
//     imaginary parts hold cross terms) and pairs its chunks of 16384 rows,
//     two per ciphertext (he.PairChunks: chunk 2j + i chunk 2j+1). The bank
//     rerandomizes its Enc(u_b) and sends the c1 components only
//     (he.MarshalVectorRounded without c0), keeping the c0: the center receives
//     ceil(|B|/32768) polynomials, no ciphertext.
//  3. Scores to shares. The center adds its paired Enc(u_c) and the bank's
//     c1 and opens the sum into shares (he.OpenToPeerWith): it keeps a
//     uniform mask M per coefficient (the masks, below); the bank adds the
//     c0 of Enc(u_b) it kept and receives 2z - M (its share,
//     he.ReceiveOpenedSum), exactly what the opening of Enc(u_b) + Enc(u_c)
//     would give it. Each party separates its share into the chunks of z
//     (he.UnpairShares, an automorphism, no key: this drops the imaginary
//     parts' cross terms) and pairs them again (he.PairShares). The center
//     sends its share re-encrypted at the top level under its key share;
//     the bank adds its own share and separates the pairs by the
//     conjugation key (at the top level, he.UnpairChunks): it holds Enc(z)
//     at the top. The center's share is M, uniform and independent of z:
//     it draws M (he.DrawOpenMask) and sends the re-encrypted share
//     (TypeScoreMask) right after step 1, so that it crosses the link while
//     both parties compute step 2. The bank receives one seeded ciphertext
//     and one opened one per pair of chunks.
//  4. Residual. The bank evaluates d = p(z) - y under encryption (he.Logistic:
//     p the degree-5 least-squares sigmoid on [-8, 8], three ciphertext
//     products) and sends Enc(d), rerandomized, two chunks per ciphertext:
//     the center receives ceil(|B|/32768) ciphertexts and separates them
//     (he.UnpairChunks, by the conjugation key).
//  5. Gradients to shares. Each party computes Enc(X^T d) on its columns
//     (he.MulTransposed, unfolded), adds L2 * |B| * w under encryption
//     (sparing the intercept), and opens it into shares: each party
//     receives the peer's gradient minus the peer's fresh mask, one opened
//     ciphertext per block. Both fold their shares (the last step of X^T d,
//     free on shares).
//  6. Update. Each party runs the optimizer step on its shares of both
//     weight vectors: SGD, momentum and Nesterov are linear, so the shares'
//     sum moves exactly as the plaintext weights would (one rounding of
//     2^-90 per coefficient and step).
//
// On the wire every ciphertext, c1 component and encrypted share travels
// rounded (he.MarshalVectorRounded, he.MarshalSeededSharesRounded): each
// coefficient as its integer modulo the level's modulus with the low bits
// below the training's precision rounded off, he.SlotDropBits' 39 for a
// component whose error adds to the plaintext (c0, an opening's masked
// part, an encrypted share) and 31 for one the key multiplies (c1), which
// keep each slot's rounding error within 2^-45 at one standard deviation;
// a party refuses a message rounded more. The rounded message is a
// function of the exact one, so its receiver learns nothing more from it.
// TestEpochWireBytes counts each message kind's bytes per epoch: on
// default_credit (30,000 rows) 10.5 MB an epoch, 12.3 MB unrounded. In two
// processes over a veth pair (bench wan_lr_default_credit: 24,000 training
// rows, 30 epochs, the loss tracked) the keys take 82 MB (the bank's
// relinearisation key from the center's shares alone, he.KeySpec), the
// epochs 11.2 MB each, 582 bytes per row and epoch in all; the training
// took 51 to 52 s on a link shaped to 100 Mbit/s and 36 to 40 s unshaped
// (1.28x to 1.44x in three runs; 1.39x to 1.74x before the one-round
// relinearisation key, in the same session).
//
// With the loss asked for (Options.Tol or TrackLoss), the bank also
// evaluates softplus(z) - y z under encryption in step 4, sums it, and
// learns the sum once per epoch: it sends the loss vector's c1 alone
// (rerandomized, rounded) and keeps its c0, and the center returns its
// flooded decryption share of the one coefficient that holds the sum of
// the slots, nothing of any other (he.DecryptSumPartialShare).
// After the last epoch each party sends its share of the peer's weights,
// projected on the coefficients that hold the weights and flooded, and each
// decodes its own (the final reveal).
//
// # What each party learns, and why nothing more
//
// The center receives: ciphertexts under the joint key or under the bank's
// key share (steps 1, 4), which it cannot decrypt, and the c1 components
// of rerandomized ones (step 2), less than a ciphertext; the bank's gradient
// minus a fresh uniform mask (step 5); its final weights. The bank
// receives: ciphertexts (steps 1, 3); the scores and the center's gradient
// each minus a fresh uniform mask (steps 3, 5); the loss sums; its final
// weights. A simulator that knows only the outputs produces the same view:
// the ciphertexts by fresh encryptions of zero (RLWE; every computed
// ciphertext is rerandomized before it leaves a party), each masked share
// by a uniform draw from the mask's range, the final weights and losses
// from the outputs plus Gaussian noise of the flooding's width. Both
// parties learn the number of rows and each other's column count; the
// center learns the optimizer options the bank chose.
//
// The flooding of the final weights and of the loss hides the ciphertext
// noise they carry at statistical distance 2^-40 in all, by Kullback-Leibler
// composition over every revealed coefficient and Pinsker's inequality
// (floodSigmas). It costs precision, growing linearly with the optimizer
// steps and the learning rate: each decoded weight carries Gaussian noise of
// standard deviation sqrt(Block) sigma / 2^90, for sigma the flooding's per
// coefficient and Block the period of its party's weight layout (6.8e-9 for
// the bank's 15 columns after 3 full-batch epochs of the defaults,
// TestFinalRevealFlooding, whose short training takes narrow blocks; ten
// times that per block width after 30 epochs, and ten times more with ten
// batches an epoch); each epoch's mean loss carries noise of
// standard deviation 2^-21 sqrt(epochs) whatever the rows (2.6e-6 for 30
// epochs, TestEarlyStop), so a Tol near 1e-5 or below decides on the noise.
//
// # The masks and the scale guard
//
// Every opening (steps 3 and 5) masks each coefficient c of the opened
// plaintext (the value times the scale 2^90, plus its ciphertext noise) with
// an integer M drawn uniformly from [-2^198, 2^198): 199 bits, Shared15's
// share capacity at its share level (he.Params.ShareCapacity: mask and value
// each below half the level's modulus). The share c - M the peer receives is
// then at statistical distance exactly |c|/2^199 from -M, which does not
// depend on c, and all the openings of a training are within the sum of
// |c|/2^199 over their C coefficients (a union bound). At setup both parties
// compute the scale guard G (ScoreGuard, Result.ScoreGuard): the largest
// magnitude of scores and weights that keeps every opened coefficient below
// 2^(158 - log2 C), so that the openings are within 2^-41 of uniform in all,
// inside the 2^-40 of statistical security. It rests on the inputs both
// parties enforce at setup (he.ErrLimit): every feature within he.MaxFeature
// (32: standardize with model.Standardizer.Clip), at most Shared15's MaxRows
// rows, a sigmoid interval of at most 64. G is about 270 for the defaults on
// 30,000 rows (34 sigmoid intervals), 13 for a million rows trained 100,000
// epochs; a training whose size would leave G inside the sigmoid interval is
// refused.
//
// Nothing enforces G during training, and a training within the documented
// options can pass it. The scores and weights exist only as shares or
// ciphertexts, so no party can compare them with G without a comparison
// under encryption, which the protocol does not run; clipping the weights is
// not linear, so the update on shares cannot do it either. A training whose
// scores stay near the sigmoid interval (where the polynomial approximates
// the sigmoid), with weights of the same order, stays well within G. The
// default learning rate is 0.8 of the bound that keeps the iteration stable
// inside the sigmoid interval on standardized features (DefaultRate: 0.37
// on breast's 30 columns, where 0.8 diverged in 16 of 50 secret starts). A
// rate the bank sets is not bounded, and nothing bounds the scores of data
// the columns nearly separate, which leave the interval at any rate, where
// the polynomial steepens and the iteration diverges (DefaultRate's doc); a
// diverging training has scores and weights that grow without bound. Past G the hiding degrades
// with the values, not at once: each opened coefficient still costs
// |c|/2^199, c growing with |z| for the scores and with |p(z)| for the
// gradients (as |z|^degree outside the sigmoid interval), until coefficients
// near 2^198, where the masks hide nothing and the values overflow the
// modulus. The bank sees a divergence in its loss (with Tol or TrackLoss),
// each party in its final weights; neither undoes the openings before.
//
// The final weights are each party's model: they are what every training
// gives its owner (FATE's and SecretFlow's too), and, like any model, they
// are a function of the other party's data. Training starts from secret
// random weights, the sum of a random part drawn by each party (Result.
// InitOwn, InitPeer): neither party knows the start, so the final weights
// cannot be traced back to one batch's gradient.
//
// Adam is not available with shared weights: its update divides by the
// square root of each gradient's second moment, a nonlinear function of
// values no party may see. Momentum 0.8 at the default rate (0.8 up to 14
// columns, 6.4 * 1.8 / columns above, DefaultRate) matches Adam's test
// AUC on the shared credit datasets in 30 full-batch epochs (TestRealData). L1 soft-thresholding is unavailable for the same
// reason.
//
// # What is decrypted
//
// DisclosurePlan lists every vector a training decrypts or opens, and to
// whom. The party that helps decrypt or opens one admits it against the
// plan first (joint.Plan) and refuses, aborting the session, anything else:
// another receiver, layout, length, level or scale, or one vector more than
// declared. Per batch of every epoch: vlr.scores, the batch's scores
// (twice them) opened to the bank as a masked share, two chunks of 16384
// rows per ciphertext (slot-complex, at most the batch's even chunks' rows
// as pairs, at Shared15's decryption level and scale); vlr.bank-gradient and
// vlr.center-gradient, each party's unfolded gradient opened to the other
// as a masked share (slot-split, the length of the weights' layout, at the
// decryption level). Per epoch, with TrackLoss or Tol: vlr.loss, the loss
// vector (all slots at the decryption level), of which the bank learns the
// flooded sum only. At the end: vlr.bank-weights and vlr.center-weights,
// each party's flooded shares of the peer's weights (slot-split, at
// Shared15's scale), a few times at most over restarts. With
// RevealGradients the plan has vlr.bank-gradient and vlr.center-gradient
// decrypted to their owners every batch (slot-split: the bank's columns and
// intercept, the center's columns) and vlr.loss (one slot), at Linear14's
// decryption level and scale.
//
// # RevealGradients
//
// Options.RevealGradients runs the earlier, cheaper protocol (he.Linear14):
// the center sends encryptions of the powers of its partial scores u_c =
// X_c w_c, the bank combines them into Enc(d) with plaintext products, and
// each party decrypts its own gradient X^T d / |B| (flooded) every batch
// and keeps its weights in the clear. It reveals that
// gradient: with zero initial weights the center's first one is
// X_c^T (1/2 - y) / n, which gives it X_c^T y (the sum of each of its
// columns over the defaulters), and with a batch no larger than a party's
// column count the party solves for the batch's residuals d, hence the
// labels (the center) or the center's partial scores (the bank). The mode
// therefore starts from secret random weights and refuses batches smaller
// than four times the larger party's column count (both parties check);
// it still reveals each party's gradient per batch, a linear function of
// the peer's residuals. TestAttackFirstBatchLabelSums and
// TestAttackSmallBatch play these attacks against it, with the batch rule
// lifted and zero weights, and against the default mode.
//
// Federated prediction (Predict*) is cheaper and reveals more: the center
// sends its partial scores for the rows to score in plaintext, as FATE does,
// so the bank learns u_c per scored row. Use encrypted scoring where that is
// not acceptable.
//
// With Options.Checkpoints or a Checkpoint folder (and PassiveOptions' on
// the center's side) each party saves its state after every epoch (its
// shares, or with RevealGradients its weights and optimizer state) and, at
// the end, its final weights; restarted with the same options and data, the
// parties agree on the latest epoch both saved and go on from there with
// fresh keys (Result.Resumed). The epochs run again draw fresh CKKS noise
// and masks, so the final weights match an uninterrupted run to the
// flooding precision, not bit for bit; a restart after the end keeps the
// weights saved. Changed options or data start afresh, with a warning on
// the options' Logger. The protocol only encodes the state: where it is
// kept is the application's (fl.Checkpoints).
package vlr
