package psi

import (
	"encoding/csv"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// dataDir is the shared data set directory, next to the project root.
const dataDir = "../../../shared/data"

// readIDs returns the first column (id) of a CSV file.
func readIDs(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = -1
	r.ReuseRecord = true
	header, err := r.Read()
	require.NoError(t, err)
	require.Equal(t, "id", header[0], "%s: first column", path)
	var ids []string
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return ids
		}
		require.NoError(t, err)
		ids = append(ids, rec[0])
	}
}

func TestRealData(t *testing.T) {
	if _, err := os.Stat(dataDir); err != nil {
		t.Skipf("shared data sets not found at %s (from the package directory): %v", dataDir, err)
	}
	for _, tc := range []struct {
		pair string
		rows int
	}{
		{"breast_hetero", 569},
		{"default_credit_hetero", 30000},
		{"give_credit_hetero", 30000},
	} {
		t.Run(tc.pair, func(t *testing.T) {
			guest := readIDs(t, filepath.Join(dataDir, tc.pair+"_guest.csv"))
			host := readIDs(t, filepath.Join(dataDir, tc.pair+"_host.csv"))
			require.Len(t, guest, tc.rows)
			require.Len(t, host, tc.rows)

			resG, resH, errG, errH := runPSI(t, guest, host, 21)
			require.NoError(t, errG)
			require.NoError(t, errH)
			require.Len(t, resG.Rows, tc.rows)
			require.Len(t, resH.Rows, tc.rows)
			require.Equal(t, resG.Digest, resH.Digest)
			for i := range resG.Rows {
				require.Equal(t, guest[resG.Rows[i]], host[resH.Rows[i]], "aligned row %d", i)
			}
		})
	}
}
