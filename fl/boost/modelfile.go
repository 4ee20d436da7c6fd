package boost

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"

	"github.com/veil-fl/veil/internal/modelfile"
	"github.com/veil-fl/veil/model"
)

// ModelVersion is the version of the model files this build writes. It
// reads them and version 1, the halves before categorical features, which
// may hold none (no categorical marks, left bins or encoding): the version
// tells an older build that it cannot read a newer half.
const ModelVersion = 2

// ActiveModel is the bank's half of a SecureBoost model: the tree structure,
// its own splits and every leaf weight. For the center's splits it knows
// only the center's feature index and bin, not the threshold.
type ActiveModel struct {
	Version int `json:"version"`
	// Training names the training that produced the half (job.TrainingID),
	// the same in both halves; "" for a half from elsewhere.
	Training  string        `json:"training,omitempty"`
	Options   Options       `json:"options"`
	BaseScore float64       `json:"base_score"`
	Binning   model.Binning `json:"binning"`
	Trees     []Tree        `json:"trees"`
	// PassiveFeatures and PassiveBins are the center's number of features
	// and of bins per feature, as the training learned them.
	PassiveBins []int `json:"passive_bins"`
	// PassiveCategorical marks the center's categorical features (nil:
	// none), as the center told them at setup.
	PassiveCategorical []bool `json:"passive_categorical,omitempty"`
	// Categories, when set, is the encoding of the bank's categorical
	// columns its x was given in (model.FitCategories): Encode applies it
	// to the rows to predict or score, whose tables may hold labels in
	// another dictionary, or labels unseen in training.
	Categories *model.Categories `json:"categories,omitempty"`
}

// PassiveModel is the center's half: its binning and its splits, with
// thresholds; nothing about labels or leaf weights.
type PassiveModel struct {
	Version int `json:"version"`
	// Training names the training that produced the half, as in ActiveModel.
	Training string         `json:"training,omitempty"`
	Binning  model.Binning  `json:"binning"`
	Splits   []PassiveSplit `json:"splits"`
	// Categories, when set, is the encoding of the center's categorical
	// columns, as ActiveModel.Categories is the bank's.
	Categories *model.Categories `json:"categories,omitempty"`
}

// Encode returns the values of a table's rows (x, row-major, d columns;
// categorical cells index the table's dictionaries categories, as
// dataset.Table keeps them) that the bank's half predicts and scores: its
// categorical columns' levels under Categories, NaN for a label unseen in
// training (model.Categories.Encode). A half without Categories takes the
// numeric columns as they are.
func (m *ActiveModel) Encode(categories [][]string, x []float64, d int) ([]float64, error) {
	return m.Categories.Encode(categories, x, d)
}

// Encode is ActiveModel.Encode for the center's half.
func (m *PassiveModel) Encode(categories [][]string, x []float64, d int) ([]float64, error) {
	return m.Categories.Encode(categories, x, d)
}

// checkCategories checks a half's encoding against its binning: one
// column each, categorical in both or in neither, with a level for every
// bin.
func checkCategories(c *model.Categories, b model.Binning) error {
	if !c.Any() {
		return nil
	}
	if len(c.Columns) != b.Dim() {
		return fmt.Errorf("categories of %d columns, binning of %d", len(c.Columns), b.Dim())
	}
	for j, l := range c.Columns {
		switch {
		case (l != nil) != b.IsCategorical(j):
			return fmt.Errorf("column %d is categorical in one of categories and binning only", j)
		case l != nil && l.NumLevels() < b.NumBins(j):
			return fmt.Errorf("column %d has %d levels and %d bins", j, l.NumLevels(), b.NumBins(j))
		}
	}
	return nil
}

// Importance is a feature's share in a model, as one party sees it.
type Importance struct {
	Feature int `json:"feature"`
	// Gain is the summed gain of the feature's splits; the center does not
	// learn gains (they derive from the labels), so its Gain is 0.
	Gain   float64 `json:"gain"`
	Splits int     `json:"splits"`
}

// Importance returns the bank's features' importance.
func (m *ActiveModel) Importance() []Importance {
	imp := make([]Importance, m.Binning.Dim())
	for f := range imp {
		imp[f].Feature = f
	}
	for _, tr := range m.Trees {
		for _, nd := range tr.Nodes {
			if nd.Party == model.Active {
				imp[nd.Feature].Gain += nd.Gain
				imp[nd.Feature].Splits++
			}
		}
	}
	return imp
}

// CountSplits returns the number of the ensemble's splits that party
// holds.
func (m *ActiveModel) CountSplits(party model.Role) int {
	n := 0
	for _, tr := range m.Trees {
		for _, nd := range tr.Nodes {
			if nd.Party == party {
				n++
			}
		}
	}
	return n
}

// Importance returns the center's features' split counts.
func (m *PassiveModel) Importance() []Importance {
	imp := make([]Importance, m.Binning.Dim())
	for f := range imp {
		imp[f].Feature = f
	}
	for _, s := range m.Splits {
		imp[s.Feature].Splits++
	}
	return imp
}

// Validate checks the bank's model: its version and binning, and every
// tree as a checkpoint's trees are checked (Tree.check: the shape
// model.CheckTree requires of every tree, parties, features and bins in
// range, finite weights and gains).
func (m *ActiveModel) Validate() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{model.ErrBadModel}, a...)...)
	}
	if m.Version != ModelVersion && m.Version != 1 {
		return bad("version %d, this build reads versions 1 and %d", m.Version, ModelVersion)
	}
	if m.Version == 1 && (m.Binning.Categorical != nil || m.PassiveCategorical != nil || m.Categories != nil) {
		return bad("version 1 has no categorical features, the half marks some")
	}
	if err := m.Binning.Validate(); err != nil {
		return bad("binning: %v", err)
	}
	if err := checkCategories(m.Categories, m.Binning); err != nil {
		return bad("categories: %v", err)
	}
	if m.PassiveCategorical != nil && len(m.PassiveCategorical) != len(m.PassiveBins) {
		return bad("passive_categorical marks %d features, passive_bins has %d", len(m.PassiveCategorical), len(m.PassiveBins))
	}
	if math.IsNaN(m.BaseScore) || math.IsInf(m.BaseScore, 0) {
		return bad("base_score %v", m.BaseScore)
	}
	bankBins := make([]int, m.Binning.Dim())
	for f := range bankBins {
		bankBins[f] = m.Binning.NumBins(f)
	}
	sides := treeSides{bankBins: bankBins, centerBins: m.PassiveBins, bankCat: m.Binning.Categorical, centerCat: m.PassiveCategorical}
	for ti, tr := range m.Trees {
		if err := tr.check(sides, m.Options.MaxDepth); err != nil {
			return bad("trees[%d].%v", ti, err)
		}
	}
	return nil
}

// Validate checks the center's model.
func (m *PassiveModel) Validate() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{model.ErrBadModel}, a...)...)
	}
	if m.Version != ModelVersion && m.Version != 1 {
		return bad("version %d, this build reads versions 1 and %d", m.Version, ModelVersion)
	}
	if m.Version == 1 && (m.Binning.Categorical != nil || m.Categories != nil) {
		return bad("version 1 has no categorical features, the half marks some")
	}
	if err := m.Binning.Validate(); err != nil {
		return bad("binning: %v", err)
	}
	if err := checkCategories(m.Categories, m.Binning); err != nil {
		return bad("categories: %v", err)
	}
	for i, s := range m.Splits {
		if s.Feature < 0 || s.Feature >= m.Binning.Dim() || s.Bin < 0 || s.Bin >= m.Binning.NumBins(s.Feature) || s.Tree < 0 || s.Node < 0 {
			return bad("splits[%d]: tree %d node %d feature %d bin %d", i, s.Tree, s.Node, s.Feature, s.Bin)
		}
		if err := checkSplitBins(s.Bin, s.LeftBins, m.Binning.IsCategorical(s.Feature), m.Binning.NumBins(s.Feature)); err != nil {
			return bad("splits[%d]: tree %d node %d feature %d: %v", i, s.Tree, s.Node, s.Feature, err)
		}
		if s.LeftBins != nil && s.Threshold != 0 {
			return bad("splits[%d]: tree %d node %d: a categorical split with a threshold", i, s.Tree, s.Node)
		}
		if i > 0 && (s.Tree < m.Splits[i-1].Tree || (s.Tree == m.Splits[i-1].Tree && s.Node <= m.Splits[i-1].Node)) {
			return bad("splits[%d] out of (tree, node) order", i)
		}
	}
	return nil
}

// Save writes the model as JSON.
func (m *ActiveModel) Save(w io.Writer) error {
	return modelfile.Save(w, "SecureBoost bank half", m, m.Validate)
}

// Save writes the model as JSON.
func (m *PassiveModel) Save(w io.Writer) error {
	return modelfile.Save(w, "SecureBoost center half", m, m.Validate)
}

// LoadActiveModel reads and validates a bank's model file, of this
// version or version 1.
func LoadActiveModel(r io.Reader) (*ActiveModel, error) {
	m := &ActiveModel{}
	if err := load(r, "SecureBoost bank half", m, m.Validate); err != nil {
		return nil, err
	}
	return m, nil
}

// LoadPassiveModel reads and validates a center's model file, of this
// version or version 1.
func LoadPassiveModel(r io.Reader) (*PassiveModel, error) {
	m := &PassiveModel{}
	if err := load(r, "SecureBoost center half", m, m.Validate); err != nil {
		return nil, err
	}
	return m, nil
}

// load reads a half of version 1 or ModelVersion (modelfile.Load checks
// one version: the file's own when it is 1, else ModelVersion, so that any
// other is reported as such).
func load(r io.Reader, what string, m any, validate func() error) error {
	b, err := io.ReadAll(io.LimitReader(r, modelfile.MaxBytes+1))
	if err != nil {
		return fmt.Errorf("model: reading %s: %w", what, err)
	}
	version := ModelVersion
	var head struct {
		Version int `json:"version"`
	}
	if json.Unmarshal(b, &head) == nil && head.Version == 1 {
		version = 1
	}
	return modelfile.Load(bytes.NewReader(b), what, version, m, validate)
}
