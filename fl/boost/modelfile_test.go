package boost

import (
	"bytes"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/veil-fl/veil/fl"
	"github.com/veil-fl/veil/model"
)

// splitModel is a small plaintext ensemble cut into the bank's half: both
// parties' splits, depth 3, no HE.
func splitModel(t *testing.T) (*ActiveModel, int) {
	t.Helper()
	const db, dc = 2, 2
	xb, xc, y := synthetic(800, db, dc, 5)
	g, err := model.TrainVerticalGBDT(xb, db, xc, dc, y, model.GBDTOptions{Trees: 3, MaxDepth: 3})
	require.NoError(t, err)
	a, _, err := SplitGBDT(g, db)
	require.NoError(t, err)
	require.Positive(t, a.CountSplits(model.Active))
	require.Positive(t, a.CountSplits(model.Passive))
	return a, db
}

// TestTreeValidation: a model file and a checkpoint refuse the same
// corruptions of a tree, with the strictness of model.GBDT's trees (every
// node reachable once, depth bounded, leaves bare) and the parties' shapes.
func TestTreeValidation(t *testing.T) {
	// find returns the first node of the ensemble that party holds ("" a
	// leaf).
	find := func(a *ActiveModel, party model.Role) *Node {
		for _, tr := range a.Trees {
			for i := range tr.Nodes {
				if tr.Nodes[i].Party == party {
					return &tr.Nodes[i]
				}
			}
		}
		t.Fatalf("no %q node", party)
		return nil
	}
	leaf := func(a *ActiveModel) *Node { return find(a, "") }
	for _, c := range []struct {
		name, want string
		edit       func(a *ActiveModel)
	}{
		{"empty tree", "nodes is empty", func(a *ActiveModel) { a.Trees[0].Nodes = nil }},
		{"weight", ".weight is NaN", func(a *ActiveModel) { leaf(a).Weight = math.NaN() }},
		{"gain", ".gain is +Inf", func(a *ActiveModel) { a.Trees[0].Nodes[0].Gain = math.Inf(1) }},
		{"party", ".party", func(a *ActiveModel) { a.Trees[0].Nodes[0].Party = "bank" }},
		{"leaf with split fields", "is a leaf", func(a *ActiveModel) { leaf(a).Left = 1 }},
		{"bank bin", "active split", func(a *ActiveModel) { find(a, model.Active).Bin = 99 }},
		{"bank feature", "active split", func(a *ActiveModel) { find(a, model.Active).Feature = 2 }},
		{"center bin", "passive split", func(a *ActiveModel) { find(a, model.Passive).Bin = -1 }},
		{"child before parent", "has child", func(a *ActiveModel) { a.Trees[0].Nodes[0].Left = 0 }},
		{"child out of range", "has child", func(a *ActiveModel) { a.Trees[0].Nodes[0].Right = 1000 }},
		{"shared child", "another node", func(a *ActiveModel) { nd := &a.Trees[0].Nodes[0]; nd.Right = nd.Left }},
		{"orphan", "not a child", func(a *ActiveModel) { a.Trees[0].Nodes = append(a.Trees[0].Nodes, Node{}) }},
		{"too deep", "depth", func(a *ActiveModel) { a.Options.MaxDepth = 2 }},
	} {
		a, db := splitModel(t)
		c.edit(a)
		err := a.Validate()
		if !errors.Is(err, model.ErrBadModel) || !strings.Contains(err.Error(), "trees[") || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: Validate error %v, want ErrBadModel naming the tree and %q", c.name, err, c.want)
		}
		if err := a.Save(new(bytes.Buffer)); !errors.Is(err, model.ErrBadModel) {
			t.Errorf("%s: Save error %v, want ErrBadModel", c.name, err)
		}
		bankBins := make([]int, db)
		for f := range bankBins {
			bankBins[f] = a.Binning.NumBins(f)
		}
		st := activeState{Trees: a.Trees, Logits: []float64{0}}
		err = st.check(len(a.Trees), 1, treeSides{bankBins: bankBins, centerBins: a.PassiveBins}, a.Options.GBDTOptions)
		if !errors.Is(err, fl.ErrCheckpoint) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: checkpoint error %v, want ErrCheckpoint naming %q", c.name, err, c.want)
		}
	}

	a, db := splitModel(t)
	bankBins := make([]int, db)
	for f := range bankBins {
		bankBins[f] = a.Binning.NumBins(f)
	}
	st := activeState{Trees: a.Trees, Logits: []float64{0}}
	require.NoError(t, st.check(len(a.Trees), 1, treeSides{bankBins: bankBins, centerBins: a.PassiveBins}, a.Options.GBDTOptions))
	// A split's gain may be negative: the bank recomputes it from exact sums
	// after choosing the split on noisy histograms.
	a.Trees[0].Nodes[0].Gain = -0.5
	require.NoError(t, a.Validate())
}

// TestRoleInModelFile: the typed role reads and writes the party names the
// model files have always held.
func TestRoleInModelFile(t *testing.T) {
	a, _ := splitModel(t)
	var b bytes.Buffer
	require.NoError(t, a.Save(&b))
	require.Contains(t, b.String(), `"party": "active"`)
	require.Contains(t, b.String(), `"party": "passive"`)
	got, err := LoadActiveModel(&b)
	require.NoError(t, err)
	require.Equal(t, a.CountSplits(model.Passive), got.CountSplits(model.Passive))
}
