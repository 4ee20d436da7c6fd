package main

import (
	"bytes"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/veil-fl/veil/dataset"
	"github.com/veil-fl/veil/fl/pki"
	"github.com/veil-fl/veil/model"
)

// The JSON contract: one object per model with the documented keys, on
// generated data, both parties over gRPC in this process.
func TestJSONContract(t *testing.T) {
	var out, log bytes.Buffer
	dir := t.TempDir()
	err := run([]string{"-rows", "3000", "-epochs", "3", "-trees", "3", "-json", "-out", dir}, &out, &log)
	require.NoError(t, err, log.String())
	// Each party saved its own halves; they load back.
	for _, name := range []string{"active_sbt.json", "passive_sbt.json"} {
		_, err := os.Stat(filepath.Join(dir, name))
		require.NoError(t, err)
	}
	for _, party := range []model.Role{model.Active, model.Passive} {
		f, err := os.Open(filepath.Join(dir, string(party)+"_lr.json"))
		require.NoError(t, err)
		h, err := model.LoadLRHalf(f)
		f.Close()
		require.NoError(t, err)
		require.Equal(t, party, h.Party)
		// The generated data has text columns at both parties: one weight
		// per level of each.
		require.True(t, h.Categories.Any())
		require.Len(t, h.Weights, len(h.Columns()))
		require.Greater(t, len(h.Weights), len(h.Features))
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	require.Len(t, lines, 2, out.String())
	var lr map[string]any
	require.NoError(t, json.Unmarshal([]byte(lines[0]), &lr))
	for _, k := range []string{"model", "auc", "ks", "plain_auc", "plain_ks", "rows_aligned", "train_seconds", "bytes_sent"} {
		require.Contains(t, lr, k)
	}
	require.Equal(t, "lr", lr["model"])
	require.InDelta(t, lr["plain_auc"].(float64), lr["auc"].(float64), 0.002)
	require.Greater(t, lr["auc"].(float64), 0.7)
	require.Equal(t, 2700.0, lr["rows_aligned"]) // 90% overlap of 3000
	var sbt map[string]any
	require.NoError(t, json.Unmarshal([]byte(lines[1]), &sbt))
	require.Equal(t, "sbt", sbt["model"])
	require.InDelta(t, sbt["plain_auc"].(float64), sbt["auc"].(float64), 0.002)
	require.Greater(t, sbt["auc"].(float64), 0.7)
}

// Bad input stops before any key is generated, naming file, line and column.
func TestBadInputStopsEarly(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(body), 0o600))
		return p
	}
	center := write("center.csv", "id,a,b\n1,0.5,1\n2,0.25,2\n3,1,3\n")
	cases := []struct {
		name, bank, want string
	}{
		// A text cell makes its column categorical; a number past float64
		// is still an error.
		{"overflowing cell", "id,y,x\n1,0,1.5\n2,1,1e400\n3,0,2\n", "bank.csv:3:3 (x)"},
		{"non-binary label", "id,y,x\n1,0,1.5\n2,2,1\n3,0,2\n", "bank.csv:3:2 (y)"},
		{"missing label column", "id,x\n1,1.5\n2,1\n", "bank.csv:1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			bank := write("bank.csv", c.bank)
			var out, log bytes.Buffer
			err := run([]string{"-bank", bank, "-center", center}, &out, &log)
			require.Error(t, err)
			require.Contains(t, err.Error(), c.want)
			require.NotContains(t, log.String(), "session open", "no session, hence no key, may start")
		})
	}
	var out, log bytes.Buffer
	err := run([]string{"-model", "forest"}, &out, &log)
	require.ErrorContains(t, err, "-model")
}

// Two-process mode: each party in its own run, with certificates from files,
// the center listening and the bank dialing.
func TestTwoProcessMode(t *testing.T) {
	dir := t.TempDir()
	pilot, err := pki.NewPilot("bank", "center")
	require.NoError(t, err)
	require.NoError(t, pilot.WritePEM(dir))
	b, c, err := dataset.Synthesize(dataset.SynthOptions{Rows: 2000, Seed: 3})
	require.NoError(t, err)
	save := func(tab *dataset.Table, name string) string {
		p := filepath.Join(dir, name)
		f, err := os.Create(p)
		require.NoError(t, err)
		require.NoError(t, tab.WriteCSV(f))
		require.NoError(t, f.Close())
		return p
	}
	bankCSV, centerCSV := save(b, "bank.csv"), save(c, "center.csv")
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := lis.Addr().String()
	require.NoError(t, lis.Close())

	pem := func(name string) []string {
		return []string{"-cert", filepath.Join(dir, name+".pem"), "-key", filepath.Join(dir, name+"-key.pem"), "-ca", filepath.Join(dir, "ca.pem")}
	}
	centerErr := make(chan error, 1)
	var centerOut, centerLog bytes.Buffer
	go func() {
		centerErr <- run(append([]string{"-role", "center", "-listen", addr, "-center", centerCSV, "-model", "lr", "-epochs", "2", "-timeout", "2m"}, pem("center")...), &centerOut, &centerLog)
	}()
	var out, log bytes.Buffer
	var bankErr error
	for try := 0; try < 50; try++ { // the center may not listen yet
		out.Reset()
		bankErr = run(append([]string{"-role", "bank", "-peer", addr, "-peer-name", "center", "-bank", bankCSV, "-model", "lr", "-epochs", "2", "-json", "-timeout", "2m"}, pem("bank")...), &out, &log)
		if bankErr == nil || !strings.Contains(bankErr.Error(), "connection refused") {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	require.NoError(t, bankErr, log.String())
	require.NoError(t, <-centerErr, centerLog.String())
	var lr map[string]any
	require.NoError(t, json.Unmarshal(out.Bytes(), &lr), out.String())
	require.Equal(t, 1800.0, lr["rows_aligned"])
	require.Nil(t, lr["plain_auc"], "the bank alone has no plaintext reference")
	require.Contains(t, centerOut.String(), "credit center: trained")
}

// A separate test pair: train on the first pair, evaluate on the second;
// both pairs are aligned by PSI.
func TestSeparateTestPair(t *testing.T) {
	dir := t.TempDir()
	save := func(tab *dataset.Table, name string) string {
		p := filepath.Join(dir, name)
		f, err := os.Create(p)
		require.NoError(t, err)
		require.NoError(t, tab.WriteCSV(f))
		require.NoError(t, f.Close())
		return p
	}
	b, c, err := dataset.Synthesize(dataset.SynthOptions{Rows: 2000, Seed: 5})
	require.NoError(t, err)
	tb, tc, err := dataset.Synthesize(dataset.SynthOptions{Rows: 1000, Seed: 6})
	require.NoError(t, err)
	var out, log bytes.Buffer
	err = run([]string{"-bank", save(b, "b.csv"), "-center", save(c, "c.csv"), "-test-bank", save(tb, "tb.csv"),
		"-test-center", save(tc, "tc.csv"), "-model", "lr", "-epochs", "3", "-json"}, &out, &log)
	require.NoError(t, err, log.String())
	var lr map[string]any
	require.NoError(t, json.Unmarshal(out.Bytes(), &lr))
	require.Equal(t, 1800.0, lr["rows_aligned"])
	require.Equal(t, 900.0, lr["test_rows"])
	require.InDelta(t, lr["plain_auc"].(float64), lr["auc"].(float64), 0.002)
}
