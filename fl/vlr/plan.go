package vlr

import (
	"github.com/veil-fl/veil/fl"
	"github.com/veil-fl/veil/fl/joint"
	"github.com/veil-fl/veil/he"
)

// Disclosure steps of the protocol (joint.Disclosure.Step).
const (
	StepScores         = "vlr.scores"          // the batch's scores, opened masked to the bank
	StepBankGradient   = "vlr.bank-gradient"   // the bank's gradient: masked to the center, or (RevealGradients) to the bank
	StepCenterGradient = "vlr.center-gradient" // the center's gradient: masked to the bank, or (RevealGradients) to the center
	StepLoss           = "vlr.loss"            // the loss sum of an epoch, to the bank
	StepBankWeights    = "vlr.bank-weights"    // the bank's final weights, to the bank
	StepCenterWeights  = "vlr.center-weights"  // the center's final weights, to the center
)

// DisclosurePlan returns what a training with options o (defaults
// applied) on rows rows and the parties' column counts decrypts or opens
// to each party, epochs fromEpoch onwards (a resumed training): the single
// source of what each party learns. Both parties build it after the setup,
// and the party that helps decrypt or opens a value checks it against the
// plan before it does (joint.Plan.Admit, on the plan it holds:
// joint.Plan.HeldBy): a request outside it is refused.
//
// Every shape is fixed by the options but two. A batch's scores are as
// long as the batch, and the last batch may be shorter: the step declares
// the longest (MaxLen). The secret-shared protocol's gradients and loss
// come out of rescalings by primes that are not powers of two, at a scale
// a little under the parameters' that only running them tells: those steps
// keep the parameters' scale within a bit (LogScale 0). The final weights
// are opened as shares, which have no level (Level AnyLevel; shares are
// checked for layout, length and scale).
func DisclosurePlan(o Options, rows, bankCols, centerCols, fromEpoch int) *joint.Plan {
	epochs := o.Epochs - fromEpoch
	bs := batches(rows, o)
	batches := epochs * len(bs)
	if o.RevealGradients {
		lin := he.Linear14
		ds := []joint.Disclosure{
			{Step: StepBankGradient, To: fl.RoleActive, What: "the bank's gradient X_b^T d / |B| of each batch (with the intercept's)",
				Layout: he.SlotSplit, Len: bankCols + 1, Level: lin.DecryptLevel, LogScale: lin.LogScale, Vectors: batches, Values: batches * (bankCols + 1)},
			{Step: StepCenterGradient, To: fl.RolePassive, What: "the center's gradient X_c^T d / |B| of each batch",
				Layout: he.SlotSplit, Len: centerCols, Level: lin.DecryptLevel, LogScale: lin.LogScale, Vectors: batches, Values: batches * centerCols},
		}
		if o.lossNeeded() {
			ds = append(ds, joint.Disclosure{Step: StepLoss, To: fl.RoleActive, What: "the sum over the rows of the polynomial surrogate of the log-loss, once per epoch",
				Layout: he.SlotReal, Len: 1, Level: lin.DecryptLevel, LogScale: lin.LogScale, Vectors: epochs, Values: epochs})
		}
		return joint.NewPlan(ds...)
	}
	set := he.Shared15
	lvl := set.DecryptLevel
	longest := 0
	for _, b := range bs {
		longest = max(longest, len(b))
	}
	bm, cm := bankColumns(bankCols).matrix, centerColumns(centerCols).matrix
	ds := []joint.Disclosure{
		{Step: StepScores, To: fl.RoleActive, What: "each batch's scores z (twice them, two chunks per ciphertext), as a masked share", Masked: true,
			Layout: he.SlotComplex, Len: joint.AnyLen, MaxLen: he.MustParams(set).PairedLen(longest), Level: lvl, LogScale: set.LogScale, Vectors: batches, Values: epochs * rows},
		{Step: StepBankGradient, To: fl.RolePassive, What: "each batch's gradient of the bank's weights (unfolded), as a masked share", Masked: true,
			Layout: he.SlotSplit, Len: bm, Level: lvl, Vectors: batches, Values: batches * bm},
		{Step: StepCenterGradient, To: fl.RoleActive, What: "each batch's gradient of the center's weights (unfolded), as a masked share", Masked: true,
			Layout: he.SlotSplit, Len: cm, Level: lvl, Vectors: batches, Values: batches * cm},
		{Step: StepBankWeights, To: fl.RoleActive, What: "the bank's final weights and intercept, flooded",
			Layout: he.SlotSplit, Len: bm, Level: joint.AnyLevel, LogScale: set.LogScale, Vectors: maxReveals, Values: bm},
		{Step: StepCenterWeights, To: fl.RolePassive, What: "the center's final weights, flooded",
			Layout: he.SlotSplit, Len: cm, Level: joint.AnyLevel, LogScale: set.LogScale, Vectors: maxReveals, Values: cm},
	}
	if o.lossNeeded() {
		ds = append(ds, joint.Disclosure{Step: StepLoss, To: fl.RoleActive, What: "the sum over the rows of the polynomial surrogate of the log-loss, once per epoch, flooded",
			Layout: he.SlotReal, Len: he.MustParams(set).Slots(), Level: lvl, Vectors: epochs, Values: epochs})
	}
	return joint.NewPlan(ds...)
}
