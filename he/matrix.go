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
// hoisted baby-step rotations and d'/2 plaintext products, and, once per
// call, the giant-step rotations and a log-depth fold.
//
// Layout: X^T is packed two rows per slot (row r in the real part, row r+h in
// the imaginary part, h = ceil(d/2)), padded to d' rows (a power of two that
// divides the slot count). Diagonal k of a chunk is
//
//	diag_k[j] = A[j mod d', j+k]
//
// and the product is sum_g rot_{g*b1}( sum_b rot_{-g*b1}(diag_{g*b1+b}) . rot_b(v) ),
// summed over chunks before the giant-step rotations and the fold
// z += rot(z, d'*2^t), which leaves every slot j holding row j mod d' of the
// result: no slot holds a partial sum, so nothing beyond X^T v is revealed.
type Matrix struct {
	params     Params
	rows, cols int
	half       int // h: rows of the complex-packed transpose
	dPad       int // d'
	baby       int // b1
	level      int // level of the input vector and the diagonals
	pts        [][]*rlwe.Plaintext
}

// matrixShape returns h, d' and b1 for a matrix of rows x cols. The baby
// step b1 balances the hoisted baby-step rotations, paid per chunk of rows,
// against the giant-step rotations, paid once per product (a hoisted rotation
// costs about 0.6 of a plain one): many rows favour small baby steps.
func matrixShape(p Params, rows, cols int) (half, dPad, baby int) {
	half = (cols + 1) / 2
	dPad = 1
	for dPad < half {
		dPad <<= 1
	}
	chunks := float64((rows + p.Slots() - 1) / p.Slots())
	best := math.Inf(1)
	for b := 1; b <= dPad; b <<= 1 {
		cost := chunks*float64(b-1)*0.6 + float64(dPad/b-1)
		if cost < best {
			best, baby = cost, b
		}
	}
	return half, dPad, baby
}

// XtdRotations returns the slot rotations MulTransposed needs for matrices of
// rows x cols; put them in the KeySpec of the key generation.
func XtdRotations(p Params, rows, cols int) []int {
	_, dPad, baby := matrixShape(p, rows, cols)
	var rots []int
	for b := 1; b < baby; b++ {
		rots = append(rots, b)
	}
	for g := baby; g < dPad; g += baby {
		rots = append(rots, g)
	}
	for s := dPad; s < p.Slots(); s <<= 1 {
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
	half, dPad, baby := matrixShape(p.params, rows, cols)
	m := &Matrix{params: p.params, rows: rows, cols: cols, half: half, dPad: dPad, baby: baby, level: p.params.set.DecryptLevel + 1}
	if m.level > p.params.MaxLevel() {
		return nil, fmt.Errorf("he: parameter set %s has no level for a plaintext product", p.params.ID())
	}
	for _, r := range XtdRotations(p.params, rows, cols) {
		if !p.hasGalois(p.params.ckks.GaloisElementForRotation(r)) {
			return nil, fmt.Errorf("he: the key set lacks rotation %d needed for %d columns (add XtdRotations to the KeySpec)", r, cols)
		}
	}
	slots := p.params.Slots()
	chunks := (rows + slots - 1) / slots
	m.pts = make([][]*rlwe.Plaintext, chunks)
	for c := range m.pts {
		m.pts[c] = make([]*rlwe.Plaintext, dPad)
	}
	scale := rlwe.NewScale(p.params.ckks.Q()[m.level])
	errs := make([]error, chunks*dPad)
	parallelFor(chunks*dPad, func(lo, hi int) {
		w := p.worker()
		buf := make([]complex128, slots)
		for t := lo; t < hi; t++ {
			c, k := t/dPad, t%dPad
			g := k / baby * baby
			nonzero := false
			for j := 0; j < slots; j++ {
				// w[j] = diag_k[j - g]
				jj := (j - g + slots) % slots
				r := jj % dPad
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
			if errs[t] = w.encodeSlots(p.params, nil, nil, buf, scale.Float64(), pt); errs[t] != nil {
				return
			}
			m.pts[c][k] = pt
		}
	})
	return m, errors.Join(errs...)
}

// Rows and Cols return the shape of X.
func (m *Matrix) Rows() int { return m.rows }

// Cols returns the number of columns of X.
func (m *Matrix) Cols() int { return m.cols }

// MulTransposed returns X^T v for an encrypted SlotReal vector v of Rows()
// values, as a one-ciphertext SlotSplit vector of Cols() values at the
// decryption level (DESIGN.md section 4, step 3). v is dropped to the
// matrix level first if it is above it.
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
	giants := m.dPad / m.baby
	babyRots := make([]int, 0, m.baby-1)
	for b := 1; b < m.baby; b++ {
		babyRots = append(babyRots, b)
	}
	chunks := len(m.pts)
	// Each worker sums its chunks into its own giant-step accumulators.
	type partial struct{ acc []*rlwe.Ciphertext }
	var parts []partial
	partsCh := make(chan partial, chunks)
	errs := make([]error, chunks)
	parallelFor(chunks, func(lo, hi int) {
		w := p.worker()
		acc := make([]*rlwe.Ciphertext, giants)
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
			for g := 0; g < giants; g++ {
				for b := 0; b < m.baby; b++ {
					pt := m.pts[c][g*m.baby+b]
					if pt == nil {
						continue
					}
					if acc[g] == nil {
						if acc[g], errs[c] = w.eval.MulNew(rot[b], pt); errs[c] != nil {
							return
						}
					} else if errs[c] = w.eval.MulThenAdd(rot[b], pt, acc[g]); errs[c] != nil {
						return
					}
				}
			}
		}
		partsCh <- partial{acc}
	})
	close(partsCh)
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	for pr := range partsCh {
		parts = append(parts, pr)
	}
	eval := p.evaluator.ShallowCopy()
	var z *rlwe.Ciphertext
	for g := 0; g < giants; g++ {
		var sum *rlwe.Ciphertext
		for _, pr := range parts {
			switch {
			case pr.acc[g] == nil:
			case sum == nil:
				sum = pr.acc[g]
			default:
				if err := eval.Add(sum, pr.acc[g], sum); err != nil {
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
	if z == nil { // X is all zeros
		z = ckks.NewCiphertext(p.params.ckks, 1, m.level-1)
		z.Scale = p.params.Scale()
	}
	tmp := ckks.NewCiphertext(p.params.ckks, 1, z.Level())
	for s := m.dPad; s < p.params.Slots(); s <<= 1 {
		if err := eval.Rotate(z, s, tmp); err != nil {
			return nil, err
		}
		if err := eval.Add(z, tmp, z); err != nil {
			return nil, err
		}
	}
	return &Vector{Layout: SlotSplit, Len: m.cols, Stride: m.half, Cts: []*rlwe.Ciphertext{z}}, nil
}
