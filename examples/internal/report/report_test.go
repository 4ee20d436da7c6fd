package report

import (
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/veil-fl/veil/model"
)

// fixture returns a report of two models and five features on synthetic
// scores.
func fixture() *Report {
	r := rand.New(rand.NewPCG(5, 6))
	n := 2000
	labels, fed, plain, pts := make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)
	for i := range labels {
		z := r.NormFloat64()
		if r.Float64() < 1/(1+math.Exp(-2*z+1.5)) {
			labels[i] = 1
		}
		fed[i] = z + 1e-4*r.NormFloat64()
		plain[i] = z
		pts[i] = 500 - 30*z
	}
	loss := []float64{0.69, 0.6, 0.55, 0.53, 0.52}
	return &Report{
		Title:   "Veil two-party credit model",
		Summary: []string{"synthetic data, 2000 test rows"},
		Models: []Model{
			{Name: "LR", Labels: labels, Federated: fed, Plain: plain, CurveX: "epoch", CurveY: "training loss", FedCurve: loss, PlainCurve: loss},
			{Name: "WOE scorecard", Labels: labels, Federated: fed, Points: pts, Note: "points per bin, each party its own"},
		},
		Features: []Feature{
			{Name: "balance", Party: model.Active, IV: 0.3, Keep: true},
			{Name: "tax", Party: model.Passive, IV: 0.5, Keep: true},
			{Name: "age", Party: model.Active, IV: 0.01},
			{Name: "penalties", Party: model.Passive, IV: 0.12, Keep: true},
			{Name: "<script>", Party: model.Passive, IV: 0},
			{Name: "legal_form", Party: model.Passive, IV: 0.2, Keep: true, Categorical: true, MissingWOE: -0.05, Levels: []Level{
				{Label: "joint-stock company", Bin: 0, Rows: 300, Events: 6, WOE: 0.9},
				{Label: "sole proprietorship", Bin: 1, Rows: 500, Events: 60, WOE: -0.4},
				{Label: "state-owned enterprise", Bin: 0, Rows: 300, Events: 6, WOE: 0.9},
			}},
			{Name: "account_type", Party: model.Active, IV: 0.05, Categorical: true},
		},
	}
}

func TestWrite(t *testing.T) {
	dir := t.TempDir()
	files, err := Write(dir, fixture())
	if err != nil {
		t.Fatal(err)
	}
	html, err := os.ReadFile(filepath.Join(dir, "index.html"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(html), "<script>") {
		t.Error("a feature name reaches the page unescaped")
	}
	var refs []string
	for _, m := range regexp.MustCompile(`<img src="([^"]+)"`).FindAllStringSubmatch(string(html), -1) {
		refs = append(refs, m[1])
	}
	pngs, _ := filepath.Glob(filepath.Join(dir, "*.png"))
	// roc, iv, and per model ks, dist, lift (+ the LR's learning curve).
	if len(pngs) != 9 {
		t.Errorf("%d PNG files, want 9: %v", len(pngs), pngs)
	}
	for _, path := range pngs {
		name := filepath.Base(path)
		if !slices.Contains(refs, name) {
			t.Errorf("%s is not referenced by index.html", name)
		}
		if !slices.Contains(files, path) {
			t.Errorf("%s is not among the files Write reports", name)
		}
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(f)
		f.Close()
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		b := img.Bounds()
		if b.Dx() < 400 || b.Dy() < 250 || b.Dx() > 4000 || b.Dy() > 4000 {
			t.Errorf("%s is %dx%d pixels", name, b.Dx(), b.Dy())
		}
	}
	for _, ref := range refs {
		if _, err := os.Stat(filepath.Join(dir, ref)); err != nil {
			t.Errorf("index.html shows %s, which is missing", ref)
		}
	}
	for _, want := range []string{"LR", "WOE scorecard", "penalties", "plaintext AUC", "WOE by category",
		"<h3>legal_form (credit center, IV 0.2000)</h3>", "<td>sole proprietorship</td><td>1</td><td>500</td><td>12.00%</td><td>-0.4000</td>",
		"<td><i>missing or unseen</i></td><td>-</td><td>-</td><td>-</td><td>-0.0500</td>",
		"<td>legal_form</td><td>credit center</td><td>categorical</td>", "<td>balance</td><td>bank</td><td>numeric</td>"} {
		if !strings.Contains(string(html), want) {
			t.Errorf("index.html does not mention %q", want)
		}
	}
}

// A categorical feature whose categories are unknown is in the IV chart
// and table, without a table of categories.
func TestWriteCategoricalWithoutNames(t *testing.T) {
	dir := t.TempDir()
	if _, err := Write(dir, &Report{Title: "t", Features: []Feature{{Name: "center_3", Party: model.Passive, IV: 0.1, Categorical: true}}}); err != nil {
		t.Fatal(err)
	}
	html, err := os.ReadFile(filepath.Join(dir, "index.html"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(html), "<td>center_3</td><td>credit center</td><td>categorical</td>") || strings.Contains(string(html), "WOE by category") {
		t.Errorf("index.html:\n%s", html)
	}
}

func TestWriteBadInput(t *testing.T) {
	for _, tc := range []struct {
		name string
		r    *Report
	}{
		{"empty", &Report{}},
		{"ragged", &Report{Models: []Model{{Name: "LR", Labels: []float64{0, 1}, Federated: []float64{1}}}}},
		{"one class", &Report{Models: []Model{{Name: "LR", Labels: []float64{1, 1}, Federated: []float64{1, 2}}}}},
		{"bad labels", &Report{Models: []Model{{Name: "LR", Labels: []float64{0, 2}, Federated: []float64{1, 2}}}}},
	} {
		if _, err := Write(t.TempDir(), tc.r); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
}
