package boost

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"

	"github.com/veil-fl/veil/fl"
	"github.com/veil-fl/veil/fl/internal/digest"
	"github.com/veil-fl/veil/model"
)

// activeState is the bank's plaintext state after a tree: the trees so far
// and the training rows' logits, from which the next tree's gradients
// follow. The binning is refitted from the data, which the digest pins.
type activeState struct {
	Trees  []Tree    `json:"trees"`
	Logits []float64 `json:"logits"`
}

func (s *activeState) check(trees, rows int, sides treeSides, o model.GBDTOptions) error {
	if len(s.Trees) != trees || len(s.Logits) != rows {
		return fmt.Errorf("%w: checkpoint with %d trees and %d logits, want %d and %d", fl.ErrCheckpoint, len(s.Trees), len(s.Logits), trees, rows)
	}
	for _, v := range s.Logits {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("%w: checkpoint logit %v", fl.ErrCheckpoint, v)
		}
	}
	for ti, tr := range s.Trees {
		if err := tr.check(sides, o.MaxDepth); err != nil {
			return fmt.Errorf("%w: trees[%d].%w", fl.ErrCheckpoint, ti, err)
		}
	}
	return nil
}

// treeSides are both parties' features as the bank knows them: bins per
// feature and which are categorical (nil: none).
type treeSides struct {
	bankBins, centerBins []int
	bankCat, centerCat   []bool
}

// check validates a tree of the bank's half, the one check for a model
// file and a checkpoint: the shape model.CheckTree requires of every tree
// (as a plaintext GBDT's), leaves that carry only a weight, splits held by
// a party on a feature and bin it has (sides gives each party's bins per
// feature, and which are categorical: their splits name a set of bins
// and bin 0) with a finite gain. The gain may be negative, unlike a
// GBDT's: the bank recomputes it from exact sums after choosing the split
// on noisy histograms. The errors name the node as "nodes[i]...".
func (t Tree) check(sides treeSides, maxDepth int) error {
	for i, nd := range t.Nodes {
		var bins []int
		var cat []bool
		switch nd.Party {
		case "":
			if nd.Feature != 0 || nd.Bin != 0 || nd.MissingLeft || nd.LeftBins != nil || nd.Left != 0 || nd.Right != 0 || nd.Gain != 0 {
				return fmt.Errorf("nodes[%d] is a leaf with split fields set", i)
			}
			continue
		case model.Active:
			bins, cat = sides.bankBins, sides.bankCat
		case model.Passive:
			bins, cat = sides.centerBins, sides.centerCat
		default:
			return fmt.Errorf("nodes[%d].party %q, want %q, %q or none", i, nd.Party, model.Active, model.Passive)
		}
		if nd.Feature < 0 || nd.Feature >= len(bins) || nd.Bin < 0 || nd.Bin >= bins[nd.Feature] {
			return fmt.Errorf("nodes[%d]: %s split on feature %d bin %d, the %s has %d features", i, nd.Party, nd.Feature, nd.Bin, nd.Party, len(bins))
		}
		if math.IsNaN(nd.Gain) || math.IsInf(nd.Gain, 0) {
			return fmt.Errorf("nodes[%d].gain is %v", i, nd.Gain)
		}
		if err := checkSplitBins(nd.Bin, nd.LeftBins, isCat(cat, nd.Feature), bins[nd.Feature]); err != nil {
			return fmt.Errorf("nodes[%d]: %s split on feature %d: %v", i, nd.Party, nd.Feature, err)
		}
	}
	return model.CheckTree(len(t.Nodes), maxDepth, func(i int) (float64, int, int, bool) {
		nd := &t.Nodes[i]
		return nd.Weight, nd.Left, nd.Right, nd.Party != ""
	})
}

// passiveState is the center's state after a tree: its splits so far.
type passiveState struct {
	Tree   int            `json:"tree"`
	Splits []PassiveSplit `json:"splits"`
}

func (s *passiveState) check(trees, cols int, bins []int, cat []bool) error {
	if s.Tree != trees {
		return fmt.Errorf("%w: checkpoint after tree %d, want %d", fl.ErrCheckpoint, s.Tree, trees)
	}
	for _, sp := range s.Splits {
		if sp.Tree < 0 || sp.Tree >= trees || sp.Feature < 0 || sp.Feature >= cols || sp.Bin < 0 || sp.Bin >= bins[sp.Feature] || sp.Node < 0 ||
			checkSplitBins(sp.Bin, sp.LeftBins, isCat(cat, sp.Feature), bins[sp.Feature]) != nil {
			// The threshold and the levels stay out: the error reaches the
			// bank.
			return fmt.Errorf("%w: checkpoint split of tree %d node %d on feature %d bin %d", fl.ErrCheckpoint, sp.Tree, sp.Node, sp.Feature, sp.Bin)
		}
	}
	return nil
}

func isCat(cat []bool, f int) bool { return f >= 0 && f < len(cat) && cat[f] }

// checkSplitBins checks what a split names of a feature of nb bins: a
// categorical one names bin 0 and its left bins (model.CheckLeftBins), a
// numeric one no left bins.
func checkSplitBins(bin int, left []int, categorical bool, nb int) error {
	if !categorical {
		if left != nil {
			return fmt.Errorf("left bins on a numeric feature")
		}
		return nil
	}
	if bin != 0 {
		return fmt.Errorf("bin %d on a categorical feature, want 0", bin)
	}
	if err := model.CheckLeftBins(left, nb); err != nil {
		return fmt.Errorf("left bins: %w", err)
	}
	return nil
}

// checkpoints returns the store the options name: c, or else the files
// named name in the folder dir (nil when dir is ""). Setting both is an
// error.
func checkpoints(c fl.Checkpoints, dir, name string) (fl.Checkpoints, error) {
	if c != nil && dir != "" {
		return nil, fmt.Errorf("%w: both Checkpoint and Checkpoints set; give one", model.ErrOptions)
	}
	if c != nil {
		return c, nil
	}
	return fl.DirCheckpoints(dir, name), nil
}

// agree computes the training's digests and agrees with the peer on the
// tree to resume from (0: from the start), logging on log why it starts
// afresh despite checkpoints (fl.Resume). It returns this party's
// checkpoint digest: the shared config digest bound to its own data.
//
// The center's categorical marks are in the shared digest, this party's own
// (own: the bank's or the center's) in its local one, so that changing
// which columns are categorical starts afresh.
func agree(ctx context.Context, t fl.Transport, store fl.Checkpoints, log *slog.Logger, opt Options, rows, bankCols int, centerBins []int, centerCat, own []bool, x, y []float64) ([32]byte, int, error) {
	o, err := json.Marshal(opt)
	if err != nil {
		return [32]byte{}, 0, err
	}
	shape := binary.LittleEndian.AppendUint64(nil, uint64(rows))
	shape = binary.LittleEndian.AppendUint64(shape, uint64(bankCols))
	for _, b := range centerBins {
		shape = binary.LittleEndian.AppendUint64(shape, uint64(b))
	}
	marks := func(cat []bool) []byte {
		var b []byte
		for _, c := range cat {
			b = append(b, bool2byte(c))
		}
		return b
	}
	cfg := digest.Sum([]byte("veil/boost"), []byte{protocolVersion}, o, shape, marks(centerCat))
	local := digest.Sum(cfg[:], fl.AppendFloats(fl.AppendFloats(nil, x), y), marks(own))
	k, err := fl.Resume(ctx, t, store, cfg, local, log)
	return local, k, err
}

// splitGain is BestSplit's gain of a split with these children's sums.
func splitGain(GL, HL, GR, HR float64, o model.GBDTOptions) float64 {
	G, H := GL+GR, HL+HR
	return (GL*GL/(HL+o.Lambda)+GR*GR/(HR+o.Lambda)-G*G/(H+o.Lambda))/2 - o.Gamma
}
