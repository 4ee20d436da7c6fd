package model_test

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/veil-fl/veil/model"
)

func ExampleAUC() {
	scores := []float64{0.1, 0.4, 0.35, 0.8}
	labels := []float64{0, 0, 1, 1}
	auc, err := model.AUC(scores, labels)
	if err != nil {
		panic(err)
	}
	ks, _ := model.KS(scores, labels)
	fmt.Printf("AUC %.2f KS %.2f\n", auc, ks)
	// Output: AUC 0.75 KS 0.50
}

func ExampleLift() {
	scores := []float64{0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2}
	labels := []float64{1, 1, 0, 1, 0, 0, 0, 0}
	table, err := model.Lift(scores, labels, 4)
	if err != nil {
		panic(err)
	}
	for _, b := range table {
		fmt.Printf("bucket %d: %d of %d, lift %.2f, captured %.0f%%\n", b.Bucket, b.Positives, b.Count, b.Lift, 100*b.CumulativeCapture)
	}
	// Output:
	// bucket 1: 2 of 2, lift 2.67, captured 67%
	// bucket 2: 1 of 2, lift 1.33, captured 100%
	// bucket 3: 0 of 2, lift 0.00, captured 100%
	// bucket 4: 0 of 2, lift 0.00, captured 100%
}

func ExampleScorecard() {
	var card model.Scorecard // 500 points at odds 1:1, 20 points to double them
	fmt.Printf("p=0.5: %.0f  p=0.2: %.0f  p=1/9: %.1f\n", card.Points(0.5), card.Points(0.2), card.Points(1.0/9))
	total, perFeature, _ := card.LinearPoints(-1, []float64{0.5, -0.8}, []float64{1, 1})
	fmt.Printf("total %.1f, features %.1f %.1f\n", total, perFeature[0], perFeature[1])
	// Output:
	// p=0.5: 500  p=0.2: 540  p=1/9: 560.0
	// total 537.5, features -14.4 23.1
}

func ExampleFitStandardizer() {
	nan := math.NaN()
	x := []float64{ // 3 rows x 2 columns, one value missing
		1, 10,
		2, nan,
		3, 30,
	}
	s, err := model.FitStandardizer(x, 2)
	if err != nil {
		panic(err)
	}
	out := make([]float64, len(x))
	if err := s.Transform(x, out); err != nil {
		panic(err)
	}
	fmt.Printf("mean %v std %.3f\n%.3f\n", s.Mean, s.Std, out)
	// Output:
	// mean [2 20] std [0.816 10.000]
	// [-1.225 -1.000 0.000 0.000 1.225 1.000]
}

func ExampleNewOptimizer() {
	// Minimise (w-3)^2 / 2 with Adam.
	opt, err := model.NewOptimizer(model.OptimizerOptions{Name: "adam", LearningRate: 0.1}, 1)
	if err != nil {
		panic(err)
	}
	w := []float64{0}
	for range 300 {
		if err := opt.Step(w, []float64{w[0] - 3}); err != nil {
			panic(err)
		}
	}
	fmt.Printf("w = %.2f\n", w[0])
	// Output: w = 3.00
}

func ExampleTrainLR() {
	// 5,000 rows of 2 standardized features from a known model.
	r := rand.New(rand.NewPCG(1, 2))
	n, d := 5000, 2
	x := make([]float64, n*d)
	y := make([]float64, n)
	for i := 0; i < n; i++ {
		x[i*d], x[i*d+1] = r.NormFloat64(), r.NormFloat64()
		if r.Float64() < model.Logistic(-1+2*x[i*d]-x[i*d+1]) {
			y[i] = 1
		}
	}
	w, b, hist, err := model.TrainLR(x, y, d, model.LROptions{
		Epochs:    200,
		Optimizer: model.OptimizerOptions{Name: "adam", LearningRate: 0.1},
	})
	if err != nil {
		panic(err)
	}
	fmt.Printf("weights %.1f intercept %.1f after %d epochs\n", w, b, hist.Epochs)
	// Output: weights [2.0 -1.0] intercept -1.0 after 200 epochs
}

func ExampleBatchOrder() {
	// Both parties and the reference trainer draw the same batches.
	for epoch := range 2 {
		fmt.Println(model.BatchOrder(6, 4, 42, epoch))
	}
	fmt.Println(model.BatchOrder(6, 0, 42, 0)) // full batch
	// Output:
	// [[2 1 0 3] [4 5]]
	// [[4 3 5 0] [2 1]]
	// [[0 1 2 3 4 5]]
}

func ExampleLRHalf() {
	active := &model.LRHalf{
		Version:      model.LRVersion,
		Party:        model.Active,
		Features:     []string{"overdue_months", "balance"},
		Standardizer: model.Standardizer{Mean: []float64{1, 5000}, Std: []float64{2, 2500}},
		Weights:      []float64{0.6, -0.2},
		Intercept:    -1.5,
	}
	var file bytes.Buffer
	if err := active.Save(&file); err != nil {
		panic(err)
	}
	loaded, err := model.LoadLRHalf(&file)
	if err != nil {
		panic(err)
	}
	u := make([]float64, 1)
	if err := loaded.PartialScore([]float64{3, 7500}, u); err != nil {
		panic(err)
	}
	passive := 0.4 // the center's partial score for the same row
	fmt.Printf("bank partial %.2f, probability of default %.3f\n", u[0], model.PredictProba(u[0], passive))
	// Output: bank partial -1.10, probability of default 0.332
}
