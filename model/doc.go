// Package model holds Veil's plain data types and math: no cryptography and
// no network. The protocols in fl train and score with these types; a bank
// data scientist uses them directly to evaluate and explain a model.
//
//   - Metrics: AUC (average ranks for ties), KS, ROC and Lift for binary
//     labels.
//   - Scorecard: probability of default to credit points (base points, points
//     to double the odds, base odds; FATE's defaults 500 and 20), per feature
//     for a linear model.
//   - Standardizer: per-column mean and standard deviation that each party
//     fits on its own columns; missing values (NaN) become the mean.
//   - Optimizer: SGD, momentum and Adam with L2, proximal L1 and learning-rate
//     decay, all per coordinate, so that each party updating its own slice of
//     the weights steps exactly as a single optimizer over all of them.
//   - LRHalf: one party's half of a vertically split logistic regression,
//     with its partial score and a strict versioned JSON file format.
//   - TrainLR: the plaintext centralized reference trainer. It runs exactly
//     the arithmetic of vertical federated LR (same batches from BatchOrder,
//     same sigmoid, same optimizer), so a federated run can be checked
//     against it number for number. With Adam (learning rate 0.1), full batch,
//     300 epochs and L2 = 1/n it reaches scikit-learn's LogisticRegression
//     (C = 1) optimum on the shared datasets.
//   - Binning: per-column quantile cuts as XGBoost 1.7's hist method makes
//     them, with a missing-value bin; each party bins its own columns.
//   - BestSplit, LeafWeight, LogisticGradients: the split search and leaf
//     arithmetic of gradient-boosted trees, shared by the plaintext reference
//     and federated SecureBoost (fl/boost), with one documented tie-break.
//   - TrainGBDT, GBDT: the plaintext reference GBDT and its model file.
//   - BinCounts, ColumnWOE: event and non-event counts per bin, weight of
//     evidence and information value; OptimalBins merges quantile bins into
//     bins of monotone WOE by chi-square or IV, from counts alone (so the
//     bank can run it on the counts fl/woe decrypts to it for the center's
//     columns); Selection keeps features by IV threshold or top-k;
//     WOETransform turns raw columns into plain WOE columns for the LR.
//   - ScorecardHalf: one party's half of a WOE scorecard, points per bin of
//     its own features (NewScorecardHalf builds it from an LR half trained on
//     WOE columns), PartialPoints for federated or encrypted scoring, and a
//     versioned model file.
//   - Every model file is strict, versioned JSON (Save and Load methods);
//     JoinColumns: the [bank | center] layout of the references.
//
// Matrices are row-major []float64 with the number of columns passed beside
// them; labels are 0 or 1 as float64, 1 the positive class (default). Errors
// wrap the sentinels ErrShape, ErrLabels, ErrNotFinite, ErrOptions and
// ErrBadModel.
//
// # Polynomial sigmoids
//
// Under encryption the sigmoid is a polynomial fitted on an interval
// [-B, B]. Outside it a least-squares fit of degree 3 or 7 turns the wrong
// way (its leading coefficient is negative): a single row whose logit leaves
// the interval then gets a gradient that pushes it further out, and training
// diverges. Degrees 1 and 5 turn the right way and stay stable. On
// default_credit, where a few outlying rows reach logits near -30, clipping
// the standardized features at 5 (Standardizer.Clip) keeps all three degrees
// stable; the degree-7 fit on [-8, 8] then costs 0.002 test AUC against the
// exact logistic function, while FATE's Taylor expansion 0.5 + z/4 costs
// 0.006 to 0.007 with or without clipping (TestSigmoidCost).
package model
