package boost

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/veil-fl/veil/fl"
	"github.com/veil-fl/veil/fl/joint"
	"github.com/veil-fl/veil/he"
	"github.com/veil-fl/veil/model"
)

// ActiveResult is the bank's half of a trained model and the training's figures.
type ActiveResult struct {
	ActiveModel
	// Logits are the training rows' final logits.
	Logits []float64
	// Resumed is the tree the training resumed from (0: it started afresh).
	Resumed  int
	Stats    fl.Stats
	Duration time.Duration
}

// histHook, set by the attack test only, sees every node whose center
// histograms the bank holds: its rows, the center's cumulative sums and
// merged bins, and the rows' g and h (what the bank knows).
var histHook func(rows []int32, pg, ph [][]float64, gaps []model.BinGaps, g, h []float64)

// anode is a node of the level being grown, as the bank sees it.
type anode struct {
	id       int
	rows     []int32
	G, H     float64
	bg, bh   [][]float64 // the bank's histograms, per bin
	ag, ah   [][]float64 // the bank's cumulative histograms
	pg, ph   [][]float64 // the center's, decrypted
	sibling  *anode      // the child computed directly, for the other child
	parent   *anode
	pos      int             // its index in its level
	gaps     []model.BinGaps // the center's merged bins at this node
	computed bool
	// leaf: the node may not be split (it or its sibling holds fewer than
	// MinNodeRows rows), so no histogram of it is computed or released.
	leaf bool
}

// Active is the bank's side of a training: NewActive runs the setup
// (options, binning, resume agreement, key generation), each Tree grows one
// tree, and Result returns the model so far. TrainActive drives it to the
// end; driving it by hand lets an application run its own loop (progress,
// deadlines per tree) over the same protocol.
type Active struct {
	t      fl.Transport
	y      []float64
	o      model.GBDTOptions
	grower *activeTrainer
	store  fl.Checkpoints // nil: none
	digest [32]byte
	res    *ActiveResult
	next   int // the tree Tree grows
	start  time.Time
}

// NewActive sets up the bank's side. seed is the joint seed of the session
// handshake; data holds the bank's raw features (NaN for missing) and its
// 0/1 labels, rows in the agreed order; its categorical columns hold level
// codes and are those data.Categories marks, or opt.Categorical when given
// (both given must agree); the model keeps data.Categories, the encoding
// it predicts new tables by. The options, without the categorical marks,
// are sent to the center.
func NewActive(ctx context.Context, t fl.Transport, seed []byte, data Data, opt Options) (_ *Active, err error) {
	defer fl.AbortOnError(ctx, t, &err)
	start := time.Now()
	o, err := opt.GBDTOptions.WithDefaults()
	if err != nil {
		return nil, fl.Fail(ctx, t, err)
	}
	if o.Subsample < 1 {
		return nil, fl.Fail(ctx, t, fmt.Errorf("%w: row subsampling is not supported by the federated trainer yet", model.ErrOptions))
	}
	opt.GBDTOptions = o
	if opt.DP != nil {
		if err := opt.DP.check(); err != nil {
			return nil, fl.Fail(ctx, t, err)
		}
	}
	if err := checkLink(opt.LinkMbps); err != nil {
		return nil, fl.Fail(ctx, t, err)
	}
	if opt.PlanBytes == 0 {
		opt.PlanBytes = 2 << 30
	}
	x, d, y := data.X, data.Cols, data.Y
	n := len(y)
	if d < 1 || n == 0 || len(x) != n*d {
		return nil, fl.Fail(ctx, t, fmt.Errorf("%w: %d values for %d labels of %d columns", model.ErrShape, len(x), n, d))
	}
	if n < o.MinNodeRows {
		return nil, fl.Fail(ctx, t, fmt.Errorf("%w: %d rows, fewer than the minimum node size of %d: no tree could split", model.ErrOptions, n, o.MinNodeRows))
	}
	if opt.Categorical, err = categoricalMarks(data, opt.Categorical, "Options.Categorical"); err != nil {
		return nil, fl.Fail(ctx, t, err)
	}
	binning, err := model.FitBinningCategorical(x, d, o.Bins, opt.Categorical)
	if err != nil {
		return nil, fl.Fail(ctx, t, err)
	}
	bins, err := binning.Bin(x, d)
	if err != nil {
		return nil, fl.Fail(ctx, t, err)
	}
	shared := opt // the options both parties know
	shared.Categorical = nil
	if err := fl.SendJSON(ctx, t, TypeSetup, setup{Version: protocolVersion, Options: shared, Rows: n, Cols: d}); err != nil {
		return nil, err
	}
	var ack setup
	if err := fl.RecvJSON(ctx, t, TypeSetupAck, &ack); err != nil {
		return nil, err
	}
	if ack.Rows != n || len(ack.Bins) == 0 {
		return nil, fl.Fail(ctx, t, fmt.Errorf("%w: the center has %d rows and %d features, the bank %d rows", ErrProtocol, ack.Rows, len(ack.Bins), n))
	}
	if ack.Categorical != nil && len(ack.Categorical) != len(ack.Bins) {
		return nil, fl.Fail(ctx, t, fmt.Errorf("%w: the center marks %d categorical features of %d", ErrProtocol, len(ack.Categorical), len(ack.Bins)))
	}
	if !slices.Contains(ack.Categorical, true) {
		ack.Categorical = nil
	}
	K := 1
	for f, nb := range ack.Bins {
		if nb < 1 || nb > o.Bins+1 {
			return nil, fl.Fail(ctx, t, fmt.Errorf("%w: center feature %d has %d bins", ErrProtocol, f, nb))
		}
		K = max(K, nb)
	}
	store, err := checkpoints(opt.Checkpoints, opt.Checkpoint, "boost-active")
	if err != nil {
		return nil, fl.Fail(ctx, t, err)
	}
	digest, resume, err := agree(ctx, t, store, opt.Logger, shared, n, d, ack.Bins, ack.Categorical, binning.Categorical, x, y)
	if err != nil {
		return nil, err
	}
	p := params()
	party, err := joint.GenerateKeysWith(ctx, t, p, keySpec().Peer(), seed, joint.KeyOptions{Progress: opt.KeyProgress, Logger: opt.Logger})
	if err != nil {
		return nil, err
	}
	a := &activeTrainer{t: t, p: p, party: party, o: o, bins: bins, nb: make([]int, d), pnb: ack.Bins, K: K, linkMbps: opt.LinkMbps}
	if binning.Categorical != nil || ack.Categorical != nil {
		a.search.Categorical = make([]bool, d+len(ack.Bins))
		copy(a.search.Categorical, binning.Categorical)
		copy(a.search.Categorical[d:], ack.Categorical)
	}
	a.search.Noise = make([]float64, d+len(ack.Bins))
	if opt.DP != nil {
		a.fixedScale = dpScale(n, opt.DP.Sigma(o, len(ack.Bins), dpWidth(K, opt.LinkMbps)))
	}
	for f := range a.nb {
		a.nb[f] = binning.NumBins(f)
	}
	res := &ActiveResult{ActiveModel: ActiveModel{Version: ModelVersion, Options: opt, BaseScore: o.BaseScore, Binning: binning, PassiveBins: ack.Bins, PassiveCategorical: ack.Categorical}, Logits: make([]float64, n)}
	if data.Categories.Any() {
		res.Categories = data.Categories
	}
	for i := range res.Logits {
		res.Logits[i] = o.BaseScore
	}
	a.g, a.h = make([]float64, n), make([]float64, n)
	if resume > 0 {
		var st activeState
		if err := fl.LoadCheckpoint(store, resume, digest, &st); err != nil {
			return nil, fl.Fail(ctx, t, err)
		}
		if err := st.check(resume, n, a.sides(binning.Categorical, ack.Categorical), o); err != nil {
			return nil, fl.Fail(ctx, t, err)
		}
		res.Trees, res.Logits, res.Resumed = st.Trees, st.Logits, resume
	}
	return &Active{t: t, y: y, o: o, grower: a, store: store, digest: digest, res: res, next: resume, start: start}, nil
}

// Done reports whether every tree has been grown (a training resumed after
// its last tree is done from the start).
func (s *Active) Done() bool { return s.next >= s.o.Trees }

// Trees returns the number of trees grown so far, those resumed included.
func (s *Active) Trees() int { return s.next }

// Tree grows the next tree with the center, adds it to the training rows'
// logits and saves the checkpoint after it.
func (s *Active) Tree(ctx context.Context) (err error) {
	if s.Done() {
		// A caller's misuse, not the session's failure: the peer is not told.
		return fmt.Errorf("boost: training already finished after %d trees", s.next)
	}
	defer fl.AbortOnError(ctx, s.t, &err)
	a, res, tree := s.grower, s.res, s.next
	model.LogisticGradients(res.Logits, s.y, a.g, a.h)
	if gradHook != nil {
		gradHook(a.g, a.h)
	}
	tr, leaves, err := a.grow(ctx, tree)
	if err != nil {
		return err
	}
	for _, lf := range leaves {
		for _, i := range lf.rows {
			res.Logits[i] += tr.Nodes[lf.id].Weight
		}
	}
	res.Trees = append(res.Trees, tr)
	if s.store != nil {
		if err := fl.SaveCheckpoint(s.store, tree+1, s.digest, &activeState{Trees: res.Trees, Logits: res.Logits}); err != nil {
			return fl.Fail(ctx, s.t, err)
		}
	}
	s.next++
	return nil
}

// Result returns the bank's half of the model so far (the trees grown and
// the training rows' logits after them) and the traffic and time since
// NewActive.
func (s *Active) Result() *ActiveResult {
	r := *s.res
	r.Trees = slices.Clone(s.res.Trees)
	r.Logits = slices.Clone(s.res.Logits)
	r.Stats, r.Duration = s.t.Stats(), time.Since(s.start)
	return &r
}

// TrainActive runs the bank's side to the end (NewActive, then Tree until
// Done); progress, if set, sees the index of each tree grown.
func TrainActive(ctx context.Context, t fl.Transport, seed []byte, data Data, opt Options, progress func(tree int)) (_ *ActiveResult, err error) {
	defer fl.AbortOnError(ctx, t, &err)
	a, err := NewActive(ctx, t, seed, data, opt)
	if err != nil {
		return nil, err
	}
	for !a.Done() {
		tree := a.next
		if err := a.Tree(ctx); err != nil {
			return nil, err
		}
		if progress != nil {
			progress(tree)
		}
	}
	return a.Result(), nil
}

// gradHook, set by the wire-audit test only, sees every tree's plaintext
// gradients and hessians.
var gradHook func(g, h []float64)

type activeTrainer struct {
	t     fl.Transport
	p     he.Params
	party *he.Party
	o     model.GBDTOptions
	// fixedScale, with differentially private histograms, is the scale of
	// g and h the center's noise is drawn for (dpScale); 0 scales each
	// level by its sums.
	fixedScale float64
	bins       [][]uint8
	nb         []int // the bank's bins per feature
	pnb        []int // the center's
	K          int
	linkMbps   float64 // Options.LinkMbps: chooses each level's layout
	// rootLay is the layout of the tree's root level when the center keeps
	// its gradients for the levels below (a link speed given), rootScale
	// their scale.
	rootLay   *histLayout
	rootScale float64
	g, h      []float64
	// search reads the bank's features, then the center's: which are
	// categorical, and the level's decryption noise on the center's sums.
	search model.SplitSearch
}

// sides describes both parties' features for checking trees.
func (a *activeTrainer) sides(bankCat, centerCat []bool) treeSides {
	return treeSides{bankBins: a.nb, centerBins: a.pnb, bankCat: bankCat, centerCat: centerCat}
}

// grow grows one tree and returns it with its leaves.
func (a *activeTrainer) grow(ctx context.Context, tree int) (Tree, []*anode, error) {
	n := len(a.g)
	root := &anode{id: 0, rows: make([]int32, n), computed: true}
	for i := range root.rows {
		root.rows[i] = int32(i)
	}
	root.G, root.H = a.sums(root.rows)
	tr := Tree{Nodes: []Node{{}}}
	var leaves []*anode
	lvl := []*anode{root}
	for depth := 0; len(lvl) > 0; depth++ {
		if err := a.histograms(ctx, lvl); err != nil {
			return tr, nil, err
		}
		var next []*anode
		var reqs []splitReq
		type pending struct {
			nd   *anode
			c    model.SplitCandidate
			li   int
			side model.Role
		}
		var splits []pending
		for k, nd := range lvl {
			w := model.LeafWeight(nd.G, nd.H, a.o)
			if nd.leaf {
				tr.Nodes[nd.id] = Node{Weight: w}
				leaves = append(leaves, nd)
				continue
			}
			gl := append(append([][]float64{}, nd.ag...), nd.pg...)
			hl := append(append([][]float64{}, nd.ah...), nd.ph...)
			search := a.search
			if nd.gaps != nil {
				// Only the bins the center released are candidates.
				search.Released = make([][]bool, len(gl))
				for f, g := range nd.gaps {
					search.Released[len(nd.ag)+f] = g.Keep
				}
			}
			c, ok := search.Best(gl, hl, nd.G, nd.H, a.o)
			if !ok {
				tr.Nodes[nd.id] = Node{Weight: w}
				leaves = append(leaves, nd)
				continue
			}
			li := len(tr.Nodes)
			tr.Nodes = append(tr.Nodes, Node{}, Node{})
			side := model.Active
			f := c.Feature
			if f >= len(nd.ag) {
				side, f = model.Passive, f-len(nd.ag)
				reqs = append(reqs, splitReq{Node: k, TreeNode: nd.id, Feature: f, Bin: c.Bin, MissingLeft: c.MissingLeft, LeftBins: c.LeftBins})
			}
			tr.Nodes[nd.id] = Node{Party: side, Feature: f, Bin: c.Bin, MissingLeft: c.MissingLeft, LeftBins: c.LeftBins, Left: li, Right: li + 1, Weight: w, Gain: c.Gain}
			splits = append(splits, pending{nd, c, li, side})
		}
		last := len(splits) == 0 || depth+1 >= a.o.MaxDepth
		if err := fl.SendJSON(ctx, a.t, TypeSplits, splitMsg{Tree: tree, Splits: reqs, Last: last}); err != nil {
			return tr, nil, err
		}
		b, err := fl.Expect(ctx, a.t, TypeLeft)
		if err != nil {
			return tr, nil, err
		}
		lefts, err := unframe(b, len(reqs))
		if err != nil {
			return tr, nil, fl.Fail(ctx, a.t, err)
		}
		r := 0
		for _, sp := range splits {
			nd := sp.nd
			var goLeft func(k int) bool
			if sp.side == model.Active {
				col := a.bins[tr.Nodes[nd.id].Feature]
				goLeft = func(k int) bool {
					return model.GoesLeft(col[nd.rows[k]], sp.c.Bin, sp.c.MissingLeft, sp.c.LeftBins)
				}
			} else {
				bits := lefts[r]
				r++
				if len(bits) != (len(nd.rows)+7)/8 {
					return tr, nil, fl.Fail(ctx, a.t, fmt.Errorf("%w: partition of %d bytes for %d rows", ErrProtocol, len(bits), len(nd.rows)))
				}
				goLeft = func(k int) bool { return bits[k/8]>>(k%8)&1 == 1 }
			}
			left, right := &anode{id: sp.li, parent: nd}, &anode{id: sp.li + 1, parent: nd}
			for k, i := range nd.rows {
				if goLeft(k) {
					left.rows = append(left.rows, i)
				} else {
					right.rows = append(right.rows, i)
				}
			}
			left.G, left.H = a.sums(left.rows)
			right.G, right.H = a.sums(right.rows)
			// The gain from the children's exact sums rather than from the
			// center's decrypted histograms, so that it carries no decryption
			// noise and a resumed training reproduces it bit for bit.
			tr.Nodes[nd.id].Gain = splitGain(left.G, left.H, right.G, right.H, a.o)
			small, large := left, right
			if len(right.rows) < len(left.rows) {
				small, large = right, left
			}
			small.computed, large.sibling = true, small
			if len(small.rows) < a.o.MinNodeRows {
				left.leaf, right.leaf = true, true
			}
			next = append(next, left, right)
		}
		if last {
			for _, nd := range next {
				tr.Nodes[nd.id] = Node{Weight: model.LeafWeight(nd.G, nd.H, a.o)}
			}
			leaves = append(leaves, next...)
			next = nil
		}
		lvl = next
	}
	return tr, leaves, nil
}

func allLeaves(nodes []*anode) bool {
	for _, nd := range nodes {
		if !nd.leaf {
			return false
		}
	}
	return true
}

func (a *activeTrainer) sums(rows []int32) (G, H float64) {
	for _, i := range rows {
		G += a.g[i]
		H += a.h[i]
	}
	return G, H
}

// histograms gives every node of the level its cumulative histograms: the
// bank's in plaintext, the center's decrypted, for the computed nodes; the
// parent's minus the sibling's for the others.
func (a *activeTrainer) histograms(ctx context.Context, lvl []*anode) error {
	var compute []int
	for k, nd := range lvl {
		if nd.computed && !nd.leaf {
			compute = append(compute, k)
		}
	}
	rows := make([][]int32, len(lvl))
	for k, nd := range lvl {
		rows[k] = nd.rows
	}
	desc := level{Rows: rows, Compute: compute}
	for k, nd := range lvl {
		nd.pos = k
	}
	rowsMsg, err := encodeNodes(lvl, compute)
	if err != nil {
		return err
	}
	if len(compute) == 0 {
		// Every node of the level is a leaf: the center is told the rows
		// and computes nothing.
		return a.t.Send(ctx, fl.Message{Type: TypeLevel, Payload: frame(rowsMsg, nil, nil)})
	}
	isRoot := len(lvl) == 1 && lvl[0].id == 0
	if isRoot {
		a.rootLay = nil // a new tree: the center keeps the root's gradients only
	}
	lay, reuse := desc.plan(a.p, a.K, len(a.pnb), len(a.g), a.rootLay, a.linkMbps)
	if isRoot && a.linkMbps > 0 {
		a.rootLay = &lay
	}
	S := lay.S
	// Rows in packed order, -1 for padding: every group but the last is
	// padded to the chunk boundary.
	var packed []int32
	for i, k := range compute {
		packed = append(packed, lvl[k].rows...)
		if i < len(compute)-1 {
			for len(packed)%S != 0 {
				packed = append(packed, -1)
			}
		}
	}
	// Scale g and h by a power of two that fills the decryption headroom:
	// the flooding noise is fixed in absolute terms, so the larger the
	// values, the smaller the relative error (about 2^-34.6 of the largest
	// sum).
	var sumG, sumH float64
	for _, i := range packed {
		if i >= 0 {
			sumG += math.Abs(a.g[i])
			sumH += a.h[i]
		}
	}
	scale := math.Exp2(math.Floor(histHeadroom - math.Log2(max(sumG, sumH, 1))))
	if a.fixedScale > 0 {
		scale = a.fixedScale
	}
	if reuse {
		// The center computes the level from the root's ciphertexts, at the
		// root's scale (the level's sums are the root's in part: within the
		// headroom).
		scale = a.rootScale
		if err := a.t.Send(ctx, fl.Message{Type: TypeLevel, Payload: frame(rowsMsg, nil, nil)}); err != nil {
			return err
		}
		return a.receiveHistograms(ctx, lvl, compute, lay, scale)
	}
	if isRoot {
		a.rootScale = scale
	}
	gv, hv := make([]float64, len(packed)), make([]float64, len(packed))
	for j, i := range packed {
		if i >= 0 {
			gv[j], hv[j] = a.g[i]*scale, a.h[i]*scale
		}
	}
	// The level goes in parts of levelChunks ciphertexts per vector, so that
	// neither party ever holds the whole level's serialised gradients and no
	// message outgrows the transport's limit; the first part carries the
	// level's rows.
	// The c0 components' low bits below what the histogram noise bound
	// allows for the level's largest node travel rounded off
	// (he.HistInputDropBits): 15 to 17 of Hist13's 120 bits.
	drop := he.HistInputDropBits(a.p, largestNode(lvl, compute), S, lay.K)
	msg := rowsMsg
	for lo := 0; lo < len(packed); lo += levelChunks * S {
		hi := min(lo+levelChunks*S, len(packed))
		var ms [2][]byte
		for i, v := range [2][]float64{gv[lo:hi], hv[lo:hi]} {
			enc, err := a.party.EncryptCoeffsSeeded(v, S)
			if err != nil {
				return err
			}
			if ms[i], err = a.p.MarshalSeededVectorRounded(enc, drop); err != nil {
				return err
			}
		}
		if err := a.t.Send(ctx, fl.Message{Type: TypeLevel, Payload: frame(msg, ms[0], ms[1])}); err != nil {
			return err
		}
		msg = nil
	}
	return a.receiveHistograms(ctx, lvl, compute, lay, scale)
}

// receiveHistograms decrypts the center's histograms of the level's
// computed nodes (in layout lay, values scaled by scale) and gives every
// node of the level its cumulative histograms.
func (a *activeTrainer) receiveHistograms(ctx context.Context, lvl []*anode, compute []int, lay histLayout, scale float64) error {
	b, err := fl.Expect(ctx, a.t, TypeHist)
	if err != nil {
		return err
	}
	F := len(a.pnb)
	// The sums of g and h in one vector when they fit in one ciphertext,
	// as the center decides by the same rule.
	vecs, per := 2, len(compute)*F*lay.Width
	if he.HistogramsTogether(a.p, lay.K, 2, len(compute)*F*lay.P) {
		vecs, per = 1, 2*per
	}
	parts, err := unframe(b, 2*vecs+1)
	if err != nil {
		return fl.Fail(ctx, a.t, err)
	}
	gaps, err := decodeGaps(parts[2*vecs], len(compute), a.pnb)
	if err != nil {
		return fl.Fail(ctx, a.t, err)
	}
	for gi, k := range compute {
		nd := lvl[k]
		if nd.parent != nil {
			for f, g := range gaps[gi] {
				if !g.Within(nd.parent.gaps[f]) {
					return fl.Fail(ctx, a.t, fmt.Errorf("%w: merged bins of center feature %d keep a bin the parent's did not", ErrProtocol, f))
				}
			}
		}
		nd.gaps = gaps[gi]
	}
	var all []float64
	for i := range vecs {
		v, err := a.p.UnmarshalVectorC1Rounded(parts[i])
		if err != nil {
			return fl.Fail(ctx, a.t, fmt.Errorf("boost: histogram from the center: %w", err))
		}
		share, err := a.p.UnmarshalPartialDecryption(parts[vecs+i])
		if err != nil {
			return fl.Fail(ctx, a.t, fmt.Errorf("boost: decryption share from the center: %w", err))
		}
		if err := joint.CheckVector(a.p, v, "histogram", joint.VectorWant{Layout: he.CoeffGrid, Len: per, Level: joint.AnyLevel}); err != nil {
			return fl.Fail(ctx, a.t, fmt.Errorf("boost: histogram from the center: %w", err))
		}
		got, err := a.party.DecryptPartial(v, share)
		if err != nil {
			return fl.Fail(ctx, a.t, err)
		}
		all = append(all, got...)
	}
	for j := range all {
		all[j] /= scale
	}
	half := len(all) / 2
	vals := [2][]float64{all[:half], all[half:]}
	for gi, k := range compute {
		nd := lvl[k]
		nd.pg, nd.ph = make([][]float64, F), make([][]float64, F)
		for f := 0; f < F; f++ {
			base := (gi*F + f) * lay.Width
			nd.pg[f] = vals[0][base : base+a.pnb[f]]
			nd.ph[f] = vals[1][base : base+a.pnb[f]]
		}
		nd.bg, nd.bh = a.ownHist(nd.rows)
		nd.ag, nd.ah = cumulate(nd.bg), cumulate(nd.bh)
		// The center's bins it merged hold only decryption noise: exact
		// copies of the kept bins' sums instead.
		flatten(nd.pg, nd.ph, nd.gaps, nd.G, nd.H)
	}
	for _, nd := range lvl {
		if nd.computed || nd.leaf {
			continue
		}
		s, par := nd.sibling, nd.parent
		nd.gaps = s.gaps
		// Per bin, then cumulated, as the plaintext reference does, so that
		// the bank's own sums are the reference's to the bit (a categorical
		// feature's bins are ordered by them).
		nd.bg, nd.bh = subtract(par.bg, s.bg), subtract(par.bh, s.bh)
		nd.ag, nd.ah = cumulate(nd.bg), cumulate(nd.bh)
		// The parent's sums at the bins the children share, less the
		// computed child's.
		pg, ph := clone(par.pg), clone(par.ph)
		flatten(pg, ph, nd.gaps, par.G, par.H)
		nd.pg, nd.ph = subtract(pg, s.pg), subtract(ph, s.ph)
	}
	tol := noiseSigmas * math.Exp2(-he.Hist13.LogScale+he.Hist13.LogFlood()) / scale
	for f := len(a.nb); f < len(a.search.Noise); f++ {
		a.search.Noise[f] = tol
	}
	for _, nd := range lvl {
		if !nd.leaf {
			snapNoise(nd.pg, nd.ph, nd.G, nd.H, tol)
			if histHook != nil {
				histHook(nd.rows, nd.pg, nd.ph, nd.gaps, a.g, a.h)
			}
		}
	}
	return nil
}

// histHeadroom is log2 of the largest histogram sum the scaled values may
// reach: he.Hist13 decrypts values up to 2^21, less the flooding's tail.
const histHeadroom = 19

// noiseSigmas is how many standard deviations of the decryption noise a
// difference must exceed to count as data.
const noiseSigmas = 8

// snapNoise removes decryption noise where the exact value is known to be
// an equality: a bin whose cumulative sums differ from the previous bin's by
// less than tol is empty (its sums are set equal, so equal candidates compare
// equal and the tie-break picks the bin the plaintext reference picks), and a
// feature whose present rows sum to within tol of the node's totals has no
// missing rows in the node (so no missing-left candidates appear from noise).
func snapNoise(gl, hl [][]float64, G, H, tol float64) {
	for f := range gl {
		for k := 1; k < len(gl[f]); k++ {
			if math.Abs(hl[f][k]-hl[f][k-1]) < tol && math.Abs(gl[f][k]-gl[f][k-1]) < tol {
				gl[f][k], hl[f][k] = gl[f][k-1], hl[f][k-1]
			}
		}
		last := len(gl[f]) - 1
		if math.Abs(H-hl[f][last]) < tol && math.Abs(G-gl[f][last]) < tol {
			gl[f][last], hl[f][last] = G, H
		}
	}
}

// flatten applies the center's merged bins to a node's cumulative sums of
// g and h (model.BinGaps.Flatten; the node's totals G and H).
func flatten(gl, hl [][]float64, gaps []model.BinGaps, G, H float64) {
	for f, g := range gaps {
		// The shapes were checked against the center's bins on receipt.
		_ = g.Flatten(gl[f], G)
		_ = g.Flatten(hl[f], H)
	}
}

func clone(a [][]float64) [][]float64 {
	out := make([][]float64, len(a))
	for f := range a {
		out[f] = append([]float64(nil), a[f]...)
	}
	return out
}

func subtract(a, b [][]float64) [][]float64 {
	out := make([][]float64, len(a))
	for f := range a {
		out[f] = make([]float64, len(a[f]))
		for k := range a[f] {
			out[f][k] = a[f][k] - b[f][k]
		}
	}
	return out
}

// ownHist returns the bank's histograms of rows, per bin.
func (a *activeTrainer) ownHist(rows []int32) (gb, hb [][]float64) {
	gb, hb = make([][]float64, len(a.bins)), make([][]float64, len(a.bins))
	for f, col := range a.bins {
		g, h := make([]float64, a.nb[f]), make([]float64, a.nb[f])
		for _, i := range rows {
			if b := col[i]; b != model.MissingBin {
				g[b] += a.g[i]
				h[b] += a.h[i]
			}
		}
		gb[f], hb[f] = g, h
	}
	return gb, hb
}

// cumulate returns the cumulative sums of per-bin histograms.
func cumulate(per [][]float64) [][]float64 {
	out := make([][]float64, len(per))
	for f, v := range per {
		c := make([]float64, len(v))
		s := 0.0
		for k, x := range v {
			s += x
			c[k] = s
		}
		out[f] = c
	}
	return out
}

// encodeNodes encodes the level lvl's nodes for the center: the root with
// its rows, a level below as its parents' splits (levelSplits), a bit a
// row of each parent.
func encodeNodes(lvl []*anode, compute []int) ([]byte, error) {
	if len(lvl) == 1 && lvl[0].parent == nil {
		if inOrder(lvl[0].rows) {
			return appendCompute([]byte{levelRoot}, compute), nil
		}
		return encodeLevel(level{Rows: [][]int32{lvl[0].rows}, Compute: compute}), nil
	}
	var parents []int
	var lefts [][]byte
	for k := 0; k < len(lvl); k += 2 {
		par := lvl[k].parent
		if k+1 >= len(lvl) || par == nil || lvl[k+1].parent != par {
			return nil, fmt.Errorf("boost: level node %d is not a left child beside its sibling", k)
		}
		bits := make([]byte, (len(par.rows)+7)/8)
		left := lvl[k].rows
		j := 0
		for r, i := range par.rows {
			if j < len(left) && left[j] == i {
				bits[r/8] |= 1 << (r % 8)
				j++
			}
		}
		if j != len(left) || len(left)+len(lvl[k+1].rows) != len(par.rows) {
			return nil, fmt.Errorf("boost: level node %d's rows are not its parent's in order", k)
		}
		parents, lefts = append(parents, par.pos), append(lefts, bits)
	}
	return encodeLevelSplits(parents, lefts, compute), nil
}

// largestNode returns the most rows of a computed node of the level.
func largestNode(lvl []*anode, compute []int) int {
	most := 0
	for _, k := range compute {
		most = max(most, len(lvl[k].rows))
	}
	return most
}
