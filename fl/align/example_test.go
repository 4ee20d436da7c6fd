package align_test

import (
	"context"
	"errors"
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

// The center lets each enterprise be aligned once: its hook charges the
// intersection, or refuses it, before the bank learns which of its ids the
// center holds. The refusal names no id and nothing the bank was not shown
// before.
func ExampleAlignWith() {
	ctx := context.Background()
	centerIDs := []string{"e1", "e2", "e3", "e4"}
	charged := make([]bool, len(centerIDs))
	opts := align.Options{
		MaxPeerIDs: 1000,
		BeforeReveal: func(rows []int) error {
			for _, r := range rows {
				if charged[r] {
					return errors.New("an enterprise of the session was aligned before")
				}
			}
			for _, r := range rows {
				charged[r] = true
			}
			return nil
		},
	}
	for _, bankIDs := range [][]string{{"e2", "e4", "e9"}, {"e3", "e4"}} {
		bank, center := fl.NewPipe()
		done := make(chan error, 1)
		go func() {
			_, err := align.AlignWith(ctx, center, centerIDs, opts)
			done <- err
		}()
		res, err := align.Align(ctx, bank, bankIDs)
		if err != nil {
			fmt.Println("bank:", err)
		} else {
			fmt.Println("bank: aligned", len(res.Rows))
		}
		fmt.Println("center:", <-done)
	}
	// Output:
	// bank: aligned 2
	// center: <nil>
	// bank: align: fl: peer aborted: align: an enterprise of the session was aligned before
	// center: align: an enterprise of the session was aligned before
}

// A party follows its alignment through Options.Progress: its three
// phases, each reported once done.
func ExampleAlignWith_progress() {
	ctx := context.Background()
	bank, center := fl.NewPipe()
	go func() { _, _ = align.Align(ctx, center, []string{"91210200MA0Y", "91210211C44"}) }()
	o := align.Options{Progress: func(step string, done, total int) {
		fmt.Printf("%s %d/%d\n", step, done, total)
	}}
	if _, err := align.AlignWith(ctx, bank, []string{"91210200MA0Y", "91210299Z00"}, o); err != nil {
		panic(err)
	}
	// Output:
	// align 0/3
	// align 1/3
	// align 2/3
	// align 3/3
}
