package dataset

import (
	"bytes"
	"math"
	"runtime"
	"slices"
	"sort"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSynthesizeDeterministic(t *testing.T) {
	opt := SynthOptions{Rows: 20_000, Seed: 7}
	b1, c1, err := Synthesize(opt)
	require.NoError(t, err)
	b2, c2, err := Synthesize(opt)
	require.NoError(t, err)
	require.Equal(t, csvBytes(t, b1), csvBytes(t, b2), "same options, another bank table")
	require.Equal(t, csvBytes(t, c1), csvBytes(t, c2), "same options, another center table")

	// Blocks are seeded by position, not by goroutine.
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	b3, c3, err := Synthesize(opt)
	require.NoError(t, err)
	require.Equal(t, csvBytes(t, b1), csvBytes(t, b3), "one CPU, another bank table")
	require.Equal(t, csvBytes(t, c1), csvBytes(t, c3), "one CPU, another center table")

	b4, _, err := Synthesize(SynthOptions{Rows: 20_000, Seed: 8})
	require.NoError(t, err)
	require.NotEqual(t, b1.IDs, b4.IDs, "seeds 7 and 8 gave the same ids")
}

func TestSynthesizeShape(t *testing.T) {
	tests := []struct {
		opt         SynthOptions
		wantCommon  int
		wantMissing float64
	}{
		{SynthOptions{Seed: 1}, 18_000, 0.02},
		{SynthOptions{Rows: 5_000, Seed: 2, Overlap: 0.5, MissingRate: 0.1}, 2_500, 0.1},
		{SynthOptions{Rows: 4_001, Seed: 3, Overlap: 1, MissingRate: -1}, 4_001, 0},
		{SynthOptions{Rows: 1, Seed: 4, Overlap: 0.2}, 0, 0.02},
	}
	for _, tt := range tests {
		bank, center, err := Synthesize(tt.opt)
		require.NoError(t, err)
		n := tt.opt.Rows
		if n == 0 {
			n = 20_000
		}
		require.Equal(t, n, bank.Rows(), "%+v", tt.opt)
		require.Equal(t, n, center.Rows(), "%+v", tt.opt)
		require.Equal(t, bankColumns, bank.Columns)
		require.Equal(t, centerColumns, center.Columns)
		require.Len(t, bank.Labels, n)
		require.Nil(t, center.Labels)
		for _, tb := range []*Table{bank, center} {
			seen := make(map[string]bool, n)
			for i, id := range tb.IDs {
				require.True(t, ValidUSCC(id), "%+v: %s row %d has id %q", tt.opt, tb.Name, i, id)
				require.False(t, seen[id], "%+v: %s repeats id %q", tt.opt, tb.Name, id)
				seen[id] = true
			}
			for k, v := range tb.X {
				require.False(t, v < 0 || math.IsInf(v, 0), "%s row %d %s = %v", tb.Name, k/tb.Cols(), tb.Columns[k%tb.Cols()], v)
			}
		}
		for _, y := range bank.Labels {
			require.True(t, y == 0 || y == 1, "label %v", y)
		}

		ra, rc := Align(bank, center)
		require.Len(t, ra, tt.wantCommon, "%+v: common ids", tt.opt)
		if n < 1000 {
			continue
		}
		require.False(t, slices.IsSorted(rc), "%+v: common rows in the same order in both tables", tt.opt)
		for _, tb := range []*Table{bank, center} {
			require.InDelta(t, tt.wantMissing, missingShare(tb), 0.005, "%+v: %s missing share", tt.opt, tb.Name)
		}
		require.InDelta(t, 0.115, mean(bank.Labels), 0.035, "%+v: default rate", tt.opt)
		dishonest, _ := center.ColumnIndex("serious_dishonesty")
		require.InDelta(t, 0.015, nanMean(center.Col(dishonest, nil)), 0.01, "%+v: dishonesty rate", tt.opt)
		industry, _ := center.ColumnIndex("industry")
		for _, v := range center.Col(industry, nil) {
			require.True(t, math.IsNaN(v) || (v == math.Trunc(v) && v >= 0 && v < 20), "industry code %v", v)
		}
	}
}

func TestSynthesizeOptionErrors(t *testing.T) {
	for _, opt := range []SynthOptions{
		{Rows: -1},
		{Rows: 10_000_001},
		{Overlap: 1.5},
		{Overlap: -0.1},
		{Overlap: math.NaN()},
		{MissingRate: 1},
		{MissingRate: math.NaN()},
	} {
		_, _, err := Synthesize(opt)
		require.Error(t, err, "%+v", opt)
	}
}

// TestSynthesizeSignalIsSplit checks that the center's columns carry signal
// the bank's lack: a logistic regression on both tables (aligned on the common
// ids) must beat one on the bank's columns alone.
func TestSynthesizeSignalIsSplit(t *testing.T) {
	bank, center, err := Synthesize(SynthOptions{Seed: 42})
	require.NoError(t, err)
	ra, rc := Align(bank, center)
	bank, center = bank.Select(ra), center.Select(rc)
	train, test, err := StratifiedSplit(bank.Labels, 0.2, 42)
	require.NoError(t, err)
	bankOnly := lrTestAUC(train, test, bank.Labels, bank)
	both := lrTestAUC(train, test, bank.Labels, bank, center)
	t.Logf("logistic regression test AUC: bank only %.4f, both tables %.4f", bankOnly, both)
	require.GreaterOrEqual(t, both-bankOnly, 0.03, "AUC both tables %.4f, bank only %.4f", both, bankOnly)
}

// TestSynthesizeCategorical checks the text columns: their place and
// dictionaries, that the rest of the data does not move, and that they round
// trip through CSV.
func TestSynthesizeCategorical(t *testing.T) {
	opt := SynthOptions{Rows: 5_000, Seed: 5, MissingRate: 0.05}
	bank0, center0, err := Synthesize(opt)
	require.NoError(t, err)
	opt.Categorical = true
	bank, center, err := Synthesize(opt)
	require.NoError(t, err)

	require.Equal(t, append(slices.Clone(bankColumns), "loan_product", "account_type"), bank.Columns)
	require.Equal(t, append(slices.Clone(centerColumns), "district", "legal_form", "tax_credit_grade"), center.Columns)
	require.Equal(t, []CategoricalColumn{{"loan_product", 10, 6}, {"account_type", 11, 3}}, bank.Categorical())
	require.Equal(t, []CategoricalColumn{{"industry", 11, 20}, {"district", 12, 10}, {"legal_form", 13, 6}, {"tax_credit_grade", 14, 5}},
		center.Categorical())
	require.Equal(t, []string{"A", "B", "C", "D", "M"}, center.Categories[14])

	for _, pair := range []struct{ cat, plain *Table }{{bank, bank0}, {center, center0}} {
		tb, plain := pair.cat, pair.plain
		require.Equal(t, plain.IDs, tb.IDs, "%s: ids moved", tb.Name)
		for j := range plain.Cols() {
			got, want := tb.Col(j, nil), plain.Col(j, nil)
			if !tb.IsCategorical(j) {
				require.NoError(t, sameTable(&Table{X: got}, &Table{X: want}), "%s column %s moved", tb.Name, tb.Columns[j])
				continue
			}
			// The industry: the same cells missing, each code's section by name.
			for i := range got {
				require.Equal(t, math.IsNaN(want[i]), math.IsNaN(got[i]), "%s row %d", tb.Name, i)
				if !math.IsNaN(want[i]) {
					require.Equal(t, industryCategory.labels[int(want[i])], tb.Categories[j][int(got[i])])
				}
			}
		}
		for _, c := range tb.Categorical() {
			used := make([]int, c.NumLabels)
			for _, v := range tb.Col(c.Index, nil) {
				if !math.IsNaN(v) {
					used[int(v)]++
				}
			}
			require.True(t, slices.IsSorted(tb.Categories[c.Index]), "%s: %s", tb.Name, c.Name)
			require.NotContains(t, used, 0, "%s: %s has a label no row holds: %v", tb.Name, c.Name, used)
		}
		require.InDelta(t, 0.05, missingShare(tb), 0.005, "%s missing share", tb.Name)

		// Every label is text, so the columns are detected without being declared.
		opt := CSVOptions{}
		if tb.Labels != nil {
			opt.LabelColumn = "y"
		}
		back, err := ParseCSV(bytes.NewReader(csvBytes(t, tb)), tb.Name, opt)
		require.NoError(t, err)
		require.NoError(t, sameTable(back, tb), tb.Name)
	}
	// Labels now depend on the text columns too, but not by much.
	same := 0
	for i, y := range bank.Labels {
		if y == bank0.Labels[i] {
			same++
		}
	}
	require.Greater(t, same, 9*bank.Rows()/10)
	require.InDelta(t, 0.115, mean(bank.Labels), 0.035, "default rate")

	// Deterministic, on any number of CPUs.
	b2, c2, err := Synthesize(opt)
	require.NoError(t, err)
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	b3, c3, err := Synthesize(opt)
	require.NoError(t, err)
	for _, tb := range []*Table{b2, b3} {
		require.Equal(t, csvBytes(t, bank), csvBytes(t, tb))
	}
	for _, tb := range []*Table{c2, c3} {
		require.Equal(t, csvBytes(t, center), csvBytes(t, tb))
	}
}

// TestSynthesizeCategoricalSignal checks that the text columns carry
// signal: a logistic regression that one-hot encodes them beats one on the
// numeric columns alone.
func TestSynthesizeCategoricalSignal(t *testing.T) {
	bank, center, err := Synthesize(SynthOptions{Seed: 42, Categorical: true})
	require.NoError(t, err)
	ra, rc := Align(bank, center)
	bank, center = bank.Select(ra), center.Select(rc)
	train, test, err := StratifiedSplit(bank.Labels, 0.2, 42)
	require.NoError(t, err)
	numeric := lrTestAUC(train, test, bank.Labels, numericColumns(bank), numericColumns(center))
	all := lrTestAUC(train, test, bank.Labels, bank, center)
	t.Logf("logistic regression test AUC: numeric columns %.4f, with the text columns one-hot %.4f", numeric, all)
	require.GreaterOrEqual(t, all-numeric, 0.02, "AUC with text columns %.4f, numeric only %.4f", all, numeric)
}

// numericColumns returns tb without its categorical columns.
func numericColumns(tb *Table) *Table {
	out := &Table{Name: tb.Name, IDs: tb.IDs, Labels: tb.Labels}
	var keep []int
	for j, c := range tb.Columns {
		if !tb.IsCategorical(j) {
			keep = append(keep, j)
			out.Columns = append(out.Columns, c)
		}
	}
	for i := range tb.Rows() {
		for _, j := range keep {
			out.X = append(out.X, tb.X[i*tb.Cols()+j])
		}
	}
	return out
}

// lrTestAUC fits a logistic regression by gradient descent on the train rows of
// the tables' columns (mean-imputed, standardized; a categorical column
// one-hot, one indicator per label) and returns its AUC on the test rows.
func lrTestAUC(train, test []int, y []float64, tables ...*Table) float64 {
	var cols [][]float64
	for _, tb := range tables {
		for j := range tb.Cols() {
			c := tb.Col(j, nil)
			if !tb.IsCategorical(j) {
				cols = append(cols, standardize(c, train))
				continue
			}
			for k := range tb.Categories[j] {
				ind := make([]float64, len(c))
				for i, v := range c {
					if v == float64(k) {
						ind[i] = 1
					}
				}
				cols = append(cols, standardize(ind, train))
			}
		}
	}
	p := len(cols) + 1 // the last weight is the intercept
	x := make([]float64, len(y)*p)
	for i := range y {
		for j, c := range cols {
			x[i*p+j] = c[i]
		}
		x[i*p+p-1] = 1
	}
	w := make([]float64, p)
	grad := make([]float64, p)
	z := func(i int) float64 {
		s := 0.0
		for j, v := range x[i*p : (i+1)*p] {
			s += w[j] * v
		}
		return s
	}
	for range 300 {
		clear(grad)
		for _, i := range train {
			g := sigmoid(z(i)) - y[i]
			for j, v := range x[i*p : (i+1)*p] {
				grad[j] += g * v
			}
		}
		for j := range w {
			w[j] -= 0.5 * grad[j] / float64(len(train))
		}
	}
	scores, labels := make([]float64, len(test)), make([]float64, len(test))
	for k, i := range test {
		scores[k], labels[k] = z(i), y[i]
	}
	return auc(scores, labels)
}

// standardize fills missing values with the train mean and scales to zero mean
// and unit variance on the train rows.
func standardize(c []float64, train []int) []float64 {
	var sum, sq float64
	var n int
	for _, i := range train {
		if !math.IsNaN(c[i]) {
			sum += c[i]
			n++
		}
	}
	mu := sum / float64(n)
	for i, v := range c {
		if math.IsNaN(v) {
			c[i] = mu
		}
	}
	for _, i := range train {
		sq += (c[i] - mu) * (c[i] - mu)
	}
	sd := math.Sqrt(sq / float64(len(train)))
	if sd == 0 {
		sd = 1
	}
	for i := range c {
		c[i] = (c[i] - mu) / sd
	}
	return c
}

// auc is the Mann-Whitney statistic: the chance that a random positive scores
// above a random negative, ties counting half.
func auc(scores, labels []float64) float64 {
	idx := make([]int, len(scores))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool { return scores[idx[a]] < scores[idx[b]] })
	var rankSum, pos float64
	for lo := 0; lo < len(idx); {
		hi := lo
		for hi < len(idx) && scores[idx[hi]] == scores[idx[lo]] {
			hi++
		}
		rank := float64(lo+hi+1) / 2 // mean of the 1-based ranks lo+1..hi
		for _, i := range idx[lo:hi] {
			if labels[i] == 1 {
				rankSum += rank
				pos++
			}
		}
		lo = hi
	}
	neg := float64(len(idx)) - pos
	return (rankSum - pos*(pos+1)/2) / (pos * neg)
}

func TestAUC(t *testing.T) {
	tests := []struct {
		scores, labels []float64
		want           float64
	}{
		{[]float64{1, 2, 3, 4}, []float64{0, 0, 1, 1}, 1},
		{[]float64{4, 3, 2, 1}, []float64{0, 0, 1, 1}, 0},
		{[]float64{1, 1, 1, 1}, []float64{0, 1, 0, 1}, 0.5},
		{[]float64{0.1, 0.4, 0.35, 0.8}, []float64{0, 0, 1, 1}, 0.75},
	}
	for _, tt := range tests {
		require.InDelta(t, tt.want, auc(tt.scores, tt.labels), 1e-12, "auc(%v, %v)", tt.scores, tt.labels)
	}
}

func missingShare(tb *Table) float64 {
	n := 0
	for _, v := range tb.X {
		if math.IsNaN(v) {
			n++
		}
	}
	return float64(n) / float64(len(tb.X))
}

func mean(v []float64) float64 {
	s := 0.0
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}

func nanMean(v []float64) float64 {
	return mean(slices.DeleteFunc(slices.Clone(v), math.IsNaN))
}

func csvBytes(t testing.TB, tb *Table) []byte {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, tb.WriteCSV(&buf))
	return buf.Bytes()
}

func BenchmarkSynthesize1M(b *testing.B) {
	for b.Loop() {
		if _, _, err := Synthesize(SynthOptions{Rows: 1_000_000, Seed: 1}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)*1e6/b.Elapsed().Seconds(), "rows/s")
}
