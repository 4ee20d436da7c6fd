package node

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/veil-fl/veil/dataset"
	"github.com/veil-fl/veil/fl"
	"github.com/veil-fl/veil/fl/pki"
	"github.com/veil-fl/veil/fl/score"
	"github.com/veil-fl/veil/model"
	"github.com/veil-fl/veil/node/config"
	"github.com/veil-fl/veil/node/registry"
)

const flagsCenterYAML = `listen: 127.0.0.1:0
cert: center.pem
key: center-key.pem
ca: ca.pem
registry: center-models/
audit: audit.jsonl
tables:
  enterprises: {source: center.csv, id: id, flags: {coupon: has_coupon, technology: high_tech}}
banks:
  bank-a: {tables: [enterprises], models: [lr], outputs: [bands, approve], flags: [coupon, technology], flag_grades: 2}
  bank-b: {tables: [enterprises], models: [lr], outputs: [bands]}
`

// TestScoreWithFlags: the center holds a coupon and a technology flag per
// enterprise; bank-a's policy lists both for a whitelist of at most two
// grades. Its scoring's whitelist.csv carries, for each whitelisted
// enterprise, exactly the center's flags and the rate they price (4.2 less
// 0.2 for the coupon and 0.2 for the category, never below 3.8); the
// enterprises off the whitelist are nowhere; the center's audit log records
// the offer (records x flags); bank-b, whose policy lists no flag, and
// bank-a asking for three grades, are refused naming the rule.
func TestScoreWithFlags(t *testing.T) {
	dir := t.TempDir()
	pilot, err := pki.NewPilot("center", "bank-a", "bank-b")
	require.NoError(t, err)
	require.NoError(t, pilot.WritePEM(dir))
	bank, center, err := dataset.Synthesize(dataset.SynthOptions{Rows: 600, Seed: 9})
	require.NoError(t, err)

	// The center's table with two 0/1 flag columns, which the model does
	// not use.
	r := rand.New(rand.NewPCG(21, 22))
	d := center.Cols()
	flagged := *center
	flagged.Columns = append(append([]string{}, center.Columns...), "has_coupon", "high_tech")
	flagged.X = make([]float64, center.Rows()*(d+2))
	truth := map[string]Flags{}
	coupon, _ := FlagsOf(config.FlagCoupon)
	tech, _ := FlagsOf(config.FlagTechnology)
	for i, id := range center.IDs {
		copy(flagged.X[i*(d+2):], center.X[i*d:(i+1)*d])
		var f Flags
		if r.IntN(2) == 1 {
			flagged.X[i*(d+2)+d], f = 1, f|coupon
		}
		if r.IntN(3) == 0 {
			flagged.X[i*(d+2)+d+1], f = 1, f|tech
		}
		truth[id] = f
	}
	if center.Categories != nil {
		flagged.Categories = append(append([][]string{}, center.Categories...), nil, nil)
	}
	writeCSV(t, filepath.Join(dir, "center.csv"), &flagged)
	applicants := *bank
	applicants.Labels = nil
	writeCSV(t, filepath.Join(dir, "applicants.csv"), &applicants)

	// An LR model's halves, of one training, in both registries.
	half := func(party model.Role, tb *dataset.Table) []byte {
		st, err := model.FitStandardizer(tb.X, tb.Cols())
		require.NoError(t, err)
		w := make([]float64, tb.Cols())
		for j := range w {
			w[j] = 0.4 * r.NormFloat64()
		}
		h := &model.LRHalf{Version: model.LRVersion, Party: party, Training: training1, Features: tb.Columns, Standardizer: st, Weights: w}
		if party == model.Active {
			h.Intercept = -3 // a low default rate: a whitelist of some size
		}
		var buf bytes.Buffer
		require.NoError(t, h.Save(&buf))
		return buf.Bytes()
	}
	creg, err := registry.Open(filepath.Join(dir, "center-models"))
	require.NoError(t, err)
	for _, b := range []string{"bank-a", "bank-b"} {
		_, err = creg.Put(registry.Meta{Owner: b, Name: "sme-credit", Kind: "lr", Training: training1, Table: "enterprises", Columns: center.Columns},
			map[string][]byte{halfFile(fl.RolePassive, "lr"): half(model.Passive, center)})
		require.NoError(t, err)
		breg, err := registry.Open(filepath.Join(dir, b+"-models"))
		require.NoError(t, err)
		_, err = breg.Put(registry.Meta{Name: "sme-credit", Kind: "lr", Training: training1, Table: "enterprises", Columns: bank.Columns},
			map[string][]byte{halfFile(fl.RoleActive, "lr"): half(model.Active, bank)})
		require.NoError(t, err)
	}

	path := filepath.Join(dir, "center.yaml")
	require.NoError(t, os.WriteFile(path, []byte(flagsCenterYAML), 0o644))
	cfg, err := config.LoadCenter(path)
	require.NoError(t, err)
	c, err := NewCenter(cfg, testLogger(t))
	require.NoError(t, err)
	require.NoError(t, c.Listen())
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	sctx, stop := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() { served <- c.Serve(sctx) }()
	defer func() { stop(); <-served }()

	scoreCfg := func(bank, output, extra string) *config.Score {
		p := filepath.Join(dir, fmt.Sprintf("%s-%s-%d.yaml", bank, output, len(extra)))
		require.NoError(t, os.WriteFile(p, append(fmt.Appendf(nil, scoreYAML, c.Addr().String(), bank, bank, bank, output, bank+"-"+output), extra...), 0o644))
		s, err := config.LoadScore(p)
		require.NoError(t, err)
		return s
	}
	for _, output := range []string{OutputBands, OutputApprove} {
		res, err := Score(ctx, scoreCfg("bank-a", output, "flags: [coupon, technology]\n"), testLogger(t))
		require.NoError(t, err, output)
		t.Logf("%s: %+v", output, *res)
		require.Greater(t, res.Whitelisted, 50)
		require.Less(t, res.Whitelisted, res.Scored-50)
		require.Equal(t, res.Whitelisted, res.FlagsDisclosed, "flags for every whitelisted enterprise and no other")
		rows := readCSVRows(t, filepath.Join(res.Out, "whitelist.csv"))
		require.Equal(t, []string{"id", "grade", "credit_line_yuan", "annual_rate_percent", "coupon_discount_points", "category_discount_points", "flags"}, rows[0])
		require.Len(t, rows, res.Whitelisted+1)
		for _, row := range rows[1:] {
			f := truth[row[0]]
			require.Equal(t, f.String(), row[6], "enterprise %s's flags", row[0])
			want := 4.2
			if f.Has(config.FlagCoupon) {
				want -= 0.2
			}
			if f.Has(config.FlagTechnology) {
				want -= 0.2
			}
			rate, err := strconv.ParseFloat(row[3], 64)
			require.NoError(t, err)
			require.InDelta(t, want, rate, 1e-9, "enterprise %s's rate", row[0])
		}
	}

	// The center's audit log holds the offer of each session.
	recs := readAudit(t, filepath.Join(dir, "audit.jsonl"))
	sessions, _ := sessionsOf(recs)
	require.Len(t, sessions, 2)
	for _, s := range sessions {
		flags := 0
		for _, d := range s.Disclosures {
			if d.Step == score.StepFlags {
				flags += d.Count
			}
		}
		require.Equal(t, 2*s.Rows, flags, "records x flags offered")
	}

	// A model trained on a flag column is not scored: its scores would
	// carry the flag of every enterprise.
	withFlag := &dataset.Table{Name: "enterprises", IDs: flagged.IDs, Columns: flagged.Columns[d : d+1], X: make([]float64, flagged.Rows())}
	for i := range withFlag.X {
		withFlag.X[i] = flagged.X[i*(d+2)+d]
	}
	_, err = creg.Put(registry.Meta{Owner: "bank-a", Name: "coupon-model", Kind: "lr", Training: training1, Table: "enterprises", Columns: []string{"has_coupon"}},
		map[string][]byte{halfFile(fl.RolePassive, "lr"): half(model.Passive, withFlag)})
	require.NoError(t, err)
	breg, err := registry.Open(filepath.Join(dir, "bank-a-models"))
	require.NoError(t, err)
	_, err = breg.Put(registry.Meta{Name: "coupon-model", Kind: "lr", Training: training1, Table: "enterprises", Columns: bank.Columns},
		map[string][]byte{halfFile(fl.RoleActive, "lr"): half(model.Active, bank)})
	require.NoError(t, err)
	sc := scoreCfg("bank-a", OutputBands, "")
	sc.Model = "coupon-model"
	_, err = Score(ctx, sc, nil)
	require.ErrorIs(t, err, ErrRefused)
	require.ErrorContains(t, err, "tables.enterprises.flags")
	require.NotContains(t, err.Error(), "has_coupon", "the refusal names no column of the center's")

	// Refusals name the rule.
	_, err = Score(ctx, scoreCfg("bank-b", OutputBands, "flags: [coupon]\n"), nil)
	require.ErrorIs(t, err, ErrRefused)
	require.ErrorContains(t, err, "banks.bank-b.flags")
	_, err = Score(ctx, scoreCfg("bank-a", OutputBands, "flags: [coupon]\napprove: 3\n"), nil)
	require.ErrorIs(t, err, ErrRefused)
	require.ErrorContains(t, err, "flag_grades")
}

// TestTrainableColumns: a policy without columns trains on every column
// of the table but its flag columns; a policy's own list stands.
func TestTrainableColumns(t *testing.T) {
	tb := &dataset.Table{Columns: []string{"a", "has_coupon", "b", "high_tech"}}
	tc := config.Table{Flags: map[string]string{config.FlagCoupon: "has_coupon", config.FlagTechnology: "high_tech"}}
	require.Equal(t, []string{"a", "b"}, trainable(tb, nil, tc))
	require.Equal(t, []string{"a", "has_coupon"}, trainable(tb, []string{"a", "has_coupon"}, tc))
	require.Nil(t, trainable(tb, nil, config.Table{}))
}

func readCSVRows(t *testing.T, path string) [][]string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	var rows [][]string
	for _, line := range bytes.Split(bytes.TrimSpace(b), []byte("\n")) {
		rows = append(rows, splitCSVLine(string(line)))
	}
	return rows
}

func splitCSVLine(s string) []string {
	var out []string
	start := 0
	for i := range len(s) {
		if s[i] == ',' {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}
