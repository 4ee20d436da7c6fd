package boost

import (
	"encoding/binary"
	"fmt"
	"log/slog"
	"slices"

	"github.com/veil-fl/veil/fl"
	"github.com/veil-fl/veil/fl/joint"
	"github.com/veil-fl/veil/he"
	"github.com/veil-fl/veil/model"
)

// Message types.
const (
	TypeSetup    = "boost.setup"
	TypeSetupAck = "boost.setup-ack"
	TypeLevel    = "boost.level"
	TypeHist     = "boost.hist"
	TypeSplits   = "boost.splits"
	TypeLeft     = "boost.left"
)

// protocolVersion guards the setup message. Version 2 added the bank's
// feature count and the agreement on a checkpoint to resume from; version 3
// sends each level's gradients in parts of levelChunks ciphertexts; version
// 4 sends them encrypted under the bank's key share with a seed
// (he.SeededVector), joined to the collective key by the center; version 5
// the minimum node size; version 6 the center's merged bins
// (model.MergeThinBins), sent with its histograms; version 7 categorical
// features: the center's marks in its setup reply, a set of bins for a
// split on one of them; version 8 the layout of each level (histLayout),
// gradients in parts of 8, 4 or 2 bins on a slow link (Options.LinkMbps),
// levels computed from the root's gradients without any (chooseLevel),
// levels below the root as their parents' splits, a bit a row, the
// gradients bit-packed,
// and the histograms' c1 components with a partial decryption at the sums'
// coefficients (he.PartialDecryption) instead of the vectors and full
// shares; version 9 rounds off the low bits below the noise: the
// gradients' c0 (he.MarshalSeededVectorRounded, the bits the histogram
// noise bound allows, he.HistInputDropBits) and the histograms' c1
// (he.MarshalVectorC1Rounded); version 10 leaves the Galois keys with the
// center alone (keySpec) and sends the sums of g and h in one vector when
// they fit in one ciphertext (he.HistogramSpec.Together).
const protocolVersion = 10

// keySpec is the center's key spec: the Galois keys that pack the
// histograms are its alone (he.KeySpec.GaloisHolder), so the bank sends its
// shares of them and receives none (5 MB less on default_credit); the bank
// uses keySpec().Peer().
func keySpec() he.KeySpec { return he.KeySpec{Pack: true, GaloisHolder: he.HeldBySelf} }

// levelChunks is the number of ciphertexts per vector in one part of a
// level message (1.3 MB a part, rounded): the bank encrypts the next part
// while the link carries this one, and the center joins each part as it
// arrives. On default_credit 30x3 at LinkMbps 100 over a 100 Mbit/s link
// (bench wan_sbt_default_credit, two processes, each a median of 3 pairs)
// parts of 6 took 28.8 and 26.7 s against 20.4 and 18.6 s unshaped (1.41x,
// 1.43x; a later run 26.2 against 16.2 s, 1.61x); one part a level (256)
// 27.7 against 17.9 s (1.55x) and 31.1 against 20.4 s (1.53x), the trees
// the same.
var levelChunks = 6

// ErrProtocol reports a peer message that breaks the protocol.
var ErrProtocol = fmt.Errorf("boost: %w", fl.ErrProtocol)

// Data is one party's training input (fl.Data): raw features, NaN for
// missing, labels at the bank only. A categorical column holds level codes
// 0..L-1 (model.Categories.Encode) and splits by sets of levels; which
// columns are categorical comes from Categories, or from the options'
// Categorical marks. Names are not used.
type Data = fl.Data

// categoricalMarks returns the categorical marks a party trains with: marks
// (the options' field named field) when given, else those of
// data.Categories. Both given must mark the same columns, so that the
// binning and the encoding the model keeps cannot disagree.
func categoricalMarks(data Data, marks []bool, field string) ([]bool, error) {
	fromData := data.CategoricalMarks()
	switch {
	case marks == nil:
		return fromData, nil
	case fromData != nil && !slices.Equal(marks, fromData):
		return nil, fmt.Errorf("%w: %s and Data.Categories mark different columns; give one", model.ErrCategories, field)
	}
	return marks, nil
}

// Options are the training options: model.GBDTOptions (trees, depth, eta,
// lambda, gamma, min child weight, bins, subsample) plus the memory the
// center may spend on the root's histogram plan.
type Options struct {
	model.GBDTOptions
	// LinkMbps is the bandwidth of the link between the parties in
	// Mbit/s, as the bank plans for it (0: not given). With it, each level
	// takes the layout whose bytes on such a link plus the center's work
	// is the least (chooseLevel): its gradients in parts of 8, 4 or 2
	// bins, 1,024 to 4,096 rows per ciphertext instead of 256 for 32 bins
	// (histLayout), or, below the root, none at all, the center computing
	// the level from the root's gradients. Each costs the center packing
	// (an automorphism per part of a feature and node) or kernel work.
	// Without it every level uses the whole layout, the least computation.
	// The trees are the same either way.
	LinkMbps float64 `json:"link_mbps,omitempty"`
	// PlanBytes caps the center's cache of root binning polynomials
	// (default 2 GiB); beyond it they are rebuilt every tree.
	PlanBytes int64 `json:"plan_bytes"`
	// DP, when set, makes the released histograms differentially private
	// for the center's feature values (see DP); off by default.
	DP *DP `json:"dp,omitempty"`
	// Checkpoints keeps the bank's checkpoint after every tree, in storage
	// the application provides (nil keeps none). It stays local: the center
	// names its own in PassiveOptions. When both parties restart a training
	// with the same options and data, they resume from the latest tree both
	// have saved.
	Checkpoints fl.Checkpoints `json:"-"`
	// Checkpoint is a folder for the checkpoints, the convenient form of
	// Checkpoints: fl.DirCheckpoints(Checkpoint, "boost-active"). "" keeps
	// none; set at most one of the two.
	Checkpoint string `json:"-"`
	// Logger receives the resume decision, with a warning when the bank
	// holds checkpoints of another configuration (changed options or data)
	// and training starts afresh (nil: no logging).
	Logger *slog.Logger `json:"-"`
	// KeyProgress, if set, is told how far the threshold key generation
	// is (joint.KeyOptions.Progress: step joint.StepKeys, done of
	// joint.KeyStages), as align.Options.Progress is told the alignment's
	// phases; the Logger gets its start and end. Local: no message changes.
	KeyProgress func(step string, done, total int) `json:"-"`
	// Categorical marks the bank's categorical columns, one entry per
	// column of its x (nil: none is): they hold level codes 0..L-1, NaN for
	// missing (model.Categories.Encode), and a split sends a set of levels
	// left (model.SplitSearch). It stays with the bank (the setup sends the
	// options without it): the center learns of the bank's splits only the
	// partitions.
	Categorical []bool `json:"categorical,omitempty"`
}

// PassiveOptions are the center's local settings; the training's options
// are the bank's.
type PassiveOptions struct {
	// Checkpoints keeps the center's checkpoint after every tree (nil keeps
	// none); see Options.Checkpoints.
	Checkpoints fl.Checkpoints
	// Checkpoint is a folder for them: fl.DirCheckpoints(Checkpoint,
	// "boost-passive"). "" keeps none; set at most one of the two.
	Checkpoint string
	// Logger receives the resume decision, as Options.Logger (nil: no
	// logging).
	Logger *slog.Logger
	// KeyProgress is told how far key generation is, as Options.KeyProgress.
	KeyProgress func(step string, done, total int)
	// MinNodeRows is the smallest minimum node size (GBDTOptions) this
	// center accepts, default model.DefaultMinNodeRows: a bank asking for
	// histograms of smaller nodes is refused at setup.
	MinNodeRows int
	// MinBinRows is the smallest GBDTOptions.MinBinRows this center
	// accepts, default model.DefaultMinBinRows: a bank asking for sums over
	// fewer rows is refused at setup.
	MinBinRows int
	// MaxEpsilon, when positive, makes the center refuse any training
	// without differentially private histograms (Options.DP) or with an
	// epsilon above it.
	MaxEpsilon float64
	// Categorical marks the center's categorical columns, as
	// Options.Categorical does the bank's. The center tells the bank which
	// of its features are categorical, and so that their bins are levels
	// (their number the bins already show); the levels' labels, and which
	// go left at each split, stay with the center.
	Categorical []bool
}

type setup struct {
	Version int     `json:"version"`
	Options Options `json:"options"`
	Rows    int     `json:"rows"`
	Cols    int     `json:"cols,omitempty"` // the bank's features
	Bins    []int   `json:"bins,omitempty"` // the center's bins per feature
	// Categorical marks the center's categorical features (nil: none).
	Categorical []bool `json:"categorical,omitempty"`
}

// Node is a node of a tree as the bank holds it.
type Node struct {
	// Party holds a split (model.Active or model.Passive); "" for a leaf.
	Party model.Role `json:"party,omitempty"`
	// Feature and Bin of an active split; for a passive split, Feature is the
	// center's feature index and Bin the bin (the threshold stays with the
	// center).
	Feature     int  `json:"feature"`
	Bin         int  `json:"bin"`
	MissingLeft bool `json:"missing_left"`
	// LeftBins, for a split on a categorical feature, are the bins sent
	// left (model.SplitCandidate); for the center's feature, the released
	// bins the bank chose, each standing for the bins the center merged
	// into it at the node. Bin is then 0.
	LeftBins []int   `json:"left_bins,omitempty"`
	Left     int     `json:"left"`
	Right    int     `json:"right"`
	Weight   float64 `json:"weight"`
	Gain     float64 `json:"gain"`
}

// Tree is one tree, root first, nodes numbered like model.Tree's.
type Tree struct {
	Nodes []Node `json:"nodes"`
}

// PassiveSplit is a split the center owns: its half of the model.
type PassiveSplit struct {
	Tree        int     `json:"tree"`
	Node        int     `json:"node"`
	Feature     int     `json:"feature"`
	Bin         int     `json:"bin"`
	Threshold   float64 `json:"threshold"`
	MissingLeft bool    `json:"missing_left"`
	// LeftBins, for a split on a categorical feature, are the levels sent
	// left, every level of the feature whose rows the node counted at a bin
	// the bank chose; Bin and Threshold are then 0.
	LeftBins []int `json:"left_bins,omitempty"`
}

// level is what the bank sends per level: the rows of every node of the
// level and which nodes the center computes histograms for.
type level struct {
	Rows    [][]int32
	Compute []int
}

// layout is how the level's gradients travel and its histograms are
// computed (histLayout): both parties derive it from the computed nodes'
// rows, the center's column count and bins, and the bank's link speed
// (Options.LinkMbps).
func (l level) layout(p he.Params, K, centerCols int, linkMbps float64) histLayout {
	lay, _ := l.plan(p, K, centerCols, 0, nil, linkMbps)
	return lay
}

// plan is layout for a level below a root of n rows whose gradients the
// center keeps in layout root (nil: none kept, or the root itself), and
// whether the level's histograms are computed from them (chooseLevel):
// the bank then sends no gradients for the level.
func (l level) plan(p he.Params, K, centerCols, n int, root *histLayout, linkMbps float64) (histLayout, bool) {
	rows := 0
	for _, k := range l.Compute {
		rows += len(l.Rows[k])
	}
	return chooseLevel(p, K, centerCols, len(l.Compute), rows, n, root, linkMbps)
}

// Level message formats: the first byte says which.
const (
	// levelRows lists every node's rows (4 bytes a row): the root's level.
	levelRows byte = iota
	// levelSplits gives a level below the root by its parents' splits:
	// per split node of the previous level its index and a bit per row
	// of it, 1 for the left child; the level's nodes are the children,
	// left then right, split after split, their rows in the parent's
	// order. A bit a row instead of 4 bytes.
	levelSplits
	// levelRoot is the root of every training row in order: no rows sent.
	levelRoot
)

// encodeLevel encodes l with every node's rows.
func encodeLevel(l level) []byte {
	b := []byte{levelRows}
	b = binary.LittleEndian.AppendUint32(b, uint32(len(l.Rows)))
	for _, r := range l.Rows {
		b = binary.LittleEndian.AppendUint32(b, uint32(len(r)))
		for _, i := range r {
			b = binary.LittleEndian.AppendUint32(b, uint32(i))
		}
	}
	return appendCompute(b, l.Compute)
}

func appendCompute(b []byte, compute []int) []byte {
	b = binary.LittleEndian.AppendUint32(b, uint32(len(compute)))
	for _, c := range compute {
		b = binary.LittleEndian.AppendUint32(b, uint32(c))
	}
	return b
}

// encodeLevelSplits encodes a level whose nodes are the children (left,
// right) of the previous level's nodes parents, in order: lefts[j] is a
// bit per row of prev[parents[j]], set for the rows of node 2j.
func encodeLevelSplits(parents []int, lefts [][]byte, compute []int) []byte {
	b := []byte{levelSplits}
	b = binary.LittleEndian.AppendUint32(b, uint32(len(parents)))
	for j, p := range parents {
		b = binary.LittleEndian.AppendUint32(b, uint32(p))
		b = append(b, lefts[j]...)
	}
	return appendCompute(b, compute)
}

// decodeLevel decodes a level message for n training rows; prev are the
// previous level's nodes' rows (nil at the root), which a levelSplits
// message splits.
func decodeLevel(b []byte, n int, prev [][]int32) (level, error) {
	var l level
	if len(b) == 0 {
		return l, fmt.Errorf("%w: an empty level message", ErrProtocol)
	}
	format := b[0]
	b = b[1:]
	rd := func() (uint32, bool) {
		if len(b) < 4 {
			return 0, false
		}
		v := binary.LittleEndian.Uint32(b)
		b = b[4:]
		return v, true
	}
	switch format {
	case levelRoot:
		if prev != nil {
			return l, fmt.Errorf("%w: a root level below another level", ErrProtocol)
		}
		rows := make([]int32, n)
		for i := range rows {
			rows[i] = int32(i)
		}
		l.Rows = [][]int32{rows}
	case levelRows:
		nodes, ok := rd()
		if !ok || int(nodes) > n+1 {
			return l, fmt.Errorf("%w: level message with %d nodes", ErrProtocol, nodes)
		}
		for k := 0; k < int(nodes); k++ {
			m, ok := rd()
			if !ok || int(m) > len(b)/4 || int(m) > n {
				return l, fmt.Errorf("%w: node %d of the level message", ErrProtocol, k)
			}
			rows := make([]int32, m)
			for j := range rows {
				v, _ := rd()
				if int(v) >= n {
					return l, fmt.Errorf("%w: row %d beyond the %d training rows", ErrProtocol, v, n)
				}
				rows[j] = int32(v)
			}
			l.Rows = append(l.Rows, rows)
		}
	case levelSplits:
		splits, ok := rd()
		if !ok || int(splits) > len(prev) {
			return l, fmt.Errorf("%w: level message splits %d of the %d nodes above", ErrProtocol, splits, len(prev))
		}
		last := -1
		for j := 0; j < int(splits); j++ {
			p, ok := rd()
			if !ok || int(p) <= last || int(p) >= len(prev) {
				return l, fmt.Errorf("%w: split %d of the level message names node %d of %d (after %d)", ErrProtocol, j, p, len(prev), last)
			}
			last = int(p)
			rows := prev[p]
			nb := (len(rows) + 7) / 8
			if len(b) < nb {
				return l, fmt.Errorf("%w: split %d of the level message: %d bytes for %d rows", ErrProtocol, j, len(b), len(rows))
			}
			bits := b[:nb]
			b = b[nb:]
			if r := len(rows) % 8; r != 0 && bits[nb-1]>>r != 0 {
				return l, fmt.Errorf("%w: split %d of the level message sets bits past its node's rows", ErrProtocol, j)
			}
			var left, right []int32
			for k, i := range rows {
				if bits[k/8]>>(k%8)&1 == 1 {
					left = append(left, i)
				} else {
					right = append(right, i)
				}
			}
			l.Rows = append(l.Rows, left, right)
		}
	default:
		return l, fmt.Errorf("%w: level message format %d", ErrProtocol, format)
	}
	c, ok := rd()
	if !ok || int(c) > len(l.Rows) {
		return l, fmt.Errorf("%w: level message compute list", ErrProtocol)
	}
	for k := 0; k < int(c); k++ {
		v, ok := rd()
		if !ok || int(v) >= len(l.Rows) {
			return l, fmt.Errorf("%w: level message compute list", ErrProtocol)
		}
		l.Compute = append(l.Compute, int(v))
	}
	if len(b) != 0 {
		return l, fmt.Errorf("%w: %d trailing bytes in the level message", ErrProtocol, len(b))
	}
	return l, nil
}

// splitReq asks the center to split a node on one of its features.
type splitReq struct {
	Node     int `json:"node"`      // index in the level
	TreeNode int `json:"tree_node"` // id in the tree

	Feature     int  `json:"feature"`
	Bin         int  `json:"bin"`
	MissingLeft bool `json:"missing_left"`
	// LeftBins, for a categorical feature, are the released bins sent
	// left.
	LeftBins []int `json:"left_bins,omitempty"`
}

type splitMsg struct {
	Tree   int        `json:"tree"`
	Splits []splitReq `json:"splits"`
	Last   bool       `json:"last"` // the tree is finished after these splits
}

// frame concatenates length-prefixed parts.
func frame(parts ...[]byte) []byte { return fl.JoinParts(parts...) }

func unframe(b []byte, want int) ([][]byte, error) {
	parts, err := fl.SplitParts(b, want)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrProtocol, err)
	}
	return parts, nil
}

// Params returns the HE parameter set SecureBoost runs (he.Hist13, for the
// gradients and histograms), for a session's handshake to name: both
// parties compare it before any key is made.
func Params() he.Params { return params() }

// params are the HE parameters of the histograms.
func params() he.Params { return he.MustParams(he.Hist13) }

// checkLimits refuses a training past the limits the histograms' noise
// bound and flooding are derived for (he.Hist13): more rows than MaxRows,
// or options under which the center could release more coefficients than
// its flooding budget (two histograms per level, over at most one node at
// the root and 2^(depth-1), each the smaller child of a split that leaves
// MinNodeRows rows on both sides, at deeper levels).
func checkLimits(o model.GBDTOptions, rows, centerCols, K int) error {
	p := params()
	set := p.Set()
	if rows > set.MaxRows {
		return fmt.Errorf("%w: %d rows, over the %d the histograms' noise bound holds for (he.%s MaxRows)", he.ErrLimit, rows, set.MaxRows, set.ID)
	}
	coeffs := 0
	for d := range o.MaxDepth {
		nodes := 1
		if d > 0 {
			nodes = min(1<<(d-1), max(rows/(2*o.MinNodeRows), 1))
		}
		// The larger of the two layouts' ciphertexts (histLayout).
		cts := he.HistogramCiphertexts(p, K, nodes*centerCols)
		for _, B := range partSizes {
			cts = max(cts, he.HistogramCiphertexts(p, B, nodes*centerCols*partsOf(K, B)))
		}
		coeffs += 2 * cts * p.N()
	}
	if budget := set.MaxDecrypted(); budget > 0 && o.Trees*coeffs > budget {
		return fmt.Errorf("%w: %d trees of depth %d over %d center features could decrypt %d coefficients of histograms, over the %d the flooding of he.%s is sized for: fewer trees, a smaller depth or a larger MinNodeRows",
			he.ErrLimit, o.Trees, o.MaxDepth, centerCols, o.Trees*coeffs, budget, set.ID)
	}
	return nil
}

// StepHistograms is the disclosure step of the center's histograms.
const StepHistograms = "boost.histograms"

// DisclosurePlan returns what a training with options o (defaults
// applied) on rows rows decrypts to the bank, trees fromTree onwards, for
// a center of centerCols features in K bins: per level the cumulative
// histograms of g and of h over the nodes the bank may split, in two
// vectors or, when they fit in one ciphertext, one (g's sums, then h's),
// each node holding and leaving at least o.MinNodeRows rows
// (checkNodeSizes). The center admits every histogram it releases against
// it.
//
// A histogram covers the level's computed nodes, so its length varies from
// level to level: the plan declares the longest, maxNodes(o, rows) nodes of
// centerCols*layoutWidth(K) values (the count checkLimits sizes the
// flooding for, in either layout); a vector that holds both g's and h's
// sums is admitted as the two it holds (admitHistograms). The
// level is the decryption level of he.Hist13, the scale its own (the
// center's histogram products leave it unchanged).
func DisclosurePlan(o model.GBDTOptions, rows, centerCols, K, fromTree int) *joint.Plan {
	levels := (o.Trees - fromTree) * o.MaxDepth
	set := params().Set()
	return joint.NewPlan(joint.Disclosure{Step: StepHistograms, To: fl.RoleActive,
		What:   fmt.Sprintf("the cumulative sums of g and h in the center's %d features' bins, at every node of at least %d rows whose sibling has as many, released at bins where each gap holds no rows or at least %d", centerCols, o.MinNodeRows, o.MinBinRows),
		Layout: he.CoeffGrid, Len: joint.AnyLen, MaxLen: maxNodes(o, rows) * centerCols * layoutWidth(K),
		Level: set.DecryptLevel, LogScale: set.LogScale, Vectors: 2 * levels})
}

// maxNodes is the most nodes whose histograms one level computes: the
// root, then one child per split of the level above (the other child's
// histograms are its parent's minus this one's), each pair holding at
// least 2*o.MinNodeRows of the rows.
func maxNodes(o model.GBDTOptions, rows int) int {
	most := 1
	for d := 1; d < o.MaxDepth; d++ {
		most = max(most, min(1<<min(d-1, 30), max(rows/(2*max(o.MinNodeRows, 1)), 1)))
	}
	return most
}
