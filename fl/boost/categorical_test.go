package boost

import (
	"bytes"
	"context"
	"math"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/veil-fl/veil/dataset"
	"github.com/veil-fl/veil/fl"
	"github.com/veil-fl/veil/fl/fltest"
	"github.com/veil-fl/veil/model"
)

// side is one party's aligned synthetic table with its text columns, its
// encoding fitted on the rows and the encoded values.
type side struct {
	t   *dataset.Table
	c   *model.Categories
	x   []float64
	cat []bool
}

func (s side) cols() int { return s.t.Cols() }

// categoricalTables returns both parties' aligned synthetic tables with
// their text columns (dataset.SynthOptions.Categorical), encoded.
func categoricalTables(t *testing.T, rows int, seed int64) (bank, center side) {
	t.Helper()
	bankT, centerT, err := dataset.Synthesize(dataset.SynthOptions{Rows: rows, Seed: seed, Categorical: true})
	require.NoError(t, err)
	rb, rc := dataset.Align(bankT, centerT)
	return encodeSide(t, bankT.Select(rb)), encodeSide(t, centerT.Select(rc))
}

func encodeSide(t *testing.T, tab *dataset.Table) side {
	t.Helper()
	c, err := model.FitCategories(tab.Columns, tab.Categories, tab.X, 0)
	require.NoError(t, err)
	require.True(t, c.Any(), "table %s has text columns", tab.Name)
	x, err := c.Encode(tab.Categories, tab.X, tab.Cols())
	require.NoError(t, err)
	s := side{t: tab, c: c, x: x, cat: make([]bool, tab.Cols())}
	for j := range s.cat {
		s.cat[j] = c.IsCategorical(j)
	}
	return s
}

// trainSides trains both halves over a pipe with each party's categorical
// columns marked.
func trainSides(t *testing.T, bank, center side, opt Options) (*ActiveResult, *PassiveResult) {
	t.Helper()
	ta, tc := fl.NewPipe()
	defer ta.Close()
	defer tc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	seed := []byte("boost-test-joint-seed-categorical")
	var pr *PassiveResult
	done := make(chan error, 1)
	go func() {
		var err error
		pr, err = TrainPassiveWith(ctx, tc, seed, Data{X: center.x, Cols: center.cols()}, PassiveOptions{Categorical: center.cat})
		done <- err
	}()
	opt.Categorical = bank.cat
	ar, err := TrainActive(ctx, ta, seed, Data{X: bank.x, Cols: bank.cols(), Y: bank.t.Labels}, opt, nil)
	require.NoError(t, err)
	require.NoError(t, <-done)
	return ar, pr
}

// TestCategoricalMatchesReference: with categorical columns on both
// sides, the federated trees equal the plaintext twin's node for node,
// the levels each categorical split sends left included, with splits on
// both parties' categorical features among them.
func TestCategoricalMatchesReference(t *testing.T) {
	rows, trees := 4000, 10
	if testing.Short() {
		rows, trees = 1500, 2
	}
	bank, center := categoricalTables(t, rows, 5)
	opt := Options{GBDTOptions: model.GBDTOptions{Trees: trees, MaxDepth: 3}}
	ar, pr := trainSides(t, bank, center, opt)
	ref, err := model.TrainVerticalGBDTCategorical(bank.x, bank.cols(), bank.cat, center.x, center.cols(), center.cat, bank.t.Labels, opt.GBDTOptions)
	require.NoError(t, err)
	same, total := compareTrees(t, ar, pr, ref, bank.cols())
	centerCat, bankCat := 0, 0
	for _, s := range pr.Splits {
		if s.LeftBins != nil {
			centerCat++
			require.True(t, center.cat[s.Feature])
		}
	}
	for _, tr := range ar.Trees {
		for _, nd := range tr.Nodes {
			if nd.Party == model.Active && nd.LeftBins != nil {
				bankCat++
			}
		}
	}
	t.Logf("%d of %d nodes identical; %d center splits, %d on categorical features; %d bank categorical splits", same, total, len(pr.Splits), centerCat, bankCat)
	require.Equal(t, total, same, "every node identical to the plaintext twin")
	require.Positive(t, centerCat, "a center categorical split is chosen")
	if !testing.Short() { // two trees of 1,500 rows need not pick one
		require.Positive(t, bankCat, "a bank categorical split is chosen")
	}
	require.Equal(t, center.cat, ar.PassiveCategorical, "the bank knows which center features are categorical")
	joined := model.JoinColumns(bank.x, bank.cols(), center.x, center.cols())
	refLogit, err := ref.PredictLogit(joined, bank.cols()+center.cols())
	require.NoError(t, err)
	require.InDeltaSlice(t, refLogit, ar.Logits, 1e-5)
}

// TestCategoricalUnseen: rows whose labels the training never saw (a
// table of new enterprises whose dictionaries rename a label of a
// categorical column the trees split on, at each party) encode to missing and take each split's missing
// direction: federated prediction and encrypted scoring's decisions agree
// with the plaintext twin on them. The halves, with their encodings, go
// through their files first.
func TestCategoricalUnseen(t *testing.T) {
	bank, center := categoricalTables(t, 3000, 6)
	opt := Options{GBDTOptions: model.GBDTOptions{Trees: 6, MaxDepth: 3}}
	ar, pr := trainSides(t, bank, center, opt)
	ar.Categories, pr.Categories = bank.c, center.c
	ref, err := model.TrainVerticalGBDTCategorical(bank.x, bank.cols(), bank.cat, center.x, center.cols(), center.cat, bank.t.Labels, opt.GBDTOptions)
	require.NoError(t, err)

	// The model files carry the encodings and the categorical splits.
	var ab, pb bytes.Buffer
	require.NoError(t, ar.ActiveModel.Save(&ab))
	require.NoError(t, pr.PassiveModel.Save(&pb))
	require.Contains(t, pb.String(), `"left_bins"`)
	require.Contains(t, ab.String(), `"passive_categorical"`)
	require.NotContains(t, ab.String(), "tax_credit_grade", "the bank's file names none of the center's columns")
	am, err := LoadActiveModel(&ab)
	require.NoError(t, err)
	pm, err := LoadPassiveModel(&pb)
	require.NoError(t, err)
	require.Equal(t, ar.ActiveModel, *am)
	require.Equal(t, pr.PassiveModel, *pm)

	// New enterprises: other synthetic rows, with a label renamed in each
	// party's dictionary, so that its rows hold a label unseen in training:
	// in a categorical column the twin splits on.
	splitOn := func(lo int, cat []bool) int {
		for _, tr := range ref.Trees {
			for _, nd := range tr.Nodes {
				if f := nd.Feature - lo; !nd.IsLeaf() && f >= 0 && f < len(cat) && cat[f] {
					return f
				}
			}
		}
		t.Fatalf("no categorical split on the features from %d", lo)
		return 0
	}
	nb, nc := categoricalTables(t, 600, 16)
	rename := func(tab *dataset.Table, j int) {
		k := 0
		for i := j; i < len(tab.X); i += tab.Cols() {
			if !math.IsNaN(tab.X[i]) {
				k = int(tab.X[i])
				break
			}
		}
		tab.Categories[j] = slices.Clone(tab.Categories[j])
		tab.Categories[j][k] += " (new)"
	}
	jb, jc := splitOn(0, bank.cat), splitOn(bank.cols(), center.cat)
	rename(nb.t, jb)
	rename(nc.t, jc)
	xb, err := am.Encode(nb.t.Categories, nb.t.X, nb.cols())
	require.NoError(t, err)
	xc, err := pm.Encode(nc.t.Categories, nc.t.X, nc.cols())
	require.NoError(t, err)
	unseen := func(x []float64, raw []float64, d, j int) int {
		k := 0
		for i := j; i < len(x); i += d {
			if math.IsNaN(x[i]) && !math.IsNaN(raw[i]) {
				k++
			}
		}
		return k
	}
	ub, uc := unseen(xb, nb.t.X, nb.cols(), jb), unseen(xc, nc.t.X, nc.cols(), jc)
	require.Positive(t, ub)
	require.Positive(t, uc)

	got := predictPair(t, &ActiveResult{ActiveModel: *am}, &PassiveResult{PassiveModel: *pm}, xb, xc, nb.cols(), nc.cols())
	want, err := ref.PredictLogit(model.JoinColumns(xb, nb.cols(), xc, nc.cols()), nb.cols()+nc.cols())
	require.NoError(t, err)
	require.InDeltaSlice(t, want, got, 1e-5)
	t.Logf("%d and %d rows with unseen labels at the bank and the center", ub, uc)
}

// TestCategoricalSplitRefused: a bank that names, for a split on a center
// categorical feature, a bin out of range is refused (ErrProtocol) before
// the center computes a partition, and learns of it by an abort.
func TestCategoricalSplitRefused(t *testing.T) {
	bank, center := categoricalTables(t, 1500, 5)
	seed := []byte("boost-test-joint-seed-categorical")
	var hit atomic.Bool
	leftBins := regexp.MustCompile(`"left_bins":\[[0-9,]*\]`)
	tamper := func(m fl.Message) fl.Message {
		if m.Type == TypeSplits && leftBins.Match(m.Payload) && hit.CompareAndSwap(false, true) {
			m.Payload = leftBins.ReplaceAll(m.Payload, []byte(`"left_bins":[0,99]`))
		}
		return m
	}
	ta, tc := fltest.NewPipe(fltest.Tamper(tamper))
	defer ta.Close()
	defer tc.Close()
	rc := fltest.Record(tc)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var centerErr error
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		_, centerErr = TrainPassiveWith(ctx, rc, seed, Data{X: center.x, Cols: center.cols()}, PassiveOptions{Categorical: center.cat})
	}()
	_, bankErr := TrainActive(ctx, ta, seed, Data{X: bank.x, Cols: bank.cols(), Y: bank.t.Labels}, Options{GBDTOptions: model.GBDTOptions{Trees: 3, MaxDepth: 3}, Categorical: bank.cat}, nil)
	wg.Wait()
	require.True(t, hit.Load(), "a center categorical split was requested; bank: %v, center: %v", bankErr, centerErr)
	require.ErrorIs(t, centerErr, ErrProtocol)
	require.ErrorIs(t, centerErr, fl.ErrProtocol)
	require.ErrorContains(t, centerErr, "bin 99")
	require.ErrorIs(t, bankErr, fl.ErrPeerAborted)
	for _, m := range rc.Sent() {
		require.NotEqual(t, TypeLeft, m.Type, "no partition after the refused request")
	}
}

// TestCategoricalSplitChecks: the center's checks of a split request
// against what the node released, one refusal each, and the levels an
// accepted categorical one sends left.
func TestCategoricalSplitChecks(t *testing.T) {
	gaps := []model.BinGaps{{Keep: []bool{false, true, true, false, true}}, {Keep: []bool{true, true}, Pooled: true}}
	ok := splitReq{Feature: 0, LeftBins: []int{1, 4}}
	left, err := releasedSplit(ok, gaps, true, 5)
	require.NoError(t, err)
	require.Equal(t, []int{0, 1, 3, 4}, left, "each kept bin with the bins merged into it")
	for _, c := range []struct {
		name, want string
		r          splitReq
		cat        bool
		gaps       []model.BinGaps
	}{
		{"numeric feature", "numeric feature", splitReq{LeftBins: []int{1}}, false, gaps},
		{"node without histograms", "not computed", ok, true, nil},
		{"bin set", "bin 2 of categorical", splitReq{Bin: 2, LeftBins: []int{1}}, true, gaps},
		{"no left bins", "no bin goes left", splitReq{}, true, gaps},
		{"out of range", "bin 5", splitReq{LeftBins: []int{1, 5}}, true, gaps},
		{"negative", "bin -1", splitReq{LeftBins: []int{-1}}, true, gaps},
		{"unsorted", "ascending", splitReq{LeftBins: []int{4, 1}}, true, gaps},
		{"merged bin", "bin 3, not released", splitReq{LeftBins: []int{1, 3}}, true, gaps},
		{"pooled missing apart", "apart from the last bin", splitReq{Feature: 1, LeftBins: []int{1}}, true, gaps},
		{"numeric: node without histograms", "not computed", splitReq{Bin: 1}, false, nil},
		{"numeric: merged bin", "bin 3, not released", splitReq{Bin: 3}, false, gaps},
		{"numeric: pooled missing left", "apart from the last bin", splitReq{Feature: 1, Bin: 0, MissingLeft: true}, false, gaps},
	} {
		nb := 5
		if c.gaps != nil {
			nb = len(c.gaps[c.r.Feature].Keep)
		}
		_, err := releasedSplit(c.r, c.gaps, c.cat, nb)
		require.ErrorIs(t, err, ErrProtocol, c.name)
		require.ErrorContains(t, err, c.want, c.name)
	}
	left, err = releasedSplit(splitReq{Feature: 1, LeftBins: []int{1}, MissingLeft: true}, gaps, true, 2)
	require.NoError(t, err, "pooled missing rows go with the last bin")
	require.Equal(t, []int{1}, left)
	left, err = releasedSplit(splitReq{Bin: 2, MissingLeft: true}, gaps, false, 5)
	require.NoError(t, err, "a numeric split at a released bin")
	require.Nil(t, left)
}

// TestCategoricalFileVersions: a numeric half of version 1, the format
// before categorical features, still loads; one that marks categorical
// features is refused.
func TestCategoricalFileVersions(t *testing.T) {
	a, _ := splitModel(t)
	var b bytes.Buffer
	require.NoError(t, a.Save(&b))
	require.NotContains(t, b.String(), "left_bins")
	require.NotContains(t, b.String(), "categorical")
	old := strings.Replace(b.String(), `"version": 2`, `"version": 1`, 1)
	v1, err := LoadActiveModel(strings.NewReader(old))
	require.NoError(t, err)
	require.Equal(t, a.Trees, v1.Trees)
	a.PassiveCategorical = make([]bool, len(a.PassiveBins))
	a.PassiveCategorical[0] = true
	a.Version = 1
	require.ErrorIs(t, a.Validate(), model.ErrBadModel)
	_, err = LoadPassiveModel(strings.NewReader(`{"version": 1, "binning": {"cuts": [[0]], "categorical": [true]}, "splits": []}`))
	require.ErrorIs(t, err, model.ErrBadModel)
	pm, err := LoadPassiveModel(strings.NewReader(`{"version": 2, "binning": {"cuts": [[0, 1]], "categorical": [true]}, "splits": [{"tree": 0, "node": 0, "feature": 0, "bin": 0, "threshold": 0, "missing_left": true, "left_bins": [0, 2]}]}`))
	require.NoError(t, err)
	require.Equal(t, []int{0, 2}, pm.Splits[0].LeftBins)
	for _, bad := range []string{`[]`, `[3]`, `[2, 0]`} {
		_, err := LoadPassiveModel(strings.NewReader(`{"version": 2, "binning": {"cuts": [[0, 1]], "categorical": [true]}, "splits": [{"tree": 0, "node": 0, "feature": 0, "bin": 0, "threshold": 0, "missing_left": true, "left_bins": ` + bad + `}]}`))
		require.ErrorIs(t, err, model.ErrBadModel, bad)
	}
}
