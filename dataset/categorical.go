package dataset

import (
	"math"
	"slices"
	"strconv"
)

// Categorical columns are built in two steps. While rows are read, each
// reader (a CSV chunk, a typed source) interns the labels it meets in a
// labelSet per column and keeps a local id per text cell. Once all rows are
// in, the sets are merged and sorted into the column's dictionary and the
// local ids become indexes into it. The sorted dictionary does not depend on
// how the input was cut into chunks, so neither does the table.

// labelSet interns the labels one reader met in one column, in the order
// met.
type labelSet struct {
	index  map[string]int32
	labels []string
}

func newLabelSet() *labelSet { return &labelSet{index: make(map[string]int32)} }

// id returns b's local id, adding b when it is new. Looking up string(b)
// does not allocate: a label costs one allocation per reader, not per cell.
func (s *labelSet) id(b []byte) int32 {
	if k, ok := s.index[string(b)]; ok {
		return k
	}
	l := string(b)
	k := int32(len(s.labels))
	s.index[l] = k
	s.labels = append(s.labels, l)
	return k
}

// remap returns, for each local id of s, its index in the dictionary.
func (s *labelSet) remap(index map[string]int) []float64 {
	out := make([]float64, len(s.labels))
	for k, l := range s.labels {
		out[k] = float64(index[l])
	}
	return out
}

// collectLabels adds the labels of every set to seen.
func collectLabels(seen map[string]int, sets ...*labelSet) {
	for _, s := range sets {
		if s != nil {
			for _, l := range s.labels {
				seen[l] = 0
			}
		}
	}
}

// numberLabels adds to seen the label of every number in column k of x (d
// columns): its shortest form, so that "007" and "7.0" are one label "7".
// An auto-detected column labels its numeric cells so; NaN cells are
// missing values or text cells, labelled apart.
func numberLabels(seen map[string]int, x []float64, d, k int) {
	var buf []byte
	for i := k; i < len(x); i += d {
		if v := x[i]; !math.IsNaN(v) {
			buf = strconv.AppendFloat(buf[:0], v, 'g', -1, 64)
			if _, ok := seen[string(buf)]; !ok {
				seen[string(buf)] = 0
			}
		}
	}
}

// relabelNumbers replaces every number in column k of x by the index of its
// label (numberLabels).
func relabelNumbers(index map[string]int, x []float64, d, k int) {
	var buf []byte
	for i := k; i < len(x); i += d {
		if v := x[i]; !math.IsNaN(v) {
			buf = strconv.AppendFloat(buf[:0], v, 'g', -1, 64)
			x[i] = float64(index[string(buf)])
		}
	}
}

// sortLabels returns the keys of seen in byte order and sets each key's
// value to its index there.
func sortLabels(seen map[string]int) []string {
	labels := make([]string, 0, len(seen))
	for l := range seen {
		labels = append(labels, l)
	}
	slices.Sort(labels)
	for i, l := range labels {
		seen[l] = i
	}
	return labels
}

// emptyColumn returns the first column of x (d columns) with no value, or
// -1. It stops at the first row by which every column had a value, which
// for most tables is the first.
func emptyColumn(x []float64, d int) int {
	if d == 0 {
		return -1
	}
	found := make([]bool, d)
	left := d
	for i := 0; i+d <= len(x) && left > 0; i += d {
		for j, v := range x[i : i+d] {
			if !found[j] && !math.IsNaN(v) {
				found[j] = true
				left--
			}
		}
	}
	return slices.Index(found, false)
}

// errAllMissing words an empty feature column.
func errAllMissing() error {
	return detail(ErrAllMissing, "every cell is missing: the column carries nothing (an export that lost it?)")
}
