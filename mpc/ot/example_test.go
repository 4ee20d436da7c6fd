package ot_test

import (
	"fmt"

	"github.com/veil-fl/veil/mpc/ot"
)

// Two parties set up (here in one process), make 64 random OTs, and run
// 16 1-out-of-4 OTs on them: the chooser gets the message it chose.
func Example() {
	chooser, offerer, err := ot.Local()
	if err != nil {
		panic(err)
	}
	cb, columns, err := chooser.Extend(64, nil) // the chooser sends columns
	if err != nil {
		panic(err)
	}
	ob, err := offerer.Extend(64, columns)
	if err != nil {
		panic(err)
	}
	choice := func(i int) uint { return uint(i % 4) }
	d, err := cb.Derandomize(0, 16, 2, choice) // the chooser sends d
	if err != nil {
		panic(err)
	}
	msgs, err := ob.Offer(0, 16, 2, 8, d, func(i int, x uint) uint64 { return uint64(10*i) + uint64(x) })
	if err != nil {
		panic(err)
	}
	got, err := cb.Receive(0, 16, 2, 8, choice, msgs)
	if err != nil {
		panic(err)
	}
	fmt.Println(got[:6])
	// Output: [0 11 22 33 40 51]
}
