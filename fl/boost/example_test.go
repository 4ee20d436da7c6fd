package boost_test

import (
	"context"
	"fmt"

	"github.com/veil-fl/veil/dataset"
	"github.com/veil-fl/veil/fl"
	"github.com/veil-fl/veil/fl/boost"
	"github.com/veil-fl/veil/model"
)

// The bank and the center grow SecureBoost trees on their raw columns, then
// score rows federatedly: the bank gets logits, the center keeps its splits.
func Example() {
	ctx := context.Background()
	bankT, centerT, err := dataset.Synthesize(dataset.SynthOptions{Rows: 600, Seed: 2})
	if err != nil {
		panic(err)
	}
	// Keep the rows both hold, in one order (package align does this
	// privately; the clear-text join here is for brevity).
	pos := map[string]int{}
	for i, id := range centerT.IDs {
		pos[id] = i
	}
	var rb, rc []int
	for i, id := range bankT.IDs {
		if j, ok := pos[id]; ok {
			rb, rc = append(rb, i), append(rc, j)
		}
	}
	bankT, centerT = bankT.Select(rb), centerT.Select(rc)

	seed := []byte("the joint seed of the session's handshake")
	a, b := fl.NewPipe()
	done := make(chan error, 1)
	go func() {
		r, err := boost.TrainPassive(ctx, b, seed, boost.Data{X: centerT.X, Cols: centerT.Cols()})
		if err == nil {
			err = boost.PredictPassive(ctx, b, &r.PassiveModel, centerT.X, centerT.Cols())
		}
		done <- err
	}()
	opt := boost.Options{GBDTOptions: model.GBDTOptions{Trees: 2, MaxDepth: 2}}
	r, err := boost.TrainActive(ctx, a, seed, boost.Data{X: bankT.X, Cols: bankT.Cols(), Y: bankT.Labels}, opt, nil)
	if err != nil {
		panic(err)
	}
	logits, err := boost.PredictActiveLogits(ctx, a, &r.ActiveModel, bankT.X, bankT.Cols())
	if err != nil {
		panic(err)
	}
	if err := <-done; err != nil {
		panic(err)
	}
	fmt.Printf("%d trees, %d logits\n", len(r.Trees), len(logits))
	// Output:
	// 2 trees, 540 logits
}
