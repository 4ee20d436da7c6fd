// Package pki makes a pilot PKI: a throwaway certificate authority with one
// certificate per party, for trials, examples and tests of the two-party
// links (fl/link's mutual TLS). It holds no test code, so a program that
// uses it links no test library.
//
// A pilot PKI is not a deployment's: its CA key is discarded once the
// parties' certificates are signed (no certificate can be added or
// revoked), and every certificate expires after seven days. A deployment
// loads certificates its own CA issued with fl.LoadTLS; WritePEM writes a
// pilot's in the files fl.LoadTLS reads, for two processes on a trial.
package pki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"time"

	"github.com/veil-fl/veil/fl"
)

// Validity is how long a pilot's certificates are valid from their
// creation (they are also valid from an hour before it, for clocks that
// lag).
const Validity = 7 * 24 * time.Hour

// Pilot is a pilot PKI: the CA certificate and, per party, a certificate and
// private key (ECDSA P-256) it signed. Keys live in memory unless written
// out with WritePEM.
type Pilot struct {
	// CAPEM is the CA certificate in PEM form.
	CAPEM   []byte
	names   []string
	parties map[string]party
}

type party struct {
	certPEM, keyPEM []byte
	id              *fl.TLSIdentity
}

// partyName is a lower-case DNS label: the name goes into the certificate's
// DNS names, which peers verify (fl.TLSIdentity), and into file names.
var partyName = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// NewPilot creates a fresh CA and a certificate for each name. Names are
// lower-case DNS labels such as "bank" or "center"; each certificate is
// valid for its name, for both serving and dialing.
func NewPilot(names ...string) (*Pilot, error) {
	if len(names) == 0 {
		return nil, errors.New("pki: NewPilot needs at least one party name")
	}
	for i, name := range names {
		if !partyName.MatchString(name) {
			return nil, fmt.Errorf("pki: party name %q is not a lower-case DNS label", name)
		}
		if slices.Index(names, name) < i {
			return nil, fmt.Errorf("pki: party name %q given twice", name)
		}
	}
	now := time.Now()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("pki: CA key: %w", err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber: serial(),
		// A fresh serial in the subject keeps two pilots' CAs apart in a
		// pool that holds both.
		Subject:               pkix.Name{CommonName: "Veil pilot CA", SerialNumber: serial().Text(16)},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(Validity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, fmt.Errorf("pki: CA certificate: %w", err)
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, fmt.Errorf("pki: CA certificate: %w", err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(caCert)
	p := &Pilot{
		CAPEM:   pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		names:   slices.Clone(names),
		parties: make(map[string]party, len(names)),
	}
	for _, name := range names {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("pki: key for %q: %w", name, err)
		}
		tmpl := &x509.Certificate{
			SerialNumber: serial(),
			Subject:      pkix.Name{CommonName: name},
			DNSNames:     []string{name},
			NotBefore:    now.Add(-time.Hour),
			NotAfter:     now.Add(Validity),
			KeyUsage:     x509.KeyUsageDigitalSignature,
			ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
		if err != nil {
			return nil, fmt.Errorf("pki: certificate for %q: %w", name, err)
		}
		keyDER, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			return nil, fmt.Errorf("pki: key for %q: %w", name, err)
		}
		pt := party{
			certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
			keyPEM:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
		}
		cert, err := tls.X509KeyPair(pt.certPEM, pt.keyPEM)
		if err != nil {
			return nil, fmt.Errorf("pki: key pair for %q: %w", name, err)
		}
		pt.id = &fl.TLSIdentity{Certificate: cert, Roots: roots}
		p.parties[name] = pt
	}
	return p, nil
}

// serial draws a 127-bit certificate serial number.
func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127)) // crypto/rand does not fail
	return n
}

// Names returns the parties' names in the order NewPilot was given them.
func (p *Pilot) Names() []string { return slices.Clone(p.names) }

// Identity returns the named party's identity, whose ServerTLS and
// ClientTLS configure fl/link's mutual TLS.
func (p *Pilot) Identity(name string) (*fl.TLSIdentity, error) {
	pt, ok := p.parties[name]
	if !ok {
		return nil, fmt.Errorf("pki: the pilot PKI has no party %q (it has %q)", name, p.names)
	}
	return pt.id, nil
}

// WritePEM writes into dir, which must exist, the files fl.LoadTLS reads:
// ca.pem and, per party, NAME.pem and NAME-key.pem. Each file is written
// whole under a temporary name and renamed, so a key file is never
// readable by others, even one that replaces an older file of wider
// permissions: keys get mode 0600, certificates 0644.
func (p *Pilot) WritePEM(dir string) error {
	if err := writeFile(dir, "ca.pem", p.CAPEM, 0o644); err != nil {
		return err
	}
	for _, name := range p.names {
		pt := p.parties[name]
		if err := writeFile(dir, name+".pem", pt.certPEM, 0o644); err != nil {
			return err
		}
		if err := writeFile(dir, name+"-key.pem", pt.keyPEM, 0o600); err != nil {
			return err
		}
	}
	return nil
}

func writeFile(dir, name string, b []byte, mode os.FileMode) (err error) {
	path := filepath.Join(dir, name)
	f, err := os.CreateTemp(dir, "."+name+"-*")
	if err != nil {
		return fmt.Errorf("pki: writing %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			os.Remove(f.Name())
			err = fmt.Errorf("pki: writing %s: %w", path, err)
		}
	}()
	// CreateTemp makes the file 0600; a certificate is for others to read.
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
