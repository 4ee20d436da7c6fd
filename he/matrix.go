package he

import (
	"errors"
	"fmt"
	"math"

	"github.com/tuneinsight/lattigo/v5/core/rlwe"
	"github.com/tuneinsight/lattigo/v5/schemes/ckks"
)

// Matrix is a plaintext n x d matrix X prepared for products X^T Enc(v) (the
// gradient X^T d of vertical LR). Preparation encodes the extended diagonals
// of X^T once; every product then costs, per chunk of Slots() rows, a few
// hoisted baby-step rotations and about d/2 plaintext products, and, once per
// call, the giant-step rotations and a log-depth fold per row block.
//
// Layout: X^T is packed two rows per slot (row r in the real part, row r+h in
// the imaginary part, h = ceil(d/2)) and cut into blocks of B rows, B a power
// of two dividing the slot count (the last block padded with zero rows).
// Diagonal k of block a over a chunk is
//
//	diag_{a,k}[j] = A[a*B + (j mod B), j+k]
//
// and the block's product is sum_g rot_{g*b1}( sum_b rot_{-g*b1}(diag_{g*b1+b}) . rot_b(v) ),
// summed over chunks before the giant-step rotations and the fold
// z += rot(z, B*2^t), which leaves every slot j holding row a*B + (j mod B) of
// the result: no slot holds a partial sum, so nothing beyond X^T v is
// revealed. Blocks smaller than the next power of two above h save the
// products a single padded block would spend on zero rows (300 columns: 160
// diagonals per chunk instead of 256); the baby steps are shared by all blocks.
type Matrix struct {
	params     Params
	rows, cols int
	half       int // h: rows of the complex-packed transpose
	block      int // B
	blocks     int
	baby       int                 // b1
	level      int                 // level of the input vector and the diagonals
	pts        [][]*rlwe.Plaintext // [chunk][block*B + k]
	fold       bool                // MulTransposed folds its result
	ptsX       [][]*rlwe.Plaintext // MulVector's diagonals: [chunk][block*B + k], nil without
}

// Relative costs for choosing the shape, in plaintext products: a rotation
// at the product level costs about 15 products, a hoisted one about 9.
const (
	costRotation = 15.0
	costHoisted  = 9.0
)

// Relative costs of SharedShape, in fused plaintext products at Shared15's
// linear level (measured: a product 0.8 ms, a hoisted rotation 19 ms, a
// rotation after the rescale 20 ms, one block's share work per batch on
// both parties about 120 ms: encrypting and joining the weights' shares,
// opening the gradient into shares, folding them, the updates).
const (
	sharedCostRotation = 26.0
	sharedCostHoisted  = 24.0
	sharedCostBlock    = 150.0
)

// maxXtdKeys caps the rotation keys of one matrix shape (a Galois key of
// Linear14 is about 5.5 MiB, generated jointly once per training).
const maxXtdKeys = 48

// matrixShape returns h, B, the number of blocks and b1 for a matrix of rows
// x cols, minimizing products plus rotations for that many row chunks among
// the shapes that need at most maxXtdKeys rotation keys.
func matrixShape(p Params, rows, cols int) (half, block, blocks, baby int) {
	half = (cols + 1) / 2
	chunks := float64((rows + p.Slots() - 1) / p.Slots())
	best := math.Inf(1)
	for B := 1; B < 2*half && B <= p.Slots(); B <<= 1 {
		nb := (half + B - 1) / B
		folds := math.Log2(float64(p.Slots() / B))
		for b := 1; b <= B; b <<= 1 {
			if keys := (b - 1) + (B/b - 1) + int(folds); keys > maxXtdKeys {
				continue
			}
			cost := chunks*float64(nb*B) + chunks*float64(b-1)*costHoisted +
				float64(nb)*(float64(B/b-1)+folds)*costRotation
			if cost < best {
				best, block, blocks, baby = cost, B, nb, b
			}
		}
	}
	return half, block, blocks, baby
}

// XtdRotations returns the slot rotations MulTransposed needs for matrices of
// rows x cols; put them in the KeySpec of the key generation.
func XtdRotations(p Params, rows, cols int) []int {
	_, block, _, baby := matrixShape(p, rows, cols)
	var rots []int
	for b := 1; b < baby; b++ {
		rots = append(rots, b)
	}
	for g := baby; g < block; g += baby {
		rots = append(rots, g)
	}
	for s := block; s < p.Slots(); s <<= 1 {
		rots = append(rots, s)
	}
	return rots
}

// ErrShape is returned when matrix and vector dimensions disagree.
var ErrShape = errors.New("he: shape mismatch")

// PrepareMatrix encodes the diagonals of X^T, X given row-major with rows x
// cols entries (NaN is not allowed: impute first). cols may be at most Slots().
func (p *Party) PrepareMatrix(x []float64, rows, cols int) (*Matrix, error) {
	half, block, blocks, baby := matrixShape(p.params, rows, cols)
	return p.prepareMatrix(x, rows, cols, MatrixShape{Half: half, Block: block, Blocks: blocks, Baby: baby}, true, false)
}

// MatrixShape is the packing of a matrix for its products: Half =
// ceil(cols/2) rows of the complex-packed transpose, cut into Blocks blocks
// of Block rows (a power of two dividing the slot count), and baby steps of
// Baby rotations. It is also the layout of X^T v and of the weights that
// MulVector takes: a SlotSplit vector of stride Half in chunks of Block.
type MatrixShape struct {
	Half, Block, Blocks, Baby int
}

// maxSharedKeys caps the rotation keys of SharedShape (a Galois key of
// Shared15 at its linear level is about 8 MiB).
const maxSharedKeys = 32

// SharedShape returns the shape of a matrix of cols columns for both
// products of secret-shared vertical LR (MulVector and an unfolded
// MulTransposed, one each per batch of up to rows rows), minimizing their
// plaintext products and rotations among the shapes that need at most
// maxSharedKeys keys. It depends on the batch size only through the number
// of chunks, so every batch of a training, and both parties, use one shape.
func SharedShape(p Params, rows, cols int) MatrixShape {
	half := (cols + 1) / 2
	chunks := float64((rows + p.Slots() - 1) / p.Slots())
	best, shape := math.Inf(1), MatrixShape{}
	for B := 1; B < 2*half && B <= p.Slots(); B <<= 1 {
		nb := (half + B - 1) / B
		for b := 1; b <= B; b <<= 1 {
			if keys := (b - 1) + (B/b - 1); keys > maxSharedKeys {
				continue
			}
			giants := float64(B/b - 1)
			cost := 2*chunks*float64(nb*B) + (float64(nb)+chunks)*float64(b-1)*sharedCostHoisted +
				(chunks+float64(nb))*giants*sharedCostRotation + float64(nb)*sharedCostBlock
			if cost < best {
				best, shape = cost, MatrixShape{Half: half, Block: B, Blocks: nb, Baby: b}
			}
		}
	}
	return shape
}

// Rotations returns the slot rotations of the shape's baby and giant steps
// (no fold: SharedShape's products leave it to the shares).
func (s MatrixShape) Rotations() []int {
	var rots []int
	for b := 1; b < s.Baby; b++ {
		rots = append(rots, b)
	}
	for g := s.Baby; g < s.Block; g += s.Baby {
		rots = append(rots, g)
	}
	return rots
}

// PrepareSharedMatrix encodes X for both products of secret-shared vertical
// LR at the parameters' linear level (DecryptLevel + 1): X^T v without the
// final fold, and X w (MulVector). shape comes from SharedShape.
func (p *Party) PrepareSharedMatrix(x []float64, rows, cols int, shape MatrixShape) (*Matrix, error) {
	if shape.Half != (cols+1)/2 || shape.Block < 1 || shape.Block&(shape.Block-1) != 0 || p.params.Slots()%shape.Block != 0 ||
		shape.Blocks != (shape.Half+shape.Block-1)/shape.Block || shape.Baby < 1 || shape.Block%shape.Baby != 0 {
		return nil, fmt.Errorf("%w: matrix shape %+v for %d columns", ErrShape, shape, cols)
	}
	return p.prepareMatrix(x, rows, cols, shape, false, true)
}

func (p *Party) prepareMatrix(x []float64, rows, cols int, shape MatrixShape, fold, scores bool) (*Matrix, error) {
	if rows < 1 || cols < 1 || len(x) != rows*cols {
		return nil, fmt.Errorf("%w: %d values for a %d x %d matrix", ErrShape, len(x), rows, cols)
	}
	if cols > p.params.Slots() {
		return nil, fmt.Errorf("%w: %d columns, at most %d", ErrShape, cols, p.params.Slots())
	}
	half, block, blocks, baby := shape.Half, shape.Block, shape.Blocks, shape.Baby
	m := &Matrix{params: p.params, rows: rows, cols: cols, half: half, block: block, blocks: blocks, baby: baby, level: p.params.set.DecryptLevel + 1, fold: fold}
	if m.level > p.params.MaxLevel() {
		return nil, fmt.Errorf("he: parameter set %s has no level for a plaintext product", p.params.ID())
	}
	rots := shape.Rotations()
	if fold {
		rots = XtdRotations(p.params, rows, cols)
	}
	for _, r := range rots {
		if !p.hasGalois(p.params.ckks.GaloisElementForRotation(r)) {
			return nil, fmt.Errorf("he: the key set lacks rotation %d needed for %d x %d (add the matrix shape's rotations to the KeySpec)", r, rows, cols)
		}
	}
	slots := p.params.Slots()
	chunks := (rows + slots - 1) / slots
	diags := blocks * block
	m.pts = make([][]*rlwe.Plaintext, chunks)
	for c := range m.pts {
		m.pts[c] = make([]*rlwe.Plaintext, diags)
	}
	if scores {
		m.ptsX = make([][]*rlwe.Plaintext, chunks)
		for c := range m.ptsX {
			m.ptsX[c] = make([]*rlwe.Plaintext, diags)
		}
	}
	kinds := 1
	if scores {
		kinds = 2
	}
	scale := float64(p.params.ckks.Q()[m.level])
	errs := make([]error, kinds*chunks*diags)
	parallelFor(kinds*chunks*diags, func(lo, hi int) {
		w := p.worker()
		buf := make([]complex128, slots)
		for t := lo; t < hi; t++ {
			kind, u := t/(chunks*diags), t%(chunks*diags)
			c, a, k := u/diags, (u%diags)/block, u%block
			g := k / baby * baby
			var nonzero bool
			if kind == 0 {
				nonzero = m.transposedDiag(x, c, a, k, g, buf)
			} else {
				nonzero = m.scoreDiag(x, c, a, k, g, buf)
			}
			if !nonzero {
				continue
			}
			pt := ckks.NewPlaintext(p.params.ckks, m.level)
			if errs[t] = w.encodeSlots(p.params, nil, nil, buf, scale, pt); errs[t] != nil {
				return
			}
			if kind == 0 {
				m.pts[c][a*block+k] = pt
			} else {
				m.ptsX[c][a*block+k] = pt
			}
		}
	})
	return m, errors.Join(errs...)
}

// transposedDiag writes rot_{-g}(diag_{a,k}) of X^T over chunk c into buf:
// buf[j] = diag_{a,k}[j - g], diag_{a,k}[j] = A[a*B + (j mod B), j + k].
func (m *Matrix) transposedDiag(x []float64, c, a, k, g int, buf []complex128) bool {
	slots := m.params.Slots()
	nonzero := false
	for j := 0; j < slots; j++ {
		jj := (j - g + slots) % slots
		r := a*m.block + jj%m.block
		row := c*slots + (jj+k)%slots
		var re, im float64
		if r < m.half && row < m.rows {
			re = x[row*m.cols+r]
			if r+m.half < m.cols {
				im = x[row*m.cols+r+m.half]
			}
		}
		buf[j] = complex(re, im)
		nonzero = nonzero || re != 0 || im != 0
	}
	return nonzero
}

// scoreDiag writes MulVector's diagonal of block a, step k = g + j, over
// chunk c, pre-rotated by -g: buf[s] = D[s - g] with
// D[s] = X[cS + s, r] - i X[cS + s, r + h], r = a*B + ((s + k) mod B), so
// that Re(D . rot_k(W_a)) sums X[row, r] w_r + X[row, r+h] w_(r+h).
func (m *Matrix) scoreDiag(x []float64, c, a, k, g int, buf []complex128) bool {
	slots := m.params.Slots()
	nonzero := false
	for s := 0; s < slots; s++ {
		ss := (s - g + slots) % slots
		r := a*m.block + (ss+k)%m.block
		row := c*slots + ss
		var re, im float64
		if r < m.half && row < m.rows {
			re = x[row*m.cols+r]
			if r+m.half < m.cols {
				im = -x[row*m.cols+r+m.half]
			}
		}
		buf[s] = complex(re, im)
		nonzero = nonzero || re != 0 || im != 0
	}
	return nonzero
}

// Rows returns the number of rows of X.
func (m *Matrix) Rows() int { return m.rows }

// Cols returns the number of columns of X.
func (m *Matrix) Cols() int { return m.cols }

// MulTransposed returns X^T v for an encrypted SlotReal vector v of Rows()
// values, as a SlotSplit vector of Cols() values (one ciphertext per row
// block) at the decryption level: the gradient X^T d of vertical LR, which
// the pair then decrypts to X's owner or turns into shares. v is dropped
// to the matrix level first if it is above it. For a matrix from
// PrepareSharedMatrix the result is not folded: slot j of block a holds a
// partial sum of row a*B + (j mod B), and the rows are the sums over the
// slots congruent modulo B (Params.Fold finishes it on shares). Such a
// result must never be decrypted as is.
func (p *Party) MulTransposed(m *Matrix, v *Vector) (*Vector, error) {
	if err := v.check(p.params); err != nil {
		return nil, err
	}
	if v.Layout != SlotReal || v.Len != m.rows {
		return nil, fmt.Errorf("%w: X^T v needs a slot-real vector of %d values, got %s of %d", ErrShape, m.rows, v.Layout, v.Len)
	}
	if v.Level() < m.level {
		return nil, fmt.Errorf("he: X^T v needs the vector at level %d, it is at %d", m.level, v.Level())
	}
	giants := m.block / m.baby
	babyRots := make([]int, 0, m.baby-1)
	for b := 1; b < m.baby; b++ {
		babyRots = append(babyRots, b)
	}
	chunks := len(m.pts)
	// Each worker sums its chunks into its own (block, giant step) accumulators.
	partsCh := make(chan []*rlwe.Ciphertext, chunks)
	errs := make([]error, chunks)
	parallelFor(chunks, func(lo, hi int) {
		w := p.getWorker()
		defer p.putWorker(w)
		acc := make([]*rlwe.Ciphertext, m.blocks*giants)
		rot := map[int]*rlwe.Ciphertext{}
		for _, b := range babyRots {
			rot[b] = ckks.NewCiphertext(p.params.ckks, 1, m.level)
		}
		dacc := w.dotAcc(p.params, m.level+1)
		tmp := ckks.NewCiphertext(p.params.ckks, 1, m.level)
		cts := make([]*rlwe.Ciphertext, m.baby)
		for c := lo; c < hi; c++ {
			ct := v.Cts[c]
			if ct.Level() > m.level {
				ct = w.eval.DropLevelNew(ct, ct.Level()-m.level)
			}
			if len(babyRots) > 0 {
				if errs[c] = w.eval.RotateHoisted(ct, babyRots, rot); errs[c] != nil {
					return
				}
			}
			rot[0] = ct
			for b := range cts {
				cts[b] = rot[b]
			}
			for a := 0; a < m.blocks; a++ {
				for g := 0; g < giants; g++ {
					i := a*giants + g
					dst := tmp
					if acc[i] == nil {
						dst = ckks.NewCiphertext(p.params.ckks, 1, m.level) // the first sum is the accumulator
					}
					if !dotInto(p.params, dacc, dst, cts, m.pts[c][a*m.block+g*m.baby:a*m.block+(g+1)*m.baby]) {
						continue
					}
					if acc[i] == nil {
						acc[i] = dst
					} else if errs[c] = w.eval.Add(acc[i], tmp, acc[i]); errs[c] != nil {
						return
					}
				}
			}
		}
		partsCh <- acc
	})
	close(partsCh)
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	var parts [][]*rlwe.Ciphertext
	for pr := range partsCh {
		parts = append(parts, pr)
	}
	out := &Vector{Layout: SlotSplit, Len: m.cols, Stride: m.half, Chunk: m.block, Cts: make([]*rlwe.Ciphertext, m.blocks)}
	errs = make([]error, m.blocks)
	parallelFor(m.blocks, func(lo, hi int) {
		w := p.getWorker()
		defer p.putWorker(w)
		for a := lo; a < hi; a++ {
			out.Cts[a], errs[a] = p.finishBlock(w.eval, m, parts, a, giants)
		}
	})
	return out, errors.Join(errs...)
}

// finishBlock sums the workers' accumulators of block a, rescales, applies
// the giant-step rotations and folds.
func (p *Party) finishBlock(eval *ckks.Evaluator, m *Matrix, parts [][]*rlwe.Ciphertext, a, giants int) (*rlwe.Ciphertext, error) {
	var z *rlwe.Ciphertext
	for g := 0; g < giants; g++ {
		var sum *rlwe.Ciphertext
		for _, pr := range parts {
			switch acc := pr[a*giants+g]; {
			case acc == nil:
			case sum == nil:
				sum = acc
			default:
				if err := eval.Add(sum, acc, sum); err != nil {
					return nil, err
				}
			}
		}
		if sum == nil {
			continue
		}
		if err := eval.Rescale(sum, sum); err != nil {
			return nil, err
		}
		if g > 0 {
			if err := eval.Rotate(sum, g*m.baby, sum); err != nil {
				return nil, err
			}
		}
		if z == nil {
			z = sum
		} else if err := eval.Add(z, sum, z); err != nil {
			return nil, err
		}
	}
	if z == nil { // the block of X is all zeros
		z = ckks.NewCiphertext(p.params.ckks, 1, m.level-1)
		z.Scale = p.params.Scale()
	}
	if !m.fold {
		return z, nil
	}
	tmp := ckks.NewCiphertext(p.params.ckks, 1, z.Level())
	for s := m.block; s < p.params.Slots(); s <<= 1 {
		if err := eval.Rotate(z, s, tmp); err != nil {
			return nil, err
		}
		if err := eval.Add(z, tmp, z); err != nil {
			return nil, err
		}
	}
	return z, nil
}

// MulVector returns X w for an encrypted weight vector w of Cols() values in
// the matrix's layout (a SlotSplit vector of stride Half in chunks of Block,
// each ciphertext replicated with period Block: the layout of MulTransposed's
// folded result), as a SlotReal vector of Rows() values one level below w.
// The matrix must come from PrepareSharedMatrix; w is dropped to its level.
//
// Only the real parts of the result are X w: the imaginary parts hold sums of
// cross terms. Vertical LR turns the result into shares at once and keeps
// their real parts (Params.AddConjugate); the result must never be decrypted
// as is. Cost: Blocks*(Baby-1) hoisted rotations shared by all chunks, and
// per chunk Blocks*Block plaintext products and Block/Baby - 1 rotations.
func (p *Party) MulVector(m *Matrix, w *Vector) (*Vector, error) {
	if m.ptsX == nil {
		return nil, fmt.Errorf("he: MulVector needs a matrix from PrepareSharedMatrix")
	}
	if err := w.check(p.params); err != nil {
		return nil, err
	}
	if w.Layout != SlotSplit || w.Len != m.cols || w.Stride != m.half || w.Chunk != m.block || len(w.Cts) != m.blocks {
		return nil, fmt.Errorf("%w: X w needs a slot-split vector of %d values (half %d, blocks of %d), got %s of %d (half %d, blocks of %d)",
			ErrShape, m.cols, m.half, m.block, w.Layout, w.Len, w.Stride, w.Chunk)
	}
	if w.Level() < m.level {
		return nil, fmt.Errorf("he: X w needs the weights at level %d, they are at %d", m.level, w.Level())
	}
	babyRots := make([]int, 0, m.baby-1)
	for b := 1; b < m.baby; b++ {
		babyRots = append(babyRots, b)
	}
	// Baby steps of every block, shared by all chunks.
	rot := make([][]*rlwe.Ciphertext, m.blocks)
	errs := make([]error, m.blocks)
	parallelFor(m.blocks, func(lo, hi int) {
		wk := p.getWorker()
		defer p.putWorker(wk)
		for a := lo; a < hi; a++ {
			ct := w.Cts[a]
			if ct.Level() > m.level {
				ct = wk.eval.DropLevelNew(ct, ct.Level()-m.level)
			}
			rot[a] = make([]*rlwe.Ciphertext, m.baby)
			rot[a][0] = ct
			if len(babyRots) == 0 {
				continue
			}
			out := map[int]*rlwe.Ciphertext{}
			for _, b := range babyRots {
				out[b] = ckks.NewCiphertext(p.params.ckks, 1, m.level)
			}
			if errs[a] = wk.eval.RotateHoisted(ct, babyRots, out); errs[a] != nil {
				return
			}
			for _, b := range babyRots {
				rot[a][b] = out[b]
			}
		}
	})
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	chunks := len(m.ptsX)
	giants := m.block / m.baby
	out := &Vector{Layout: SlotReal, Len: m.rows, Cts: make([]*rlwe.Ciphertext, chunks)}
	errs = make([]error, chunks)
	parallelFor(chunks, func(lo, hi int) {
		wk := p.getWorker()
		defer p.putWorker(wk)
		dacc := wk.dotAcc(p.params, m.level+1)
		cts := make([]*rlwe.Ciphertext, 0, m.blocks*m.baby)
		pts := make([]*rlwe.Plaintext, 0, m.blocks*m.baby)
		for c := lo; c < hi; c++ {
			var y *rlwe.Ciphertext
			for g := 0; g < giants; g++ {
				cts, pts = cts[:0], pts[:0]
				for a := 0; a < m.blocks; a++ {
					for b := 0; b < m.baby; b++ {
						cts = append(cts, rot[a][b])
						pts = append(pts, m.ptsX[c][a*m.block+g*m.baby+b])
					}
				}
				acc := ckks.NewCiphertext(p.params.ckks, 1, m.level)
				if !dotInto(p.params, dacc, acc, cts, pts) {
					continue
				}
				if errs[c] = wk.eval.Rescale(acc, acc); errs[c] != nil {
					return
				}
				if g > 0 {
					if errs[c] = wk.eval.Rotate(acc, g*m.baby, acc); errs[c] != nil {
						return
					}
				}
				if y == nil {
					y = acc
				} else if errs[c] = wk.eval.Add(y, acc, y); errs[c] != nil {
					return
				}
			}
			if y == nil { // this chunk of X is all zeros
				y = ckks.NewCiphertext(p.params.ckks, 1, m.level-1)
				y.Scale = w.Cts[0].Scale
			}
			out.Cts[c] = y
		}
	})
	return out, errors.Join(errs...)
}

// AddWeighted adds coef . w to g, slot by slot: g an unfolded X^T v of a
// shared matrix (level DecryptLevel, SlotSplit), w the weights in the same
// layout at the level above (as MulVector takes them), coef one real factor
// per slot of each block (len Blocks*Slots). The product with a plaintext
// encoded at the prime it is rescaled by lands on g's scale. Vertical LR
// adds its L2 term this way, coef zero at the intercept's slots.
func (p *Party) AddWeighted(g, w *Vector, coef []float64) error {
	if err := g.check(p.params); err != nil {
		return err
	}
	if err := w.check(p.params); err != nil {
		return err
	}
	slots := p.params.Slots()
	if g.Layout != SlotSplit || w.Layout != SlotSplit || len(g.Cts) != len(w.Cts) || g.Stride != w.Stride || g.Chunk != w.Chunk || len(coef) != len(w.Cts)*slots {
		return fmt.Errorf("%w: weighted sum of %d and %d blocks with %d factors", ErrShape, len(g.Cts), len(w.Cts), len(coef))
	}
	errs := make([]error, len(g.Cts))
	parallelFor(len(g.Cts), func(lo, hi int) {
		wk := p.getWorker()
		defer p.putWorker(wk)
		for a := lo; a < hi; a++ {
			ct := w.Cts[a]
			if ct.Level() != g.Cts[a].Level()+1 {
				errs[a] = fmt.Errorf("he: weights at level %d for a sum at level %d", ct.Level(), g.Cts[a].Level())
				return
			}
			q := float64(p.params.ckks.Q()[ct.Level()])
			pt := ckks.NewPlaintext(p.params.ckks, ct.Level())
			if errs[a] = wk.encodeSlots(p.params, coef[a*slots:(a+1)*slots], nil, nil, q*g.Cts[a].Scale.Float64()/ct.Scale.Float64(), pt); errs[a] != nil {
				return
			}
			prod, err := wk.eval.MulNew(ct, pt)
			if err == nil {
				err = wk.eval.Rescale(prod, prod)
			}
			if err != nil {
				errs[a] = err
				return
			}
			prod.Scale = g.Cts[a].Scale // equal up to float rounding (2^-52)
			errs[a] = wk.eval.Add(g.Cts[a], prod, g.Cts[a])
		}
	})
	return errors.Join(errs...)
}
