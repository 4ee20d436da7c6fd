package report_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/veil-fl/veil/examples/internal/report"
	"github.com/veil-fl/veil/model"
)

func ExampleWrite() {
	dir, err := os.MkdirTemp("", "veil-report")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	labels := []float64{0, 0, 1, 0, 1, 1, 0, 0, 1, 0}
	scores := []float64{0.1, 0.3, 0.7, 0.2, 0.6, 0.9, 0.4, 0.2, 0.5, 0.35}
	files, err := report.Write(dir, &report.Report{
		Title:    "demo",
		Models:   []report.Model{{Name: "LR", Labels: labels, Federated: scores, Plain: scores}},
		Features: []report.Feature{{Name: "tax", Party: model.Passive, IV: 0.4, Keep: true}},
	})
	if err != nil {
		panic(err)
	}
	for _, f := range files {
		fmt.Println(filepath.Base(f))
	}
	// Output:
	// roc.png
	// ks_1_lr.png
	// dist_1_lr.png
	// lift_1_lr.png
	// iv.png
	// index.html
}
