package woe_test

import (
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/veil-fl/veil/fl"
	"github.com/veil-fl/veil/fl/woe"
	"github.com/veil-fl/veil/model"
)

// Example runs both parties over an in-memory pipe: the bank learns the
// WOE and IV of the center's column without seeing it, and the center
// learns only that its column stays.
func Example() {
	r := rand.New(rand.NewPCG(1, 1))
	n := 2000
	bankX, centerX, y := make([]float64, n), make([]float64, n), make([]float64, n)
	for i := range y {
		bankX[i] = r.NormFloat64()
		centerX[i] = float64(r.IntN(5)) // e.g. years of tax arrears
		if r.Float64() < 0.1+0.12*centerX[i] {
			y[i] = 1
		}
	}
	bankT, centerT := fl.NewPipe()
	ctx := context.Background()
	seed := []byte("the handshake's joint seed......")
	done := make(chan *woe.PassiveResult, 1)
	go func() {
		res, err := woe.TrainPassive(ctx, centerT, seed, woe.Data{X: centerX, Cols: 1, Names: []string{"tax_arrears"}})
		if err != nil {
			panic(err)
		}
		done <- res
	}()
	res, err := woe.TrainActive(ctx, bankT, seed, woe.Data{X: bankX, Cols: 1, Y: y, Names: []string{"balance"}}, woe.Options{Select: model.Selection{MinIV: 0.1}})
	if err != nil {
		panic(err)
	}
	center := <-done
	for _, c := range append(res.Bank, res.Center...) {
		fmt.Printf("%s (%s): IV %.2f, keep %v\n", c.Name, c.Party, c.IV, c.Keep)
	}
	fmt.Println("the center keeps its columns", center.Keep)
	// Output:
	// balance (active): IV 0.09, keep false
	// tax_arrears (passive): IV 0.62, keep true
	// the center keeps its columns [0]
}

func ExampleScoreActive() {
	// Each party holds its half of a WOE scorecard.
	bank := &model.ScorecardHalf{Version: model.ScorecardVersion, Party: model.Active, BasePoints: 480,
		Features: []model.ScorecardFeature{{Name: "balance", Column: 0, Cuts: []float64{0}, Points: []float64{-10, 15}}}}
	center := &model.ScorecardHalf{Version: model.ScorecardVersion, Party: model.Passive,
		Features: []model.ScorecardFeature{{Name: "tax_arrears", Column: 0, Cuts: []float64{0, 2}, Points: []float64{30, 0, -40}, MissingPoints: -5}}}
	bankT, centerT := fl.NewPipe()
	ctx := context.Background()
	go func() {
		if err := woe.ScorePassive(ctx, centerT, center, []float64{0, 3, 1}, 1); err != nil {
			panic(err)
		}
	}()
	scores, err := woe.ScoreActive(ctx, bankT, bank, []float64{-2, 5, 1}, 1)
	if err != nil {
		panic(err)
	}
	fmt.Println(scores)
	// Output: [500 455 495]
}

func ExampleLocal() {
	// The bank's own column, in plaintext: 4 quantile bins of 400 rows.
	x, y := make([]float64, 400), make([]float64, 400)
	for i := range x {
		x[i] = float64(i % 4)
		if float64(i/4%10) < x[i]+1 {
			y[i] = 1
		}
	}
	cols, err := woe.Local(woe.Data{X: x, Cols: 1, Y: y, Names: []string{"overdue_months"}}, woe.Options{})
	if err != nil {
		panic(err)
	}
	c := cols[0]
	fmt.Printf("%s: events %v of %v rows per bin, IV %.3f\n", c.Name, c.Counts.Events, 100, c.IV)
	// Output: overdue_months: events [10 20 30 40] of 100 rows per bin, IV 0.394
}

func ExampleLocal_categorical() {
	// The bank's account type, a text column: its labels become levels
	// fitted on the training rows, one bin each.
	dict := [][]string{{"corporate", "payroll", "savings"}}
	codes, y := make([]float64, 300), make([]float64, 300)
	for i := range codes {
		codes[i] = float64(i % 3)
		if i%10 < []int{1, 3, 2}[i%3] {
			y[i] = 1
		}
	}
	cats, err := model.FitCategories([]string{"account_type"}, dict, codes, 0)
	if err != nil {
		panic(err)
	}
	x, err := cats.Encode(dict, codes, 1)
	if err != nil {
		panic(err)
	}
	cols, err := woe.Local(woe.Data{X: x, Cols: 1, Y: y, Names: []string{"account_type"}, Categories: cats}, woe.Options{})
	if err != nil {
		panic(err)
	}
	c := cols[0]
	for l, label := range c.Labels {
		fmt.Printf("%-9s WOE %+.2f\n", label, c.WOE[c.LevelBins[l]])
	}
	// Output:
	// corporate WOE +0.81
	// payroll   WOE -0.54
	// savings   WOE +0.00
}
