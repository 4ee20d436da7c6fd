package align_test

import (
	"context"
	"fmt"

	"github.com/veil-fl/veil/fl"
	"github.com/veil-fl/veil/fl/align"
)

// The bank and the center find the enterprises they both hold; each gets
// its own rows of them, in the same order (that of the ids).
func ExampleAlign() {
	ctx := context.Background()
	bank, center := fl.NewPipe()
	done := make(chan []int, 1)
	centerIDs := []string{"91210200MA0Y", "91210211C44", "91210204X17", "91210203K88"}
	go func() {
		res, err := align.Align(ctx, center, centerIDs)
		if err != nil {
			panic(err)
		}
		done <- res.Rows
	}()
	bankIDs := []string{"91210204X17", "91210299Z00", "91210200MA0Y"}
	res, err := align.Align(ctx, bank, bankIDs)
	if err != nil {
		panic(err)
	}
	centerRows := <-done
	for i, r := range res.Rows {
		fmt.Println(bankIDs[r], centerIDs[centerRows[i]])
	}
	// Output:
	// 91210200MA0Y 91210200MA0Y
	// 91210204X17 91210204X17
}
