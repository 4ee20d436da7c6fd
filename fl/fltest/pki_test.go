package fltest

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// NewPKI passes pki.NewPilot's refusals on; the shorthand panics on a name
// the test did not give, naming it.
func TestNewPKI(t *testing.T) {
	_, err := NewPKI("Bank")
	require.ErrorContains(t, err, "DNS label")
	p, err := NewPKI("bank", "center")
	require.NoError(t, err)
	require.NotNil(t, p.ServerTLS("center", "bank").VerifyConnection)
	require.Equal(t, "center", p.ClientTLS("bank", "center").ServerName)
	require.PanicsWithValue(t, `fltest: pki: the pilot PKI has no party "auditor" (it has ["bank" "center"])`, func() { p.ServerTLS("auditor") })
}

// No program or library of the module links fltest (and through it the
// testing package and testify): programs take their PKI from fl/pki.
func TestOnlyTestsImportFltest(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command on PATH to list dependencies")
	}
	const self = "github.com/veil-fl/veil/fl/fltest"
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Deps " "}}`, "github.com/veil-fl/veil/...").Output()
	require.NoError(t, err, "go list")
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		require.NotEmpty(t, f)
		if f[0] != self {
			require.NotContains(t, f[1:], self, "%s depends on fltest", f[0])
		}
	}
}
