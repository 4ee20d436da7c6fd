package vlr

import (
	"context"
	"fmt"
	"math"
	"slices"

	"github.com/veil-fl/veil/fl"
	"github.com/veil-fl/veil/fl/joint"
	"github.com/veil-fl/veil/he"
)

// shareHook, set by the wire audit only, sees a clone of every share a
// party holds of a revealed-to-nobody value: "scores" (the re-encrypted
// scores' share), "gradient" (its share of its own gradient) and "peer
// gradient" (of the peer's), with the batch's step and whether the party
// is the bank. The audit adds matching shares of both parties to recover
// the values it then searches the wire for.
var shareHook func(what string, active bool, step int, sv *he.SharedVector)

// openedHook, set by the attack tests only, sees every share a party
// receives through an opening (the peer's masked value, before any local
// step): the whole of what the party learns of the value. what is
// "scores" or "gradient"; maskBits, a test's override of the masks' width
// (the weak variant the attack tests show they catch).
var (
	openedHook   func(active bool, what string, sv *he.SharedVector)
	testMaskBits uint
)

// finalHook, set by the noise test of the final reveal only
// (TestFinalRevealFlooding), sees a party's share of its final weights and
// the peer's flooded share.
var finalHook func(active bool, own, peer *he.SharedVector)

// sharedState is a party's state in the secret-shared protocol: its shares
// of both parties' weights and momenta, never a weight in the clear until
// the end.
type sharedState struct {
	plan       *joint.Plan
	params     he.Params
	party      *he.Party
	active     bool
	opt        Options
	own, peer  weightShares // shares of this party's weights, and of the peer's
	layOwn     columns
	layPeer    columns
	rows       [][]int
	mats       []*he.Matrix
	sig, soft  he.Poly
	lossNeeded bool
	maskBits   uint
	steps      int
	initOwn    []float64
	initPeer   []float64
	final      []float64 // this party's weights once training is done
	kept       bool      // final came from a checkpoint: a new reveal does not replace it
	lossPad    float64   // loss of the padding slots, per epoch
	finalSigma float64
	lossSigma  float64
}

// weightShares are one party's shares of a weight vector and its momentum,
// at scale 2^LogScale of the parameters, in the layout of the matrix shape.
type weightShares struct {
	w, v  *he.SharedVector
	shape he.MatrixShape
}

// columns is the matrix layout of a party's weights. The bank's matrix holds
// its columns, a column of ones for the intercept and, when that count is
// even, a column of zeros, so that the intercept sits alone in its slot
// (the real part of slot h-1, whose imaginary partner h-1+h is past the
// end): the L2 term then spares it with a real factor per slot.
type columns struct {
	data      int // the party's own columns
	matrix    int // columns of the matrix
	intercept int // matrix column of the intercept, -1 for the center
}

func bankColumns(data int) columns {
	m := data + 1
	if m%2 == 0 {
		m++
	}
	return columns{data: data, matrix: m, intercept: (m+1)/2 - 1}
}

func centerColumns(data int) columns { return columns{data: data, matrix: data, intercept: -1} }

// source returns, for matrix column j, the data column it holds, or -1 for
// the intercept and -2 for padding.
func (c columns) source(j int) int {
	switch {
	case c.intercept < 0:
		return j
	case j < c.intercept:
		return j
	case j == c.intercept:
		return -1
	case j-1 < c.data:
		return j - 1
	}
	return -2
}

// toData maps weights in matrix order to [data columns..., intercept].
func (c columns) toData(w []float64) []float64 {
	out := make([]float64, c.data, c.data+1)
	b := 0.0
	for j, v := range w {
		switch s := c.source(j); {
		case s >= 0:
			out[s] = v
		case s == -1:
			b = v
		}
	}
	if c.intercept >= 0 {
		out = append(out, b)
	}
	return out
}

// fromData is toData's inverse (padding weights 0).
func (c columns) fromData(w []float64) []float64 {
	out := make([]float64, c.matrix)
	for j := range out {
		switch s := c.source(j); {
		case s >= 0:
			out[j] = w[s]
		case s == -1:
			out[j] = w[c.data]
		}
	}
	return out
}

// sharedKeys generates the keys of the secret-shared protocol (Shared15):
// relinearisation at the top, held by the bank alone (the sigmoid and the
// loss are its) and so built in one round from the center's shares of its
// key share and its square (he.KeySpec.RelinHolder), the rotations of both
// matrix shapes at the linear level.
func sharedKeys(ctx context.Context, t fl.Transport, seed []byte, o Options, rows, bankCols, centerCols int, active bool, ko joint.KeyOptions) (he.Params, *he.Party, error) {
	params := Params(o)
	sb, sc := sharedShapes(params, o, rows, bankCols, centerCols)
	rots := append(sb.Rotations(), sc.Rotations()...)
	slices.Sort(rots)
	// The conjugation key, at the top level (the rotations' at the linear
	// level), takes the real parts of the partial scores and separates the
	// paired residuals and the paired re-encrypted scores (he.RealParts,
	// he.UnpairChunks).
	spec := he.KeySpec{Relinearization: true, ConjugateAtTop: true, Rotations: slices.Compact(rots), GaloisLevel: params.Set().DecryptLevel + 1, RelinHolder: he.HeldBySelf}
	if !active {
		spec = spec.Peer()
	}
	party, err := joint.GenerateKeysWith(ctx, t, params, spec, seed, ko)
	return params, party, err
}

// sharedShapes returns the matrix shapes of the bank's and the center's
// weights, the same on both sides: the products' work and the bytes each
// block and rotation key sends over a 100 Mbit/s link in the training's
// steps (he.SharedShapeWire).
func sharedShapes(p he.Params, o Options, rows, bankCols, centerCols int) (bank, center he.MatrixShape) {
	bs := batches(rows, o)
	batch, steps := len(bs[0]), o.Epochs*len(bs)
	return he.SharedShapeWire(p, batch, bankColumns(bankCols).matrix, steps, 0), he.SharedShapeWire(p, batch, centerColumns(centerCols).matrix, steps, 0)
}

func newSharedState(party *he.Party, o Options, data Data, peerCols int, active bool) (*sharedState, error) {
	p := party.Params()
	s := &sharedState{params: p, party: party, active: active, opt: o, lossNeeded: o.lossNeeded() && active, rows: batches(data.Rows(), o)}
	var err error
	if s.sig, err = o.Sigmoid(); err != nil {
		return nil, err
	}
	if s.soft, err = o.Softplus(); err != nil {
		return nil, err
	}
	var shapeBank, shapeCenter he.MatrixShape
	if active {
		shapeBank, shapeCenter = sharedShapes(p, o, data.Rows(), data.Cols, peerCols)
		s.layOwn, s.layPeer = bankColumns(data.Cols), centerColumns(peerCols)
		s.own.shape, s.peer.shape = shapeBank, shapeCenter
	} else {
		shapeBank, shapeCenter = sharedShapes(p, o, data.Rows(), peerCols, data.Cols)
		s.layOwn, s.layPeer = centerColumns(data.Cols), bankColumns(peerCols)
		s.own.shape, s.peer.shape = shapeCenter, shapeBank
	}
	// The matrices of this party's batches, in its matrix layout.
	m := s.layOwn.matrix
	for _, rows := range s.rows {
		x := make([]float64, 0, len(rows)*m)
		for _, i := range rows {
			for j := 0; j < m; j++ {
				switch src := s.layOwn.source(j); {
				case src >= 0:
					x = append(x, data.X[i*data.Cols+src])
				case src == -1:
					x = append(x, 1)
				default:
					x = append(x, 0)
				}
			}
		}
		mat, err := party.PrepareSharedMatrix(x, len(rows), m, s.own.shape)
		if err != nil {
			return nil, err
		}
		s.mats = append(s.mats, mat)
	}
	// Secret random initial weights: each party's share of every weight is
	// its own random part, so the start is the sum of two parts neither
	// party knows whole.
	ownDim, peerDim := s.layOwn.data, s.layPeer.data
	if active {
		ownDim++
	} else {
		peerDim++
	}
	if s.initOwn, err = randomInit(ownDim, o.InitScale, fmt.Sprintf("own %v", active)); err != nil {
		return nil, err
	}
	if s.initPeer, err = randomInit(peerDim, o.InitScale, fmt.Sprintf("peer %v", active)); err != nil {
		return nil, err
	}
	logScale := int(p.Set().LogScale)
	if s.own.w, err = p.EncodeShares(s.layOwn.fromData(s.initOwn), s.own.shape.Half, s.own.shape.Block, logScale); err != nil {
		return nil, err
	}
	if s.peer.w, err = p.EncodeShares(s.layPeer.fromData(s.initPeer), s.peer.shape.Half, s.peer.shape.Block, logScale); err != nil {
		return nil, err
	}
	s.own.w.Len, s.peer.w.Len = s.layOwn.matrix, s.layPeer.matrix
	s.own.v = he.ZeroShares(s.own.w, s.own.w.Scale)
	s.peer.v = he.ZeroShares(s.peer.w, s.peer.w.Scale)
	s.maskBits = uint(p.ShareCapacity(p.Set().DecryptLevel))
	if testMaskBits > 0 {
		s.maskBits = testMaskBits
	}
	slots := p.Slots()
	for _, rows := range s.rows {
		s.lossPad += float64((len(rows)+slots-1)/slots*slots - len(rows))
	}
	s.lossPad *= s.soft.Coeffs[0]
	s.finalSigma, s.lossSigma = floodSigmas(p, o, data.Rows(), s.peer.shape)
	return s, nil
}

// maxReveals is how many times a training may reveal its final weights or an
// epoch's loss (a resume after the end reveals again, with fresh flooding);
// the flooding is sized for that many samples of each.
const maxReveals = 4

// floodSigmas returns the standard deviations, in the coefficient domain, of
// the flooding of the peer's final weights (this party's share of them) and
// of the loss sums. Both hide the plaintext noise of what is revealed at
// statistical distance 2^-40 in all, by the Kullback-Leibler divergence of
// two Gaussians of standard deviation sigma whose means differ by at most B
// (B^2/(2 sigma^2) per coefficient, added over the M coefficients revealed)
// and Pinsker's inequality: SD <= sqrt(M) B / (2 sigma), so
// sigma = sqrt(M) B 2^39.
//
// For the weights, B bounds the noise the updates accumulate: each step adds
// the gradient's noise, below 2^LogNoiseBound per row of the batch, times
// lr/|B| times the scale ratio (below 2), and momentum passes each step on
// with total weight at most 1/(1-momentum). M is the 2*Block coefficients
// per block of the weights' layout, times maxReveals. For the loss, B is
// 2^LogNoiseBound per row and M one coefficient per epoch, times maxReveals.
func floodSigmas(p he.Params, o Options, rows int, peer he.MatrixShape) (final, loss float64) {
	perRow := math.Exp2(p.Set().LogNoiseBound)
	steps := float64(o.Epochs * len(batches(rows, o)))
	amp := 1.0
	if o.Optimizer.Name == "momentum" || o.Optimizer.Name == "nesterov" {
		amp = 1 / (1 - o.Optimizer.Momentum)
	}
	acc := steps * o.Optimizer.LearningRate * amp * 2 * perRow
	m := float64(2 * peer.Block * peer.Blocks * maxReveals)
	final = math.Sqrt(m) * acc * math.Exp2(he.StatisticalSecurity-1)
	loss = math.Sqrt(float64(o.Epochs*maxReveals)) * perRow * float64(rows) * math.Exp2(he.StatisticalSecurity-1)
	return final, loss
}

// zScale is the scale at which the scores are re-encrypted for the sigmoid:
// the parameters' scale divided by the sigmoid's bound, so that t = z/Bound
// has a plaintext at about 2^LogScale.
func (s *sharedState) zScale() float64 { return s.params.Scale().Float64() / s.opt.Bound }

// decay returns AddWeighted's factors for the L2 term of a batch of n rows:
// L2 * n * Block/Slots (the fold on the shares multiplies by Slots/Block,
// and the update divides by n), zero at the intercept.
func (s *sharedState) decay(ws *weightShares, lay columns, n int) []float64 {
	slots := s.params.Slots()
	c := make([]float64, ws.shape.Blocks*slots)
	l := s.opt.Optimizer.L2 * float64(n) * float64(ws.shape.Block) / float64(slots)
	for a := 0; a < ws.shape.Blocks; a++ {
		for j := 0; j < slots; j++ {
			if a*ws.shape.Block+j%ws.shape.Block != lay.intercept {
				c[a*slots+j] = l
			}
		}
	}
	return c
}

// weights swaps the parties' encrypted shares of each other's weights and
// returns this party's weights encrypted at the linear level.
func (s *sharedState) weights(ctx context.Context, t fl.Transport) (*he.Vector, error) {
	p := s.params
	enc, err := s.party.EncryptShares(s.peer.w, p.Set().DecryptLevel+1)
	if err != nil {
		return nil, err
	}
	msg, err := p.MarshalSeededSharesRounded(enc, s.drop().C0)
	if err != nil {
		return nil, err
	}
	got, err := fl.Swap(ctx, t, fl.Message{Type: TypeWeights, Payload: msg}, TypeWeights)
	if err != nil {
		return nil, err
	}
	theirs, err := s.unmarshalShares(got)
	if err == nil && theirs.Level != p.Set().DecryptLevel+1 {
		err = fmt.Errorf("%w: weights at level %d, want %d", he.ErrShares, theirs.Level, p.Set().DecryptLevel+1)
	}
	var w *he.Vector
	if err == nil {
		w, err = s.party.JoinShares(theirs, s.own.w)
	}
	if err != nil {
		return nil, fl.Fail(ctx, t, fmt.Errorf("%w: weights from the peer: %w", ErrProtocol, err))
	}
	return w, nil
}

// gradient adds the L2 term to this party's unfolded gradient, opens it into
// shares with the peer while receiving the peer's, folds both and updates
// both parties' weights on the shares.
func (s *sharedState) gradient(ctx context.Context, t fl.Transport, g, w *he.Vector, n int) error {
	p := s.params
	if s.opt.Optimizer.L2 > 0 {
		if err := s.party.AddWeighted(g, w, s.decay(&s.own, s.layOwn, n)); err != nil {
			return err
		}
	}
	step := StepCenterGradient
	if s.active {
		step = StepBankGradient
	}
	if err := s.plan.Admit(p, step, g); err != nil {
		return fl.Fail(ctx, t, err)
	}
	msg, mine, err := s.party.OpenToPeer(g, s.maskBits)
	if err != nil {
		return err
	}
	data, err := p.MarshalVectorRounded(msg, s.drop().C0, s.drop().C1)
	if err != nil {
		return err
	}
	got, err := fl.Swap(ctx, t, fl.Message{Type: TypeOpenGradient, Payload: data}, TypeOpenGradient)
	if err != nil {
		return err
	}
	v, err := s.unmarshalVector(got, true)
	if err == nil {
		err = joint.CheckVector(p, v, "opened gradient", joint.VectorWant{Layout: he.SlotSplit, Len: s.layPeer.matrix, Level: p.Set().DecryptLevel})
	}
	if err == nil && (v.Stride != s.peer.shape.Half || v.Chunk != s.peer.shape.Block) {
		err = fmt.Errorf("%w: opened gradient in halves of %d and blocks of %d, want %d and %d", joint.ErrUnexpectedVector, v.Stride, v.Chunk, s.peer.shape.Half, s.peer.shape.Block)
	}
	var theirs *he.SharedVector
	if err == nil {
		theirs, err = s.party.ReceiveOpened(v)
	}
	if err == nil && openedHook != nil {
		openedHook(s.active, "gradient", theirs.Clone())
	}
	if err != nil {
		return fl.Fail(ctx, t, fmt.Errorf("%w: gradient from the peer: %w", ErrProtocol, err))
	}
	for _, x := range []struct {
		what string
		g    *he.SharedVector
		ws   *weightShares
	}{{"gradient", mine, &s.own}, {"peer gradient", theirs, &s.peer}} {
		if err := p.Fold(x.g, x.ws.shape.Block); err != nil {
			return err
		}
		if shareHook != nil {
			shareHook(x.what, s.active, s.steps, x.g.Clone())
		}
		if err := s.update(x.ws, x.g, n); err != nil {
			return fl.Fail(ctx, t, fmt.Errorf("vlr: update: %w", err))
		}
	}
	s.steps++
	return nil
}

// update runs one optimizer step on shares: g is this party's share of the
// batch's gradient sum (with the L2 term), at its own scale.
func (s *sharedState) update(ws *weightShares, g *he.SharedVector, n int) error {
	o := s.opt.Optimizer
	scale := ws.w.Scale
	f, err := he.NewFixed(scale / (g.Scale * float64(n)))
	if err != nil {
		return err
	}
	if err := g.MulFixed(f); err != nil {
		return err
	}
	g.Scale = scale
	g.Len = ws.w.Len
	lr := o.LearningRate / (1 + o.Decay*float64(s.steps))
	step := g
	if o.Name == "momentum" || o.Name == "nesterov" {
		mu, err := he.NewFixed(o.Momentum)
		if err != nil {
			return err
		}
		if err := ws.v.MulFixed(mu); err != nil {
			return err
		}
		if err := ws.v.Add(g); err != nil {
			return err
		}
		step = ws.v.Clone()
		if o.Name == "nesterov" {
			if err := step.MulFixed(mu); err != nil {
				return err
			}
			if err := step.Add(g); err != nil {
				return err
			}
		}
	}
	fl, err := he.NewFixed(lr)
	if err != nil {
		return err
	}
	if err := step.MulFixed(fl); err != nil {
		return err
	}
	return ws.w.Sub(step)
}

// epochActive runs the bank's side of one epoch and returns the loss sum
// over the rows (NaN when the loss is not computed).
func (s *sharedState) epochActive(ctx context.Context, t fl.Transport, opt Options, data Data) (float64, error) {
	party := s.party
	var lossSum *he.Vector
	for b, rows := range s.rows {
		w, err := s.weights(ctx, t)
		if err != nil {
			return 0, err
		}
		// u's real parts (twice them), two chunks per ciphertext: only their
		// c1 leaves (rerandomized); the center adds it to its own partial
		// scores' and opens the sum without u's c0, which the bank adds to
		// the opening (he.ReceiveOpenedSum).
		u, err := s.pairedPartial(b, w)
		if err == nil {
			err = party.Rerandomize(u)
		}
		var c1 []byte
		if err == nil {
			c1, err = s.params.MarshalVectorRounded(u, -1, s.drop().C1)
		}
		if err != nil {
			return 0, fl.Fail(ctx, t, err)
		}
		if err := t.Send(ctx, fl.Message{Type: TypePartial, Payload: c1}); err != nil {
			return 0, err
		}
		z, err := s.openedScores(ctx, t, u, len(rows))
		if err != nil {
			return 0, err
		}
		y := make([]float64, len(rows))
		for k, i := range rows {
			y[k] = data.Y[i]
		}
		var soft *he.Poly
		if s.lossNeeded {
			soft = &s.soft
		}
		d, loss, err := party.Logistic(z, s.sig, soft, y)
		if err != nil {
			return 0, fl.Fail(ctx, t, err)
		}
		if loss != nil {
			sum, err := party.SumChunks(loss)
			if err == nil && lossSum != nil {
				sum, err = party.Add(lossSum, sum)
			}
			if err != nil {
				return 0, fl.Fail(ctx, t, err)
			}
			lossSum = sum
		}
		// d is a function of the center's ciphertexts and the bank's labels:
		// it leaves rerandomized, two chunks per ciphertext (its imaginary
		// parts are zero: the scores' shares kept their real parts).
		dp, err := party.PairChunks(d)
		if err == nil {
			err = party.Rerandomize(dp)
		}
		if err != nil {
			return 0, fl.Fail(ctx, t, err)
		}
		if err := s.send(ctx, t, TypeResidual, dp); err != nil {
			return 0, err
		}
		g, err := party.MulTransposed(s.mats[b], d)
		if err != nil {
			return 0, fl.Fail(ctx, t, err)
		}
		if err := s.gradient(ctx, t, g, w, len(rows)); err != nil {
			return 0, err
		}
	}
	if lossSum == nil {
		return math.NaN(), nil
	}
	sum, err := joint.DecryptSumWithPeer(ctx, t, party, lossSum)
	if err != nil {
		return 0, err
	}
	return sum - s.lossPad, nil
}

func (s *sharedState) send(ctx context.Context, t fl.Transport, typ string, v *he.Vector) error {
	b, err := s.params.MarshalVectorRounded(v, s.drop().C0, s.drop().C1)
	if err != nil {
		return err
	}
	return t.Send(ctx, fl.Message{Type: typ, Payload: b})
}

// drop is the low bits every epoch message rounds off, and the most a
// peer's may (he.SlotDropBits).
func (s *sharedState) drop() he.Rounding { return he.SlotDropBits(s.params) }

// unmarshalVector decodes a rounded vector of the peer's, with its c0
// components or c1 alone, and refuses one rounded past s.drop: the epochs'
// precision rests on it.
func (s *sharedState) unmarshalVector(b []byte, c0 bool) (*he.Vector, error) {
	limit := s.drop()
	if !c0 {
		limit.C0 = -1
	}
	return s.params.UnmarshalVectorRoundedWithin(b, limit)
}

// unmarshalShares decodes the peer's rounded encrypted shares and refuses
// them rounded past s.drop.
func (s *sharedState) unmarshalShares(b []byte) (*he.SeededShares, error) {
	ss, drop, err := s.params.UnmarshalSeededSharesRounded(b)
	if limit := s.drop().C0; err == nil && drop > limit {
		err = fmt.Errorf("%w: encrypted shares rounded by %d bits, at most %d keep the training's precision", joint.ErrUnexpectedVector, drop, limit)
	}
	return ss, err
}

// recvVector receives a vector of the given type and checks it.
func (s *sharedState) recvVector(ctx context.Context, t fl.Transport, typ, what string, want joint.VectorWant) (*he.Vector, error) {
	b, err := fl.Expect(ctx, t, typ)
	if err != nil {
		return nil, err
	}
	v, err := s.unmarshalVector(b, typ != TypePartial)
	if err == nil {
		err = joint.CheckVector(s.params, v, what, want)
	}
	if err != nil {
		return nil, fl.Fail(ctx, t, fmt.Errorf("%w: %s from the peer: %w", ErrProtocol, what, err))
	}
	return v, nil
}

// pairedPartial returns the partial scores X Enc(w) of batch b with their
// real parts doubled and two chunks per ciphertext (he.RealParts,
// he.PairChunks): twice the scores, in half the ciphertexts, with nothing
// in the imaginary parts but the odd chunks.
func (s *sharedState) pairedPartial(b int, w *he.Vector) (*he.Vector, error) {
	u, err := s.party.MulVector(s.mats[b], w)
	if err == nil {
		err = s.party.RealParts(u)
	}
	if err != nil {
		return nil, err
	}
	return s.party.PairChunks(u)
}

// scoreShare turns a party's share of the opened paired scores (twice the
// scores, two chunks per ciphertext) into its share of the scores at half
// the sigmoid's scale, two chunks per ciphertext again but with nothing in
// the imaginary parts but the odd chunks: joined at the top level and
// separated by the conjugation key (he.UnpairChunks, which doubles the
// scale), they are the sigmoid's input. The step in between drops the
// cross terms' garbage of the opened pairs' imaginary parts.
func (s *sharedState) scoreShare(sv *he.SharedVector, n int) (*he.SharedVector, error) {
	out, err := s.params.UnpairShares(sv, n)
	if err != nil {
		return nil, err
	}
	out.Scale *= 2 // the pairs held twice the scores
	if err := out.ScaleTo(s.zScale() / 2); err != nil {
		return nil, err
	}
	if shareHook != nil {
		shareHook("scores", s.active, s.steps, out.Clone())
	}
	return s.params.PairShares(out)
}

// openedScores receives the center's opening of the paired scores (the sum
// of the bank's partial scores u, whose c0 the center never had, and the
// center's) and its re-encrypted share, and returns the n scores encrypted
// at the top level.
func (s *sharedState) openedScores(ctx context.Context, t fl.Transport, u *he.Vector, n int) (*he.Vector, error) {
	p := s.params
	tb, err := fl.Expect(ctx, t, TypeScoreMask)
	if err != nil {
		return nil, err
	}
	top, err := s.unmarshalShares(tb)
	if err == nil && top.Level != p.MaxLevel() {
		err = fmt.Errorf("%w: re-encrypted scores at level %d, want %d", he.ErrShares, top.Level, p.MaxLevel())
	}
	if err != nil {
		return nil, fl.Fail(ctx, t, fmt.Errorf("%w: the center's share of the scores: %w", ErrProtocol, err))
	}
	b, err := fl.Expect(ctx, t, TypeOpenScores)
	if err != nil {
		return nil, err
	}
	z, err := func() (*he.Vector, error) {
		opened, err := s.unmarshalVector(b, true)
		if err != nil {
			return nil, err
		}
		if err := joint.CheckVector(p, opened, "opened scores", joint.VectorWant{Layout: he.SlotComplex, Len: p.PairedLen(n), Level: p.Set().DecryptLevel}); err != nil {
			return nil, err
		}
		share, err := s.party.ReceiveOpenedSum(opened, u)
		if err != nil {
			return nil, err
		}
		if openedHook != nil {
			openedHook(true, "scores", share.Clone())
		}
		if share, err = s.scoreShare(share, n); err != nil {
			return nil, err
		}
		paired, err := s.party.JoinShares(top, share)
		if err != nil {
			return nil, err
		}
		return s.party.UnpairChunks(paired, n)
	}()
	if err != nil {
		return nil, fl.Fail(ctx, t, fmt.Errorf("%w: scores from the center: %w", ErrProtocol, err))
	}
	return z, nil
}

// sendScoreMask draws the mask with which the center will open the batch's
// paired scores (n rows, at the scale of the weights w, which the partial
// scores keep), and sends the bank the center's share of the scores it
// makes, re-encrypted at the top level under the center's key share
// (TypeScoreMask). The mask is uniform and independent of the scores, so
// the message can leave before they exist: it crosses the link while both
// parties compute their partial scores, instead of after the opening. The
// bank learns no more from it than from the same ciphertext sent later.
func (s *sharedState) sendScoreMask(ctx context.Context, t fl.Transport, w *he.Vector, n int) (*he.SharedVector, error) {
	p := s.params
	pairs := p.PairedLen(n)
	mask, err := p.DrawOpenMask(he.SlotComplex, pairs, 0, 0, (pairs+p.Slots()-1)/p.Slots(), p.Set().DecryptLevel, w.Cts[0].Scale.Float64(), s.maskBits)
	if err != nil {
		return nil, fl.Fail(ctx, t, err)
	}
	share, err := s.scoreShare(mask, n)
	if err != nil {
		return nil, fl.Fail(ctx, t, err)
	}
	top, err := s.party.EncryptShares(share, p.MaxLevel())
	if err != nil {
		return nil, err
	}
	tb, err := p.MarshalSeededSharesRounded(top, s.drop().C0)
	if err != nil {
		return nil, err
	}
	return mask, t.Send(ctx, fl.Message{Type: TypeScoreMask, Payload: tb})
}

// epochPassive runs the center's side of one epoch.
func (s *sharedState) epochPassive(ctx context.Context, t fl.Transport, opt Options, data Data) error {
	p, party := s.params, s.party
	lin := p.Set().DecryptLevel + 1
	for b, rows := range s.rows {
		w, err := s.weights(ctx, t)
		if err != nil {
			return err
		}
		mask, err := s.sendScoreMask(ctx, t, w, len(rows))
		if err != nil {
			return err
		}
		u, err := s.pairedPartial(b, w)
		if err != nil {
			return fl.Fail(ctx, t, err)
		}
		// The bank's paired partial scores' c1 components (their c0 stay
		// with it).
		ub, err := s.recvVector(ctx, t, TypePartial, "partial scores", joint.VectorWant{Layout: he.SlotComplex, Len: p.PairedLen(len(rows)), Level: lin - 1})
		if err != nil {
			return err
		}
		z, err := party.Add(ub, u)
		if err != nil {
			return fl.Fail(ctx, t, err)
		}
		// Open the scores into the bank's share with the mask drawn
		// before, the center's share.
		if err := s.plan.Admit(p, StepScores, z); err != nil {
			return fl.Fail(ctx, t, err)
		}
		opened, err := party.OpenToPeerWith(z, mask)
		if err != nil {
			return fl.Fail(ctx, t, err)
		}
		if err := s.send(ctx, t, TypeOpenScores, opened); err != nil {
			return err
		}
		dp, err := s.recvVector(ctx, t, TypeResidual, "residual", joint.VectorWant{Layout: he.SlotComplex, Len: p.PairedLen(len(rows)), Level: lin})
		if err != nil {
			return err
		}
		// Twice the residual at twice the scale: X^T d comes out at about
		// twice the parameters' scale, which the update on shares divides.
		d, err := party.UnpairChunks(dp, len(rows))
		if err != nil {
			return fl.Fail(ctx, t, err)
		}
		g, err := party.MulTransposed(s.mats[b], d)
		if err != nil {
			return fl.Fail(ctx, t, err)
		}
		if err := s.gradient(ctx, t, g, w, len(rows)); err != nil {
			return err
		}
	}
	if !opt.lossNeeded() {
		return nil
	}
	return joint.HelpDecryptSum(ctx, t, party, s.plan, StepLoss, s.lossSigma)
}

// finish reveals to each party its own weights: each sends its flooded share
// of the peer's weights and decodes its own from its share and the peer's.
func (s *sharedState) finish(ctx context.Context, t fl.Transport) error {
	p := s.params
	step := StepCenterWeights
	if !s.active {
		step = StepBankWeights
	}
	if err := s.plan.AdmitShares(step, s.peer.w); err != nil {
		return fl.Fail(ctx, t, err)
	}
	flooded, err := p.Flood(s.peer.w, s.peer.shape.Block, s.finalSigma)
	if err != nil {
		return err
	}
	if err := p.Project(s.own.w, s.own.shape.Block); err != nil {
		return err
	}
	msg, err := p.MarshalShares(flooded)
	if err != nil {
		return err
	}
	got, err := fl.Swap(ctx, t, fl.Message{Type: TypeFinal, Payload: msg}, TypeFinal)
	if err != nil {
		return err
	}
	theirs, err := p.UnmarshalShares(got)
	var vals []float64
	if err == nil {
		vals, err = p.DecodeShares(s.own.w, theirs)
	}
	if err == nil && finalHook != nil {
		finalHook(s.active, s.own.w, theirs)
	}
	if err != nil {
		return fl.Fail(ctx, t, fmt.Errorf("%w: final weights from the peer: %w", ErrProtocol, err))
	}
	if !s.kept {
		s.final = s.layOwn.toData(vals)
	}
	return nil
}

func (s *sharedState) save(st *ckptState) error {
	p := s.params
	var parts [][]byte
	for _, sv := range []*he.SharedVector{s.own.w, s.own.v, s.peer.w, s.peer.v} {
		b, err := p.MarshalShares(sv)
		if err != nil {
			return err
		}
		parts = append(parts, b)
	}
	st.Shares, st.Steps, st.Final = fl.JoinParts(parts...), s.steps, s.final
	return nil
}

func (s *sharedState) restore(st *ckptState) error {
	p := s.params
	parts, err := fl.SplitParts(st.Shares, 4)
	if err == nil && len(parts) != 4 {
		err = fmt.Errorf("%d share parts, want 4", len(parts))
	}
	if err != nil {
		return fmt.Errorf("%w: %w", fl.ErrCheckpoint, err)
	}
	dst := []**he.SharedVector{&s.own.w, &s.own.v, &s.peer.w, &s.peer.v}
	for i, b := range parts {
		sv, err := p.UnmarshalShares(b)
		if err != nil {
			return fmt.Errorf("%w: %w", fl.ErrCheckpoint, err)
		}
		if old := *dst[i]; sv.Layout != old.Layout || sv.Len != old.Len || sv.Stride != old.Stride || sv.Chunk != old.Chunk || len(sv.Shares) != len(old.Shares) || sv.Scale != old.Scale {
			return fmt.Errorf("%w: checkpointed shares of another shape", fl.ErrCheckpoint)
		}
		*dst[i] = sv
	}
	if st.Steps < 0 {
		return fmt.Errorf("%w: %d steps", fl.ErrCheckpoint, st.Steps)
	}
	s.steps = st.Steps
	if st.Final != nil {
		if len(st.Final) != len(s.layOwn.toData(make([]float64, s.layOwn.matrix))) {
			return fmt.Errorf("%w: %d final weights", fl.ErrCheckpoint, len(st.Final))
		}
		s.final, s.kept = st.Final, true
	}
	return nil
}
