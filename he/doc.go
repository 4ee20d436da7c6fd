// Package he is Veil's CKKS core over lattigo v5: named parameter sets,
// two-party threshold keys, encrypted vectors of any length, joint decryption
// to a named party with noise flooding, the wire encoding of all of it, and
// the kernels the protocols need: X^T Enc(d) for vertical logistic regression,
// encrypted histograms for SecureBoost, a polynomial sigmoid evaluated from
// encrypted powers, and the masking of whatever a decryption must not reveal.
// It is the only package of Veil that imports lattigo, and it never touches
// the network: key generation and decryption are messages that it produces
// and consumes, and the protocols in package fl move them.
//
// # Keys
//
// Each party runs a KeyGen from the same parameters, KeySpec and joint seed;
// two rounds of messages give each a Party holding its own secret-key share
// and the collective public, relinearisation and Galois keys. A key only one
// party evaluates with (KeySpec.RelinHolder, GaloisHolder: SecureBoost's
// packing keys are the center's, the sigmoid's relinearisation key the
// bank's) is finished by that party alone: the other sends its shares and
// receives none, half the key's bytes. A relinearisation key one party
// holds takes one round instead of two: the other party sends key-switching
// shares of its key share s_c and of s_c^2 (lattigo's evaluation-key
// shares: an RLWE sample of s_c, and a relinearisation key of s_c alone),
// and the holder, knowing s_b, assembles the key of (s_b + s_c)^2 from
// them and its own share of s_b^2; it sends nothing for the key. The secret key
// is s = s_bank + s_center. No function decrypts with one share: a decryption
// is always DecryptShare by the helping party and Decrypt by the receiver,
// who alone learns the values.
//
// # What a decryption reveals, and the noise budget
//
// The helping party sends h = c1*s_helper + e_flood for each ciphertext
// (c0, c1). The receiver computes c0 + h + c1*s_receiver = m + e_ct + e_flood,
// where m is the message and e_ct the ciphertext noise, which depends on
// secret keys, encryption randomness and the helper's private plaintexts
// (its bins), and must not leak. e_flood is a Gaussian of standard deviation
// 2^LogFlood per coefficient, drawn with full 64-bit precision (Gaussian
// high part plus uniform low bits, seeded from crypto/rand); the helper's
// share is an RLWE sample under its own key share and reveals nothing.
//
// The flooding's width. Every ParamSet states LogNoiseBound, a bound B on
// the noise e_ct of every coefficient its kernels hand to a decryption,
// and LogMaxDecrypted, the number M of coefficients a run may decrypt.
// For a fixed noise vector x over the run's M coefficients, the
// Kullback-Leibler divergence of x + e_flood from e_flood is |x|^2 /
// (2 sigma^2) (it adds over the coefficients, since the flooding's are
// independent), and Pinsker's inequality bounds the statistical distance
// by |x| / (2 sigma). The receiver's view is a mixture over the noise,
// however its coefficients depend on each other and on what the receiver
// knows, so its distance from a view without e_ct is at most
// E|x| / (2 sigma) <= sqrt(E|x|^2) / (2 sigma) (Jensen). When B bounds
// every coefficient's root mean square (Linear14), E|x|^2 <= M B^2; when
// it bounds every coefficient except with probability 2^-41 (Hist13),
// |x|^2 <= M B^2 but for that event. Either way LogFlood = LogNoiseBound +
// 40 + LogMaxDecrypted/2 makes the distance 2^-41, and the whole run is
// within 2^-40 (Asharov, Jain, Lopez-Alt,
// Tromer, Vaikuntanathan, Wichs, "Multiparty computation with low
// communication, computation and interaction via threshold FHE", Eurocrypt
// 2012, for smudging; the composition as in Li and Micciancio, "On the
// security of homomorphic encryption on approximate numbers", Eurocrypt
// 2021, whose key-recovery attack flooding prevents). The protocols refuse
// a run that would pass M (joint.Plan counts every coefficient it admits) or
// an input past the bound's limits (ErrLimit).
//
// The noise bound of a histogram (Hist13: HistNoiseBound, histNoiseSigma).
// The bank's values arrive as seeded encryptions under its key share: each
// coefficient of the error is independent and bounded by 6 sigma = 19.2
// (lattigo's discrete Gaussian), hence sub-Gaussian with that parameter
// (Hoeffding's lemma). A histogram is a sum, over the at most
// ceil(rows/C) chunks of a group (rows <= MaxRows, C the chunk), of
// products by 0/1 polynomials with at most N nonzero coefficients: each
// output coefficient is a signed sum of at most ceil(rows/C)*N of those
// independent errors, sub-Gaussian with parameter 19.2 sqrt(ceil(rows/C) N),
// whatever the bins. The packing (lattigo's Pack with garbage zeroing)
// pre-scales by 2^-L mod Q, so the kept coefficients carry that noise
// unchanged, and adds, in each of its L = log2(C) rounds, the noise of one
// key switch per pair, doubled by every later round; a key switch adds
// sum_i d_i e_i / P over the digits d_i of c1 and the Galois key's errors
// e_i, plus the rounding of the division by P. For these two terms and the
// rerandomization (one public-key encryption of zero) the bound uses the
// independence heuristic of CKKS noise analysis (digits uniform modulo
// their prime and independent of the key errors; Costache, Curtis, Hales,
// Murphy, Ogilvie, Player, SAC 2023), so their variances add. The kernel
// lays out at least 2 bins (C <= N/2, L <= 12), and the bound takes the
// worst chunk. With the sub-Gaussian tail over 2^30 coefficients at
// failure probability 2^-41 (a factor of 10) it comes to 2^27.33 at 2^20
// rows (2^24.4 for chunks of at most N/8, 2^25.8 for N/4: each packing
// round more multiplies the packing's variance by 8): Hist13's
// LogNoiseBound is 27.4, its flooding 2^82.4, and TestHistNoiseBound
// measures 2^19.1 on the worst chunk (2 bins, chunks of 4,096) at 2^20
// rows. The bank's inputs may travel with the low bits of their c0
// rounded off (rounded.go): each input coefficient's error is then e +
// delta, bounded by 19.2 + 2^(drop-1), and the fresh term's parameter
// grows to match; HistInputDropBits gives the largest drop that keeps a
// level's bound (its chunk, packing rounds and largest group) within
// LogNoiseBound, so the flooding covers it unchanged: 15 to 17 bits for
// package boost's levels on 24,000 rows (TestSeededVectorRounded measures
// 2^24.0 against a bound of 2^27.2 at 20,000 rows in chunks of 1,024).
//
// The noise bounds of Linear14 (noise.go: ScoreNoiseBound, XtdNoiseBound,
// SlotSumNoiseBound) bound second moments, E[e^2] for every coefficient e,
// which is all the composition above needs. The noises of this set are
// roundings: lattigo's public-key encryption draws its encryption of zero
// modulo Q*P and divides it by a prime of P, a rescale divides by a prime
// of Q, a key switch by P, each leaving r0 + r1*s, r uniform in
// [-1/2, 1/2); a key switch adds its digits' errors d_i e_i / P, which
// P's 122 bits keep as small. Taking the roundings and the digits as
// uniform and independent of the secret s and the keys' errors (the
// heuristic above), the coefficients of r1*s are uncorrelated, of second
// moment (1 + N E[s_j^2]) / 12 = 2^10.8, a key switch's 2^11.8. A
// product by a plaintext encoded at the prime it is rescaled by multiplies
// the noise slot by slot by the plaintext's values in the canonical
// embedding, where a noise of uncorrelated coefficients of second moment v
// has uncorrelated slots of second moment N v; sums and rotations add and
// permute slots. A coefficient is (2/N) Re sum_j eps_j zeta_j^-m over the
// N/2 slots, so its root mean square is at most the largest slot's,
// whatever the slots' correlation (Minkowski); the fold of X^T v makes the
// slots of a residue class equal, and a matrix of equal columns comes
// within a bit of the bound (its X^T d is a + b X^(N/2)).
//
//   - Scores (Linear14's LogNoiseBound, 12): a linear model's are the
//     center's fresh encryption plus the bank's plaintext partial scores,
//     rerandomized: 2^5.9. A tree ensemble's combine the center's encrypted
//     path indicators with the bank's plaintext factors (CombinePairs):
//     fresh noise times factors of weight W (CombineWeight, at most
//     MaxCombineWeight, 2048, which the kernel enforces), a rescale, the
//     conjugate added (at most four times the second moment), a key
//     switch and the rerandomization: 2^11.9 at W = 2048. Composed over
//     the 2^26 coefficients of a session, the flooding is 2^65.
//   - Gradients X^T d (vertical LR with RevealGradients): d combines the
//     center's encrypted powers with the bank's factors of weight at most
//     4 (inside the sigmoid's interval they weigh at most 0.063, the
//     loss's 1.82), and every slot of the product meets each row's
//     complex-packed pair of entries once, so the bound grows with each
//     column's sum of squares S over the batch: 2^21.3 for 3,000 rows at
//     S = 12,000, 2^25.4 for 2^20 rows at S = 2^22. Loss sums (SumSlots
//     over an epoch's rows) stay within 2^23.6 at 2^20 rows. Linear14's
//     flooding does not cover them: package vlr sizes a training's own
//     from these bounds at the limits both parties enforce (rows, each
//     column's mean square over a batch, the weight) and from the
//     coefficients it decrypts, in a copy of the set.
//
// TestLinearNoiseBounds measures each kernel as the protocols chain it, at
// those limits, the gradients up to 2^20 rows: over the coefficients, the
// noise's root mean square stays below the bound, and its largest value
// below the bound times the tail of their count. The fold's worst case, a
// matrix of equal columns (X^T d is then a constant polynomial, plus the
// same times X^(N/2)), puts those two coefficients within a bit of the
// bound: 2^21.5 for 4,096 rows, 2^24.4 on average at 2^20 rows against
// 2^25.4.
//
// The bounds leave out one thing: the rounding of plaintext encodings
// (values at 2^40 then lifted, factors at the 45-bit primes), a
// deterministic function of the values, the same in two runs on the same
// inputs. It is part of the approximate value the computation defines
// (relative error near 2^-45) and so of what the receiver learns, as in
// any CKKS evaluation; the flooding hides the randomized noise, which
// carries the keys and the encryption randomness.
//
// Shared15 states a bound that is measured, with margin, not derived
// (shared_test.go: the same computation on two encryptions of one input,
// whose decryptions differ by exactly the two noises), at the limits the
// protocols enforce (features within MaxFeature, scores over the whole
// sigmoid interval, the widest interval); it reveals only flooded shares,
// sized by the same composition over all their coefficients
// (Params.Flood).
//
// Precision that remains: Hist13 (coefficient encoding, scale 2^98, flood
// 2^82.4) keeps about 2^-15.6 absolute per value, and the protocols scale
// their values to fill 2^19, which keeps 2^-34.6 relative; Linear14's
// scores (slot encoding, scale 2^92, flood 2^65, which the decoding of a
// real slot grows by sqrt(N/2) = 2^6.5) about 2^-20.5 absolute (7e-7) at
// one standard deviation. A RevealGradients training's gradient X^T d /
// |B| keeps 2^(LogFlood + 6.5 - 92) / |B| of its own flooding: 1.3e-8 for
// 3,000 rows in 8 full-batch epochs (flood 2^70.8), 1e-5 for 20 batches
// of 3 rows; its flooding grows with the square root of the coefficients the
// training decrypts. Matrix products and histogram sums measure relative
// errors below 1e-6 of their largest entry on 100,000 rows (the tests).
//
// What each kernel hands to a decryption holds only what its protocol
// reveals: MulTransposed folds its result so that every slot holds a full row
// of X^T v (no partial sums); Histograms zeroes every coefficient that is not
// a bin sum while packing; Combine is never decrypted by the protocols (its
// output feeds MulTransposed). Mask adds uniform randomness to values a
// protocol keeps hidden.
//
// Flooding hides the noise, not the components. A ciphertext a party computes
// from the peer's ciphertexts and its own private plaintexts (a product with
// its bins or weights, a sum with its partial scores, a blinding) is a
// deterministic function of them, and the peer knows its own ciphertexts: it
// could subtract or divide them out of the result's (c0, c1). So every such
// result is rerandomized with a fresh encryption of zero (Rerandomize) before
// it leaves its party, whether it goes out to be decrypted, to have a share
// made of it, or to be computed on further; the protocols in fl do so.
//
// A vector one party sends only for the peer to compute on may instead be
// encrypted under the sender's own key share with a public seed
// (SeededVector): the receiver joins it to the collective key with its
// share. The receiver holds RLWE samples under a key it does not know, and
// the joined vector, like any other, needs both parties to decrypt.
//
// # Additive shares (Shared15)
//
// A value can also be split into two additive shares, integer polynomials
// whose sum is its plaintext (Share, SharedVector): OpenToPeer turns a
// ciphertext into shares by a decryption share masked with a uniform
// integer per coefficient, of 199 bits in vertical LR (uniform in
// [-2^198, 2^198): Shared15's share capacity at its share level,
// ShareCapacity), which hides the plaintext and its noise at once: masks
// 41 + log2(count) bits wider than the values hide count coefficients at
// 2^-40 (ShareMaskBits; package vlr's scale guard says when its values
// are that narrow), so no flooding is needed. EncryptShares and
// JoinShares turn shares back into a ciphertext at any level, the peer's
// share encrypted under its own key share with a seeded c1. Linear steps
// (sums, fixed-point scalings, slot rotations and conjugation, which are
// automorphisms of the ring) run on each share alone and commute with the
// sum, which is how vertical LR updates its secret-shared weights. Shares
// are revealed only by sending one, flooded (Params.Flood: Gaussian noise
// on the coefficients that hold the values, sized by Kullback-Leibler
// composition over all of them and Pinsker's inequality). Shared15 keeps a
// scale of 2^90 through three ciphertext products (pairs of 45-bit primes),
// so what is finally revealed carries about 2^-75 of relative noise from
// the arithmetic and is limited by its flooding: a final weight carries
// Gaussian noise of standard deviation sqrt(Block) sigma / 2^90 (about
// 1.6e-8 for 15 columns after 3 full-batch epochs of package vlr's
// defaults), growing linearly with the optimizer's steps.
//
// The model is semi-honest: each party follows the protocol and helps decrypt
// only the vectors the protocol names.
//
// # Concurrency
//
// lattigo objects are not safe for concurrent use. A Party makes one
// ShallowCopy of its encoder, encryptor and evaluator per worker goroutine;
// kernels use GOMAXPROCS workers.
package he
