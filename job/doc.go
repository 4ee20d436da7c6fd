// Package job runs a whole two-party credit-modeling job with one call per
// side: RunActive on the bank's side, RunPassive on the credit center's,
// over any fl.Transport (link.Dial and link.Listen give gRPC with mutual TLS).
//
// A job is: the handshake and session binding (fl.Handshake, fl.Bind); the
// bank's choice of models, which the center checks against its own spec
// (TypeSetup); private alignment of the training ids, and of the test ids
// when both parties give a test table (fl/align, rows in id order, the same
// every session); otherwise the bank's stratified split of the aligned rows
// (TypeSplit: the test rows' positions, never their labels); each party's
// preparation of its own columns (Prepare: categorical columns encoded by
// levels fitted on its training rows and, for LR, one-hot; standardized on
// its training rows, missing values imputed, clipped at Spec.Clip); then,
// per model, the
// training (fl/vlr, fl/boost, fl/woe), the federated scoring of the test
// rows, the bank's AUC and KS, and each party's half of the model, built,
// stamped with the training's id (TrainingID, which scoring compares) and,
// with Spec.Dir, saved.
//
// What each party learns is what the protocols it runs state in their
// package docs (vlr: its own final weights and, for the bank, the loss;
// boost: the bank the center's per-bin sums at the nodes it may see, the
// center each node's row partition; woe: the bank the center's bins'
// counts), plus the job's own: the size of the intersection and, on the
// center's side, which aligned rows are for testing. Federated prediction of
// the test rows sends the center's partial scores (LR), split decisions
// (trees) or partial points (scorecard) to the bank, as each package says.
//
// An error on either side ends the job on both: the failing side tells the
// peer why (fl.Abort), and the peer's RunActive or RunPassive returns an
// error that matches fl.ErrPeerAborted and quotes the reason. A fault in a
// party's own tables (a test table whose columns differ from the training
// table's, dataset.CheckSameSchema; columns that cannot be prepared) reaches
// the peer by its kind only: the party's own error names the columns.
//
// Categorical columns (dataset.Table.Categories) travel in each party's
// halves: an LR half keeps its encoding and one-hot layout, a scorecard
// half the levels and points of each categorical feature, so that both
// read new tables, with dictionaries of their own, by label (Encode), a
// label unseen in training counting as missing.
//
// PlainTwin trains the plaintext twin of a model from both parties' results
// (in a test or a single-process demo): the same algorithm on the joined
// columns, which the federated model must match.
package job
