package main

import (
	"bytes"
	"encoding/csv"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
)

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	require.NoError(t, err)
	return rows
}

// TestWhitelist runs the job on a small synthetic pair, for both models,
// and checks the files' contract.
func TestWhitelist(t *testing.T) {
	for _, m := range []string{"lr", "sbt"} {
		t.Run(m, func(t *testing.T) {
			if testing.Short() && m == "sbt" {
				t.Skip("-short (the race pass): LR only")
			}
			dir := t.TempDir()
			var out, log bytes.Buffer
			args := []string{"-model", m, "-rows", "1500", "-epochs", "3", "-trees", "3", "-out", dir, "-scores", "-approve", "3"}
			require.NoError(t, run(args, &out, &log), log.String())
			t.Log(out.String())
			grades := readCSV(t, filepath.Join(dir, "grades.csv"))
			require.Equal(t, []string{"id", "grade", "probability_of_default", "points"}, grades[0])
			require.Greater(t, len(grades), 1000, "most enterprises are known to both parties")
			pd := map[string]float64{}
			for _, r := range grades[1:] {
				require.Len(t, r, 4)
				require.Contains(t, "ABCDE", r[1])
				p, err := strconv.ParseFloat(r[2], 64)
				require.NoError(t, err)
				pd[r[0]] = p
				// The grade agrees with the decrypted probability and the
				// default cut points 0.02, 0.05, 0.10, 0.20.
				want := "E"
				for i, c := range []float64{0.02, 0.05, 0.10, 0.20} {
					if p <= c {
						want = string(rune('A' + i))
						break
					}
				}
				require.Equal(t, want, r[1], "enterprise %s with PD %v", r[0], p)
			}
			white := readCSV(t, filepath.Join(dir, "whitelist.csv"))
			require.Equal(t, []string{"id", "grade", "credit_line_yuan", "annual_rate_percent"}, white[0])
			for _, r := range white[1:] {
				require.Contains(t, "ABC", r[1])
				line, err := strconv.ParseFloat(r[2], 64)
				require.NoError(t, err)
				rate, err := strconv.ParseFloat(r[3], 64)
				require.NoError(t, err)
				require.LessOrEqual(t, line, 3_000_000.0)
				require.Greater(t, line, 0.0)
				require.GreaterOrEqual(t, rate, 3.8)
				require.LessOrEqual(t, rate, 4.2)
				require.Less(t, pd[r[0]], 0.10+1e-9, "only the three best grades")
			}
		})
	}
}

func TestBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"-model", "nn"},
		{"-grades", "0.2,0.1"},
		{"-grades", "1.5"},
		{"-approve", "9"},
		{"-bank", "x.csv"},
		{"-bank-model", "a.json"},
		{"-rate-min", "5", "-rate-max", "4"},
	} {
		var out, log bytes.Buffer
		require.Error(t, run(args, &out, &log), "%v", args)
	}
}
