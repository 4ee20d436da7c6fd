// Command bench runs Veil's benchmark suite and prints a markdown table, or
// with -json one JSON object per figure ({name, value, unit} and, where a
// baseline was timed in the same run, baseline and ratio). Every figure is
// the median of -runs runs (PSI: one run by default, it takes half a
// minute) and states its sizes and the cores used.
//
//	go run ./bench
//	go run ./bench -json -only he_xtd_100k_300,vlr_epoch_100k_30x300
//	go run ./bench -export out/ -rows 100000 -bank-features 30 -center-features 300
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/veil-fl/veil/dataset"
)

// figure is one measured number.
type figure struct {
	Name     string   `json:"name"`
	Value    float64  `json:"value"`
	Unit     string   `json:"unit"`
	Baseline *float64 `json:"baseline,omitempty"`
	Ratio    *float64 `json:"ratio,omitempty"`
	Note     string   `json:"note"`
}

// benchmark produces figures; runs is the number of timed repetitions.
type benchmark struct {
	name string
	run  func(runs int) ([]figure, error)
}

var suite = []benchmark{
	{"encrypt_per_value", benchEncrypt},
	{"he_xtd_100k_300", benchXtd},
	{"he_hist_100k_30x32", benchHist},
	{"vlr_epoch_100k_30x300", benchVLR}, // also gives bytes_per_sample_vlr_epoch
	{"psi_1m", benchPSI},
	{"sbt_tree_100k_30x300_d5", benchSBT},
	{"score_lr", benchScoreLR},          // also gives score_lr_bands
	{"score_gbdt_50x3", benchScoreGBDT}, // also gives score_gbdt_50x3_bands
}

// notBuilt lists contracted figures whose subject is not built yet.
var notBuilt = map[string]string{}

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	jsonOut := fs.Bool("json", false, "one JSON object per figure")
	only := fs.String("only", "", "comma-separated figure names to run")
	runs := fs.Int("runs", 3, "timed runs per figure (the median is reported)")
	export := fs.String("export", "", "write the synthetic pair as CSV into this folder and exit")
	rows := fs.Int("rows", 100_000, "rows of the exported pair")
	bankF := fs.Int("bank-features", 30, "bank columns of the exported pair")
	centerF := fs.Int("center-features", 300, "credit-center columns of the exported pair")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *export != "" {
		return exportPair(*export, *rows, *bankF, *centerF, stderr)
	}
	if *runs < 1 {
		return errors.New("-runs must be at least 1")
	}
	want := map[string]bool{}
	for _, n := range strings.Split(*only, ",") {
		if n = strings.TrimSpace(n); n != "" {
			want[n] = true
		}
	}
	// Figures a benchmark of another name gives.
	extra := map[string]string{
		"bytes_per_sample_vlr_epoch":        "vlr_epoch_100k_30x300",
		"vlr_epoch_100k_30x300_reveal":      "vlr_epoch_100k_30x300",
		"bytes_per_sample_vlr_epoch_reveal": "vlr_epoch_100k_30x300",
		"score_lr_bands":                    "score_lr",
		"score_gbdt_50x3_bands":             "score_gbdt_50x3",
	}
	known := map[string]bool{}
	for n := range extra {
		known[n] = true
	}
	for _, b := range suite {
		known[b.name] = true
	}
	for n := range want {
		if !known[n] && notBuilt[n] == "" {
			return fmt.Errorf("-only: unknown figure %q", n)
		}
	}
	var figs []figure
	for _, b := range suite {
		wanted := len(want) == 0 || want[b.name]
		for n, by := range extra {
			wanted = wanted || (by == b.name && want[n])
		}
		if !wanted {
			continue
		}
		fmt.Fprintf(stderr, "running %s...\n", b.name)
		start := time.Now()
		got, err := b.run(*runs)
		if err != nil {
			return fmt.Errorf("%s: %w", b.name, err)
		}
		fmt.Fprintf(stderr, "  done in %.1f s\n", time.Since(start).Seconds())
		// Naming a benchmark prints every figure it gives (its bytes, its
		// real-data twin); naming one of its figures prints that one.
		for _, f := range got {
			if len(want) == 0 || want[b.name] || want[f.Name] {
				figs = append(figs, f)
			}
		}
	}
	var skipped []string
	for n, why := range notBuilt {
		if len(want) == 0 || want[n] {
			skipped = append(skipped, n+": "+why)
		}
	}
	sort.Strings(skipped)
	if *jsonOut {
		enc := json.NewEncoder(stdout)
		for _, f := range figs {
			if err := enc.Encode(f); err != nil {
				return err
			}
		}
		for _, s := range skipped {
			fmt.Fprintln(stderr, "skipped", s)
		}
		return nil
	}
	fmt.Fprintf(stdout, "Veil benchmarks (%d cores, %s, median of %d runs)\n\n", runtime.GOMAXPROCS(0), runtime.Version(), *runs)
	fmt.Fprintln(stdout, "| figure | value | unit | baseline | ratio | what |")
	fmt.Fprintln(stdout, "|---|---|---|---|---|---|")
	for _, f := range figs {
		base, ratio := "", ""
		if f.Baseline != nil {
			base, ratio = fmt.Sprintf("%.4g", *f.Baseline), fmt.Sprintf("%.3g", *f.Ratio)
		}
		fmt.Fprintf(stdout, "| %s | %.4g | %s | %s | %s | %s |\n", f.Name, f.Value, f.Unit, base, ratio, f.Note)
	}
	for _, s := range skipped {
		fmt.Fprintf(stdout, "\nnot measured: %s", s)
	}
	fmt.Fprintln(stdout)
	return nil
}

// median times f runs times and returns the median seconds.
func median(runs int, f func() error) (float64, error) {
	secs := make([]float64, runs)
	for i := range secs {
		t0 := time.Now()
		if err := f(); err != nil {
			return 0, err
		}
		secs[i] = time.Since(t0).Seconds()
	}
	slices.Sort(secs)
	return secs[runs/2], nil
}

func withBaseline(f figure, baseline float64) figure {
	r := f.Value / baseline
	f.Baseline, f.Ratio = &baseline, &r
	return f
}

// exportPair writes the synthetic pair, with the given numbers of columns, as CSV.
func exportPair(dir string, rows, bankF, centerF int, log io.Writer) error {
	bank, center, err := widePair(rows, bankF, centerF, 42)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for name, t := range map[string]*dataset.Table{"bank.csv": bank, "center.csv": center} {
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			return err
		}
		if err := t.WriteCSV(f); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
		fmt.Fprintf(log, "wrote %s: %d rows, %d features\n", filepath.Join(dir, name), t.Rows(), t.Cols())
	}
	return nil
}
