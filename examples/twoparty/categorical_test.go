package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/veil-fl/veil/dataset"
	"github.com/veil-fl/veil/model"
)

// writePair writes a generated pair with text columns on both sides as the
// user's own files would come: the label column named "default".
func writePair(t *testing.T, rows int, seed int64) (bankCSV, centerCSV string) {
	t.Helper()
	dir := t.TempDir()
	b, c, err := dataset.Synthesize(dataset.SynthOptions{Rows: rows, Seed: seed, Categorical: true})
	require.NoError(t, err)
	save := func(tab *dataset.Table, name string, rename bool) string {
		var buf bytes.Buffer
		require.NoError(t, tab.WriteCSV(&buf))
		text := buf.String()
		if rename {
			head, rest, _ := strings.Cut(text, "\n")
			require.True(t, strings.HasPrefix(head, "id,y,"))
			text = "id,default," + strings.TrimPrefix(head, "id,y,") + "\n" + rest
		}
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(text), 0o600))
		return p
	}
	return save(b, "bank.csv", true), save(c, "center.csv", false)
}

// The main job on files of the user's own, text columns on both sides:
// LR and the WOE scorecard match their plaintext twins, the report shows
// the WOE of each category, and the halves carry the encoding (-categorical
// adds a column of numeric codes to it).
func TestOwnFilesWithTextColumns(t *testing.T) {
	bankCSV, centerCSV := writePair(t, 2000, 21)
	report, out := t.TempDir(), t.TempDir()
	var stdout, log bytes.Buffer
	err := run([]string{"-bank", bankCSV, "-center", centerCSV, "-label", "default", "-categorical", "loan_term_months",
		"-model", "lr", "-epochs", "3", "-json", "-report", report, "-out", out}, &stdout, &log)
	require.NoError(t, err, log.String())
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	require.Len(t, lines, 2, "lr and the WOE scorecard the report adds")
	for _, line := range lines {
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &m))
		require.InDelta(t, m["plain_auc"].(float64), m["auc"].(float64), 0.002, m["model"])
		require.Greater(t, m["auc"].(float64), 0.7, m["model"])
		t.Logf("%s: federated AUC %.4f, plaintext %.4f", m["model"], m["auc"], m["plain_auc"])
	}
	for _, c := range []string{"legal_form", "district", "loan_product", "account_type", "loan_term_months"} {
		require.Contains(t, log.String(), "column="+c, "the job logs the categorical columns")
	}

	html, err := os.ReadFile(filepath.Join(report, "index.html"))
	require.NoError(t, err)
	require.Contains(t, string(html), "WOE by category")
	require.Contains(t, string(html), "<td>legal_form</td><td>credit center</td><td>categorical</td>")
	require.Contains(t, string(html), "<td>sole proprietorship</td>")

	load := func(name string) *model.LRHalf {
		f, err := os.Open(filepath.Join(out, name))
		require.NoError(t, err)
		defer f.Close()
		h, err := model.LoadLRHalf(f)
		require.NoError(t, err)
		return h
	}
	bank := load("active_lr.json")
	j := -1
	for k, name := range bank.Features {
		if name == "loan_term_months" {
			j = k
		}
	}
	require.True(t, bank.Categories.IsCategorical(j), "-categorical declares the numeric codes")
	require.Equal(t, []string{"12", "24", "36", "60"}, bank.Categories.Columns[j].Labels)
	require.Contains(t, bank.OneHot, "loan_term_months=36")
	center := load("passive_lr.json")
	require.True(t, center.Categories.Any())
	require.Len(t, center.Weights, len(center.OneHot))
}

// A -categorical name in neither table is refused before any session.
func TestCategoricalUnknownColumn(t *testing.T) {
	bankCSV, centerCSV := writePair(t, 300, 22)
	var out, log bytes.Buffer
	err := run([]string{"-bank", bankCSV, "-center", centerCSV, "-label", "default", "-categorical", "regoin"}, &out, &log)
	require.ErrorContains(t, err, `-categorical: no feature column "regoin"`)
	require.NotContains(t, log.String(), "session open")
	// Nor may it name the label column.
	err = run([]string{"-bank", bankCSV, "-center", centerCSV, "-label", "default", "-categorical", "default"}, &out, &log)
	require.ErrorContains(t, err, `-categorical: "default" is the id or label column`)
}
