// Package report renders the two-party job's results as one HTML page with
// PNG plots (gonum.org/v1/plot): ROC curves, KS curves, the score
// distribution of goods and bads, lift by decile, information value by
// feature for both parties (categorical features included, with a table of
// the WOE of each category), and learning curves, each federated model next
// to its plaintext reference. It is presentation only: it takes plain
// numbers (test scores and labels, IVs, losses) and knows nothing of the
// protocols, so gonum/plot stays out of the library packages.
package report

import (
	"errors"
	"fmt"
	"html/template"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/veil-fl/veil/model"
)

// Model is one model's test results.
type Model struct {
	// Name is shown in titles and legends, e.g. "LR" or "WOE scorecard".
	Name string
	// Labels are the test rows' 0/1 labels (1 = default).
	Labels []float64
	// Federated are the federated model's risk scores of the test rows:
	// higher means more likely to default (a probability or a logit).
	Federated []float64
	// Plain are the plaintext reference's risk scores; nil when there is
	// none.
	Plain []float64
	// Points, when set, are credit points of the federated model (higher =
	// better credit) that the score distribution shows instead of Federated.
	Points []float64
	// Curve is the learning curve, named CurveY over CurveX (e.g. "training
	// loss" by "epoch"), federated and plaintext; empty for none.
	CurveX, CurveY       string
	FedCurve, PlainCurve []float64
	// Note is a line of text shown under the model's heading.
	Note string
}

// Feature is one feature's information value.
type Feature struct {
	Name string
	// Party is model.Active (the bank) or model.Passive (the center).
	Party model.Role
	IV    float64
	// Keep reports whether the selection kept the feature.
	Keep bool
	// Categorical marks a categorical feature, binned by category.
	Categorical bool
	// Levels are a categorical feature's categories with their bins' WOE,
	// shown as a table; nil when their names are unknown (the center keeps
	// its names private) or the feature is numeric. MissingWOE is the WOE
	// of its missing bin, which labels unseen in training share.
	Levels     []Level
	MissingWOE float64
}

// Level is one category of a categorical feature: its label, its bin
// (optimal binning merges categories of similar risk into one), and the
// bin's rows, events (defaults) and WOE.
type Level struct {
	Label        string
	Bin          int
	Rows, Events float64
	WOE          float64
}

// Report is what Write renders.
type Report struct {
	Title string
	// Summary lines under the title (data, rows, timings).
	Summary []string
	Models  []Model
	// Features are the IVs of both parties' features; the center's are as
	// the bank learned them from the federated counts.
	Features []Feature
}

// Figure sizes.
const (
	width  = 7 * vg.Inch
	height = 4.5 * vg.Inch
)

var (
	fedColor   = color.RGBA{R: 31, G: 119, B: 180, A: 255}
	plainColor = color.RGBA{R: 255, G: 127, B: 14, A: 255}
	bankColor  = color.RGBA{R: 31, G: 119, B: 180, A: 255}
	centColor  = color.RGBA{R: 44, G: 160, B: 44, A: 255}
	badColor   = color.RGBA{R: 214, G: 39, B: 40, A: 255}
	goodColor  = color.RGBA{R: 44, G: 160, B: 44, A: 255}
	badFill    = color.NRGBA{R: 214, G: 39, B: 40, A: 120}
	goodFill   = color.NRGBA{R: 44, G: 160, B: 44, A: 120}
	palette    = []color.Color{fedColor, plainColor, centColor, badColor, color.RGBA{R: 148, G: 103, B: 189, A: 255}}
)

// modelView is a model's figures and metrics for the page.
type modelView struct {
	Name, Note              string
	AUC, KS                 float64
	PlainAUC, PlainKS       float64
	HasPlain                bool
	KSImg, DistImg, LiftImg string
	CurveImg                string
}

type page struct {
	Title       string
	Summary     []string
	ROCImg      string
	IVImg       string
	Models      []modelView
	Features    []Feature
	Categorical []Feature // those with Levels
}

// Write renders r into dir (created if needed): index.html and the PNG
// files it shows. It returns the paths written.
func Write(dir string, r *Report) ([]string, error) {
	if len(r.Models) == 0 && len(r.Features) == 0 {
		return nil, errors.New("report: nothing to show")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var written []string
	save := func(p *plot.Plot, name string) (string, error) {
		path := filepath.Join(dir, name)
		if err := p.Save(width, height, path); err != nil {
			return "", fmt.Errorf("report: %s: %w", name, err)
		}
		written = append(written, path)
		return name, nil
	}
	pg := page{Title: r.Title, Summary: r.Summary, Features: r.Features}
	for _, f := range r.Features {
		if len(f.Levels) > 0 {
			pg.Categorical = append(pg.Categorical, f)
		}
	}
	if len(r.Models) > 0 {
		p, err := rocPlot(r.Models)
		if err != nil {
			return nil, err
		}
		if pg.ROCImg, err = save(p, "roc.png"); err != nil {
			return nil, err
		}
	}
	for i, m := range r.Models {
		if err := checkModel(m); err != nil {
			return nil, err
		}
		slug := fmt.Sprintf("%d_%s", i+1, slugify(m.Name))
		mv := modelView{Name: m.Name, Note: m.Note, HasPlain: m.Plain != nil}
		var err error
		if mv.AUC, err = model.AUC(m.Federated, m.Labels); err != nil {
			return nil, fmt.Errorf("report: %s: %w", m.Name, err)
		}
		mv.KS, _ = model.KS(m.Federated, m.Labels)
		if m.Plain != nil {
			mv.PlainAUC, _ = model.AUC(m.Plain, m.Labels)
			mv.PlainKS, _ = model.KS(m.Plain, m.Labels)
		}
		p, err := ksPlot(m)
		if err != nil {
			return nil, err
		}
		if mv.KSImg, err = save(p, "ks_"+slug+".png"); err != nil {
			return nil, err
		}
		if p, err = distPlot(m); err != nil {
			return nil, err
		}
		if mv.DistImg, err = save(p, "dist_"+slug+".png"); err != nil {
			return nil, err
		}
		if p, err = liftPlot(m); err != nil {
			return nil, err
		}
		if mv.LiftImg, err = save(p, "lift_"+slug+".png"); err != nil {
			return nil, err
		}
		if len(m.FedCurve) > 0 {
			if p, err = curvePlot(m); err != nil {
				return nil, err
			}
			if mv.CurveImg, err = save(p, "curve_"+slug+".png"); err != nil {
				return nil, err
			}
		}
		pg.Models = append(pg.Models, mv)
	}
	if len(r.Features) > 0 {
		p, err := ivPlot(r.Features)
		if err != nil {
			return nil, err
		}
		if pg.IVImg, err = save(p, "iv.png"); err != nil {
			return nil, err
		}
	}
	path := filepath.Join(dir, "index.html")
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pageTmpl.Execute(f, pg); err != nil {
		f.Close()
		return nil, fmt.Errorf("report: index.html: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, err
	}
	return append(written, path), nil
}

func checkModel(m Model) error {
	n := len(m.Labels)
	if len(m.Federated) != n || (m.Plain != nil && len(m.Plain) != n) || (m.Points != nil && len(m.Points) != n) {
		return fmt.Errorf("report: %s: %d labels, %d federated scores, %d plaintext scores, %d points", m.Name, n, len(m.Federated), len(m.Plain), len(m.Points))
	}
	return nil
}

func slugify(s string) string {
	s = strings.ToLower(s)
	return strings.Map(func(r rune) rune {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			return r
		}
		return '_'
	}, s)
}

func newPlot(title, x, y string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = x
	p.Y.Label.Text = y
	p.Add(plotter.NewGrid())
	return p
}

// thin keeps at most max points of a curve, evenly spaced, first and last
// included, so that plots of large test sets stay light.
func thin(xys plotter.XYs, max int) plotter.XYs {
	if len(xys) <= max {
		return xys
	}
	out := make(plotter.XYs, 0, max)
	for k := 0; k < max; k++ {
		out = append(out, xys[k*(len(xys)-1)/(max-1)])
	}
	return out
}

func addLine(p *plot.Plot, xys plotter.XYs, c color.Color, dashed bool, label string) error {
	l, err := plotter.NewLine(thin(xys, 600))
	if err != nil {
		return err
	}
	l.Color = c
	l.Width = vg.Points(1.5)
	if dashed {
		l.Dashes = []vg.Length{vg.Points(5), vg.Points(3)}
	}
	p.Add(l)
	if label != "" {
		p.Legend.Add(label, l)
	}
	return nil
}

func rocXY(scores, labels []float64) (plotter.XYs, error) {
	pts, err := model.ROC(scores, labels)
	if err != nil {
		return nil, err
	}
	xys := make(plotter.XYs, len(pts))
	for i, q := range pts {
		xys[i].X, xys[i].Y = q.FPR, q.TPR
	}
	return xys, nil
}

func rocPlot(ms []Model) (*plot.Plot, error) {
	p := newPlot("ROC on the test rows (solid: federated, dashed: plaintext)", "false positive rate", "true positive rate")
	for i, m := range ms {
		if err := checkModel(m); err != nil {
			return nil, err
		}
		c := palette[i%len(palette)]
		xys, err := rocXY(m.Federated, m.Labels)
		if err != nil {
			return nil, fmt.Errorf("report: %s: %w", m.Name, err)
		}
		auc, _ := model.AUC(m.Federated, m.Labels)
		if err := addLine(p, xys, c, false, fmt.Sprintf("%s federated (AUC %.4f)", m.Name, auc)); err != nil {
			return nil, err
		}
		if m.Plain != nil {
			xys, err := rocXY(m.Plain, m.Labels)
			if err != nil {
				return nil, err
			}
			auc, _ := model.AUC(m.Plain, m.Labels)
			if err := addLine(p, xys, c, true, fmt.Sprintf("%s plaintext (AUC %.4f)", m.Name, auc)); err != nil {
				return nil, err
			}
		}
	}
	diag := plotter.XYs{{X: 0, Y: 0}, {X: 1, Y: 1}}
	if err := addLine(p, diag, color.Gray{Y: 160}, true, ""); err != nil {
		return nil, err
	}
	p.Legend.Top, p.Legend.Left = false, false
	p.Legend.XOffs, p.Legend.YOffs = -vg.Points(5), vg.Points(5)
	p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = 0, 1, 0, 1
	return p, nil
}

// ksCurves returns the cumulative shares of bads and goods among the rows
// ranked by decreasing risk, by share of rows.
func ksCurves(scores, labels []float64) (bads, goods plotter.XYs, ks float64, err error) {
	pts, err := model.ROC(scores, labels)
	if err != nil {
		return nil, nil, 0, err
	}
	pos := 0.0
	for _, y := range labels {
		pos += y
	}
	n := float64(len(labels))
	for _, q := range pts {
		share := (q.TPR*pos + q.FPR*(n-pos)) / n
		bads = append(bads, plotter.XY{X: share, Y: q.TPR})
		goods = append(goods, plotter.XY{X: share, Y: q.FPR})
		ks = max(ks, math.Abs(q.TPR-q.FPR))
	}
	return bads, goods, ks, nil
}

func ksPlot(m Model) (*plot.Plot, error) {
	bads, goods, ks, err := ksCurves(m.Federated, m.Labels)
	if err != nil {
		return nil, err
	}
	title := fmt.Sprintf("%s: KS curve, federated KS %.4f", m.Name, ks)
	p := newPlot("", "share of rows, riskiest first", "cumulative share")
	if err := addLine(p, bads, badColor, false, "bads (defaults), federated"); err != nil {
		return nil, err
	}
	if err := addLine(p, goods, goodColor, false, "goods, federated"); err != nil {
		return nil, err
	}
	if m.Plain != nil {
		pb, pgd, pks, err := ksCurves(m.Plain, m.Labels)
		if err != nil {
			return nil, err
		}
		title += fmt.Sprintf(", plaintext %.4f (dashed)", pks)
		if err := addLine(p, pb, badColor, true, ""); err != nil {
			return nil, err
		}
		if err := addLine(p, pgd, goodColor, true, ""); err != nil {
			return nil, err
		}
	}
	p.Title.Text = title
	p.Legend.Top, p.Legend.Left = false, false
	p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = 0, 1, 0, 1
	return p, nil
}

func distPlot(m Model) (*plot.Plot, error) {
	vals, what := m.Federated, "risk score (higher: riskier)"
	if m.Points != nil {
		vals, what = m.Points, "credit points (higher: better)"
	}
	var goods, bads plotter.Values
	for i, y := range m.Labels {
		if y == 1 {
			bads = append(bads, vals[i])
		} else {
			goods = append(goods, vals[i])
		}
	}
	p := newPlot(m.Name+": federated score distribution of goods and bads", what, "density (each class sums to 1)")
	for _, s := range []struct {
		v     plotter.Values
		c     color.Color
		label string
	}{{goods, goodFill, fmt.Sprintf("goods (%d)", len(goods))}, {bads, badFill, fmt.Sprintf("bads (%d)", len(bads))}} {
		if len(s.v) == 0 {
			continue
		}
		h, err := plotter.NewHist(s.v, 40)
		if err != nil {
			return nil, err
		}
		h.Normalize(1)
		h.FillColor = s.c
		h.LineStyle.Width = 0
		p.Add(h)
		p.Legend.Add(s.label, h)
	}
	p.Legend.Top = true
	return p, nil
}

func liftPlot(m Model) (*plot.Plot, error) {
	fed, err := model.Lift(m.Federated, m.Labels, 10)
	if err != nil {
		return nil, err
	}
	p := newPlot(m.Name+": lift by decile, riskiest first", "decile", "lift (default rate / overall)")
	w := vg.Points(14)
	add := func(table []model.LiftBucket, c color.Color, off vg.Length, label string) error {
		v := make(plotter.Values, len(table))
		for i, b := range table {
			v[i] = b.Lift
		}
		bars, err := plotter.NewBarChart(v, w)
		if err != nil {
			return err
		}
		bars.Color, bars.Offset = c, off
		bars.LineStyle.Width = 0
		p.Add(bars)
		p.Legend.Add(label, bars)
		return nil
	}
	if m.Plain == nil {
		if err := add(fed, fedColor, 0, "federated"); err != nil {
			return nil, err
		}
	} else {
		plain, err := model.Lift(m.Plain, m.Labels, 10)
		if err != nil {
			return nil, err
		}
		if err := add(fed, fedColor, -w/2, "federated"); err != nil {
			return nil, err
		}
		if err := add(plain, plainColor, w/2, "plaintext"); err != nil {
			return nil, err
		}
	}
	names := make([]string, len(fed))
	for i := range names {
		names[i] = fmt.Sprint(i + 1)
	}
	p.NominalX(names...)
	p.Legend.Top = true
	return p, nil
}

func curvePlot(m Model) (*plot.Plot, error) {
	p := newPlot(fmt.Sprintf("%s: %s by %s", m.Name, m.CurveY, m.CurveX), m.CurveX, m.CurveY)
	xy := func(v []float64) plotter.XYs {
		out := make(plotter.XYs, 0, len(v))
		for i, y := range v {
			if !math.IsNaN(y) && !math.IsInf(y, 0) {
				out = append(out, plotter.XY{X: float64(i + 1), Y: y})
			}
		}
		return out
	}
	if err := addLine(p, xy(m.FedCurve), fedColor, false, "federated"); err != nil {
		return nil, err
	}
	if len(m.PlainCurve) > 0 {
		if err := addLine(p, xy(m.PlainCurve), plainColor, true, "plaintext"); err != nil {
			return nil, err
		}
	}
	// The legend goes where a rising (AUC) or falling (loss) curve is not.
	p.Legend.Top = m.FedCurve[len(m.FedCurve)-1] < m.FedCurve[0]
	return p, nil
}

func ivPlot(fs []Feature) (*plot.Plot, error) {
	fs = slices.Clone(fs)
	slices.SortStableFunc(fs, func(a, b Feature) int {
		switch {
		case a.IV > b.IV:
			return -1
		case a.IV < b.IV:
			return 1
		}
		return 0
	})
	p := newPlot("IV by feature (the center's as the bank learned them, encrypted)", "", "IV")
	bank, center := make(plotter.Values, len(fs)), make(plotter.Values, len(fs))
	names := make([]string, len(fs))
	parties := map[string]map[model.Role]bool{}
	for _, f := range fs {
		if parties[f.Name] == nil {
			parties[f.Name] = map[model.Role]bool{}
		}
		parties[f.Name][f.Party] = true
	}
	for i, f := range fs {
		names[i] = f.Name
		if f.Party == model.Passive {
			center[i] = f.IV
		} else {
			bank[i] = f.IV
		}
		if len(parties[f.Name]) > 1 { // both parties use the name
			names[i] += map[bool]string{true: " (center)", false: " (bank)"}[f.Party == model.Passive]
		}
	}
	w := vg.Points(max(4, min(18, 420/float64(len(fs)))))
	for _, s := range []struct {
		v     plotter.Values
		c     color.Color
		label string
	}{{bank, bankColor, "bank (plaintext)"}, {center, centColor, "credit center (federated)"}} {
		bars, err := plotter.NewBarChart(s.v, w)
		if err != nil {
			return nil, err
		}
		bars.Color = s.c
		bars.LineStyle.Width = 0
		p.Add(bars)
		p.Legend.Add(s.label, bars)
	}
	p.NominalX(names...)
	p.X.Tick.Label.Rotation = math.Pi / 2.5
	p.X.Tick.Label.XAlign = draw.XRight
	p.X.Tick.Label.YAlign = draw.YCenter
	p.Legend.Top = true
	return p, nil
}

var pageTmpl = template.Must(template.New("page").Funcs(template.FuncMap{
	"f4": func(v float64) string { return fmt.Sprintf("%.4f", v) },
	"party": func(p model.Role) string {
		return map[model.Role]string{model.Active: "bank", model.Passive: "credit center"}[p]
	},
	"rate": func(events, rows float64) string {
		if rows == 0 {
			return "-"
		}
		return fmt.Sprintf("%.2f%%", 100*events/rows)
	},
	"f0": func(v float64) string { return fmt.Sprintf("%.0f", v) },
}).Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Title}}</title>
<style>
body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:.3em .7em;text-align:right}
th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}
img{max-width:100%;margin:.5em 0;border:1px solid #eee}.grid{display:grid;grid-template-columns:1fr 1fr;gap:.5em}
</style></head><body>
<h1>{{.Title}}</h1>
{{range .Summary}}<p>{{.}}</p>
{{end}}
{{if .Models}}<h2>Test metrics: federated next to plaintext</h2>
<table><tr><th>model</th><th>federated AUC</th><th>plaintext AUC</th><th>federated KS</th><th>plaintext KS</th></tr>
{{range .Models}}<tr><td>{{.Name}}</td><td>{{f4 .AUC}}</td><td>{{if .HasPlain}}{{f4 .PlainAUC}}{{else}}-{{end}}</td><td>{{f4 .KS}}</td><td>{{if .HasPlain}}{{f4 .PlainKS}}{{else}}-{{end}}</td></tr>
{{end}}</table>
<img src="{{.ROCImg}}" alt="ROC curves">
{{end}}
{{range .Models}}<h2>{{.Name}}</h2>
{{if .Note}}<p>{{.Note}}</p>{{end}}
<div class="grid">
<img src="{{.KSImg}}" alt="{{.Name}} KS curve">
<img src="{{.DistImg}}" alt="{{.Name}} score distribution">
<img src="{{.LiftImg}}" alt="{{.Name}} lift">
{{if .CurveImg}}<img src="{{.CurveImg}}" alt="{{.Name}} learning curve">{{end}}
</div>
{{end}}
{{if .Features}}<h2>Information value by feature</h2>
<img src="{{.IVImg}}" alt="IV by feature">
<table><tr><th>feature</th><th>party</th><th>kind</th><th>IV</th><th>kept</th></tr>
{{range .Features}}<tr><td>{{.Name}}</td><td>{{party .Party}}</td><td>{{if .Categorical}}categorical{{else}}numeric{{end}}</td><td>{{f4 .IV}}</td><td>{{if .Keep}}yes{{else}}no{{end}}</td></tr>
{{end}}</table>
{{end}}
{{if .Categorical}}<h2>WOE by category</h2>
<p>Each categorical feature is binned by category (the rarest past the cap folded into one); optimal binning merges categories of similar risk into one bin, whose rows, events and WOE its categories share. A missing cell and a category unseen in training take the missing bin.</p>
{{range .Categorical}}<h3>{{.Name}} ({{party .Party}}, IV {{f4 .IV}})</h3>
<table><tr><th>category</th><th>bin</th><th>rows in bin</th><th>event rate</th><th>WOE</th></tr>
{{range .Levels}}<tr><td>{{.Label}}</td><td>{{.Bin}}</td><td>{{f0 .Rows}}</td><td>{{rate .Events .Rows}}</td><td>{{f4 .WOE}}</td></tr>
{{end}}<tr><td><i>missing or unseen</i></td><td>-</td><td>-</td><td>-</td><td>{{f4 .MissingWOE}}</td></tr>
</table>
{{end}}{{end}}
</body></html>
`))
