package model

import (
	"cmp"
	"fmt"
	"math"
	"slices"
)

// ROCPoint is one point of a ROC curve: rows scoring at least Threshold are
// called positive.
type ROCPoint struct {
	FPR       float64
	TPR       float64
	Threshold float64
}

// LiftBucket is one score bucket of a lift table. Buckets run from the highest
// scores (Bucket 1) to the lowest.
type LiftBucket struct {
	Bucket    int     // 1-based, 1 = highest scores
	Count     int     // rows in the bucket
	Positives int     // rows with label 1
	Rate      float64 // Positives / Count
	Lift      float64 // Rate / overall positive rate
	// CumulativeCapture is the share of all positives found in buckets
	// 1..Bucket.
	CumulativeCapture float64
	MinScore          float64
	MaxScore          float64
}

// checkBinary validates scores and labels for the ranking metrics and returns
// the class counts.
func checkBinary(scores, labels []float64) (pos, neg int, err error) {
	if len(scores) != len(labels) {
		return 0, 0, fmt.Errorf("%w: %d scores and %d labels", ErrShape, len(scores), len(labels))
	}
	for i, y := range labels {
		switch y {
		case 1:
			pos++
		case 0:
			neg++
		default:
			return 0, 0, fmt.Errorf("%w: labels[%d] = %v, want 0 or 1", ErrLabels, i, y)
		}
		if math.IsNaN(scores[i]) {
			return 0, 0, fmt.Errorf("%w: scores[%d] is NaN", ErrNotFinite, i)
		}
	}
	if pos == 0 || neg == 0 {
		return 0, 0, fmt.Errorf("%w: %d positives and %d negatives, the metric needs both classes", ErrLabels, pos, neg)
	}
	return pos, neg, nil
}

// order returns the row indices sorted by decreasing score, ties by
// increasing index.
func order(scores []float64) []int {
	idx := make([]int, len(scores))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(scores[b], scores[a]) })
	return idx
}

// AUC returns the area under the ROC curve: the probability that a random
// positive scores above a random negative, ties counting one half (the
// Mann-Whitney statistic with average ranks). O(n log n). Labels must be 0
// or 1 with both present; scores may be ±Inf but not NaN.
func AUC(scores, labels []float64) (float64, error) {
	pos, neg, err := checkBinary(scores, labels)
	if err != nil {
		return 0, err
	}
	idx := order(scores)
	// Walk from the top; each run of tied scores gets the average of the
	// ranks it spans (ranks counted from the bottom, 1-based).
	n := len(idx)
	rankSum := 0.0
	for i := 0; i < n; {
		j := i
		p := 0
		for j < n && scores[idx[j]] == scores[idx[i]] {
			if labels[idx[j]] == 1 {
				p++
			}
			j++
		}
		// Positions i..j-1 from the top are ranks n-i .. n-j+1 from the bottom.
		avg := float64(2*n-i-j+1) / 2
		rankSum += float64(p) * avg
		i = j
	}
	np, nn := float64(pos), float64(neg)
	return (rankSum - np*(np+1)/2) / (np * nn), nil
}

// ROC returns the ROC curve: a first point (0, 0) at threshold +Inf, then one
// point per distinct score in decreasing order, the last being (1, 1) at the
// smallest score.
func ROC(scores, labels []float64) ([]ROCPoint, error) {
	pos, neg, err := checkBinary(scores, labels)
	if err != nil {
		return nil, err
	}
	idx := order(scores)
	pts := []ROCPoint{{FPR: 0, TPR: 0, Threshold: math.Inf(1)}}
	tp, fp := 0, 0
	for i := 0; i < len(idx); {
		s := scores[idx[i]]
		for ; i < len(idx) && scores[idx[i]] == s; i++ {
			if labels[idx[i]] == 1 {
				tp++
			} else {
				fp++
			}
		}
		pts = append(pts, ROCPoint{FPR: float64(fp) / float64(neg), TPR: float64(tp) / float64(pos), Threshold: s})
	}
	return pts, nil
}

// KS returns the Kolmogorov-Smirnov statistic, max |TPR - FPR| over the
// points of the ROC curve.
func KS(scores, labels []float64) (float64, error) {
	pts, err := ROC(scores, labels)
	if err != nil {
		return 0, err
	}
	ks := 0.0
	for _, p := range pts {
		ks = max(ks, math.Abs(p.TPR-p.FPR))
	}
	return ks, nil
}

// Lift returns the lift table over buckets equal-count score buckets (10,
// deciles, when buckets <= 0), highest scores first. Rows are ranked by
// decreasing score, ties by increasing row index, and bucket k holds ranks
// [k*n/buckets, (k+1)*n/buckets), so sizes differ by at most one and tied
// scores may straddle two buckets.
func Lift(scores, labels []float64, buckets int) ([]LiftBucket, error) {
	pos, _, err := checkBinary(scores, labels)
	if err != nil {
		return nil, err
	}
	if buckets <= 0 {
		buckets = 10
	}
	n := len(scores)
	if buckets > n {
		return nil, fmt.Errorf("%w: %d buckets for %d rows", ErrShape, buckets, n)
	}
	idx := order(scores)
	base := float64(pos) / float64(n)
	out := make([]LiftBucket, buckets)
	cum := 0
	for k := range out {
		lo, hi := k*n/buckets, (k+1)*n/buckets
		b := LiftBucket{Bucket: k + 1, Count: hi - lo, MaxScore: scores[idx[lo]], MinScore: scores[idx[hi-1]]}
		for _, i := range idx[lo:hi] {
			if labels[i] == 1 {
				b.Positives++
			}
		}
		cum += b.Positives
		b.Rate = float64(b.Positives) / float64(b.Count)
		b.Lift = b.Rate / base
		b.CumulativeCapture = float64(cum) / float64(pos)
		out[k] = b
	}
	return out, nil
}
