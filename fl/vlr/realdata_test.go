package vlr

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/veil-fl/veil/dataset"
	"github.com/veil-fl/veil/fl/fltest"
	"github.com/veil-fl/veil/internal/testmode"
	"github.com/veil-fl/veil/model"
)

const sharedData = "../../../shared/data"

// standardizeSplit fits a party's standardizer on its training rows and
// returns its standardized, clipped training and test matrices.
func standardizeSplit(t *testing.T, tab *dataset.Table, train, test []int, clip float64) (xtr, xte []float64) {
	t.Helper()
	tr, te := tab.Select(train), tab.Select(test)
	st, err := model.FitStandardizer(tr.X, tab.Cols())
	require.NoError(t, err)
	st.Clip = clip
	xtr, xte = make([]float64, len(tr.X)), make([]float64, len(te.X))
	require.NoError(t, st.Transform(tr.X, xtr))
	require.NoError(t, st.Transform(te.X, xte))
	return xtr, xte
}

func testAUC(t *testing.T, x []float64, d int, w []float64, b float64, y []float64) float64 {
	t.Helper()
	s := make([]float64, len(y))
	for i := range s {
		z := b
		for j := 0; j < d; j++ {
			z += x[i*d+j] * w[j]
		}
		s[i] = z // AUC on the logit: no ties from a saturated logistic
	}
	auc, err := model.AUC(s, y)
	require.NoError(t, err)
	return auc
}

// TestRealData trains federated LR on each vertically split pair in
// ../shared/data (80/20 stratified split, seed 42; standardized and clipped
// at 5 per party; degree-5 sigmoid; 30 epochs, L2 = 1/n; the default
// secret-shared weights with the default optimizer, momentum 0.8 at the
// default rate (DefaultRate: 0.37 on breast, 0.48 on default_credit, 0.8 on
// give_credit), and RevealGradients with Adam 0.1 as before) and checks it against
// (a) the plaintext reference trained the same way on the joined columns
// from the same initial weights: test AUC within 0.002, weights within
// 1e-6; (b) scikit-learn's objective on the same
// split (exact logistic, no clipping, L2 = 1/n, trained to convergence, which
// model's tests show reproduces scikit-learn's AUC to 2e-4): federated AUC
// not below it by more than 0.005. breast's test set has 114 rows (each
// misranked pair moves the AUC by 0.0004) and scores far outside the
// polynomial's interval; on this split the degree-5 sigmoid costs it 0.02
// (on seeds 1, 2 and 7 it is within 0.001), so breast gets 0.025. A plain
// run trains default_credit in both modes; VEIL_TEST=full (CI) adds breast
// and give_credit in the default mode.
func TestRealData(t *testing.T) {
	if _, err := os.Stat(sharedData); err != nil {
		t.Skipf("skipping: %s is absent (the real datasets ship beside the repository in CI)", sharedData)
	}
	if testing.Short() {
		t.Skip("skipping the real-data training in -short mode")
	}
	for _, reveal := range []bool{false, true} {
		for _, name := range []string{"breast", "default_credit", "give_credit"} {
			if name != "default_credit" && (reveal || !testmode.Full()) {
				// The older mode on one dataset, and the shared mode on
				// all three with VEIL_TEST=full: the suite within its time.
				continue
			}
			t.Run(fmt.Sprintf("%s/reveal=%v", name, reveal), func(t *testing.T) {
				t.Parallel() // independent trainings; the protocol leaves a core idle
				bank, center := fltest.SharedPair(t, sharedData, name)
				train, test, err := dataset.StratifiedSplit(bank.Labels, 0.2, 42)
				require.NoError(t, err)
				db, dc := bank.Cols(), center.Cols()
				xbTr, xbTe := standardizeSplit(t, bank, train, test, 5)
				xcTr, xcTe := standardizeSplit(t, center, train, test, 5)
				yTr, yTe := bank.Select(train).Labels, bank.Select(test).Labels
				opt := Options{Epochs: 30, Optimizer: model.OptimizerOptions{L2: 1 / float64(len(train))}}
				if reveal {
					opt = Options{Epochs: 30, RevealGradients: true, Optimizer: model.OptimizerOptions{Name: "adam", LearningRate: 0.1, L2: 1 / float64(len(train))}}
				}

				fedB, fedC := trainPair(t, xbTr, xcTr, yTr, db, dc, opt)
				w := append(append([]float64{}, fedB.Weights...), fedC.Weights...)
				fed := testAUC(t, model.JoinColumns(xbTe, db, xcTe, dc), db+dc, w, fedB.Intercept, yTe)

				full, err := opt.WithColumns(db + dc + 1)
				require.NoError(t, err)
				sig, err := full.Sigmoid()
				require.NoError(t, err)
				pw, pb, _, err := model.TrainLR(model.JoinColumns(xbTr, db, xcTr, dc), yTr, db+dc, model.LROptions{Epochs: full.Epochs, Optimizer: full.Optimizer, Sigmoid: sig.Eval, Init: InitWeights(fedB, fedC)})
				require.NoError(t, err)
				plain := testAUC(t, model.JoinColumns(xbTe, db, xcTe, dc), db+dc, pw, pb, yTe)
				dw := math.Abs(pb - fedB.Intercept)
				for j := range pw {
					dw = math.Max(dw, math.Abs(pw[j]-w[j]))
				}

				ubTr, ubTe := standardizeSplit(t, bank, train, test, 0)
				ucTr, ucTe := standardizeSplit(t, center, train, test, 0)
				sw, sb, _, err := model.TrainLR(model.JoinColumns(ubTr, db, ucTr, dc), yTr, db+dc, model.LROptions{Epochs: 300, Optimizer: model.OptimizerOptions{Name: "adam", LearningRate: 0.1, L2: 1 / float64(len(train))}})
				require.NoError(t, err)
				sk := testAUC(t, model.JoinColumns(ubTe, db, ucTe, dc), db+dc, sw, sb, yTe)

				t.Logf("%s (reveal gradients %v): federated AUC %.4f, plaintext same algorithm %.4f (weights within %.2g), scikit-learn objective %.4f; %.1f s, %.0f MiB",
					name, reveal, fed, plain, dw, sk, fedB.Duration.Seconds(), float64(fedB.Stats.SentBytes+fedB.Stats.RecvBytes)/(1<<20))
				require.InDelta(t, plain, fed, 0.002)
				require.Less(t, dw, 1e-6)
				tol := 0.005
				if name == "breast" {
					tol = 0.025
				}
				require.GreaterOrEqual(t, fed, sk-tol)
			})
		}
	}
}

// TestDefaultRateConverges trains, from 50 secret starts drawn as the
// parties draw theirs (each weight the sum of two parts of standard
// deviation InitScale), the plaintext twin of the default training on
// breast, whose federated training equals it to 1e-6 (TestRealData): breast's
// 30 correlated, nearly separable columns are where a fixed rate of 0.8
// diverged, its scores leaving the sigmoid polynomial's interval and then
// the scale guard. At DefaultRate no start diverges and every score stays
// within two intervals; at 0.8, the default it replaces, some do.
func TestDefaultRateConverges(t *testing.T) {
	if _, err := os.Stat(sharedData); err != nil {
		t.Skipf("skipping: %s is absent (the real datasets ship beside the repository in CI)", sharedData)
	}
	bank, center := fltest.SharedPair(t, sharedData, "breast")
	train, test, err := dataset.StratifiedSplit(bank.Labels, 0.2, 42)
	require.NoError(t, err)
	db, dc := bank.Cols(), center.Cols()
	xbTr, _ := standardizeSplit(t, bank, train, test, 5)
	xcTr, _ := standardizeSplit(t, center, train, test, 5)
	x, y, d := model.JoinColumns(xbTr, db, xcTr, dc), bank.Select(train).Labels, db+dc
	// diverged trains from 50 starts and returns how many diverged (a
	// score past three sigmoid intervals, or a non-finite loss) and the
	// largest score of the others.
	diverged := func(rate float64) (int, float64) {
		opt := Options{Epochs: 30, Optimizer: model.OptimizerOptions{LearningRate: rate, L2: 1 / float64(len(train))}}
		full, err := opt.WithColumns(d + 1)
		require.NoError(t, err)
		sig, err := full.Sigmoid()
		require.NoError(t, err)
		r := rand.New(rand.NewPCG(1, 2))
		n, largest := 0, 0.0
		for range 50 {
			init := make([]float64, d+1)
			for j := range init {
				init[j] = (r.NormFloat64() + r.NormFloat64()) * full.InitScale
			}
			w, b, _, err := model.TrainLR(x, y, d, model.LROptions{Epochs: full.Epochs, Optimizer: full.Optimizer, Sigmoid: sig.Eval, Init: init})
			if err != nil {
				n++ // the loss left the finite numbers
				continue
			}
			top := 0.0
			for i := range y {
				z := b
				for j := range d {
					z += x[i*d+j] * w[j]
				}
				top = math.Max(top, math.Abs(z))
			}
			if top > 3*full.Bound {
				n++
			} else {
				largest = math.Max(largest, top)
			}
		}
		return n, largest
	}
	rate := DefaultRate(0.8, d+1)
	n, largest := diverged(0)
	t.Logf("breast, %d columns: DefaultRate %.3f diverges in %d of 50 starts (largest score %.1f)", d+1, rate, n, largest)
	require.Zero(t, n)
	require.Less(t, largest, 2*8.0)
	weak, _ := diverged(0.8)
	t.Logf("rate 0.8 diverges in %d of 50", weak)
	require.Positive(t, weak, "the weak default no longer diverges on breast: this test shows nothing")
}
