package dataset_test

import (
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"

	"github.com/veil-fl/veil/dataset"
)

func ExampleParseCSV() {
	const guest = `id,y,income,overdue
e1,0,5200.5,0
e2,1,,3
e3,0,7100,NA
`
	t, err := dataset.ParseCSV(strings.NewReader(guest), "guest.csv", dataset.CSVOptions{LabelColumn: "y"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(t.Rows(), "rows of", t.Columns, "labels", t.Labels)
	fmt.Println(t.IDs[1], t.Row(1))

	_, err = dataset.ParseCSV(strings.NewReader("id,y,PAY_6\n1,yes,2\n"), "guest.csv", dataset.CSVOptions{LabelColumn: "y"})
	fmt.Println(err, errors.Is(err, dataset.ErrBadLabel))
	// Output:
	// 3 rows of [income overdue] labels [0 1 0]
	// e2 [NaN 3]
	// guest.csv:2:2 (y): label "yes" is not 0 or 1 true
}

// A text cell makes its column categorical: X holds the index of the row's
// label in Categories. Declaring a column keeps its labels as written.
func ExampleParseCSV_categorical() {
	const bank = `id,y,income,job,branch
e1,0,5200.5,salaried,007
e2,1,,freelance,012
e3,0,7100,NA,007
`
	t, err := dataset.ParseCSV(strings.NewReader(bank), "bank.csv",
		dataset.CSVOptions{LabelColumn: "y", Categorical: []string{"branch"}})
	if err != nil {
		log.Fatal(err)
	}
	for _, c := range t.Categorical() {
		fmt.Println(c.Name, c.Index, c.NumLabels, t.Categories[c.Index])
	}
	fmt.Println(t.Row(0), t.Row(1), t.Row(2))
	// Output:
	// job 1 2 [freelance salaried]
	// branch 2 2 [007 012]
	// [5200.5 1 0] [NaN 0 1] [7100 NaN 0]
}

func ExampleReadCSV() {
	dir, err := os.MkdirTemp("", "veil")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "center.csv")
	if err := os.WriteFile(path, []byte("id,tax_arrears\n91210202MA0QC8L446,0\n"), 0o600); err != nil {
		log.Fatal(err)
	}

	// The center's file has no label column; a bank's would pass LabelColumn: "y".
	t, err := dataset.ReadCSV(path, dataset.CSVOptions{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(t.Name, t.Rows(), t.Columns, t.Labels == nil)
	// Output: center.csv 1 [tax_arrears] true
}

func ExampleSynthesize() {
	bank, center, err := dataset.Synthesize(dataset.SynthOptions{Rows: 1000, Seed: 1})
	if err != nil {
		log.Fatal(err)
	}
	rowsBank, rowsCenter := dataset.Align(bank, center)
	fmt.Println(bank.Rows(), "bank rows,", center.Rows(), "center rows,", len(rowsBank), "in both")
	fmt.Println(dataset.ValidUSCC(bank.IDs[0]), bank.IDs[rowsBank[0]] == center.IDs[rowsCenter[0]])

	// Write the pair in the layout ReadCSV reads.
	var out strings.Builder
	if err := center.WriteCSV(&out); err != nil {
		log.Fatal(err)
	}
	fmt.Println(strings.SplitN(out.String(), ",", 3)[:2])
	// Output:
	// 1000 bank rows, 1000 center rows, 900 in both
	// true true
	// [id tax_paid_annual]
}

func ExampleStratifiedSplit() {
	labels := []float64{0, 0, 0, 0, 0, 1, 1, 0, 0, 1}
	train, test, err := dataset.StratifiedSplit(labels, 0.3, 42)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(train), len(test))
	// Output: 7 3
}

func ExampleValidUSCC() {
	fmt.Println(dataset.ValidUSCC("9121020224160135X8"), dataset.ValidUSCC("9121020224160135X9"))
	// Output: true false
}
