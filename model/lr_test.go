package model

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
)

func testHalves() (active, passive *LRHalf) {
	active = &LRHalf{
		Version: LRVersion, Party: Active,
		Features:     []string{"pay_6", "bill_amt1"},
		Standardizer: Standardizer{Mean: []float64{1, 100}, Std: []float64{2, 50}},
		Weights:      []float64{0.5, -0.25},
		Intercept:    -1.2,
		Sigmoid:      []float64{0.5, 0.25},
	}
	passive = &LRHalf{
		Version: LRVersion, Party: Passive,
		Features:     []string{"limit_bal", "age", "pay_0"},
		Standardizer: Standardizer{Mean: []float64{5e4, 35, 0}, Std: []float64{2e4, 10, 1}, Clip: 4},
		Weights:      []float64{-0.3, 0.05, 0.6},
	}
	return active, passive
}

func TestLRHalfSaveLoad(t *testing.T) {
	for _, h := range func() []*LRHalf { a, p := testHalves(); return []*LRHalf{a, p} }() {
		var buf bytes.Buffer
		if err := h.Save(&buf); err != nil {
			t.Fatal(err)
		}
		first := buf.String()
		got, err := LoadLRHalf(&buf)
		if err != nil {
			t.Fatal(err)
		}
		var again bytes.Buffer
		if err := got.Save(&again); err != nil {
			t.Fatal(err)
		}
		if again.String() != first {
			t.Errorf("round trip changed the file:\n%s\n%s", first, again.String())
		}
	}
}

func TestLRHalfRejects(t *testing.T) {
	for _, tc := range []struct {
		name  string
		edit  func(h *LRHalf)
		field string // the message must name it
	}{
		{"version", func(h *LRHalf) { h.Version = 2 }, "version"},
		{"party", func(h *LRHalf) { h.Party = "bank" }, "party"},
		{"weight count", func(h *LRHalf) { h.Weights = h.Weights[:1] }, "weights"},
		{"NaN weight", func(h *LRHalf) { h.Weights[1] = math.NaN() }, "weights[1]"},
		{"Inf weight", func(h *LRHalf) { h.Weights[0] = math.Inf(-1) }, "weights[0]"},
		{"NaN intercept", func(h *LRHalf) { h.Intercept = math.NaN() }, "intercept"},
		{"passive intercept", func(h *LRHalf) { h.Party = Passive }, "intercept"},
		{"empty feature", func(h *LRHalf) { h.Features[0] = "" }, "features[0]"},
		{"repeated feature", func(h *LRHalf) { h.Features[1] = h.Features[0] }, "features[1]"},
		{"standardizer length", func(h *LRHalf) { h.Standardizer.Std = h.Standardizer.Std[:1] }, "standardizer"},
		{"zero std", func(h *LRHalf) { h.Standardizer.Std[0] = 0 }, "std[0]"},
		{"NaN sigmoid", func(h *LRHalf) { h.Sigmoid[1] = math.NaN() }, "sigmoid[1]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, _ := testHalves()
			tc.edit(h)
			err := h.Save(new(bytes.Buffer))
			if !errors.Is(err, ErrBadModel) || !strings.Contains(err.Error(), tc.field) {
				t.Errorf("Save: %v, want ErrBadModel naming %q", err, tc.field)
			}
		})
	}
	valid := func() string {
		var b bytes.Buffer
		h, _ := testHalves()
		if err := h.Save(&b); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}()
	for _, tc := range []struct {
		name, file, field string
	}{
		{"empty", "", "empty"},
		{"not JSON", "model", "invalid"},
		{"no version", `{"party":"active"}`, "version"},
		{"future version", strings.Replace(valid, `"version": 1`, `"version": 99`, 1), "version 99"},
		{"unknown field", strings.Replace(valid, `"party"`, `"colour": 1, "party"`, 1), "colour"},
		{"trailing data", valid + "{}", "after"},
		{"overflow", strings.Replace(valid, "-1.2", "1e999", 1), "intercept"},
		{"party", strings.Replace(valid, `"active"`, `"passive"`, 1), "intercept"},
		{"weights", strings.Replace(valid, `-0.25`, `-0.25, 1`, 1), "weights"},
	} {
		t.Run("load "+tc.name, func(t *testing.T) {
			_, err := LoadLRHalf(strings.NewReader(tc.file))
			if !errors.Is(err, ErrBadModel) || !strings.Contains(err.Error(), tc.field) {
				t.Errorf("LoadLRHalf: %v, want ErrBadModel naming %q", err, tc.field)
			}
		})
	}
}

func TestPartialScoreAndPredict(t *testing.T) {
	a, p := testHalves()
	xa := []float64{3, 150, math.NaN(), 0}
	xp := []float64{7e4, 45, 1, 5e4, 35, 100}
	ua := make([]float64, 2)
	up := make([]float64, 2)
	if err := a.PartialScore(xa, ua); err != nil {
		t.Fatal(err)
	}
	if err := p.PartialScore(xp, up); err != nil {
		t.Fatal(err)
	}
	// Row 0: bank (3-1)/2=1, (150-100)/50=1; center 1, 1, 1.
	// Row 1: bank missing -> 0, (0-100)/50=-2; center 0, 0, 100 clipped to 4.
	wantA := []float64{-1.2 + 0.5 - 0.25, -1.2 + 0.5}
	wantP := []float64{-0.3 + 0.05 + 0.6, 0.6 * 4}
	for i := range 2 {
		if math.Abs(ua[i]-wantA[i]) > 1e-12 || math.Abs(up[i]-wantP[i]) > 1e-12 {
			t.Errorf("row %d: partial scores %v, %v, want %v, %v", i, ua[i], up[i], wantA[i], wantP[i])
		}
		if got, want := PredictProba(ua[i], up[i]), 1/(1+math.Exp(-(wantA[i]+wantP[i]))); math.Abs(got-want) > 1e-15 {
			t.Errorf("row %d: PredictProba %v, want %v", i, got, want)
		}
	}
	if err := a.PartialScore(xa[:3], ua); !errors.Is(err, ErrShape) {
		t.Errorf("ragged input: %v", err)
	}
	if err := a.PartialScore(xa, ua[:1]); !errors.Is(err, ErrShape) {
		t.Errorf("short destination: %v", err)
	}
}

func TestLogistic(t *testing.T) {
	for _, z := range []float64{-1000, -40, -1, 0, 1, 40, 1000} {
		p := Logistic(z)
		if math.IsNaN(p) || p < 0 || p > 1 {
			t.Errorf("Logistic(%v) = %v", z, p)
		}
		if q := Logistic(-z); math.Abs(p+q-1) > 1e-15 {
			t.Errorf("Logistic(%v) + Logistic(%v) = %v", z, -z, p+q)
		}
	}
	if Logistic(0) != 0.5 {
		t.Errorf("Logistic(0) = %v", Logistic(0))
	}
}

func FuzzLoadLRHalf(f *testing.F) {
	a, p := testHalves()
	for _, h := range []*LRHalf{a, p} {
		var b bytes.Buffer
		if err := h.Save(&b); err != nil {
			f.Fatal(err)
		}
		f.Add(b.Bytes())
	}
	f.Add([]byte(`{"version":1,"party":"passive","features":[],"standardizer":{"mean":[],"std":[]},"weights":[],"intercept":0}`))
	f.Add([]byte(`{"version":1,"party":"active","features":["a"],"standardizer":{"mean":[0],"std":[1e-308]},"weights":[1e308],"intercept":-0}`))
	f.Add([]byte(`{"version":"1"}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		h, err := LoadLRHalf(bytes.NewReader(data))
		if err != nil {
			if !errors.Is(err, ErrBadModel) {
				t.Fatalf("error %v does not wrap ErrBadModel", err)
			}
			return
		}
		// What loads must save, load again, and score without panicking.
		var b bytes.Buffer
		if err := h.Save(&b); err != nil {
			t.Fatalf("loaded model does not save: %v", err)
		}
		if _, err := LoadLRHalf(&b); err != nil {
			t.Fatalf("saved model does not load: %v", err)
		}
		x := make([]float64, 2*len(h.Weights))
		_ = h.PartialScore(x, make([]float64, 2))
	})
}

// TestRole: the typed role is the party name model files have always held.
func TestRole(t *testing.T) {
	for _, c := range []struct {
		r    Role
		json string
	}{{Active, `"active"`}, {Passive, `"passive"`}} {
		b, err := json.Marshal(c.r)
		if err != nil || string(b) != c.json {
			t.Errorf("%q marshals to %s (%v), want %s", c.r, b, err, c.json)
		}
		var r Role
		if err := json.Unmarshal([]byte(c.json), &r); err != nil || r != c.r || !r.Valid() {
			t.Errorf("%s unmarshals to %q (%v), want %q", c.json, r, err, c.r)
		}
	}
	for _, r := range []Role{"", "bank", "Active"} {
		if r.Valid() {
			t.Errorf("%q is valid", r)
		}
	}
}
