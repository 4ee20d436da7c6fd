package boost

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"

	"github.com/veil-fl/veil/fl"
	"github.com/veil-fl/veil/model"
)

// activeState is the bank's plaintext state after a tree: the trees so far
// and the training rows' logits, from which the next tree's gradients
// follow. The binning is refitted from the data, which the digest pins.
type activeState struct {
	Trees  []Tree    `json:"trees"`
	Logits []float64 `json:"logits"`
}

func (s *activeState) check(trees, rows, cols int, centerBins []int, o model.GBDTOptions) error {
	if len(s.Trees) != trees || len(s.Logits) != rows {
		return fmt.Errorf("%w: checkpoint with %d trees and %d logits, want %d and %d", fl.ErrCheckpoint, len(s.Trees), len(s.Logits), trees, rows)
	}
	for _, v := range s.Logits {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("%w: checkpoint logit %v", fl.ErrCheckpoint, v)
		}
	}
	for ti, tr := range s.Trees {
		if err := tr.check(cols, centerBins, o); err != nil {
			return fmt.Errorf("%w: tree %d: %w", fl.ErrCheckpoint, ti, err)
		}
	}
	return nil
}

// check validates a tree's shape: children in range and after their
// parent, split features and bins within the parties' shapes.
func (t Tree) check(cols int, centerBins []int, o model.GBDTOptions) error {
	if len(t.Nodes) == 0 || len(t.Nodes) > 1<<(o.MaxDepth+1) {
		return fmt.Errorf("%d nodes", len(t.Nodes))
	}
	for i, nd := range t.Nodes {
		switch nd.Party {
		case "":
			continue
		case "active":
			if nd.Feature < 0 || nd.Feature >= cols || nd.Bin < 0 || nd.Bin > 255 {
				return fmt.Errorf("node %d: bank split on feature %d bin %d", i, nd.Feature, nd.Bin)
			}
		case "passive":
			if nd.Feature < 0 || nd.Feature >= len(centerBins) || nd.Bin < 0 || nd.Bin >= centerBins[nd.Feature] {
				return fmt.Errorf("node %d: center split on feature %d bin %d", i, nd.Feature, nd.Bin)
			}
		default:
			return fmt.Errorf("node %d: party %q", i, nd.Party)
		}
		if nd.Left <= i || nd.Right <= i || nd.Left >= len(t.Nodes) || nd.Right >= len(t.Nodes) {
			return fmt.Errorf("node %d: children %d and %d", i, nd.Left, nd.Right)
		}
	}
	return nil
}

// passiveState is the center's state after a tree: its splits so far.
type passiveState struct {
	Tree   int            `json:"tree"`
	Splits []PassiveSplit `json:"splits"`
}

func (s *passiveState) check(trees, cols int, bins []int) error {
	if s.Tree != trees {
		return fmt.Errorf("%w: checkpoint after tree %d, want %d", fl.ErrCheckpoint, s.Tree, trees)
	}
	for _, sp := range s.Splits {
		if sp.Tree < 0 || sp.Tree >= trees || sp.Feature < 0 || sp.Feature >= cols || sp.Bin < 0 || sp.Bin >= bins[sp.Feature] || sp.Node < 0 {
			return fmt.Errorf("%w: checkpoint split %+v", fl.ErrCheckpoint, sp)
		}
	}
	return nil
}

// agree computes the training's digests and agrees with the peer on the
// tree to resume from (0: from the start). It returns this party's
// checkpoint digest: the shared config digest bound to its own data.
func agree(ctx context.Context, t fl.Transport, store fl.CheckpointStore, opt Options, rows, bankCols int, centerBins []int, x, y []float64) ([32]byte, int, error) {
	o, err := json.Marshal(opt)
	if err != nil {
		return [32]byte{}, 0, err
	}
	shape := binary.LittleEndian.AppendUint64(nil, uint64(rows))
	shape = binary.LittleEndian.AppendUint64(shape, uint64(bankCols))
	for _, b := range centerBins {
		shape = binary.LittleEndian.AppendUint64(shape, uint64(b))
	}
	cfg := fl.Digest([]byte("veil/boost"), []byte{protocolVersion}, o, shape)
	data := make([]byte, 0, 8*(len(x)+len(y)))
	for _, v := range x {
		data = binary.LittleEndian.AppendUint64(data, math.Float64bits(v))
	}
	for _, v := range y {
		data = binary.LittleEndian.AppendUint64(data, math.Float64bits(v))
	}
	local := fl.Digest(cfg[:], data)
	have, err := store.Indices(local)
	if err != nil {
		return local, 0, fl.Fail(ctx, t, err)
	}
	k, err := fl.AgreeResume(ctx, t, cfg, have)
	if err != nil {
		return local, 0, err
	}
	if err := store.DropAfter(k); err != nil {
		return local, 0, fl.Fail(ctx, t, err)
	}
	return local, k, nil
}

// splitGain is BestSplit's gain of a split with these children's sums.
func splitGain(GL, HL, GR, HR float64, o model.GBDTOptions) float64 {
	G, H := GL+GR, HL+HR
	return (GL*GL/(HL+o.Lambda)+GR*GR/(HR+o.Lambda)-G*G/(H+o.Lambda))/2 - o.Gamma
}
