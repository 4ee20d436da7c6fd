package boost

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/veil-fl/veil/fl"
	"github.com/veil-fl/veil/fl/joint"
	"github.com/veil-fl/veil/he"
	"github.com/veil-fl/veil/model"
)

// PassiveResult is the center's half of a trained model and the training's figures.
type PassiveResult struct {
	PassiveModel
	Options Options
	// Resumed is the tree the training resumed from (0: it started afresh).
	Resumed  int
	Stats    fl.Stats
	Duration time.Duration
}

// Passive is the center's side of a training: NewPassive runs the setup
// (the bank's options checked against the center's floors, binning, resume
// agreement, key generation), each Tree answers one tree's levels, and
// Result returns the center's splits so far. TrainPassive drives it to the
// end.
type Passive struct {
	t        fl.Transport
	o        model.GBDTOptions
	n, d     int
	p        he.Params
	party    *he.Party
	binning  model.Binning
	bins     [][]uint8
	nb       []int
	K        int
	linkMbps float64 // the bank's Options.LinkMbps: each level's layout
	// rootLay and rootGH are the layout and gradients of the tree's root
	// level, kept for the levels below with a link speed (nil: none).
	rootLay     *histLayout
	rootGH      []*he.Vector
	gaps        *gapTracker
	plan        *he.HistogramPlan
	disclosures *joint.Plan
	noise       *dpNoise
	store       fl.Checkpoints // nil: none
	digest      [32]byte
	res         *PassiveResult
	next        int // the tree Tree answers
	start       time.Time
}

// NewPassive sets up the center's side: data holds its raw features (NaN
// for missing, no labels), rows in the agreed order. It trains with the
// bank's options; NewPassiveWith takes the center's own settings.
func NewPassive(ctx context.Context, t fl.Transport, seed []byte, data Data) (*Passive, error) {
	return NewPassiveWith(ctx, t, seed, data, PassiveOptions{})
}

// NewPassiveWith is NewPassive with the center's local settings. Its
// categorical columns hold level codes and are those data.Categories marks,
// or local.Categorical when given (both given must agree); the model keeps
// data.Categories.
func NewPassiveWith(ctx context.Context, t fl.Transport, seed []byte, data Data, local PassiveOptions) (_ *Passive, err error) {
	defer fl.AbortOnError(ctx, t, &err)
	start := time.Now()
	x, d := data.X, data.Cols
	if d < 1 || len(x) == 0 || len(x)%d != 0 {
		return nil, fl.Fail(ctx, t, fmt.Errorf("%w: %d values in rows of %d columns", model.ErrShape, len(x), d))
	}
	if data.Y != nil {
		return nil, fl.Fail(ctx, t, fmt.Errorf("%w: %d labels at the center: the labels are the bank's alone", model.ErrShape, len(data.Y)))
	}
	cat, err := categoricalMarks(data, local.Categorical, "PassiveOptions.Categorical")
	if err != nil {
		return nil, fl.Fail(ctx, t, err)
	}
	n := len(x) / d
	store, err := checkpoints(local.Checkpoints, local.Checkpoint, "boost-passive")
	if err != nil {
		return nil, fl.Fail(ctx, t, err)
	}
	var s setup
	if err := fl.RecvJSON(ctx, t, TypeSetup, &s); err != nil {
		return nil, err
	}
	if s.Version != protocolVersion {
		return nil, fl.Fail(ctx, t, fmt.Errorf("%w: the bank speaks boost version %d, this center %d", ErrProtocol, s.Version, protocolVersion))
	}
	o, err := s.Options.GBDTOptions.WithDefaults()
	if err != nil {
		return nil, fl.Fail(ctx, t, err)
	}
	floor := local.MinNodeRows
	if floor == 0 {
		floor = model.DefaultMinNodeRows
	}
	if o.MinNodeRows < floor {
		return nil, fl.Fail(ctx, t, fmt.Errorf("%w: the bank asks for a minimum node size of %d rows, this center releases histograms of nodes of at least %d", model.ErrOptions, o.MinNodeRows, floor))
	}
	binFloor := local.MinBinRows
	if binFloor == 0 {
		binFloor = model.DefaultMinBinRows
	}
	if o.MinBinRows < binFloor {
		return nil, fl.Fail(ctx, t, fmt.Errorf("%w: the bank asks for histogram sums over at least %d rows, this center releases none over fewer than %d", model.ErrOptions, o.MinBinRows, binFloor))
	}
	if s.Rows != n || s.Cols < 1 {
		return nil, fl.Fail(ctx, t, fmt.Errorf("%w: the bank has %d rows and %d features, the center %d rows", ErrProtocol, s.Rows, s.Cols, n))
	}
	binning, err := model.FitBinningCategorical(x, d, o.Bins, cat)
	if err != nil {
		return nil, fl.Fail(ctx, t, err)
	}
	bins, err := binning.Bin(x, d)
	if err != nil {
		return nil, fl.Fail(ctx, t, err)
	}
	nb, K := binning.Sizes()
	if err := checkLink(s.Options.LinkMbps); err != nil {
		return nil, fl.Fail(ctx, t, err)
	}
	if err := checkLimits(o, n, d, K); err != nil {
		return nil, fl.Fail(ctx, t, err)
	}
	if s.Options.DP != nil {
		if err := s.Options.DP.check(); err != nil {
			return nil, fl.Fail(ctx, t, err)
		}
	}
	if local.MaxEpsilon > 0 && (s.Options.DP == nil || s.Options.DP.Epsilon > local.MaxEpsilon) {
		return nil, fl.Fail(ctx, t, fmt.Errorf("%w: this center releases histograms only with differential privacy of epsilon at most %v (boost.Options.DP)", model.ErrOptions, local.MaxEpsilon))
	}
	noise, err := newDPNoise(s.Options.DP, o, d, dpWidth(K, s.Options.LinkMbps), n)
	if err != nil {
		return nil, fl.Fail(ctx, t, err)
	}
	if err := fl.SendJSON(ctx, t, TypeSetupAck, setup{Version: protocolVersion, Rows: n, Bins: nb, Categorical: binning.Categorical}); err != nil {
		return nil, err
	}
	digest, resume, err := agree(ctx, t, store, local.Logger, s.Options, n, s.Cols, nb, binning.Categorical, binning.Categorical, x, nil)
	if err != nil {
		return nil, err
	}
	p := params()
	party, err := joint.GenerateKeysWith(ctx, t, p, keySpec(), seed, joint.KeyOptions{Progress: local.KeyProgress, Logger: local.Logger})
	if err != nil {
		return nil, err
	}
	// The root's merged bins are the same every tree: its binning
	// polynomials are prepared once.
	gaps := newGapTracker(bins, nb, o.MinBinRows)
	root := chooseLayout(p, K, d, 1, n, s.Options.LinkMbps)
	plan, err := party.PrepareHistogramsChunk(he.HistogramSpec{Bins: root.kernelBins(gaps.rootBins), K: root.K, Together: true}, n, root.S, s.Options.PlanBytes)
	if err != nil {
		return nil, err
	}
	res := &PassiveResult{PassiveModel: PassiveModel{Version: ModelVersion, Binning: binning}, Options: s.Options}
	if data.Categories.Any() {
		res.Categories = data.Categories
	}
	disclosures := DisclosurePlan(o, n, d, K, resume).HeldBy(ctx, fl.RolePassive)
	if resume > 0 {
		var st passiveState
		if err := fl.LoadCheckpoint(store, resume, digest, &st); err != nil {
			return nil, fl.Fail(ctx, t, err)
		}
		if err := st.check(resume, d, nb, binning.Categorical); err != nil {
			return nil, fl.Fail(ctx, t, err)
		}
		res.Splits, res.Resumed = st.Splits, resume
	}
	return &Passive{t: t, o: o, n: n, d: d, p: p, party: party, binning: binning, bins: bins, nb: nb, K: K, linkMbps: s.Options.LinkMbps,
		gaps: gaps, plan: plan, disclosures: disclosures, noise: noise, store: store, digest: digest, res: res, next: resume, start: start}, nil
}

// Done reports whether every tree has been answered.
func (c *Passive) Done() bool { return c.next >= c.o.Trees }

// Trees returns the number of trees answered so far, those resumed
// included.
func (c *Passive) Trees() int { return c.next }

// Tree answers the bank's levels of the next tree (histograms of its
// columns, partitions of the rows by its splits) and saves the checkpoint
// after it.
func (c *Passive) Tree(ctx context.Context) (err error) {
	if c.Done() {
		// A caller's misuse, not the session's failure: the peer is not told.
		return fmt.Errorf("boost: training already finished after %d trees", c.next)
	}
	defer fl.AbortOnError(ctx, c.t, &err)
	t, o, n, d, p, K := c.t, c.o, c.n, c.d, c.p, c.K
	bins, nb, binning, res, tree := c.bins, c.nb, c.binning, c.res, c.next
	party, gaps, plan, disclosures, noise := c.party, c.gaps, c.plan, c.disclosures, c.noise
	store, digest := c.store, c.digest
	depth := 0
	var prev [][]int32 // the previous level's nodes' rows
	for last := false; !last; {
		// A level: histograms, then the splits.
		b, err := fl.Expect(ctx, t, TypeLevel)
		if err != nil {
			return err
		}
		parts, err := unframe(b, 3)
		if err != nil {
			return fl.Fail(ctx, t, err)
		}
		lvl, err := decodeLevel(parts[0], n, prev)
		if err != nil {
			return fl.Fail(ctx, t, err)
		}
		if err := checkNodeSizes(lvl, o.MinNodeRows); err != nil {
			return fl.Fail(ctx, t, err)
		}
		lg, err := gaps.level(lvl, depth == 0)
		if err != nil {
			return fl.Fail(ctx, t, err)
		}
		if len(lvl.Compute) > 0 {
			if depth == 0 {
				c.rootLay, c.rootGH = nil, nil // a new tree
			}
			lay, reuse := lvl.plan(p, K, d, n, c.rootLay, c.linkMbps)
			var gh []*he.Vector
			if reuse {
				// The level's nodes from the root's gradients: the bank
				// sends none.
				if len(parts[1]) != 0 || len(parts[2]) != 0 || c.rootGH == nil {
					return fl.Fail(ctx, t, fmt.Errorf("%w: gradients with a level computed from the root's", ErrProtocol))
				}
				gh = c.rootGH
			} else {
				if gh, err = recvGradients(ctx, t, party, lvl, parts[1:], lay); err != nil {
					return err
				}
				if depth == 0 && c.linkMbps > 0 && inOrder(lvl.Rows[0]) {
					c.rootLay, c.rootGH = &lay, gh
				}
			}
			if err := passiveHist(ctx, t, party, p, lvl, gh, bins, lg, plan, lay, reuse, disclosures, noise); err != nil {
				return err
			}
		}
		var sm splitMsg
		if err := fl.RecvJSON(ctx, t, TypeSplits, &sm); err != nil {
			return err
		}
		if sm.Tree != tree {
			return fl.Fail(ctx, t, fmt.Errorf("%w: the bank is at tree %d, the center at %d", ErrProtocol, sm.Tree, tree))
		}
		if depth++; depth >= o.MaxDepth && !sm.Last {
			// A tree has at most MaxDepth levels of histograms: the plan
			// and the flooding budget count no more.
			return fl.Fail(ctx, t, fmt.Errorf("%w: tree %d: the bank asks for a level below depth %d, the agreed maximum", joint.ErrUndeclared, tree, o.MaxDepth))
		}
		lefts := make([][]byte, len(sm.Splits))
		for i, r := range sm.Splits {
			if r.Node < 0 || r.Node >= len(lvl.Rows) || r.Feature < 0 || r.Feature >= d || r.Bin < 0 || r.Bin >= nb[r.Feature] {
				return fl.Fail(ctx, t, fmt.Errorf("%w: split request %+v", ErrProtocol, r))
			}
			leftBins, err := releasedSplit(r, lg[r.Node], binning.IsCategorical(r.Feature), nb[r.Feature])
			if err != nil {
				return fl.Fail(ctx, t, err)
			}
			rows := lvl.Rows[r.Node]
			bits := make([]byte, (len(rows)+7)/8)
			col := bins[r.Feature]
			for k, i := range rows {
				if model.GoesLeft(col[i], r.Bin, r.MissingLeft, leftBins) {
					bits[k/8] |= 1 << (k % 8)
				}
			}
			lefts[i] = bits
			th := 0.0
			switch {
			case leftBins != nil:
			case r.Bin < len(binning.Cuts[r.Feature]):
				th = binning.Cuts[r.Feature][r.Bin]
			default:
				th = maxThreshold
			}
			res.Splits = append(res.Splits, PassiveSplit{Tree: tree, Node: r.TreeNode, Feature: r.Feature, Bin: r.Bin, Threshold: th, MissingLeft: r.MissingLeft, LeftBins: leftBins})
		}
		if err := t.Send(ctx, fl.Message{Type: TypeLeft, Payload: frame(lefts...)}); err != nil {
			return err
		}
		last, prev = sm.Last, lvl.Rows
	}
	if store != nil {
		if err := fl.SaveCheckpoint(store, tree+1, digest, &passiveState{Tree: tree + 1, Splits: res.Splits}); err != nil {
			return fl.Fail(ctx, t, err)
		}
	}
	c.next++
	return nil
}

// Result returns the center's half of the model so far (its splits, in
// the model's order) and the traffic and time since NewPassive.
func (c *Passive) Result() *PassiveResult {
	r := *c.res
	r.Splits = slices.Clone(c.res.Splits)
	sortSplits(r.Splits)
	r.Stats, r.Duration = c.t.Stats(), time.Since(c.start)
	return &r
}

// TrainPassive runs the center's side to the end with the bank's options;
// TrainPassiveWith takes the center's own settings.
func TrainPassive(ctx context.Context, t fl.Transport, seed []byte, data Data) (*PassiveResult, error) {
	return TrainPassiveWith(ctx, t, seed, data, PassiveOptions{})
}

// TrainPassiveWith is TrainPassive with the center's local settings.
func TrainPassiveWith(ctx context.Context, t fl.Transport, seed []byte, data Data, local PassiveOptions) (_ *PassiveResult, err error) {
	defer fl.AbortOnError(ctx, t, &err)
	c, err := NewPassiveWith(ctx, t, seed, data, local)
	if err != nil {
		return nil, err
	}
	for !c.Done() {
		if err := c.Tree(ctx); err != nil {
			return nil, err
		}
	}
	return c.Result(), nil
}

// maxThreshold marks a split on a feature's last bin: every present value
// goes left (model.Node's convention).
const maxThreshold = 1.7976931348623157e308

// releasedSplit checks the bank's request to split a node on a feature of
// nb bins against what the node released, and returns the levels it sends
// left for a categorical feature (those whose rows the node counted at the
// bins the bank chose, model.BinGaps.Expand), nil for a numeric one. gaps
// are the node's released bins per feature, nil for a node whose
// histograms were not computed. The bank may split only a node it holds
// histograms of, and name only bins released there, so that no partition
// separates rows the center merged (the partition would show which rows
// lie in a thin gap); and when the node's missing rows were pooled into
// the last bin, they must go where it goes, so that no partition isolates
// a thin set of them. An honest bank never asks otherwise: a merged bin's
// candidate ties with the kept bin before it, which wins the tie, and a
// pooled node shows no missing rows. The errors name the request's bins,
// which are the bank's, never a level.
func releasedSplit(r splitReq, gaps []model.BinGaps, categorical bool, nb int) ([]int, error) {
	switch {
	case gaps == nil:
		return nil, fmt.Errorf("%w: split request for node %d, whose histograms were not computed", ErrProtocol, r.Node)
	case !categorical && r.LeftBins != nil:
		return nil, fmt.Errorf("%w: split request for node %d names left bins of numeric feature %d", ErrProtocol, r.Node, r.Feature)
	case !categorical:
		g := gaps[r.Feature]
		if !g.Keep[r.Bin] {
			return nil, fmt.Errorf("%w: split request for node %d on feature %d names bin %d, not released at the node", ErrProtocol, r.Node, r.Feature, r.Bin)
		}
		if lastLeft := r.Bin == nb-1; g.Pooled && r.MissingLeft != lastLeft {
			return nil, fmt.Errorf("%w: split request for node %d on feature %d sends the missing rows apart from the last bin they were counted in", ErrProtocol, r.Node, r.Feature)
		}
		return nil, nil
	case r.Bin != 0:
		return nil, fmt.Errorf("%w: split request for node %d names bin %d of categorical feature %d, want 0 and left bins", ErrProtocol, r.Node, r.Bin, r.Feature)
	}
	if err := model.CheckLeftBins(r.LeftBins, nb); err != nil {
		return nil, fmt.Errorf("%w: split request for node %d on categorical feature %d: left bins %v: %v", ErrProtocol, r.Node, r.Feature, r.LeftBins, err)
	}
	g := gaps[r.Feature]
	for _, b := range r.LeftBins {
		if !g.Keep[b] {
			return nil, fmt.Errorf("%w: split request for node %d on categorical feature %d names bin %d, not released at the node", ErrProtocol, r.Node, r.Feature, b)
		}
	}
	if lastLeft := r.LeftBins[len(r.LeftBins)-1] == nb-1; g.Pooled && r.MissingLeft != lastLeft {
		return nil, fmt.Errorf("%w: split request for node %d on categorical feature %d sends the missing rows apart from the last bin they were counted in", ErrProtocol, r.Node, r.Feature)
	}
	return g.Expand(r.LeftBins), nil
}

// checkNodeSizes is the center's own guard on what it releases: it computes
// the histograms of a node only if the node and its sibling (the other
// child of the same split, whose histogram is its parent's minus the
// node's) both hold at least min rows. Below the root the level's nodes are
// the children of its splits in pairs, left then right.
func checkNodeSizes(lvl level, least int) error {
	for _, k := range lvl.Compute {
		n := len(lvl.Rows[k])
		if len(lvl.Rows) > 1 {
			if k^1 >= len(lvl.Rows) {
				return fmt.Errorf("%w: node %d of a level of %d has no sibling", ErrProtocol, k, len(lvl.Rows))
			}
			n = min(n, len(lvl.Rows[k^1]))
		}
		if n < least {
			return fmt.Errorf("%w: histograms asked for node %d, whose split leaves %d rows, below the minimum node size of %d", ErrProtocol, k, n, least)
		}
	}
	return nil
}

// recvGradients reads the level's encrypted gradients and hessians: first
// the parts that came with the level's rows, then further level messages
// of levelChunks ciphertexts per vector until the computed nodes' rows are
// covered. The bank encrypts them under its own key share with a seed
// (he.SeededVector); this party joins them to the collective key.
func recvGradients(ctx context.Context, t fl.Transport, party *he.Party, lvl level, first [][]byte, lay histLayout) ([]*he.Vector, error) {
	p := party.Params()
	S := lay.S
	// The most low bits the bank may have rounded off: more would pass the
	// noise bound this party's flooding is sized from.
	largest := 0
	for _, k := range lvl.Compute {
		largest = max(largest, len(lvl.Rows[k]))
	}
	maxDrop := he.HistInputDropBits(p, largest, S, lay.K)
	// The bank packs the computed nodes' rows, each group but the last
	// padded to a multiple of S.
	packed := 0
	for i, k := range lvl.Compute {
		packed += len(lvl.Rows[k])
		if i < len(lvl.Compute)-1 {
			packed = (packed + S - 1) / S * S
		}
	}
	if packed == 0 {
		return nil, fl.Fail(ctx, t, fmt.Errorf("%w: a level with no rows to compute", ErrProtocol))
	}
	gh := []*he.Vector{{Layout: he.Coeff, Len: packed, Chunk: S}, {Layout: he.Coeff, Len: packed, Chunk: S}}
	vecs := first
	for lo := 0; lo < packed; lo += levelChunks * S {
		if lo > 0 {
			b, err := fl.Expect(ctx, t, TypeLevel)
			if err != nil {
				return nil, err
			}
			parts, err := unframe(b, 3)
			if err == nil && len(parts[0]) != 0 {
				err = fmt.Errorf("%w: level rows in a later part of the level", ErrProtocol)
			}
			if err != nil {
				return nil, fl.Fail(ctx, t, err)
			}
			vecs = parts[1:]
		}
		want := min(levelChunks*S, packed-lo)
		for i, b := range vecs {
			var v *he.Vector
			sv, err := p.UnmarshalSeededVectorRounded(b)
			if err == nil && sv.Dropped > maxDrop {
				err = fmt.Errorf("%w: gradients rounded by %d bits, the level's noise bound allows %d", joint.ErrUnexpectedVector, sv.Dropped, maxDrop)
			}
			if err == nil {
				v, err = party.Join(sv)
			}
			if err == nil {
				err = joint.CheckVector(p, v, "gradients", joint.VectorWant{Layout: he.Coeff, Len: want, Level: p.MaxLevel()})
			}
			if err == nil && v.Chunk != S {
				err = fmt.Errorf("%w: gradients in chunks of %d, want %d", joint.ErrUnexpectedVector, v.Chunk, S)
			}
			if err != nil {
				return nil, fl.Fail(ctx, t, fmt.Errorf("boost: gradients from the bank: %w", err))
			}
			gh[i].Cts = append(gh[i].Cts, v.Cts...)
		}
	}
	return gh, nil
}

// passiveHist computes the encrypted histograms of the level's computed
// nodes and sends their c1 components with this party's partial
// decryptions (he.PartialDecryption): the bank, and
// only the bank, decrypts them. The sums of g and h travel in one vector
// when they fit in one ciphertext (he.HistogramsTogether), in two
// otherwise.
func passiveHist(ctx context.Context, t fl.Transport, party *he.Party, p he.Params, lvl level, gh []*he.Vector, bins [][]uint8, gaps [][]model.BinGaps, plan *he.HistogramPlan, lay histLayout, reuse bool, disclosures *joint.Plan, noise *dpNoise) error {
	n := len(bins[0])
	var hs []*he.Vector
	var err error
	switch {
	case len(lvl.Compute) == 1 && len(lvl.Rows[lvl.Compute[0]]) == n && inOrder(lvl.Rows[lvl.Compute[0]]):
		hs, err = party.HistogramsPlanned(gh, plan) // the root: binning prepared once
	case reuse:
		// Every computed node over all the rows, in their order (the
		// root's gradients): a row outside the node in no bin of its
		// features.
		merged := make([][]uint8, 0, len(lvl.Compute)*len(bins))
		for _, k := range lvl.Compute {
			in := make([]bool, n)
			for _, i := range lvl.Rows[k] {
				in[i] = true
			}
			for f, col := range bins {
				mb := make([]uint8, n)
				for i, b := range col {
					mb[i] = model.MissingBin
					if in[i] {
						mb[i] = gaps[k][f].Map(b)
					}
				}
				merged = append(merged, mb)
			}
		}
		hs, err = party.Histograms(gh, he.HistogramSpec{K: lay.K, Bins: lay.kernelBins(merged), Together: true})
	default:
		// Each row in its node's merged bin (model.MergeThinBins).
		S := lay.S
		spec := he.HistogramSpec{K: lay.K, Together: true}
		merged := make([][]uint8, len(bins))
		var packed, node []int32
		for i, k := range lvl.Compute {
			spec.Groups = append(spec.Groups, len(packed))
			packed = append(packed, lvl.Rows[k]...)
			for range lvl.Rows[k] {
				node = append(node, int32(k))
			}
			if i < len(lvl.Compute)-1 {
				for len(packed)%S != 0 {
					packed = append(packed, -1)
					node = append(node, -1)
				}
			}
		}
		spec.Groups = append(spec.Groups, len(packed))
		for f, col := range bins {
			merged[f] = make([]uint8, len(packed))
			for j, i := range packed {
				if i < 0 {
					merged[f][j] = model.MissingBin
				} else {
					merged[f][j] = gaps[node[j]][f].Map(col[i])
				}
			}
		}
		spec.Bins = lay.kernelBins(merged)
		hs, err = party.Histograms(gh, spec)
	}
	if err != nil {
		return fl.Fail(ctx, t, err)
	}
	parts := make([][]byte, 0, 4)
	var shares [][]byte
	if noise != nil {
		// Differential privacy: the noise goes in before anything leaves,
		// a quarter of it on the sums of h (see DP); the sums of g and h
		// may share one vector, g's first.
		var z [][]float64
		if len(hs) == 1 {
			n := hs[0].Len / 2
			z = [][]float64{append(noise.draw(n, 1), noise.draw(n, 0.25)...)}
		} else {
			z = [][]float64{noise.draw(hs[0].Len, 1), noise.draw(hs[1].Len, 0.25)}
		}
		for i, h := range hs {
			if err := party.AddCoeffs(h, z[i]); err != nil {
				return err
			}
		}
	}
	for _, h := range hs {
		// The histograms are functions of the bank's ciphertexts and the
		// center's bins: fresh randomness before they leave, or the bank
		// could solve for the bins from the components.
		if err := party.Rerandomize(h); err != nil {
			return err
		}
		if err := admitHistograms(p, disclosures, h, len(hs)); err != nil {
			return fl.Fail(ctx, t, err)
		}
		// The bank gets the c1 components and, at the coefficients of the
		// sums only, c0 plus this party's flooded share (he.PartialDecryption):
		// a third of the vector and a full share.
		share, err := party.DecryptPartialShare(h)
		if err != nil {
			return err
		}
		mv, err := p.MarshalVectorC1Rounded(h)
		if err != nil {
			return err
		}
		ms, err := p.MarshalPartialDecryption(share)
		if err != nil {
			return err
		}
		parts = append(parts, mv)
		shares = append(shares, ms)
	}
	var kept []byte
	for _, k := range lvl.Compute {
		kept = appendGaps(kept, gaps[k])
	}
	return t.Send(ctx, fl.Message{Type: TypeHist, Payload: frame(append(append(parts, shares...), kept)...)})
}

// admitHistograms admits one of a level's vecs histogram vectors against
// the plan: a vector of g's sums and one of h's, each as itself, or the one
// vector that holds both (he.HistogramSpec.Together) as the two it holds,
// each of half its values, so the plan declares the same either way.
func admitHistograms(p he.Params, plan *joint.Plan, h *he.Vector, vecs int) error {
	if vecs != 1 {
		return plan.Admit(p, StepHistograms, h)
	}
	half := *h
	half.Len /= 2
	for range 2 {
		if err := plan.Admit(p, StepHistograms, &half); err != nil {
			return err
		}
	}
	return nil
}

func inOrder(rows []int32) bool {
	for k, i := range rows {
		if int(i) != k {
			return false
		}
	}
	return true
}
