package vlr_test

import (
	"context"
	"fmt"

	"github.com/veil-fl/veil/dataset"
	"github.com/veil-fl/veil/fl"
	"github.com/veil-fl/veil/fl/vlr"
	"github.com/veil-fl/veil/model"
)

// The bank and the center train LR on their aligned, standardized columns;
// each receives its own weights and nothing else of the other's data.
func Example() {
	ctx := context.Background()
	bankT, centerT, err := dataset.Synthesize(dataset.SynthOptions{Rows: 400, Seed: 1})
	if err != nil {
		panic(err)
	}
	prep := func(tab *dataset.Table) []float64 {
		st, err := model.FitStandardizer(tab.X, tab.Cols())
		if err != nil {
			panic(err)
		}
		st.Clip = 5
		x := make([]float64, len(tab.X))
		if err := st.Transform(tab.X, x); err != nil {
			panic(err)
		}
		return x
	}
	// The generated tables share their ids in order; real ones are aligned
	// first (package align).
	bankT, centerT = alignedPrefix(bankT, centerT)
	seed := []byte("the joint seed of the session's handshake")
	a, b := fl.NewPipe()
	done := make(chan *vlr.Result, 1)
	go func() {
		r, err := vlr.TrainPassive(ctx, b, seed, vlr.Data{X: prep(centerT), Cols: centerT.Cols()})
		if err != nil {
			panic(err)
		}
		done <- r
	}()
	bank, err := vlr.TrainActive(ctx, a, seed, vlr.Data{X: prep(bankT), Cols: bankT.Cols(), Y: bankT.Labels}, vlr.Options{Epochs: 3}, nil)
	if err != nil {
		panic(err)
	}
	center := <-done
	fmt.Printf("bank: %d weights and an intercept; center: %d weights\n", len(bank.Weights), len(center.Weights))
	// Output:
	// bank: 10 weights and an intercept; center: 12 weights
}

// alignedPrefix keeps the rows whose ids both tables hold, in the bank's
// order: what alignment gives, done here in the clear for brevity.
func alignedPrefix(bank, center *dataset.Table) (*dataset.Table, *dataset.Table) {
	pos := map[string]int{}
	for i, id := range center.IDs {
		pos[id] = i
	}
	var rb, rc []int
	for i, id := range bank.IDs {
		if j, ok := pos[id]; ok {
			rb, rc = append(rb, i), append(rc, j)
		}
	}
	return bank.Select(rb), center.Select(rc)
}
