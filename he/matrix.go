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
}

// Relative costs for choosing the shape, in plaintext products: a rotation
// at the product level costs about 15 products, a hoisted one about 9.
const (
	costRotation = 15.0
	costHoisted  = 9.0
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
	if rows < 1 || cols < 1 || len(x) != rows*cols {
		return nil, fmt.Errorf("%w: %d values for a %d x %d matrix", ErrShape, len(x), rows, cols)
	}
	if cols > p.params.Slots() {
		return nil, fmt.Errorf("%w: %d columns, at most %d", ErrShape, cols, p.params.Slots())
	}
	half, block, blocks, baby := matrixShape(p.params, rows, cols)
	m := &Matrix{params: p.params, rows: rows, cols: cols, half: half, block: block, blocks: blocks, baby: baby, level: p.params.set.DecryptLevel + 1}
	if m.level > p.params.MaxLevel() {
		return nil, fmt.Errorf("he: parameter set %s has no level for a plaintext product", p.params.ID())
	}
	for _, r := range XtdRotations(p.params, rows, cols) {
		if !p.hasGalois(p.params.ckks.GaloisElementForRotation(r)) {
			return nil, fmt.Errorf("he: the key set lacks rotation %d needed for %d x %d (add XtdRotations to the KeySpec)", r, rows, cols)
		}
	}
	slots := p.params.Slots()
	chunks := (rows + slots - 1) / slots
	diags := blocks * block
	m.pts = make([][]*rlwe.Plaintext, chunks)
	for c := range m.pts {
		m.pts[c] = make([]*rlwe.Plaintext, diags)
	}
	scale := float64(p.params.ckks.Q()[m.level])
	errs := make([]error, chunks*diags)
	parallelFor(chunks*diags, func(lo, hi int) {
		w := p.worker()
		buf := make([]complex128, slots)
		for t := lo; t < hi; t++ {
			c, a, k := t/diags, (t%diags)/block, t%block
			g := k / baby * baby
			nonzero := false
			for j := 0; j < slots; j++ {
				// w[j] = diag_{a,k}[j - g]
				jj := (j - g + slots) % slots
				r := a*block + jj%block
				row := c*slots + (jj+k)%slots
				var re, im float64
				if r < half && row < rows {
					re = x[row*cols+r]
					if r+half < cols {
						im = x[row*cols+r+half]
					}
				}
				buf[j] = complex(re, im)
				nonzero = nonzero || re != 0 || im != 0
			}
			if !nonzero {
				continue
			}
			pt := ckks.NewPlaintext(p.params.ckks, m.level)
			if errs[t] = w.encodeSlots(p.params, nil, nil, buf, scale, pt); errs[t] != nil {
				return
			}
			m.pts[c][a*block+k] = pt
		}
	})
	return m, errors.Join(errs...)
}

// Rows returns the number of rows of X.
func (m *Matrix) Rows() int { return m.rows }

// Cols returns the number of columns of X.
func (m *Matrix) Cols() int { return m.cols }

// MulTransposed returns X^T v for an encrypted SlotReal vector v of Rows()
// values, as a SlotSplit vector of Cols() values (one ciphertext per row
// block) at the decryption level (DESIGN.md section 4, step 3). v is dropped
// to the matrix level first if it is above it.
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
		w := p.worker()
		acc := make([]*rlwe.Ciphertext, m.blocks*giants)
		rot := map[int]*rlwe.Ciphertext{}
		for _, b := range babyRots {
			rot[b] = ckks.NewCiphertext(p.params.ckks, 1, m.level)
		}
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
			for a := 0; a < m.blocks; a++ {
				for g := 0; g < giants; g++ {
					i := a*giants + g
					for b := 0; b < m.baby; b++ {
						pt := m.pts[c][a*m.block+g*m.baby+b]
						if pt == nil {
							continue
						}
						if acc[i] == nil {
							if acc[i], errs[c] = w.eval.MulNew(rot[b], pt); errs[c] != nil {
								return
							}
						} else if errs[c] = w.eval.MulThenAdd(rot[b], pt, acc[i]); errs[c] != nil {
							return
						}
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
		eval := p.evaluator.ShallowCopy()
		for a := lo; a < hi; a++ {
			out.Cts[a], errs[a] = p.finishBlock(eval, m, parts, a, giants)
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
