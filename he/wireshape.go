package he

import (
	"math"
	"math/bits"
)

// LinkBytesPerSecond is the link SharedShapeWire weighs bytes by unless
// told otherwise: 100 Mbit/s, a bank's leased line or WAN to a credit
// center.
const LinkBytesPerSecond = 100e6 / 8

// sharedCostSeconds is the time of one unit of SharedShape's costs (a
// fused plaintext product at Shared15's linear level).
const sharedCostSeconds = 0.8e-3

// SharedShapeWire is SharedShape for a training of steps batches over a
// link of link bytes per second (0: LinkBytesPerSecond), which adds to
// each shape's cost the time its bytes take on the link: per batch and
// block, the weights' share encrypted at the linear level (seeded, packed)
// and the gradient opened at the share level (two polynomials, packed),
// and, spread over the steps, each rotation key's shares in the key
// generation. Fewer, wider blocks send less and may compute more; the
// shapes, and so the keys, stay within maxSharedKeys.
func SharedShapeWire(p Params, rows, cols, steps int, link float64) MatrixShape {
	if link <= 0 {
		link = LinkBytesPerSecond
	}
	lin := p.set.DecryptLevel + 1
	qBits := func(level int) float64 {
		b := 0
		for _, q := range p.ckks.Q()[:level+1] {
			b += bits.Len64(q - 1)
		}
		return float64(b)
	}
	n := float64(p.N())
	blockBytes := n*qBits(lin)/8 + 2*n*qBits(lin-1)/8
	// A Galois key share: one polynomial over Q_lin P per decomposition
	// digit, from each party, unpacked.
	pc := len(p.ckks.P())
	digits := (lin + pc) / pc
	keyBytes := 2 * float64(digits*(lin+1+pc)) * n * 8
	unit := func(bytes float64) float64 { return bytes / link / sharedCostSeconds }
	perKey := unit(keyBytes) / math.Max(float64(steps), 1)

	half := (cols + 1) / 2
	chunks := float64((rows + p.Slots() - 1) / p.Slots())
	best, shape := math.Inf(1), MatrixShape{}
	for B := 1; B < 2*half && B <= p.Slots(); B <<= 1 {
		nb := (half + B - 1) / B
		for b := 1; b <= B; b <<= 1 {
			keys := (b - 1) + (B/b - 1)
			if keys > maxSharedKeys {
				continue
			}
			giants := float64(B/b - 1)
			cost := 2*chunks*float64(nb*B) + (float64(nb)+chunks)*float64(b-1)*sharedCostHoisted +
				(chunks+float64(nb))*giants*sharedCostRotation + float64(nb)*(sharedCostBlock+unit(blockBytes)) +
				float64(keys)*perKey
			if cost < best {
				best, shape = cost, MatrixShape{Half: half, Block: B, Blocks: nb, Baby: b}
			}
		}
	}
	return shape
}
