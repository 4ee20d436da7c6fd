package fltest

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/veil-fl/veil/fl"
)

func TestNewPKIArgs(t *testing.T) {
	_, err := NewPKI()
	require.Error(t, err)
	_, err = NewPKI("Bank")
	require.ErrorContains(t, err, "DNS label")
	_, err = NewPKI("bank", "bank")
	require.ErrorContains(t, err, "twice")
	p, err := NewPKI("bank")
	require.NoError(t, err)
	_, err = p.Identity("center")
	require.ErrorContains(t, err, `no party "center"`)
	require.Panics(t, func() { p.ServerTLS("center") })
}

// WritePEM writes what fl.LoadTLS reads, the keys readable by their owner
// only. (fl/link's tests run a session over the loaded identities.)
func TestWritePEM(t *testing.T) {
	dir := t.TempDir()
	p, err := NewPKI("bank", "center")
	require.NoError(t, err)
	require.NoError(t, p.WritePEM(dir))
	for _, name := range []string{"bank", "center"} {
		id, err := fl.LoadTLS(filepath.Join(dir, name+".pem"), filepath.Join(dir, name+"-key.pem"), filepath.Join(dir, "ca.pem"))
		require.NoError(t, err)
		leaf := id.Certificate.Leaf
		require.NotNil(t, leaf)
		require.NoError(t, leaf.VerifyHostname(name))
		fi, err := os.Stat(filepath.Join(dir, name+"-key.pem"))
		require.NoError(t, err)
		require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	}
}
