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
// and the collective public, relinearisation and Galois keys. The secret key
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
// |e_ct| for every coefficient its kernels hand to a decryption, and
// LogMaxDecrypted, the number M of coefficients a run may decrypt. For one
// coefficient the Kullback-Leibler divergence between x + e_flood and
// e_flood is at most x^2 / (2 sigma^2); divergences add over independent
// coefficients (the chain rule), so a run's M coefficients stay within
// M B^2 / (2 sigma^2), and Pinsker's inequality bounds the statistical
// distance of everything the receiver sees from a view without e_ct by
// sqrt(M) B / (2 sigma). LogFlood = LogNoiseBound + 40 + LogMaxDecrypted/2
// makes that 2^-41; the bound B fails with probability at most 2^-41; the
// whole run is at statistical distance 2^-40 (Asharov, Jain, Lopez-Alt,
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
// lays out at least 8 bins (C <= N/8, L <= 10), and the bound takes the
// worst chunk. With the sub-Gaussian tail over 2^30 coefficients at
// failure probability 2^-41 (a factor of 10) it comes to 2^24.4 at 2^20
// rows: Hist13's LogNoiseBound is 24.5, its flooding 2^79.5, and
// TestHistNoiseBound measures 2^17.8 on the worst chunk at 2^20 rows.
//
// Linear14 and Shared15 state bounds that are measured, with margin, not
// derived (noise_test.go and shared_test.go: the same computation on two
// encryptions of one input, whose decryptions differ by exactly the two
// noises): their kernels multiply ciphertexts and rescale, and an analytic
// bound for them is still to do. Shared15's is measured at the limits the
// protocols enforce (features within MaxFeature, scores over the whole
// sigmoid interval, the widest interval), not only on typical data. Linear14's flooding is sized
// per coefficient (2^-40 each); Shared15 reveals only flooded shares, sized
// by the same composition over all their coefficients (Params.Flood).
//
// Precision that remains: Hist13 (coefficient encoding, scale 2^98, flood
// 2^79.5) keeps about 2^-18.5 absolute per value, and the protocols scale
// their values to fill 2^19, which keeps 2^-37.5 relative; Linear14 (slot
// encoding, scale 2^92, flood 2^66, slot decoding grows it by sqrt(N) =
// 2^7) keeps about 2^-19 absolute per slot. Matrix products and histogram
// sums measure relative errors below 1e-6 of their largest entry on 100,000
// rows (the tests).
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
// integer of up to 197 bits per coefficient, which hides the plaintext and
// its noise at once (the mask is 41 + log2(count) bits wider than any value
// the protocol opens, so no flooding is needed); EncryptShares and
// JoinShares turn shares back into a ciphertext at any level, the peer's
// share encrypted under its own key share with a seeded c1. Linear steps
// (sums, fixed-point scalings, slot rotations and conjugation, which are
// automorphisms of the ring) run on each share alone and commute with the
// sum, which is how vertical LR updates its secret-shared weights. Shares
// are revealed only by sending one, flooded (Params.Flood: Gaussian noise
// on the coefficients that hold the values, sized by Kullback-Leibler
// composition over all of them and Pinsker's inequality). Shared15 keeps a
// scale of 2^90 through three ciphertext products (pairs of 45-bit primes),
// so what is finally revealed carries about 2^-75 of relative noise and
// keeps about 2^-25 of absolute precision after flooding.
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
