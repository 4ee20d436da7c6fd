package model

import (
	"encoding/csv"
	"errors"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// dataDir is where the shared vertically split datasets live, relative to
// this package.
const dataDir = "../../shared/data"

// vertical is one vertically split dataset as the two parties hold it.
type vertical struct {
	name           string
	n              int
	dBank, dCenter int
	bank, center   []float64 // raw, row-major
	y              []float64
}

// readCSV reads a numeric CSV with a header into its header and rows.
func readCSV(t testing.TB, path string) ([]string, [][]float64) {
	t.Helper()
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		t.Skipf("dataset %s not found: the shared data folder (../shared/data from the project root) is absent", path)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	rows := make([][]float64, len(recs)-1)
	for i, r := range recs[1:] {
		rows[i] = make([]float64, len(r))
		for j, s := range r {
			if rows[i][j], err = strconv.ParseFloat(s, 64); err != nil {
				t.Fatalf("%s line %d: %v", path, i+2, err)
			}
		}
	}
	return recs[0], rows
}

// loadVertical reads NAME_hetero_guest.csv (id, y, bank features) and
// NAME_hetero_host.csv (id, center features), whose ids match row by row.
func loadVertical(t testing.TB, name string) *vertical {
	t.Helper()
	gh, g := readCSV(t, filepath.Join(dataDir, name+"_hetero_guest.csv"))
	hh, h := readCSV(t, filepath.Join(dataDir, name+"_hetero_host.csv"))
	if len(g) != len(h) || gh[0] != "id" || gh[1] != "y" || hh[0] != "id" {
		t.Fatalf("%s: unexpected layout (%d and %d rows, headers %v / %v)", name, len(g), len(h), gh[:2], hh[:1])
	}
	v := &vertical{name: name, n: len(g), dBank: len(gh) - 2, dCenter: len(hh) - 1}
	for i := range g {
		if g[i][0] != h[i][0] {
			t.Fatalf("%s row %d: ids %v and %v differ", name, i, g[i][0], h[i][0])
		}
		v.y = append(v.y, g[i][1])
		v.bank = append(v.bank, g[i][2:]...)
		v.center = append(v.center, h[i][1:]...)
	}
	return v
}

// split5 is the deterministic stratified 80/20 split of the tests: within
// each class, in file order, every fifth row (the 1st, 6th, ...) is a test
// row. In Python: test = sorted(i for c in (0,1) for i in idx[y==c][::5]).
func split5(y []float64) (train, test []int) {
	var seen [2]int
	for i, v := range y {
		c := int(v)
		if seen[c]%5 == 0 {
			test = append(test, i)
		} else {
			train = append(train, i)
		}
		seen[c]++
	}
	return train, test
}

func pick(x []float64, d int, rows []int) []float64 {
	out := make([]float64, 0, len(rows)*d)
	for _, i := range rows {
		out = append(out, x[i*d:(i+1)*d]...)
	}
	return out
}

func pickY(y []float64, rows []int) []float64 {
	out := make([]float64, len(rows))
	for k, i := range rows {
		out[k] = y[i]
	}
	return out
}

// lrRun trains on the train rows as the parties would (each standardizes its
// own columns on the train rows, clipped at clip), splits the model into its two halves and
// scores the test rows through them. It returns the test AUC and the halves.
func lrRun(t testing.TB, v *vertical, train, test []int, clip float64, opt LROptions) (auc float64, active, passive *LRHalf, hist History, err error) {
	t.Helper()
	x, sb, sc, err := JoinStandardized(pick(v.bank, v.dBank, train), v.dBank, pick(v.center, v.dCenter, train), v.dCenter, clip)
	if err != nil {
		t.Fatal(err)
	}
	w, b, hist, err := TrainLR(x, pickY(v.y, train), v.dBank+v.dCenter, opt)
	if err != nil {
		return 0, nil, nil, hist, err
	}
	active = &LRHalf{Version: LRVersion, Party: Active, Features: names("b", v.dBank), Standardizer: sb, Weights: w[:v.dBank], Intercept: b}
	passive = &LRHalf{Version: LRVersion, Party: Passive, Features: names("c", v.dCenter), Standardizer: sc, Weights: w[v.dBank:]}
	ua := make([]float64, len(test))
	uc := make([]float64, len(test))
	if err := active.PartialScore(pick(v.bank, v.dBank, test), ua); err != nil {
		t.Fatal(err)
	}
	if err := passive.PartialScore(pick(v.center, v.dCenter, test), uc); err != nil {
		t.Fatal(err)
	}
	p := make([]float64, len(test))
	for i := range p {
		p[i] = PredictProba(ua[i], uc[i])
	}
	auc, err = AUC(p, pickY(v.y, test))
	if err != nil {
		t.Fatal(err)
	}
	return auc, active, passive, hist, nil
}

func names(prefix string, d int) []string {
	out := make([]string, d)
	for j := range out {
		out[j] = prefix + strconv.Itoa(j)
	}
	return out
}

// lsSigmoid fits the least-squares polynomial of the given degree to the
// logistic function on [-bound, bound] over Chebyshev nodes, the way
// he.FitSigmoid does, and returns its coefficients, lowest degree first.
func lsSigmoid(t testing.TB, degree int, bound float64) []float64 {
	t.Helper()
	const nodes = 1024
	a := mat.NewDense(nodes, degree+1, nil)
	b := mat.NewVecDense(nodes, nil)
	for i := 0; i < nodes; i++ {
		u := math.Cos(math.Pi * (float64(i) + 0.5) / nodes)
		pow := 1.0
		for k := 0; k <= degree; k++ {
			a.Set(i, k, pow)
			pow *= u
		}
		b.SetVec(i, Logistic(u*bound))
	}
	var c mat.VecDense
	if err := c.SolveVec(a, b); err != nil {
		t.Fatal(err)
	}
	out := make([]float64, degree+1)
	for k := range out {
		out[k] = c.AtVec(k) / math.Pow(bound, float64(k))
	}
	return out
}

// sklearnRef holds scikit-learn 1.2.1's LogisticRegression (C=1, lbfgs,
// after StandardScaler) on the split5 split, computed with the
// ../../shared/tools/reference.py pipeline (tol 1e-10): test AUC and the
// training objective mean log-loss + ||w||^2/(2n) at its optimum. The
// README's figures (breast 0.9864, default_credit 0.7139, give_credit
// 0.6859) are on scikit-learn's own seed-42 split, which this test cannot
// reproduce; on that split TrainLR with the settings below gives 0.9864,
// 0.7139 and 0.6861.
var sklearnRef = map[string]struct{ auc, objective float64 }{
	"breast":         {0.9961, 0.065650},
	"default_credit": {0.7183, 0.464080},
	"give_credit":    {0.7024, 0.226412},
}

// TestReferenceLRMatchesSklearn trains the plaintext reference on the shared
// real datasets and checks that it reaches scikit-learn's optimum and test
// AUC. Adam with learning rate 0.1, full batch, 300 epochs and L2 = 1/n is
// scikit-learn's C = 1 objective.
func TestReferenceLRMatchesSklearn(t *testing.T) {
	for _, name := range []string{"breast", "default_credit", "give_credit"} {
		t.Run(name, func(t *testing.T) {
			v := loadVertical(t, name)
			train, test := split5(v.y)
			ref := sklearnRef[name]
			opt := LROptions{Epochs: 300, Optimizer: OptimizerOptions{Name: "adam", LearningRate: 0.1, L2: 1 / float64(len(train))}}
			auc, active, passive, hist, err := lrRun(t, v, train, test, 0, opt)
			if err != nil {
				t.Fatal(err)
			}
			loss := hist.Loss[len(hist.Loss)-1]
			t.Logf("%s: test AUC %.4f (scikit-learn %.4f), objective %.6f (scikit-learn %.6f)", name, auc, ref.auc, loss, ref.objective)
			if math.Abs(auc-ref.auc) > 0.005 {
				t.Errorf("test AUC %.4f, scikit-learn %.4f", auc, ref.auc)
			}
			if loss-ref.objective > 1e-4 {
				t.Errorf("objective %.6f, scikit-learn reaches %.6f", loss, ref.objective)
			}
			// The halves survive a file round trip.
			for _, h := range []*LRHalf{active, passive} {
				var b strings.Builder
				if err := h.Save(&b); err != nil {
					t.Fatal(err)
				}
				if _, err := LoadLRHalf(strings.NewReader(b.String())); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

// TestSigmoidCost measures the test AUC that a polynomial sigmoid costs
// against the exact logistic function on default_credit (Adam 0.1, full
// batch, 100 epochs, L2 = 1/n), without and with clipping the standardized
// features at 5.
func TestSigmoidCost(t *testing.T) {
	if testing.Short() {
		t.Skip("trains ten models on 24,000 rows")
	}
	v := loadVertical(t, "default_credit")
	train, test := split5(v.y)
	sigmoids := []struct {
		name   string
		coeffs []float64
	}{
		{"exact", nil},
		{"Taylor 0.5+z/4", []float64{0.5, 0.25}},
		{"LS deg 3 [-8,8]", lsSigmoid(t, 3, 8)},
		{"LS deg 5 [-8,8]", lsSigmoid(t, 5, 8)},
		{"LS deg 7 [-8,8]", lsSigmoid(t, 7, 8)},
	}
	auc := map[float64][]float64{}
	for _, clip := range []float64{0, 5} {
		for _, s := range sigmoids {
			opt := LROptions{Epochs: 100, Optimizer: OptimizerOptions{Name: "adam", LearningRate: 0.1, L2: 1 / float64(len(train))}}
			if s.coeffs != nil {
				opt.Sigmoid = PolySigmoid(s.coeffs)
			}
			a, _, _, hist, err := lrRun(t, v, train, test, clip, opt)
			if err != nil {
				t.Fatalf("clip %v, %s: %v", clip, s.name, err)
			}
			t.Logf("clip %v  %-16s test AUC %.4f  (%+.4f)  final loss %.4f", clip, s.name, a, a-firstOr(auc[clip], a), hist.Loss[len(hist.Loss)-1])
			auc[clip] = append(auc[clip], a)
		}
	}
	exact, taylor, ls5 := auc[0][0], auc[0][1], auc[0][3]
	if cost := exact - taylor; cost < 0 || cost > 0.015 {
		t.Errorf("the Taylor sigmoid costs %.4f AUC, expected a small positive cost", cost)
	}
	if math.Abs(ls5-exact) > 0.01 {
		t.Errorf("degree 5 on [-8, 8]: AUC %.4f against %.4f", ls5, exact)
	}
	// With clipped features every logit stays near [-8, 8] and the
	// least-squares fits come close to the exact function.
	for k, deg := range []int{3, 5, 7} {
		if d := auc[5][0] - auc[5][2+k]; math.Abs(d) > 0.005 {
			t.Errorf("clipped, degree %d: AUC %.4f against %.4f", deg, auc[5][2+k], auc[5][0])
		}
	}
}

func firstOr(s []float64, def float64) float64 {
	if len(s) == 0 {
		return def
	}
	return s[0]
}
