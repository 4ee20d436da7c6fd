// Package score is encrypted batch scoring of a trained model between the
// bank (the active party) and the credit center (the passive party), over an
// fl.Transport, under the pair's two-party threshold key (he.Linear14,
// KeySpec: the conjugation key only).
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
// Then the bank learns the output, and only it, as Options.Output says:
//
//   - Scores: the bank learns each record's logit (and derives the
//     probability, the scorecard points, the band). For a linear model it can
//     subtract its own part and so learns the center's partial score of each
//     record; for trees it learns the sum, from which it may infer some of
//     the center's decisions. The center helps decrypt exactly one vector per
//     batch: one score per record.
//   - Bands: the logit never exists, in the clear or under encryption, and no
//     key is generated. Each party turns its part of every record's logit
//     into a 32-bit fixed-point share (BandFracBits = 20 fractional bits):
//     for a linear model its partial score; for trees, shares made by one
//     correlated OT per record and center split (the center's path
//     indicator e_k chooses, the bank's coefficient coef_k is the
//     correlation, so the shares add up to const + sum_k coef_k e_k). The
//     bank subtracts each cut, and a secure comparison (mpc/compare: the
//     millionaires' protocol of CrypTFlow2 on IKNP OT extension, mpc/ot)
//     tells the bank, per record and cut, whether the logit is above the
//     cut, and tells the center nothing. Those bits fall as the cut rises,
//     so they are the band, and the bank receives nothing else: every
//     other bit it sees is a one-time pad of the center's random choices
//     (TestLearnerViewIndependentOfInputs in mpc/compare; the retired
//     output, which returned blinded differences a*(z - c), leaked |z - c|
//     to a few percent over 200 rescorings: he's
//     TestRepeatedScoringRecoversMagnitudes). A record within BandEpsilon
//     of a cut (1.5 x 2^-20 for a linear model, (splits + 2) x 2^-21 for
//     trees) may fall on either side. Approve/decline is one cut. What it
//     costs: for 5 grades about 1,960 bytes a record for the comparisons,
//     plus 20 bytes per record and center split for trees (bench/:
//     score_lr_bands, score_gbdt_50x3_bands).
//
// With band output, Options.Disclose has the center release its flags (in
// the node: its digital credit coupon and the categories the whitelist's
// pricing discounts) for exactly the records the bands whitelist: band At
// or better, the logit at or below cut At. The release is decided inside
// the comparison: the batch's comparisons become a garbled circuit
// (mpc/compare: Discloser, Recipient; a second OT setup, with the bank as
// the OT chooser) that the center garbles and the bank evaluates on its
// one input per record, its partial score for a linear model (range
// checked in the circuit) or its share of the score for trees. What each
// party receives, as shapes: the bank, per record, its band (K cut bits),
// one release bit, and for the released records the flags (len(Flags)
// bits each); for the others a masked value it cannot open, since the key
// is a label of the circuit it does not hold. The center: the OT
// extension's columns and one-time-padded choice bits, so neither the
// bands nor which records were released, nor how many: the bank's
// whitelist stays its own. "The bank tells the center its approved ids"
// would hand the flags of any id a bank names, and tell the center its
// credit decisions. A cheating bank can only change its input, for all
// the cuts of a record at once (its partial score, which even an ideal
// service takes on trust: see mpc/compare's doc for what that allows);
// flipping its choice bits to turn the comparison over releases nothing
// (compare's TestCheatingRecipient; TestCheatingBankFlags here, against
// the variant without the range check, which a shift by 2^30 defeats).
// For trees the bank's input is a random share, which nothing bounds: a
// bank shifting it by 2^30 moves the window onto the records above the cut
// and receives their flags, knowing they are above it; its leaf weights
// give it that power in any protocol (it may negate them), so with trees
// the flags hold against a semi-honest bank only. Either way a lying bank
// can be released every record's flags by claiming every record approved
// (and then learns no true band in that session): the quotas bound its
// sessions. The center agrees to At and Flags in
// its Options (a Service refuses a bank asking for other flags), holds
// the values in Service.Flags, and tells Service.OnDisclose, per session,
// the records x flags it offers; DisclosurePlan declares them as the step
// score.flags (at most records x flags values, the center not learning how
// many were released). With 5 cuts a record costs about 7.1 KB on the
// wire instead of 2.3 KB without flags, with one cut 3.1 KB instead of 0.9
// KB (TestDiscloseLinear, 1,500 records), and about twice the comparisons'
// CPU (BenchmarkRelease against BenchmarkCompare in mpc/compare).
//
// DisclosurePlan declares what a run decrypts: with Scores, score.scores,
// one slot vector of logits per batch to the bank, of one value per record
// (at most BatchRows), at Linear14's decryption level and scale; with
// Bands, score.bands, each record's band by secure comparison, and no
// vector at all (the step admits none). The center admits every vector it
// helps decrypt against the plan (joint.Plan), after its own check of the
// batch's shape.
//
// The center learns nothing about the records' scores or bands: with Scores
// everything it receives is encrypted under the joint key, and it only ever
// contributes flooded decryption shares of vectors whose shape it checks
// (one score per record of the batch); with Bands it receives the bank's OT
// messages, of which it can open only those it chose, each masked by the
// bank's fresh random bits. For trees it also learns, from the bank's setup
// message, how its own splits nest in each tree, which it already sees in
// training. Both parties learn the number of records; the cut points are
// agreed in the clear, and the center fixes them: it refuses a run whose
// output or cuts differ from its own Options (a Service scores with its
// configured Options only), so it decides what it agrees to reveal.
//
// A Service (service.go) serves many banks: each is admitted by the name in
// its verified client certificate and held to its quotas (sessions at once
// and per day, ids per session, scorings of an enterprise per model and
// day). Before any scoring, the private set intersection tells the bank
// which of the ids it submitted the center holds: membership of those ids is
// what a session reveals besides the output, which is why the number of ids
// a bank may submit, and how often it may rescore, are bounded. The
// alignment is unbalanced by default (fl/align): the center keeps its table
// encoded once per key epoch and bank (Service.PSIStore), the bank caches
// it (Options.PSICache) with the center's answers for the ids it has asked
// in the epoch, and a session costs O(the bank's ids new to the epoch): a
// later session with the same ids asks the center for none, the center
// learning how many of the bank's ids are new besides their number, and
// still every matched row from the bank's slot list. The center
// charges each enterprise's scoring when it learns the intersection, before
// any scoring: a session that would pass the quota of any enterprise is
// refused then and scores nothing. In the unbalanced mode the bank has by
// then found its ids in its cache, so a refused session shows it membership
// as any session does (bounded by the ids per session and the sessions per
// day); in the balanced mode (Options.BalancedPSI, KKRT by default or ECDH
// by Options.BalancedProtocol, which costs both tables' sizes every
// session; the center is KKRT's receiver) the center knows the intersection before it sends
// the message that shows it to the bank, so a refused bank learns no
// membership. Either way the center learns which of its rows the bank
// scores, which it needs to score them and to count the quota.
//
// The model is semi-honest, as everywhere in Veil: a bank that lies about its
// encrypted scores can make the center help decrypt other functions of its
// encrypted part, one vector per batch (Scores). With Bands the center fixes
// the cuts, but a bank chooses its own input: by shifting its shares (or
// just its partial score, which even an ideal band service would have to
// take on trust) it compares the center's part with thresholds of its
// choice, per record as many as there are cuts, which is at most
// log2(cuts + 1) bits of the center's part per record and session. Over
// repeated sessions those comparisons binary-search the center's partial
// score: k bits of it take about k / log2(cuts + 1) scorings of the record
// (with 4 cuts, a partial score in [-8, 8) to 0.01, 11 bits, in 5). Nothing
// in one session prevents that; the quotas bound it
// (Quota.ScoresPerDay scorings of an enterprise per model and day, default
// 3, and SessionsPerDay), so a center serving bands keeps them low, its
// cuts few, and watches for banks that rescore the same enterprises day
// after day.
package score
