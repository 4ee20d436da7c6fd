package boost

import (
	"fmt"
	"io"
	"math"

	"github.com/veil-fl/veil/internal/modelfile"
	"github.com/veil-fl/veil/model"
)

// ModelVersion is the version of the model files.
const ModelVersion = 1

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
}

// PassiveModel is the center's half: its binning and its splits, with
// thresholds; nothing about labels or leaf weights.
type PassiveModel struct {
	Version int `json:"version"`
	// Training names the training that produced the half, as in ActiveModel.
	Training string         `json:"training,omitempty"`
	Binning  model.Binning  `json:"binning"`
	Splits   []PassiveSplit `json:"splits"`
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
	if m.Version != ModelVersion {
		return bad("version %d, this build reads %d", m.Version, ModelVersion)
	}
	if err := m.Binning.Validate(); err != nil {
		return bad("binning: %v", err)
	}
	if math.IsNaN(m.BaseScore) || math.IsInf(m.BaseScore, 0) {
		return bad("base_score %v", m.BaseScore)
	}
	bankBins := make([]int, m.Binning.Dim())
	for f := range bankBins {
		bankBins[f] = m.Binning.NumBins(f)
	}
	for ti, tr := range m.Trees {
		if err := tr.check(bankBins, m.PassiveBins, m.Options.MaxDepth); err != nil {
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
	if m.Version != ModelVersion {
		return bad("version %d, this build reads %d", m.Version, ModelVersion)
	}
	if err := m.Binning.Validate(); err != nil {
		return bad("binning: %v", err)
	}
	for i, s := range m.Splits {
		if s.Feature < 0 || s.Feature >= m.Binning.Dim() || s.Bin < 0 || s.Bin >= m.Binning.NumBins(s.Feature) || s.Tree < 0 || s.Node < 0 {
			return bad("splits[%d]: tree %d node %d feature %d bin %d", i, s.Tree, s.Node, s.Feature, s.Bin)
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

// LoadActiveModel reads and validates a bank's model file.
func LoadActiveModel(r io.Reader) (*ActiveModel, error) {
	m := &ActiveModel{}
	if err := modelfile.Load(r, "SecureBoost bank half", ModelVersion, m, m.Validate); err != nil {
		return nil, err
	}
	return m, nil
}

// LoadPassiveModel reads and validates a center's model file.
func LoadPassiveModel(r io.Reader) (*PassiveModel, error) {
	m := &PassiveModel{}
	if err := modelfile.Load(r, "SecureBoost center half", ModelVersion, m, m.Validate); err != nil {
		return nil, err
	}
	return m, nil
}
