package dataset

import (
	"fmt"
	"math"
	"slices"
)

// StratifiedSplit splits row indices into train and test sets, keeping each
// label value's share the same in both: round(testFrac x n_k) rows of each
// label value k go to test. Rows with a NaN label form their own stratum. The
// same labels, testFrac and seed give the same split; both lists are sorted.
// testFrac must be in [0, 1); 0 gives an empty test set.
func StratifiedSplit(labels []float64, testFrac float64, seed int64) (train, test []int, err error) {
	if !(testFrac >= 0 && testFrac < 1) {
		return nil, nil, fmt.Errorf("dataset: test fraction %v is outside [0, 1)", testFrac)
	}
	strata := make(map[float64][]int)
	var nan []int
	for i, y := range labels {
		if math.IsNaN(y) {
			nan = append(nan, i)
		} else {
			strata[y] = append(strata[y], i)
		}
	}
	keys := make([]float64, 0, len(strata))
	for k := range strata {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	groups := make([][]int, 0, len(keys)+1)
	for _, k := range keys {
		groups = append(groups, strata[k])
	}
	if nan != nil {
		groups = append(groups, nan)
	}
	r := newRNG(seed, 1<<63)
	train = make([]int, 0, len(labels))
	test = make([]int, 0)
	for _, g := range groups {
		r.shuffle(g)
		k := int(math.Round(testFrac * float64(len(g))))
		test = append(test, g[:k]...)
		train = append(train, g[k:]...)
	}
	slices.Sort(train)
	slices.Sort(test)
	return train, test, nil
}
