package dataset

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// realData is where the shared real datasets live, seen from this package.
var realData = filepath.Join("..", "..", "shared", "data")

// TestRealData reads the vertically split public datasets and checks them
// against the table in their README.
func TestRealData(t *testing.T) {
	if _, err := os.Stat(realData); err != nil {
		t.Skipf("real datasets not found at %s (they live in the shared checkout next to the project): %v", realData, err)
	}
	tests := []struct {
		pair               string
		rows, bank, center int
		positives          int
		firstID            string
		firstLabel         float64
	}{
		{"breast_hetero", 569, 10, 20, 357, "133", 1},
		{"default_credit_hetero", 30_000, 13, 10, 6_636, "25115", 1},
		{"give_credit_hetero", 30_000, 5, 5, 2_010, "83519", 0},
	}
	for _, tt := range tests {
		t.Run(tt.pair, func(t *testing.T) {
			bank, err := ReadCSV(filepath.Join(realData, tt.pair+"_guest.csv"), CSVOptions{LabelColumn: "y"})
			require.NoError(t, err)
			center, err := ReadCSV(filepath.Join(realData, tt.pair+"_host.csv"), CSVOptions{})
			require.NoError(t, err)

			require.Equal(t, tt.pair+"_guest.csv", bank.Name)
			require.Equal(t, tt.rows, bank.Rows(), "bank rows")
			require.Equal(t, tt.rows, center.Rows(), "center rows")
			require.Equal(t, tt.bank, bank.Cols(), "bank features")
			require.Equal(t, tt.center, center.Cols(), "center features")
			require.Nil(t, center.Labels, "the center's table has labels")
			positives := 0
			for _, y := range bank.Labels {
				positives += int(y)
			}
			require.Equal(t, tt.positives, positives, "positives")
			require.Equal(t, tt.firstID, bank.IDs[0])
			require.Equal(t, tt.firstLabel, bank.Labels[0])

			// The README promises matching ids in the same order.
			ra, rb := Align(bank, center)
			require.Len(t, ra, tt.rows, "common ids")
			require.Equal(t, ra, rb, "ids in the same order")
		})
	}
}
