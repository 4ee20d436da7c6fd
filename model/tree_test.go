package model

import (
	"bytes"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
)

// testGBDT is a small trained model with missing values and splits on the
// last bin.
func testGBDT(t testing.TB) *GBDT {
	t.Helper()
	x, y := synthetic(500, 4, 0.2, 21)
	m, err := TrainGBDT(x, y, 4, GBDTOptions{Trees: 3, MaxDepth: 3})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestGBDTSaveLoad(t *testing.T) {
	m := testGBDT(t)
	m.Features = []string{"age", "income", "region", "limit"}
	var b bytes.Buffer
	if err := m.Save(&b); err != nil {
		t.Fatal(err)
	}
	got, err := LoadGBDT(bytes.NewReader(b.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, m) {
		t.Fatal("model changed in a file round trip")
	}
	x, _ := synthetic(100, 4, 0.2, 22)
	z1, err := m.PredictLogit(x, 4)
	if err != nil {
		t.Fatal(err)
	}
	z2, err := got.PredictLogit(x, 4)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(z1, z2) {
		t.Error("loaded model predicts differently")
	}
	for _, c := range []struct{ name, file string }{
		{"empty", "  "},
		{"no version", `{"trees":[]}`},
		{"other version", `{"version":3}`},
		{"unknown field", strings.Replace(b.String(), `"version": 2,`, `"version": 2, "extra": 0,`, 1)},
		{"trailing data", b.String() + "{}"},
		{"not JSON", "version 1"},
	} {
		if _, err := LoadGBDT(strings.NewReader(c.file)); !errors.Is(err, ErrBadModel) {
			t.Errorf("%s: error %v, want ErrBadModel", c.name, err)
		}
	}
}

// TestGBDTValidate corrupts one field at a time and checks that Validate
// names it.
func TestGBDTValidate(t *testing.T) {
	// split returns the index of a split node of tree 0.
	split := func(m *GBDT) int {
		for i, nd := range m.Trees[0].Nodes {
			if !nd.IsLeaf() {
				return i
			}
		}
		t.Fatal("tree 0 has no split")
		return 0
	}
	leaf := func(m *GBDT) int {
		for i, nd := range m.Trees[0].Nodes {
			if nd.IsLeaf() {
				return i
			}
		}
		return 0
	}
	for _, c := range []struct {
		name, want string
		edit       func(m *GBDT)
	}{
		{"version", "version", func(m *GBDT) { m.Version = 0 }},
		{"options out of range", "options", func(m *GBDT) { m.Options.Lambda = -1 }},
		{"options without defaults", "lack defaults", func(m *GBDT) { m.Options.Bins = 0 }},
		{"base score", "base_score", func(m *GBDT) { m.BaseScore = 1 }},
		{"cuts order", "cuts[1]", func(m *GBDT) { m.Binning.Cuts[1][1] = m.Binning.Cuts[1][0] }},
		{"cuts beyond bins", "cuts[0]", func(m *GBDT) { m.Options.Bins = 2 }},
		{"no columns", "no columns", func(m *GBDT) { m.Binning.Cuts = nil; m.Features = nil; m.Trees = nil; m.Options.Trees = 1 }},
		{"feature count", "features", func(m *GBDT) { m.Features = m.Features[:3] }},
		{"empty feature", "features[2]", func(m *GBDT) { m.Features[2] = "" }},
		{"repeated feature", "features[3]", func(m *GBDT) { m.Features[3] = m.Features[0] }},
		{"tree count", "trees, options", func(m *GBDT) { m.Trees = m.Trees[:2] }},
		{"empty tree", "trees[1].nodes is empty", func(m *GBDT) { m.Trees[1].Nodes = nil }},
		{"weight", ".weight", func(m *GBDT) { m.Trees[0].Nodes[leaf(m)].Weight = math.NaN() }},
		{"cover", ".cover", func(m *GBDT) { m.Trees[0].Nodes[0].Cover = -1 }},
		{"leaf with split fields", "is a leaf", func(m *GBDT) { m.Trees[0].Nodes[leaf(m)].Bin = 1 }},
		{"feature index", ".feature", func(m *GBDT) { m.Trees[0].Nodes[split(m)].Feature = 4 }},
		{"bin", ".bin", func(m *GBDT) { m.Trees[0].Nodes[split(m)].Bin = 99 }},
		{"threshold", ".threshold", func(m *GBDT) { m.Trees[0].Nodes[split(m)].Threshold += 1e-9 }},
		{"gain", ".gain", func(m *GBDT) { m.Trees[0].Nodes[split(m)].Gain = 0 }},
		{"child before parent", "has child", func(m *GBDT) { m.Trees[0].Nodes[split(m)].Left = 0 }},
		{"child out of range", "has child", func(m *GBDT) { m.Trees[0].Nodes[split(m)].Right = 1000 }},
		{"shared child", "another node", func(m *GBDT) { nd := &m.Trees[0].Nodes[split(m)]; nd.Right = nd.Left }},
		{"orphan", "not a child", func(m *GBDT) { m.Trees[0].Nodes = append(m.Trees[0].Nodes, Node{Feature: -1}) }},
		{"too deep", "depth", func(m *GBDT) { m.Options.MaxDepth = 1 }},
	} {
		m := testGBDT(t)
		c.edit(m)
		err := m.Validate()
		if !errors.Is(err, ErrBadModel) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want ErrBadModel naming %q", c.name, err, c.want)
		}
		if _, err := m.PredictLogit(make([]float64, 4), 4); !errors.Is(err, ErrBadModel) {
			t.Errorf("%s: PredictLogit error %v, want ErrBadModel", c.name, err)
		}
		if err := m.Save(new(bytes.Buffer)); !errors.Is(err, ErrBadModel) {
			t.Errorf("%s: Save error %v, want ErrBadModel", c.name, err)
		}
	}
}

func TestGBDTPredictErrors(t *testing.T) {
	m := testGBDT(t)
	if _, err := m.PredictLogit(make([]float64, 6), 3); !errors.Is(err, ErrShape) {
		t.Errorf("3 columns for 4 features: %v", err)
	}
	if _, err := m.PredictLogit(make([]float64, 6), 4); !errors.Is(err, ErrShape) {
		t.Errorf("6 values in 4 columns: %v", err)
	}
	if _, err := m.PredictBinnedLogit(make([][]uint8, 3)); !errors.Is(err, ErrShape) {
		t.Errorf("3 binned features for 4: %v", err)
	}
	if _, err := m.PredictBinnedLogit([][]uint8{{0}, {0}, {0}, {0, 0}}); !errors.Is(err, ErrShape) {
		t.Errorf("ragged bins: %v", err)
	}
	if _, err := m.PredictBinnedLogit([][]uint8{{0}, {0}, {0}, {254}}); !errors.Is(err, ErrShape) {
		t.Errorf("bin 254: %v", err)
	}
	z, err := m.PredictBinnedLogit([][]uint8{{MissingBin}, {MissingBin}, {MissingBin}, {MissingBin}})
	if err != nil || len(z) != 1 || !finite(z[0]) {
		t.Errorf("all missing: %v %v", z, err)
	}
}

func TestGBDTImportance(t *testing.T) {
	m := testGBDT(t)
	imp := m.Importance()
	if len(imp) != 4 {
		t.Fatalf("%d importances for 4 features", len(imp))
	}
	splits, gain := 0, 0.0
	for _, tr := range m.Trees {
		for _, nd := range tr.Nodes {
			if !nd.IsLeaf() {
				splits++
				gain += nd.Gain
			}
		}
	}
	var s int
	var g float64
	for j, fi := range imp {
		if fi.Feature != m.Features[j] {
			t.Errorf("importance %d names %q, want %q", j, fi.Feature, m.Features[j])
		}
		s += fi.Splits
		g += fi.Gain
	}
	if s != splits || math.Abs(g-gain) > 1e-9*gain {
		t.Errorf("importances sum to %d splits and gain %v, the trees have %d and %v", s, g, splits, gain)
	}
	// The synthetic labels depend on features 0 to 2, most on 0.
	if imp[3].Gain >= imp[0].Gain {
		t.Errorf("noise feature gain %v >= feature 0's %v", imp[3].Gain, imp[0].Gain)
	}
}

func FuzzLoadGBDT(f *testing.F) {
	m := testGBDT(f)
	var b bytes.Buffer
	if err := m.Save(&b); err != nil {
		f.Fatal(err)
	}
	f.Add(b.Bytes())
	f.Add([]byte(`{"version":1,"options":{"trees":1,"max_depth":1,"learning_rate":0.3,"lambda":1,"gamma":0,"min_child_weight":1,"bins":2,"subsample":1,"seed":0,"base_score":0},` +
		`"base_score":0,"binning":{"cuts":[[0.5]]},"trees":[{"nodes":[{"feature":0,"bin":1,"threshold":1.7976931348623157e+308,"missing_left":false,"left":1,"right":2,"weight":0,"gain":1,"cover":1},` +
		`{"feature":-1,"bin":0,"threshold":0,"missing_left":false,"left":0,"right":0,"weight":-0.1,"gain":0,"cover":1},{"feature":-1,"bin":0,"threshold":0,"missing_left":false,"left":0,"right":0,"weight":0.1,"gain":0,"cover":0}]}],"features":["a"]}`))
	f.Add([]byte(`{"version":1,"trees":[{"nodes":[{"feature":0,"left":0,"right":0}]}]}`))
	f.Add([]byte(`{"version":"1"}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := LoadGBDT(bytes.NewReader(data))
		if err != nil {
			if !errors.Is(err, ErrBadModel) {
				t.Fatalf("error %v does not wrap ErrBadModel", err)
			}
			return
		}
		// What loads must save, load again, and predict without panicking.
		var b bytes.Buffer
		if err := m.Save(&b); err != nil {
			t.Fatalf("loaded model does not save: %v", err)
		}
		if _, err := LoadGBDT(&b); err != nil {
			t.Fatalf("saved model does not load: %v", err)
		}
		d := m.Binning.Dim()
		x := make([]float64, 3*d)
		x[0], x[len(x)-1] = math.NaN(), math.Inf(1)
		if _, err := m.PredictLogit(x, d); err != nil {
			t.Fatal(err)
		}
		bins, err := m.Binning.Bin(x, d)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.PredictBinnedLogit(bins); err != nil {
			t.Fatal(err)
		}
		m.Importance()
	})
}

// TestCheckTree: the shape check shared by every tree holder, on trees
// given by their links alone.
func TestCheckTree(t *testing.T) {
	type nd struct {
		l, r int
		w    float64
	}
	leaf := nd{} // a node with children is a split, one without a leaf

	check := func(nodes []nd, maxDepth int) error {
		return CheckTree(len(nodes), maxDepth, func(i int) (float64, int, int, bool) {
			return nodes[i].w, nodes[i].l, nodes[i].r, nodes[i].l != 0 || nodes[i].r != 0
		})
	}
	// Depth 2: root, two splits below it in order, four leaves.
	good := []nd{{1, 2, 0}, {3, 4, 0}, {5, 6, 0}, leaf, leaf, leaf, leaf}
	if err := check(good, 2); err != nil {
		t.Fatalf("valid tree: %v", err)
	}
	if err := check([]nd{leaf}, 0); err != nil {
		t.Fatalf("a lone leaf: %v", err)
	}
	for _, c := range []struct {
		name     string
		nodes    []nd
		maxDepth int
		want     string
	}{
		{"empty", nil, 3, "nodes is empty"},
		{"too deep", good, 1, "max depth 1"},
		{"split at max depth", []nd{{1, 2, 0}, {3, 4, 0}, leaf, {5, 6, 0}, leaf, leaf, leaf}, 2, "nodes[3] splits at depth 2"},
		{"self loop", []nd{{0, 1, 0}, leaf}, 3, "has child 0"},
		{"back edge", []nd{{1, 2, 0}, {1, 3, 0}, leaf, leaf}, 3, "nodes[1] has child 1"},
		{"shared child", []nd{{1, 1, 0}, leaf}, 3, "a child of another node"},
		{"out of range", []nd{{1, 9, 0}, leaf}, 3, "has child 9"},
		{"orphan", []nd{{1, 2, 0}, leaf, leaf, leaf}, 3, "nodes[3] is not a child"},
		{"NaN weight", []nd{{1, 2, 0}, leaf, {0, 0, math.NaN()}}, 3, "nodes[2].weight is NaN"},
	} {
		if err := check(c.nodes, c.maxDepth); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one naming %q", c.name, err, c.want)
		}
	}
	// A count no tree of the depth holds is refused before node is called.
	err := CheckTree(1<<40, 3, func(int) (float64, int, int, bool) {
		t.Fatal("node called for an impossible count")
		return 0, 0, 0, false
	})
	if err == nil || !strings.Contains(err.Error(), "max depth 3") {
		t.Errorf("huge count: %v", err)
	}
}
