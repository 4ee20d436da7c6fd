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

// TestWhitelist runs the job on a small synthetic pair, for both models
// with -scores, and on the default path (LR, grades by secure comparison,
// no score anywhere), and checks the files' contract.
func TestWhitelist(t *testing.T) {
	for _, tc := range []struct {
		name   string
		args   []string
		scores bool
	}{
		{"lr", []string{"-model", "lr", "-epochs", "3", "-scores"}, true},
		{"sbt", []string{"-model", "sbt", "-trees", "3", "-scores"}, true},
		// The default: bands only. One epoch keeps it fast; the grades'
		// agreement with the plaintext model is fl/score's to test.
		{"lr grades only", []string{"-epochs", "1"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if testing.Short() && tc.name == "sbt" {
				t.Skip("-short (the race pass): LR only")
			}
			dir := t.TempDir()
			var out, log bytes.Buffer
			args := append([]string{"-rows", "1500", "-out", dir, "-approve", "3"}, tc.args...)
			require.NoError(t, run(args, &out, &log), log.String())
			t.Log(out.String())
			grades := readCSV(t, filepath.Join(dir, "grades.csv"))
			head := []string{"id", "grade"}
			if tc.scores {
				head = append(head, "probability_of_default", "points")
				require.Contains(t, out.String(), "including alignment and keys")
			} else {
				require.Contains(t, out.String(), "including alignment and the OT setup", "no keys on the band path")
			}
			require.Equal(t, head, grades[0])
			require.Greater(t, len(grades), 1000, "most enterprises are known to both parties")
			pd := map[string]float64{}
			grade := map[string]string{}
			for _, r := range grades[1:] {
				require.Len(t, r, len(head))
				require.Contains(t, "ABCDE", r[1])
				grade[r[0]] = r[1]
				if !tc.scores {
					continue
				}
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
			require.Equal(t, []string{"id", "grade", "credit_line_yuan", "annual_rate_percent", "coupon_discount_points", "category_discount_points", "flags"}, white[0])
			approved := 0
			for _, g := range grade {
				if g <= "C" {
					approved++
				}
			}
			require.Len(t, white[1:], approved, "every enterprise of grades A-C, and only those")
			for _, r := range white[1:] {
				require.Contains(t, "ABC", r[1])
				require.Equal(t, grade[r[0]], r[1], "enterprise %s", r[0])
				line, err := strconv.ParseFloat(r[2], 64)
				require.NoError(t, err)
				rate, err := strconv.ParseFloat(r[3], 64)
				require.NoError(t, err)
				b := float64(r[1][0] - 'A')
				require.Equal(t, 3_000_000*(3-b)/3, line, "the line falls by grade")
				require.InDelta(t, 3.8+0.2*b, rate, 1e-9, "the rate rises by grade")
				if tc.scores {
					require.Less(t, pd[r[0]], 0.10+1e-9, "only the three best grades")
				}
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
