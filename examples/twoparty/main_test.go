package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The JSON contract: one object per model with the documented keys, on
// generated data, both parties over gRPC in this process.
func TestJSONContract(t *testing.T) {
	var out, log bytes.Buffer
	err := run([]string{"-rows", "3000", "-epochs", "3", "-json"}, &out, &log)
	require.NoError(t, err, log.String())
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
	require.Contains(t, lines[1], `"model":"sbt"`)
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
		{"non-numeric cell", "id,y,x\n1,0,1.5\n2,1,abc\n3,0,2\n", "bank.csv:3:3 (x)"},
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
