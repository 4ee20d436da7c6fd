// Package vlr is vertical federated logistic regression between the bank
// (the active party: labels, its own features, the intercept) and the credit
// center (the passive party: its own features), over an fl.Transport, with
// every intermediate value encrypted under the pair's two-party threshold key
// (he.Linear14). Protocol, per mini-batch B (DESIGN.md section 4):
//
//  1. The center computes its partial scores u_c = X_c w_c in plaintext and
//     sends encryptions of the powers u_c, u_c^2, ..., u_c^k.
//  2. The bank expands the sigmoid polynomial p around its own partial score
//     u_b: p(u_b + u_c) = sum_j a_j(u_b) u_c^j, so the encrypted residual
//     d = p(z) - y is a sum of plaintext-times-ciphertext products (he.Combine):
//     no ciphertext product, no precision lost. It sends Enc(d).
//  3. Each party computes Enc(X^T d) on its own columns (the bank with a
//     column of ones for the intercept) and the pair decrypts it to its owner
//     only: the center's gradient to the center, the bank's to the bank.
//  4. Each party updates its own weights with the agreed optimizer (SGD,
//     momentum or Adam, L2 and L1), exactly as the centralized reference
//     model.TrainLR does, so federated and plaintext training agree.
//
// After each epoch, when early stopping or progress needs it, the bank
// evaluates the log-loss the same way (softplus(z) - y z with softplus a
// polynomial), sums it under encryption and has it decrypted to itself only.
//
// What each party learns. The center: its own gradient X_c^T d / |B| for
// each batch, and the options and row count of the training. The bank: its
// own gradient (and the intercept's) per batch, and the training loss per
// epoch. Neither learns u_c, u_b, z, p, d, y (the center) or the other's
// weights and features; every decryption share carries the flooding of he.
// Both learn each other's number of feature columns (the key generation
// needs it).
//
// Federated prediction (Predict*) is cheaper and reveals more: the center
// sends its partial scores for the rows to score in plaintext, as FATE does,
// so the bank learns u_c per scored row. Use encrypted scoring where that is
// not acceptable.
//
// With Options.Checkpoint (and PassiveOptions.Checkpoint on the center's
// side) each party saves its weights, optimizer state and losses after every
// epoch; restarted with the same options and data, the parties agree on the
// latest epoch both saved and go on from there with fresh keys (Result.Resumed).
// The epochs run again draw fresh CKKS noise, so the final weights match an
// uninterrupted run to the decryption precision, not bit for bit.
package vlr
