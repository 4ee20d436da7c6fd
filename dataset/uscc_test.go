package dataset

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestValidUSCC(t *testing.T) {
	// Worked by hand: a Dalian (中山区 210202) enterprise with the old-style
	// organisation code 24160135.
	//
	// GB 11714 check of 24160135, weights 3 7 9 10 5 8 4 2:
	//   2*3 + 4*7 + 1*9 + 6*10 + 0*5 + 1*8 + 3*4 + 5*2 = 133; 133 mod 11 = 1;
	//   11 - 1 = 10, written X: organisation code 24160135X.
	// GB 32100 check of 9121020224160135X (X has value 29 in the alphabet):
	//   9*1 + 1*3 + 2*9 + 1*27 + 0*19 + 2*26 + 0*16 + 2*17 + 2*20 + 4*29 + 1*25 +
	//   6*13 + 0*8 + 1*24 + 3*10 + 5*30 + 29*28 = 1418; 1418 mod 31 = 23;
	//   31 - 23 = 8: the code is 9121020224160135X8.
	const handMade = "9121020224160135X8"
	require.Equal(t, byte('X'), orgCheck([]byte("24160135")))
	require.Equal(t, byte('8'), usccCheck(handMade[:17]))

	tests := []struct {
		id   string
		want bool
	}{
		{handMade, true},
		// Codes of real enterprises, as printed on their public pages.
		{"91440300708461136T", true},
		{"9144030071526726XG", true},
		{"91330100716105852F", true},
		{"91350100M000100Y43", true},
		// Corruptions of the hand-made code.
		{"9121020224160135X9", false}, // wrong check character
		{"9121020224160135X0", false},
		{"9121020224160136X8", false},  // one body character changed
		{"9121020224106135X8", false},  // two body characters swapped
		{"9121020224160135x8", false},  // lower case
		{"9121020224160135I8", false},  // I is not in the alphabet
		{"9121020224160135O8", false},  // nor O
		{"912102022416013X8", false},   // 17 characters
		{"9121020224160135X88", false}, // 19 characters
		{"", false},
		{"91A1020224160135X8", false}, // division code must be digits
		{"９121020224160135X8", false}, // full-width digit
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, ValidUSCC(tt.id), "ValidUSCC(%q)", tt.id)
	}

	// Every single-character change of a valid code is caught: 31 is prime, so
	// changing one character shifts the weighted sum by a non-multiple of 31.
	for i := range 18 {
		for _, c := range usccAlphabet {
			if byte(c) == handMade[i] || (i >= 2 && i < 8 && (c < '0' || c > '9')) {
				continue
			}
			id := handMade[:i] + string(c) + handMade[i+1:]
			require.False(t, ValidUSCC(id), "ValidUSCC(%q) after changing character %d", id, i+1)
		}
	}
}

func TestGeneratedUSCC(t *testing.T) {
	seen := make(map[string]bool)
	for e := range 20_000 {
		for _, old := range []bool{false, true} {
			id := string(appendUSCC(nil, e, 12345, e%2 == 0, old, "210204"))
			require.True(t, ValidUSCC(id), "enterprise %d: %q", e, id)
			require.True(t, strings.HasPrefix(id, "9") && id[2:8] == "210204", "enterprise %d: %q", e, id)
			require.Equal(t, orgCheck([]byte(id[8:16])), id[16], "organisation-code check of %q", id)
			require.False(t, seen[id], "enterprise %d: %q repeats", e, id)
			seen[id] = true
		}
	}
}
