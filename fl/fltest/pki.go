package fltest

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
	"time"

	"github.com/veil-fl/veil/fl"
)

// PKI is a throwaway certificate authority with one certificate per
// party, for tests, examples and trials. Keys are ECDSA P-256 and live only
// in memory unless written out with WritePEM; certificates are valid for
// seven days. Production deployments load certificates issued by their own
// CA with fl.LoadTLS.
type PKI struct {
	// CAPEM is the CA certificate in PEM form.
	CAPEM   []byte
	parties map[string]testParty
}

type testParty struct {
	certPEM, keyPEM []byte
	id              *fl.TLSIdentity
}

var partyName = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// NewPKI creates a fresh CA and a certificate for each name. Names are
// DNS labels such as "bank" or "center"; each certificate is valid for its
// name, for both serving and dialing.
func NewPKI(names ...string) (*PKI, error) {
	if len(names) == 0 {
		return nil, errors.New("fltest: NewPKI needs at least one party name")
	}
	now := time.Now()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("fltest: test CA key: %w", err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "Veil test CA", SerialNumber: serial().Text(16)},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(7 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, fmt.Errorf("fltest: test CA certificate: %w", err)
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, fmt.Errorf("fltest: test CA certificate: %w", err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(caCert)
	p := &PKI{
		CAPEM:   pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		parties: make(map[string]testParty, len(names)),
	}
	for _, name := range names {
		if !partyName.MatchString(name) {
			return nil, fmt.Errorf("fltest: party name %q is not a lower-case DNS label", name)
		}
		if _, dup := p.parties[name]; dup {
			return nil, fmt.Errorf("fltest: party name %q given twice", name)
		}
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("fltest: key for %q: %w", name, err)
		}
		tmpl := &x509.Certificate{
			SerialNumber: serial(),
			Subject:      pkix.Name{CommonName: name},
			DNSNames:     []string{name},
			NotBefore:    now.Add(-time.Hour),
			NotAfter:     now.Add(7 * 24 * time.Hour),
			KeyUsage:     x509.KeyUsageDigitalSignature,
			ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
		if err != nil {
			return nil, fmt.Errorf("fltest: certificate for %q: %w", name, err)
		}
		keyDER, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			return nil, fmt.Errorf("fltest: key for %q: %w", name, err)
		}
		tp := testParty{
			certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
			keyPEM:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
		}
		cert, err := tls.X509KeyPair(tp.certPEM, tp.keyPEM)
		if err != nil {
			return nil, fmt.Errorf("fltest: key pair for %q: %w", name, err)
		}
		tp.id = &fl.TLSIdentity{Certificate: cert, Roots: roots}
		p.parties[name] = tp
	}
	return p, nil
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127)) // crypto/rand does not fail
	return n
}

// Identity returns the named party's identity.
func (p *PKI) Identity(name string) (*fl.TLSIdentity, error) {
	tp, ok := p.parties[name]
	if !ok {
		return nil, fmt.Errorf("fltest: test PKI has no party %q", name)
	}
	return tp.id, nil
}

func (p *PKI) mustIdentity(name string) *fl.TLSIdentity {
	id, err := p.Identity(name)
	if err != nil {
		panic(err)
	}
	return id
}

// ServerTLS returns the listening configuration of the named party (see
// fl.TLSIdentity.ServerTLS). It panics if name was not given to NewPKI.
func (p *PKI) ServerTLS(name string, peers ...string) *tls.Config {
	return p.mustIdentity(name).ServerTLS(peers...)
}

// ClientTLS returns the dialing configuration of the named party towards
// serverName (see fl.TLSIdentity.ClientTLS). It panics if name was not given
// to NewPKI.
func (p *PKI) ClientTLS(name, serverName string) *tls.Config {
	return p.mustIdentity(name).ClientTLS(serverName)
}

// WritePEM writes ca.pem and, per party, NAME.pem and NAME-key.pem (mode
// 0600) into dir, for fl.LoadTLS in the two-process mode.
func (p *PKI) WritePEM(dir string) error {
	if err := os.WriteFile(filepath.Join(dir, "ca.pem"), p.CAPEM, 0o644); err != nil {
		return fmt.Errorf("fltest: write CA: %w", err)
	}
	for name, tp := range p.parties {
		if err := os.WriteFile(filepath.Join(dir, name+".pem"), tp.certPEM, 0o644); err != nil {
			return fmt.Errorf("fltest: write certificate: %w", err)
		}
		if err := os.WriteFile(filepath.Join(dir, name+"-key.pem"), tp.keyPEM, 0o600); err != nil {
			return fmt.Errorf("fltest: write key: %w", err)
		}
	}
	return nil
}
