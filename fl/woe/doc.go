// Package woe is federated weight of evidence (WOE) and information value
// (IV) between the bank (the active party: labels and its own columns) and
// the credit center (the passive party: its own columns), over an
// fl.Transport, with the center's counts computed under the pair's
// two-party threshold key (he.Hist13), plus feature selection by IV across
// both parties and federated scoring of a WOE scorecard (model.ScorecardHalf).
//
// TrainActive and TrainPassive run one exchange:
//
//  1. Each party bins its own columns into quantile bins (model.FitBinning),
//     a categorical column (Data.Categories) into
//     one bin per level of its encoding (model.Categories: the labels of
//     the training rows, the rarest folded into one level past the cap).
//     The bank computes its own columns' counts, WOE and IV in plaintext
//     (Local). The center tells the bank how many bins each of
//     its columns has and which are categorical.
//  2. The bank encrypts its labels, the event indicators y (1 = default),
//     coefficient-packed for the histogram kernel, under its own key share
//     with a public seed (he.SeededVector), and sends them once; the center
//     joins them to the threshold key.
//  3. The center computes the encrypted cumulative event counts of every
//     bin of every column (he.Histograms, one group of all rows) and sends
//     them with its flooded decryption share, and the number of rows in each
//     of its bins in plaintext (the bank would learn them anyway, as events
//     plus non-events): the bank, and only the bank, decrypts the event
//     counts. It differences the cumulative sums into per-bin event counts
//     (rounded: they are integers, and the decryption noise, flooding
//     included, is below 2^-14 of a count at the limit of 2^20 rows) and subtracts them from the rows for the non-event counts;
//     the missing bin's events are the total minus the present bins'.
//  4. With the optimal method, the bank merges each column's quantile bins
//     into bins of monotone WOE (model.OptimalBins, by chi-square or IV) on
//     those counts, for the center's columns too; a categorical column's
//     levels merge in order of event rate, not of their codes
//     (model.OptimalLevelBins). It computes WOE and IV of every column and
//     selects columns across both parties by IV threshold or top-k
//     (model.Selection).
//  5. The bank tells the center which of its columns stay and, for each, the
//     merged bins as ends over the center's own quantile bins, or the bin of
//     each level of a categorical column (indices, never values), and the
//     bins' WOE under a secret random affine map a*WOE + b
//     (a in [1/2, 2), b in [-1, 1), fresh per column). The center builds its
//     model.WOETransform from them: plain columns that fl/vlr trains on. A
//     logistic regression standardizes its columns, which removes a and b, so
//     the model is the one trained on the true WOE.
//
// DisclosurePlan declares the one decryption, woe.counts: one CoeffGrid
// vector of the cumulative event counts of the center's columns' bins
// (centerCols * K values) to the bank, at Hist13's decryption level and
// scale, once per run. The center admits it against the plan (joint.Plan)
// before it makes its decryption share.
//
// What each party learns. The bank: for each center column, the event and
// non-event counts of each of the center's quantile bins and of its missing
// bin (so the bins' sizes), hence their WOE and IV, and the column's name
// only if the center gives it; never the center's values or cut points.
// For a categorical column the bins are its levels: the bank learns that
// the column is categorical, its number of levels, and how many of the
// aligned rows, and of its defaulters, each level holds; the levels' names
// only with the column names. A label unseen in training, like a missing
// cell, takes the missing bin's WOE. The
// center: the options, which of its own columns the selection keeps, the
// merged bins of those (as indices of its quantile bins or levels), and an affine image
// of their WOE with unknown slope and offset. It learns nothing about labels
// from the counting: the labels and the event counts travel encrypted under
// the threshold key and are decrypted only by the bank; it learns neither the
// bank's columns, nor their IVs, nor the other IVs, nor which bank columns
// stay. The affine image reveals, for each kept column, its bins' order of
// risk (exactly: a > 0), the ratios of the differences between its bins'
// WOE (exactly: an affine map keeps them), and those differences themselves
// to within a factor of 4 (the slope a is in [1/2, 2)); the offset b hides
// the WOE's level, so not which bins are riskier than the average
// borrower. That is what its own scorecard points reveal anyway: points are
// an affine image of the same WOE (model.NewScorecardHalf). No count of
// events or of rows reaches the center. The bank, computing every IV, learns the
// whole selection.
//
// Scoring. A WOE scorecard is one model.ScorecardHalf per party; a row's
// score is the sum of both halves' PartialPoints. ScorePassive and
// ScoreActive score federatedly: the center sends its partial points, which
// the bank learns (as with vlr.PredictPassive). Encrypted scoring can take
// the same partial points (model.ScorecardHalf.PartialPoints) as the
// center's encrypted input.
package woe
