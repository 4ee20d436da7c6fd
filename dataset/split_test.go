package dataset

import (
	"math"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestStratifiedSplit(t *testing.T) {
	// 300 positives, 698 negatives, 2 NaN labels.
	labels := make([]float64, 1000)
	for i := range labels {
		if i%10 < 3 {
			labels[i] = 1
		}
	}
	labels[17] = math.NaN()
	labels[18] = math.NaN()
	tests := []struct {
		frac                     float64
		wantTrain, wantTest      int
		wantTestPos, wantTestNaN int
	}{
		{0.2, 800, 200, 60, 0}, // 60 + 140 + round(0.4)
		{0, 1000, 0, 0, 0},
		{0.5, 500, 500, 150, 1},
		{0.999, 1, 999, 300, 2},
	}
	for _, tt := range tests {
		train, test, err := StratifiedSplit(labels, tt.frac, 42)
		require.NoError(t, err)
		require.Len(t, train, tt.wantTrain, "frac %v", tt.frac)
		require.Len(t, test, tt.wantTest, "frac %v", tt.frac)
		pos, nan := 0, 0
		for _, i := range test {
			switch {
			case math.IsNaN(labels[i]):
				nan++
			case labels[i] == 1:
				pos++
			}
		}
		require.Equal(t, tt.wantTestPos, pos, "positives in test, frac %v", tt.frac)
		require.Equal(t, tt.wantTestNaN, nan, "NaN labels in test, frac %v", tt.frac)
		require.True(t, slices.IsSorted(train) && slices.IsSorted(test), "frac %v: lists not sorted", tt.frac)
		all := append(slices.Clone(train), test...)
		slices.Sort(all)
		require.Len(t, slices.Compact(all), len(labels), "frac %v: not a partition", tt.frac)

		train2, test2, err := StratifiedSplit(labels, tt.frac, 42)
		require.NoError(t, err)
		require.Equal(t, train, train2, "frac %v: same seed, another split", tt.frac)
		require.Equal(t, test, test2, "frac %v: same seed, another split", tt.frac)
	}
	_, a, _ := StratifiedSplit(labels, 0.2, 1)
	_, b, _ := StratifiedSplit(labels, 0.2, 2)
	require.NotEqual(t, a, b, "seeds 1 and 2 gave the same split")
}

func TestStratifiedSplitEdges(t *testing.T) {
	for _, frac := range []float64{-0.1, 1, 1.5, math.NaN(), math.Inf(1)} {
		_, _, err := StratifiedSplit([]float64{0, 1}, frac, 1)
		require.Error(t, err, "test fraction %v", frac)
	}
	train, test, err := StratifiedSplit(nil, 0.3, 1)
	require.NoError(t, err)
	require.Empty(t, train)
	require.Empty(t, test)
}
