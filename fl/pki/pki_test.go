package pki_test

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/veil-fl/veil/fl"
	"github.com/veil-fl/veil/fl/pki"
)

func TestNewPilotArgs(t *testing.T) {
	for _, c := range []struct {
		names []string
		want  string
	}{
		{nil, "at least one party name"},
		{[]string{"Bank"}, `"Bank" is not a lower-case DNS label`},
		{[]string{"bank", "center/../x"}, "DNS label"},
		{[]string{"bank", ""}, "DNS label"},
		{[]string{"bank", "center", "bank"}, `"bank" given twice`},
	} {
		_, err := pki.NewPilot(c.names...)
		require.ErrorContains(t, err, c.want, "%q", c.names)
	}
	p, err := pki.NewPilot("bank", "center")
	require.NoError(t, err)
	require.Equal(t, []string{"bank", "center"}, p.Names())
	_, err = p.Identity("auditor")
	require.ErrorContains(t, err, `no party "auditor"`)
}

// Each certificate is the CA's, valid for its own name only, for serving
// and dialing.
func TestPilotCertificates(t *testing.T) {
	p, err := pki.NewPilot("bank", "center")
	require.NoError(t, err)
	block, _ := pem.Decode(p.CAPEM)
	require.NotNil(t, block)
	ca, err := x509.ParseCertificate(block.Bytes)
	require.NoError(t, err)
	require.True(t, ca.IsCA)
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	for _, name := range p.Names() {
		id, err := p.Identity(name)
		require.NoError(t, err)
		leaf := id.Certificate.Leaf
		require.NotNil(t, leaf)
		_, err = leaf.Verify(x509.VerifyOptions{Roots: roots, DNSName: name, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}})
		require.NoError(t, err, name)
		require.Error(t, leaf.VerifyHostname("auditor"))
		require.Equal(t, pki.Validity+3600e9, leaf.NotAfter.Sub(leaf.NotBefore))
	}
	// Two pilots do not trust each other's certificates.
	other, err := pki.NewPilot("bank")
	require.NoError(t, err)
	id, err := other.Identity("bank")
	require.NoError(t, err)
	_, err = id.Certificate.Leaf.Verify(x509.VerifyOptions{Roots: roots, DNSName: "bank"})
	require.Error(t, err)
}

// handshake runs a TLS handshake between a client and a server
// configuration over an in-memory connection and returns both ends'
// errors. The server sends one byte once it accepts the client: in TLS 1.3
// the client learns of a refused certificate only when it reads.
func handshake(client, server *tls.Config) (clientErr, serverErr error) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	deadline := time.Now().Add(time.Minute) // a guard against a hang, not a timing assert
	a.SetDeadline(deadline)
	b.SetDeadline(deadline)
	done := make(chan error, 1)
	go func() {
		s := tls.Server(b, server)
		err := s.Handshake()
		if err == nil {
			_, err = s.Write([]byte{1})
		}
		b.Close()
		done <- err
	}()
	c := tls.Client(a, client)
	if clientErr = c.Handshake(); clientErr == nil {
		_, clientErr = c.Read(make([]byte, 1))
	}
	a.Close()
	return clientErr, <-done
}

// Mutual TLS between the pilot's identities: the named peer is accepted, a
// certificate of the same CA under another name is refused, and so is one
// of another CA.
func TestPilotMutualTLS(t *testing.T) {
	p, err := pki.NewPilot("bank", "center", "intruder")
	require.NoError(t, err)
	ident := func(p *pki.Pilot, name string) *fl.TLSIdentity {
		id, err := p.Identity(name)
		require.NoError(t, err)
		return id
	}
	center := ident(p, "center").ServerTLS("bank")
	clientErr, serverErr := handshake(ident(p, "bank").ClientTLS("center"), center)
	require.NoError(t, clientErr)
	require.NoError(t, serverErr)
	clientErr, serverErr = handshake(ident(p, "intruder").ClientTLS("center"), center)
	require.Error(t, clientErr)
	require.ErrorContains(t, serverErr, "not one of the allowed peers")
	other, err := pki.NewPilot("bank")
	require.NoError(t, err)
	clientErr, serverErr = handshake(ident(other, "bank").ClientTLS("center"), center)
	// Each side refuses the other's CA; the client, which verifies first,
	// says so.
	require.ErrorContains(t, clientErr, "certificate signed by unknown authority")
	require.Error(t, serverErr)
	// The bank does not dial a center whose certificate names another party.
	clientErr, _ = handshake(ident(p, "bank").ClientTLS("center"), ident(p, "intruder").ServerTLS("bank"))
	require.ErrorContains(t, clientErr, "certificate is valid for intruder, not center")
}

// WritePEM writes what fl.LoadTLS reads, the keys readable by their owner
// only, even over an older key file that others could read.
func TestWritePEM(t *testing.T) {
	dir := t.TempDir()
	p, err := pki.NewPilot("bank", "center")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "bank-key.pem"), []byte("old"), 0o644))
	require.NoError(t, p.WritePEM(dir))
	for _, name := range p.Names() {
		id, err := fl.LoadTLS(filepath.Join(dir, name+".pem"), filepath.Join(dir, name+"-key.pem"), filepath.Join(dir, "ca.pem"))
		require.NoError(t, err)
		require.NoError(t, id.Certificate.Leaf.VerifyHostname(name))
		want, err := p.Identity(name)
		require.NoError(t, err)
		require.Equal(t, want.Certificate.Certificate, id.Certificate.Certificate)
		for file, mode := range map[string]os.FileMode{name + "-key.pem": 0o600, name + ".pem": 0o644} {
			fi, err := os.Stat(filepath.Join(dir, file))
			require.NoError(t, err)
			require.Equal(t, mode, fi.Mode().Perm(), file)
		}
	}
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 5, "ca.pem and two files per party, no temporary file left")

	err = p.WritePEM(filepath.Join(dir, "missing"))
	require.ErrorContains(t, err, filepath.Join(dir, "missing", "ca.pem"))
}
