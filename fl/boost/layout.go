package boost

import (
	"fmt"
	"math"

	"github.com/veil-fl/veil/he"
	"github.com/veil-fl/veil/model"
)

// partSizes are the bins of one part the parted layouts may use, widest
// first.
var partSizes = []int{8, 4, 2}

// autoSeconds is the wall time the center's packing spends per sparse
// product and vector (g or h): 1.5 ms measured on the idle 2-core test
// machine (he.Histograms over 40 kernel features of 8 bins at 24 and at 96
// chunks of 1,024 rows: 155 and 267 ms, the packing the part that does not
// grow with the chunks; one automorphism with key switching at he.Hist13
// takes 1.9 ms of one core, and the packing's zeroing rounds take several
// per sparse product, spread over both cores). It only weighs a parted
// layout's extra packing against the bytes it saves (chooseLayout), never
// anything a result depends on.
const autoSeconds = 1.5e-3

// histLayout is how one level's gradients travel and its histograms are
// computed, derived by both parties from the level message and the
// training's options, so it needs no message of its own.
//
// The whole layout keeps the center's bins as they are: K bins, input
// chunks of he.HistogramChunk values (N/K' or half that, K' = 32 for 32
// bins: 256 rows per ciphertext). A parted layout cuts each center
// feature's K cumulative sums into P = ceil(K/B) parts of B = 8, 4 or 2
// bins (partSizes): part p of feature f is a feature of its own (index
// f*P + p) whose bin is 0 for a row in a bin below Bp, b - Bp for a bin b
// in [Bp, Bp+B), and none above: its B cumulative sums are the feature's
// at bins Bp..Bp+B-1. With B bins the kernel's chunks hold N/B rows (1,024,
// 2,048 or 4,096), so the bank sends 32/B times fewer bytes than for 32
// bins; the decrypted vector's layout is the whole layout's for BP bins
// (feature f's sum at bin b at (node*F + f)*BP + b), the sums past the
// feature's last bin repeating it as they do in the whole layout. The
// price is packing: P times the sparse products, so P times the
// automorphisms, and for B < 8 more packing rounds, whose noise
// he.Hist13's bound covers (he.HistNoiseBound). A parted layout is chosen
// when the bytes it saves take longer on the bank's link
// (Options.LinkMbps) than the packing it adds (autoSeconds); never without
// a link speed.
type histLayout struct {
	parted bool
	// K is the bins of the kernel's features (K, or B), P the kernel
	// features per center feature (1, or ceil(K/B)), Width the values per
	// center feature in the decrypted vector (K, or BP).
	K, P, Width int
	// S is the rows per gradient ciphertext.
	S int
}

// partsOf returns the parts of B bins of a center feature of K bins.
func partsOf(K, B int) int { return (K + B - 1) / B }

// layoutWidth is the most values per center feature a decrypted
// histogram holds in any layout: the largest B ceil(K/B) >= K.
func layoutWidth(K int) int {
	w := K
	for _, B := range partSizes {
		w = max(w, B*partsOf(K, B))
	}
	return w
}

// wholeLayout is the layout of the center's bins as they are.
func wholeLayout(p he.Params, K, entries, rows int) histLayout {
	return histLayout{K: K, P: 1, Width: K, S: he.HistogramChunk(p, K, entries, rows)}
}

// partedLayout is the layout in parts of B bins, in full chunks.
func partedLayout(p he.Params, K, B int) histLayout {
	return histLayout{parted: true, K: B, P: partsOf(K, B), Width: B * partsOf(K, B), S: he.HistogramStride(p, B)}
}

// kernelSeconds is the wall time the center's kernel spends per product of
// an input chunk by one kernel feature's 0/1 polynomial, g and h together:
// 39 us measured with autoSeconds (the 112 ms the 72 extra chunks of 40
// features add). Like autoSeconds it only weighs the layouts' costs
// (chooseLayout). With both measured (they were guesses, 2 ms and 0.1 ms,
// before), on default_credit 30x3 at LinkMbps 100 the bank sent 143 MB
// instead of 170 and the training on a 100 Mbit/s link took 30.1 s
// instead of 31.8 (bench wan_sbt_default_credit, two processes, medians of
// 3 runs, before the gradients travelled rounded); the trees are
// identical to the twin's either way.
const kernelSeconds = 4e-5

// chooseLayout picks the layout of a level that computes nodes nodes over
// rows rows in all, for F center features of K bins, on a link of
// linkMbps (0: none given, the whole layout): the one whose gradient
// bytes on the link plus the center's kernel and packing time is the
// smallest, the whole layout on a tie.
func chooseLayout(p he.Params, K, F, nodes, rows int, linkMbps float64) histLayout {
	l, _ := chooseLevel(p, K, F, nodes, rows, 0, nil, linkMbps)
	return l
}

// chooseLevel is chooseLayout for a level below a root of n rows whose
// gradients the center kept in layout root (nil at the root, or when it
// keeps none): it also weighs computing the level's nodes from the root's
// ciphertexts (reuse), with no bytes at all, each node's histograms over
// all n rows with the rows outside it in no bin (their 0/1 polynomials
// restricted to the node): the kernel's work for every node over every
// chunk, against the gradients of the level's rows alone.
func chooseLevel(p he.Params, K, F, nodes, rows, n int, root *histLayout, linkMbps float64) (l histLayout, reuse bool) {
	best := wholeLayout(p, K, nodes*F, rows)
	if linkMbps <= 0 {
		return best, false
	}
	packing := func(l histLayout) float64 {
		sparse := nodes * F * l.P
		if l.S < he.HistogramStride(p, l.K) {
			sparse = (sparse + 1) / 2 // two kernel features per product
		}
		return 2 * float64(sparse) * autoSeconds
	}
	cost := func(l histLayout) float64 {
		// Ciphertexts per vector: the rows, each node but the last padded
		// to a chunk boundary.
		cts := (rows+l.S-1)/l.S + nodes - 1
		bytes := 2 * float64(cts) * gradientBytes(p, l, rows)
		return bytes*8/(linkMbps*1e6) + float64(cts*F*l.P)*kernelSeconds + packing(l)
	}
	least := cost(best)
	for _, B := range partSizes {
		if B >= K {
			continue // one part: the whole layout's bins in other chunks
		}
		if l := partedLayout(p, K, B); cost(l) < least {
			best, least = l, cost(l)
		}
	}
	if root != nil {
		chunks := (n + root.S - 1) / root.S
		if c := float64(chunks*nodes*F*root.P)*kernelSeconds + packing(*root); c < least {
			return *root, true
		}
	}
	return best, false
}

// gradientBytes is the size of one seeded gradient ciphertext on the wire
// in layout l: its first component at the top level, rounded by the bits
// the noise bound allows for rows rows (he.HistInputDropBits; the level's
// rows in all, no fewer than its largest node's, so never an
// underestimate).
func gradientBytes(p he.Params, l histLayout, rows int) float64 {
	logQ := 0
	for _, q := range p.Set().LogQ {
		logQ += q
	}
	return float64(p.N()) * float64(logQ-he.HistInputDropBits(p, rows, l.S, l.K)) / 8
}

// kernelBins returns the bins of the kernel's features for the center's
// (merged) bins of the level's rows: bins itself in the whole layout; in
// the parted one, for every feature f its P parts f*P + p.
func (l histLayout) kernelBins(bins [][]uint8) [][]uint8 {
	if !l.parted {
		return bins
	}
	B := l.K
	out := make([][]uint8, len(bins)*l.P)
	for f, col := range bins {
		for part := range l.P {
			lo := part * B
			vb := make([]uint8, len(col))
			for j, b := range col {
				switch {
				case b == model.MissingBin || int(b) >= lo+B:
					vb[j] = uint8(B) // in no bin of this part
				case int(b) < lo:
					vb[j] = 0
				default:
					vb[j] = b - uint8(lo)
				}
			}
			out[f*l.P+part] = vb
		}
	}
	return out
}

// checkLink refuses a link speed that is not a finite number at or above 0.
func checkLink(mbps float64) error {
	if math.IsNaN(mbps) || math.IsInf(mbps, 0) || mbps < 0 {
		return fmt.Errorf("%w: LinkMbps %v, want a finite speed in Mbit/s at or above 0 (0: not given)", model.ErrOptions, mbps)
	}
	return nil
}

// dpWidth is the number of cumulative sums per center feature the
// differential privacy noise is sized for (DP.Sigma): the widest layout a
// level may use, K without a link speed (the whole layout only).
func dpWidth(K int, linkMbps float64) int {
	if linkMbps > 0 {
		return layoutWidth(K)
	}
	return K
}
