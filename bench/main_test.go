package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/veil-fl/veil/dataset"
)

func TestOnlyUnknown(t *testing.T) {
	var out, log bytes.Buffer
	require.ErrorContains(t, run([]string{"-only", "nope"}, &out, &log), "unknown figure")
}

func TestExport(t *testing.T) {
	dir := t.TempDir()
	var out, log bytes.Buffer
	require.NoError(t, run([]string{"-export", dir, "-rows", "500", "-bank-features", "12", "-center-features", "25"}, &out, &log))
	b, err := dataset.ReadCSV(filepath.Join(dir, "bank.csv"), dataset.CSVOptions{LabelColumn: "y"})
	require.NoError(t, err)
	c, err := dataset.ReadCSV(filepath.Join(dir, "center.csv"), dataset.CSVOptions{})
	require.NoError(t, err)
	require.Equal(t, 12, b.Cols())
	require.Equal(t, 25, c.Cols())
	require.Equal(t, 500, b.Rows())
	_, err = os.Stat(filepath.Join(dir, "bank.csv"))
	require.NoError(t, err)
}

// The JSON contract on the cheapest figure.
func TestJSONFigure(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a benchmark")
	}
	var out, log bytes.Buffer
	require.NoError(t, run([]string{"-json", "-runs", "1", "-only", "encrypt_per_value"}, &out, &log))
	var f map[string]any
	require.NoError(t, json.Unmarshal(out.Bytes(), &f))
	for _, k := range []string{"name", "value", "unit", "baseline", "ratio"} {
		require.Contains(t, f, k)
	}
	require.Less(t, f["ratio"].(float64), 1.0, "CKKS must beat Paillier per value")
}
