package main

import (
	"bytes"
	"encoding/json"
	"image/png"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/veil-fl/veil/model"
)

// -report renders the page: every PNG decodes, has a sensible size and is
// shown by index.html; the WOE scorecard joins the models, matches its
// plaintext reference, and each party saves its own scorecard half.
func TestReport(t *testing.T) {
	dir, out := t.TempDir(), t.TempDir()
	var stdout, log bytes.Buffer
	err := run([]string{"-rows", "2000", "-epochs", "3", "-trees", "2", "-model", "lr", "-woe-method", "optimal",
		"-json", "-report", dir, "-out", out}, &stdout, &log)
	require.NoError(t, err, log.String())

	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	require.Len(t, lines, 2, "lr and the WOE scorecard the report adds")
	var sc map[string]any
	require.NoError(t, json.Unmarshal([]byte(lines[1]), &sc))
	require.Equal(t, "woe", sc["model"])
	require.InDelta(t, sc["plain_auc"].(float64), sc["auc"].(float64), 1e-6)
	require.Greater(t, sc["auc"].(float64), 0.7)

	html, err := os.ReadFile(filepath.Join(dir, "index.html"))
	require.NoError(t, err)
	refs := map[string]bool{}
	for _, m := range regexp.MustCompile(`<img src="([^"]+)"`).FindAllStringSubmatch(string(html), -1) {
		refs[m[1]] = true
	}
	pngs, err := filepath.Glob(filepath.Join(dir, "*.png"))
	require.NoError(t, err)
	// roc, iv, and ks, dist, lift, learning curve of each of the two models.
	require.Len(t, pngs, 10)
	for _, p := range pngs {
		require.True(t, refs[filepath.Base(p)], "%s not shown by index.html", p)
		f, err := os.Open(p)
		require.NoError(t, err)
		img, err := png.Decode(f)
		f.Close()
		require.NoError(t, err, p)
		b := img.Bounds()
		require.True(t, b.Dx() >= 400 && b.Dy() >= 250 && b.Dx() <= 4000 && b.Dy() <= 4000, "%s is %dx%d", p, b.Dx(), b.Dy())
	}
	require.Len(t, refs, len(pngs), "index.html shows a missing file")
	require.Contains(t, string(html), "tax_arrears", "the center's IVs are on the page")

	for _, party := range []model.Role{model.Active, model.Passive} {
		f, err := os.Open(filepath.Join(out, string(party)+"_scorecard.json"))
		require.NoError(t, err)
		h, err := model.LoadScorecardHalf(f)
		f.Close()
		require.NoError(t, err)
		require.Equal(t, party, h.Party)
		require.NotEmpty(t, h.Features)
	}
	// Not a terminal: quiet log lines, no progress bar.
	require.NotContains(t, log.String(), "\r")
	require.Contains(t, log.String(), "LR epoch")
}

func TestReportFlags(t *testing.T) {
	for _, args := range [][]string{
		{"-report", "x", "-role", "bank"},
		{"-woe-method", "tree"},
		{"-woe-bins", "1"},
		{"-top-k", "-1"},
	} {
		var out, log bytes.Buffer
		require.Error(t, run(args, &out, &log), "%v", args)
		require.NotContains(t, log.String(), "session open")
	}
}
