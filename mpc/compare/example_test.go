package compare_test

import (
	"fmt"

	"github.com/veil-fl/veil/mpc/compare"
	"github.com/veil-fl/veil/mpc/ot"
)

// The helper holds x, the learner y (one per cut); the learner learns
// whether x + y >= 0 for each and nothing else. The loop is the transport.
func Example() {
	chooser, offerer, err := ot.Local()
	if err != nil {
		panic(err)
	}
	x := []uint32{100, 5}
	y := []int32{-50, -101, -5, 3} // two cuts per record
	yu := make([]uint32, len(y))
	for i, v := range y {
		yu[i] = uint32(v)
	}
	h, err := compare.NewHelper(chooser, x, 2)
	if err != nil {
		panic(err)
	}
	l, err := compare.NewLearner(offerer, yu, 2)
	if err != nil {
		panic(err)
	}
	msg, err := h.Start()
	if err != nil {
		panic(err)
	}
	for {
		out, done, err := l.Next(msg)
		if err != nil {
			panic(err)
		}
		if done {
			break
		}
		if msg, _, err = h.Next(out); err != nil {
			panic(err)
		}
	}
	fmt.Println(l.Result())
	// Output: [1 0 1 1]
}
