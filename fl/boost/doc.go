// Package boost is SecureBoost-style vertical gradient-boosted trees between
// the bank (the active party: labels, its own features, the gradients and
// the leaf weights) and the credit center (the passive party: its own
// features, binned and thresholded in private), over an fl.Transport, with
// the center's histograms computed under the pair's two-party threshold key
// (he.Hist13). Per tree (DESIGN.md section 5):
//
//  1. The bank computes the gradients g and hessians h of the logistic loss
//     at the current logits.
//  2. Level by level, the bank sends the rows of every node to split and,
//     for the smaller child of each split of the level above (the larger is
//     the parent minus it), encryptions of g and h packed node by node,
//     under the bank's own key share with a public seed (he.SeededVector:
//     a third of a public-key encryption's cost, half its bytes), which the
//     center joins to the collective key. The center computes the encrypted cumulative histograms of those nodes
//     over its binned features (he.Histograms; the root's binning
//     polynomials are prepared once per training) and the pair decrypts them
//     to the bank only.
//  3. The bank finds each node's best split over both parties' candidates
//     (model.BestSplit, the same function and tie-break the plaintext
//     reference uses). For a split on a center feature it sends the feature
//     index and bin; the center alone knows the threshold, returns which of
//     the node's rows go left, and keeps (feature, threshold, missing
//     direction) in its half of the model.
//  4. Leaf weights stay with the bank, which updates the logits.
//
// What each party learns. The bank: per node that may be split, the
// cumulative gradient and hessian sums of the center's bins (so the
// left-child sums of every candidate split), which party splits, and the
// partition; the number of bins of each center feature. The center: the
// partition of the training rows at every node (as in FATE's SecureBoost),
// and nothing about labels, gradients, hessians, gains or leaf weights:
// those travel encrypted or not at all.
//
// The sums are over rows whose g and h the bank knows, so they are not
// harmless. In the first tree g takes two values (p0 and p0 - 1 for
// defaulters) and h one, so the sums give the bank the number of rows and of
// defaulters in each of the center's bins at every node: a WOE table of the
// center's features per node. In later trees g and h differ from row to
// row, and the sums of a small node pin down which of its rows fall in each
// bin: enumerating the 2^n subsets of a node of n rows finds the one whose
// sums match, and so every row's bin of every center feature
// (TestAttackSmallNodes does it on nodes of a few rows). Hence the minimum
// node size (GBDTOptions.MinNodeRows, default model.DefaultMinNodeRows = 96):
// a node is split, and its histograms computed and released, only if it and
// its sibling (whose histograms are the parent's minus its own) hold at
// least that many rows; the center enforces it on every level it is asked
// to compute, and refuses a training whose minimum is below its own
// (PassiveOptions.MinNodeRows). The argument for 96: a cumulative sum
// identifies a subset of the node's n rows through two numbers (the sums
// of g and h) known to about 2^-37.5 of their range (the decryption's
// relative precision once the bank scales them to fill it), so roughly
// 2^n / 2^75 subsets share any released pair of sums; at n = 96 that is
// more than 2^21: the subset-sum instance has density n / 75 > 1, where the
// solution is not unique and no method, exhaustive, meet-in-the-middle or
// lattice reduction, can tell the true subset among the others. What
// remains is statistical: a bin that holds few of a large node's rows has a
// sum close to few of the rows' g, which a bank can test row by row; the
// per-bin counts of the first tree are exact. On the shared datasets the
// minimum costs breast 0.0010, default_credit 0.0023 and give_credit 0.0015
// of test AUC (30 trees of depth 3, against MinNodeRows 1).
//
// Differential privacy (Options.DP, off by default) bounds both: the center
// adds Gaussian noise to every released sum under encryption, sized so that
// the whole training is (epsilon, delta)-DP for each row's center values
// (DP: zCDP accounting over trees x depth releases); a center may demand it
// (PassiveOptions.MaxEpsilon). The bank then reads the first tree's
// defaulter counts off by about sigma, not exactly (TestDPHistograms). Its
// cost in test AUC (TestRealDataDP, 30 trees of depth 3, delta 1e-5):
// breast 0.0027 at epsilon 8 and 0.0064 at 1; default_credit 0.13 at 8 and
// 0.05 at 1; give_credit 0.033 at 8 and 0.052 at 1. The noise inflates the
// gains of the center's splits, which then win over better splits of the
// bank's; a gain correction for the noise is not implemented.
//
// What each party sees of the partition: the center learns every node's
// instance set (it sends the split bits); the bank learns them too (it
// routes its rows), and the per-bin sums of the center's features at the
// nodes of at least MinNodeRows rows that it computes.
//
// Bins are not shuffled: cumulative hessian sums grow with the bin index
// (hessians are positive), so any shuffle of the candidates would be undone by
// sorting them; the threshold values stay with the center.
//
// With Options.Checkpoint (and PassiveOptions.Checkpoint on the center's
// side) each party saves its half after every tree: the bank its trees and
// the training logits, the center its splits. Restarted with the same
// options and data, the parties agree on the latest tree both saved and go
// on with fresh keys; the result is the uninterrupted run's model bit for
// bit, since splits are chosen on noise-snapped histograms and leaf weights,
// gains and logits come from the bank's exact sums.
package boost
