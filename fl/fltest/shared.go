package fltest

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/veil-fl/veil/dataset"
)

// SharedPair reads the vertically split pair name of the shared datasets
// in dir (name_hetero_guest.csv, the bank's with the label y, and
// name_hetero_host.csv, the center's) and aligns them by id.
func SharedPair(t testing.TB, dir, name string) (bank, center *dataset.Table) {
	t.Helper()
	bank, err := dataset.ReadCSV(filepath.Join(dir, name+"_hetero_guest.csv"), dataset.CSVOptions{LabelColumn: "y"})
	require.NoError(t, err)
	center, err = dataset.ReadCSV(filepath.Join(dir, name+"_hetero_host.csv"), dataset.CSVOptions{})
	require.NoError(t, err)
	rb, rc := dataset.Align(bank, center)
	return bank.Select(rb), center.Select(rc)
}
