package audit

import (
	"reflect"
	"sync"
	"testing"
)

// TestTally: admissions from many goroutines add up per kind; Flush hands
// out increments whose sum is Total.
func TestTally(t *testing.T) {
	var tl Tally
	grad := Disclosure{To: "bank-a", Step: "vlr.gradient", What: "LR gradient of its 13 columns", Count: 1, Values: 13, Shape: []int{13}, Masked: true}
	loss := Disclosure{To: "bank-a", Step: "vlr.loss", What: "loss sum", Count: 1, Values: 1}
	center := Disclosure{To: "center", Step: "vlr.gradient", What: "LR gradient of its 10 columns", Count: 1, Values: 10, Shape: []int{10}, Masked: true}
	var steps [][]Disclosure
	for epoch := range 3 {
		var wg sync.WaitGroup
		for range 10 {
			wg.Add(3)
			go func() { defer wg.Done(); tl.Add(grad) }()
			go func() { defer wg.Done(); tl.Add(loss) }()
			go func() { defer wg.Done(); tl.Add(center) }()
		}
		wg.Wait()
		steps = append(steps, tl.Flush())
		if len(steps[epoch]) != 3 {
			t.Fatalf("epoch %d: %d kinds flushed, want 3", epoch, len(steps[epoch]))
		}
	}
	if got := tl.Flush(); got != nil {
		t.Errorf("a second Flush returned %+v", got)
	}
	var sum []Disclosure
	for _, s := range steps {
		sum = addDisclosures(sum, s)
	}
	total := tl.Total()
	want := map[string]Disclosure{}
	for _, d := range []Disclosure{grad, loss, center} {
		d.Count, d.Values = 30, 30*d.Values
		want[d.To+" "+d.Step] = d
	}
	for _, list := range [][]Disclosure{total, sum} {
		if len(list) != 3 {
			t.Fatalf("%d kinds, want 3: %+v", len(list), list)
		}
		for _, d := range list {
			if w := want[d.To+" "+d.Step]; !reflect.DeepEqual(d, w) {
				t.Errorf("%+v, want %+v", d, w)
			}
		}
	}
	for _, d := range total {
		if len(d.Shape) > 0 {
			d.Shape[0] = 99 // a copy: the tally keeps its own
		}
	}
	for _, d := range tl.Total() {
		if len(d.Shape) > 0 && d.Shape[0] == 99 {
			t.Error("Total shares its shapes with the caller")
		}
	}
}
