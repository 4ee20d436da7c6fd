package model_test

import (
	"fmt"
	"math"

	"github.com/veil-fl/veil/model"
)

func ExampleFitBinning() {
	nan := math.NaN()
	x := []float64{ // 5 rows x 2 columns, one value missing
		1, 0.5,
		3, 0.1,
		2, nan,
		3, 0.9,
		5, 0.3,
	}
	b, err := model.FitBinning(x, 2, 3) // at most 3 bins per column
	if err != nil {
		panic(err)
	}
	bins, err := b.Bin(x, 2)
	if err != nil {
		panic(err)
	}
	fmt.Println("cuts:", b.Cuts)
	fmt.Println("bins of column 0:", bins[0])
	fmt.Println("bins of column 1:", bins[1])
	// Column 0 has 4 distinct values for 3 bins: like XGBoost, the top
	// two share the last bin.
	//
	// Output:
	// cuts: [[1 2] [0.1 0.3]]
	// bins of column 0: [0 2 1 2 2]
	// bins of column 1: [2 0 255 2 1]
}

func ExampleTrainGBDT() {
	// Default is likelier with high utilization (column 0) and missing
	// income (column 1); the bank holds column 0, the credit center column 1.
	var x, y []float64
	for i := 0; i < 400; i++ {
		util := float64(i%20) / 20
		income := float64(i%7) * 1000
		label := 0.0
		if util > 0.7 || i%9 == 0 {
			label = 1
		}
		if i%9 == 0 {
			income = math.NaN()
		}
		x = append(x, util, income)
		y = append(y, label)
	}
	m, err := model.TrainGBDT(x, y, 2, model.GBDTOptions{Trees: 10, MaxDepth: 2})
	if err != nil {
		panic(err)
	}
	m.Features = []string{"utilization", "income"}
	root := m.Trees[0].Nodes[0]
	fmt.Printf("first split: %s <= %g (gain %.1f)\n", m.Features[root.Feature], root.Threshold, root.Gain)
	z, err := m.PredictLogit([]float64{
		0.9, 3000, // high utilization
		0.2, 3000, // low utilization
		0.2, math.NaN(), // low utilization, income missing
	}, 2)
	if err != nil {
		panic(err)
	}
	for _, v := range z {
		fmt.Printf("p(default) = %.2f\n", model.Logistic(v))
	}
	for _, fi := range m.Importance() {
		fmt.Printf("%s: %d splits\n", fi.Feature, fi.Splits)
	}
	// Output:
	// first split: utilization <= 0.7 (gain 115.9)
	// p(default) = 0.97
	// p(default) = 0.03
	// p(default) = 0.96
	// utilization: 10 splits
	// income: 10 splits
}
