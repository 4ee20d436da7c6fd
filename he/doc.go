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
// secret keys and encryption randomness and must not leak. e_flood is a
// discrete Gaussian of standard deviation 2^LogFlood = 2^(LogNoiseBound+40)
// per coefficient; every ParamSet states LogNoiseBound, a bound on the
// infinity norm of e_ct for every ciphertext its kernels hand to a
// decryption, and the tests measure the real noise of each kernel against it
// (noise_test.go: the same computation on two encryptions of one input, whose
// decryptions differ by exactly the two noises). By the smudging lemma the
// distributions of e_ct + e_flood and e_flood are then within statistical
// distance 2^-40 per coefficient, so the receiver learns m and nothing about
// e_ct; the helper's share is an RLWE sample under its own key share and
// reveals nothing either. The flooding is drawn with full 64-bit precision
// (Gaussian high part plus uniform low bits, seeded from crypto/rand).
//
// Precision that remains: Hist13 (coefficient encoding, scale 2^80, flood
// 2^61) keeps about 2^-19 absolute per value; Linear14 (slot encoding, scale
// 2^92, flood 2^66, slot decoding grows it by sqrt(N) = 2^7) keeps about 2^-19
// absolute per slot. Matrix products and histogram sums measure relative
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
