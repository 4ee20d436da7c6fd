package link

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/veil-fl/veil/fl"
)

// The two-process mode: certificates written to disk, loaded back, used.
func TestLoadTLS(t *testing.T) {
	dir := t.TempDir()
	pki := newPKI(t, "bank", "center")
	require.NoError(t, pki.WritePEM(dir))
	load := func(name string) *fl.TLSIdentity {
		id, err := fl.LoadTLS(filepath.Join(dir, name+".pem"), filepath.Join(dir, name+"-key.pem"), filepath.Join(dir, "ca.pem"))
		require.NoError(t, err)
		return id
	}
	fi, err := os.Stat(filepath.Join(dir, "bank-key.pem"))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())

	sv := serve(t, opts(load("center").ServerTLS("bank")))
	bank, err := Dial(testCtx(t), sv.addr, opts(load("bank").ClientTLS("center")))
	require.NoError(t, err)
	defer bank.Close()
	center := sv.next(t)
	ra, rb := handshakePair(testCtx(t), bank, center, bankHello, centerHello)
	require.NoError(t, ra.err)
	require.NoError(t, rb.err)
}

func TestLoadTLSErrors(t *testing.T) {
	dir := t.TempDir()
	pki := newPKI(t, "bank")
	require.NoError(t, pki.WritePEM(dir))
	cert, key, ca := filepath.Join(dir, "bank.pem"), filepath.Join(dir, "bank-key.pem"), filepath.Join(dir, "ca.pem")
	_, err := fl.LoadTLS(cert, filepath.Join(dir, "missing.pem"), ca)
	require.ErrorContains(t, err, "key pair")
	_, err = fl.LoadTLS(cert, key, filepath.Join(dir, "missing.pem"))
	require.ErrorContains(t, err, "load CA")
	_, err = fl.LoadTLS(cert, key, key) // a key is not a CA certificate
	require.ErrorContains(t, err, "no PEM certificate")
}
