package model_test

import (
	"fmt"
	"math"
	"strings"

	"github.com/veil-fl/veil/model"
)

func ExampleBinCounts_WOE() {
	// Three bins of one column: 4 defaults and 6 repaid loans in all.
	c := model.BinCounts{Events: []float64{1, 3, 0}, NonEvents: []float64{4, 2, 0}}
	w, err := c.WOE(0)
	if err != nil {
		panic(err)
	}
	fmt.Printf("WOE %.3f %.3f %.3f, IV %.3f\n", w.WOE[0], w.WOE[1], w.WOE[2], w.IV)
	// Output: WOE 0.981 -0.811 0.000, IV 0.747
}

func ExampleOptimalBins() {
	// Six quantile bins whose default rate falls, except at bin 3.
	c := model.BinCounts{
		Events:    []float64{60, 45, 30, 35, 15, 10},
		NonEvents: []float64{40, 55, 70, 65, 85, 90},
	}
	ends, err := model.OptimalBins(c, model.MergeOptions{Criterion: model.MergeChi2, MaxBins: 4})
	if err != nil {
		panic(err)
	}
	merged, _ := c.Merge(ends)
	w, _ := merged.WOE(0)
	fmt.Println("ends", ends)
	fmt.Printf("WOE %.2f, IV %.3f\n", w.WOE, w.IV)
	// Output:
	// ends [0 1 3 5]
	// WOE [-1.14 -0.53 0.00 1.22], IV 0.657
}

func ExampleSelection_Select() {
	// IVs of [bank's 3 columns | center's 2 columns].
	iv := []float64{0.02, 0.35, 0.11, 0.48, 0.01}
	keep, _ := model.Selection{MinIV: 0.1}.Select(iv)
	fmt.Println(keep)
	// Output: [1 2 3]
}

func ExampleNewScorecardHalf() {
	// The center's half: one column in two WOE bins, LR weight -0.9 on the
	// standardized WOE column.
	t := model.WOETransform{Source: []int{0}, Columns: []model.WOEColumn{{Cuts: []float64{35}, Values: []float64{-0.4, 0.6}, Missing: 0}}}
	std := model.Standardizer{Mean: []float64{0.1}, Std: []float64{0.5}}
	half, err := model.NewScorecardHalf(model.Passive, []string{"tax_paid"}, t, std, []float64{-0.9}, 0, model.Scorecard{})
	if err != nil {
		panic(err)
	}
	f := half.Features[0]
	fmt.Printf("%s: <=35 %.1f points, >35 %.1f points, missing %.1f\n", f.Name, f.Points[0], f.Points[1], f.MissingPoints)
	pts := make([]float64, 2)
	_ = half.PartialPoints([]float64{20, 50}, 1, pts)
	fmt.Printf("rows: %.1f %.1f\n", pts[0], pts[1])
	// Output:
	// tax_paid: <=35 -26.0 points, >35 26.0 points, missing -5.2
	// rows: -26.0 26.0
}

func ExampleCountBins() {
	// Bins of six rows of one column (MissingBin: a missing value) and labels.
	bins := []uint8{0, 0, 1, 2, 2, model.MissingBin}
	y := []float64{0, 1, 0, 1, 1, 0}
	c, err := model.CountBins(bins, 3, y)
	if err != nil {
		panic(err)
	}
	fmt.Println("events", c.Events, "non-events", c.NonEvents, "missing", c.MissingEvents, c.MissingNonEvents)
	// Output: events [1 0 2] non-events [1 1 0] missing 0 1
}

func ExampleWOETransform_Transform() {
	// Column 1 of two becomes its WOE: bins (-inf, 30], (30, 60], (60, inf).
	t := model.WOETransform{Source: []int{1}, Columns: []model.WOEColumn{
		{Cuts: []float64{30, 60}, Values: []float64{-0.5, 0.1, 0.8}, Missing: -0.2},
	}}
	x := []float64{
		1, 25,
		2, 45,
		3, 90,
		4, math.NaN(),
	}
	w, err := t.Transform(x, 2)
	if err != nil {
		panic(err)
	}
	fmt.Println(w)
	// Output: [-0.5 0.1 0.8 -0.2]
}

func ExampleLoadScorecardHalf() {
	file := `{"version": 1, "party": "passive", "base_points": 0, "features": [
	  {"name": "tax_arrears", "column": 0, "cuts": [0, 2], "points": [30, 0, -40], "missing_points": -5}]}`
	h, err := model.LoadScorecardHalf(strings.NewReader(file))
	if err != nil {
		panic(err)
	}
	pts := make([]float64, 4)
	if err := h.PartialPoints([]float64{0, 1, 5, math.NaN()}, 1, pts); err != nil {
		panic(err)
	}
	fmt.Println(pts)
	// Output: [30 0 -40 -5]
}
