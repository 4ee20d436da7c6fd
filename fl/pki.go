package fl

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
)

// TLSIdentity is one party's certificate and private key, and the CA pool
// it verifies its peer against. The same certificate serves when the party
// listens and when it dials.
type TLSIdentity struct {
	Certificate tls.Certificate
	Roots       *x509.CertPool
}

// ServerTLS returns the configuration for listening: TLS 1.3, client
// certificates required and verified against Roots. If peers are given, the
// client certificate must also be valid for one of those names.
func (id *TLSIdentity) ServerTLS(peers ...string) *tls.Config {
	cfg := &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{id.Certificate},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    id.Roots,
	}
	if len(peers) > 0 {
		peers = slices.Clone(peers)
		cfg.VerifyConnection = func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return errors.New("fl: no client certificate")
			}
			leaf := cs.PeerCertificates[0]
			for _, p := range peers {
				if leaf.VerifyHostname(p) == nil {
					return nil
				}
			}
			return fmt.Errorf("fl: client certificate %q (names %q) is not one of the allowed peers %q",
				leaf.Subject.CommonName, leaf.DNSNames, peers)
		}
	}
	return cfg
}

// ClientTLS returns the configuration for dialing the party whose
// certificate carries serverName: TLS 1.3, server verified against Roots and
// that name, this party's certificate presented.
func (id *TLSIdentity) ClientTLS(serverName string) *tls.Config {
	return &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{id.Certificate},
		RootCAs:      id.Roots,
		ServerName:   serverName,
	}
}

// LoadTLS reads a party's identity from PEM files: its certificate, its
// private key and the CA certificate(s) it trusts. NewTestPKI's WritePEM
// writes files in this form for the two-process examples.
func LoadTLS(certFile, keyFile, caFile string) (*TLSIdentity, error) {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("fl: load TLS key pair: %w", err)
	}
	caPEM, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("fl: load CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, fmt.Errorf("fl: load CA: no PEM certificate in %s", caFile)
	}
	return &TLSIdentity{Certificate: cert, Roots: pool}, nil
}

// TestPKI is a throwaway certificate authority with one certificate per
// party, for tests, examples and trials. Keys are ECDSA P-256 and live only
// in memory unless written out with WritePEM; certificates are valid for
// seven days. Production deployments load certificates issued by their own
// CA with LoadTLS.
type TestPKI struct {
	// CAPEM is the CA certificate in PEM form.
	CAPEM   []byte
	parties map[string]testParty
}

type testParty struct {
	certPEM, keyPEM []byte
	id              *TLSIdentity
}

var partyName = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// NewTestPKI creates a fresh CA and a certificate for each name. Names are
// DNS labels such as "bank" or "center"; each certificate is valid for its
// name, for both serving and dialing.
func NewTestPKI(names ...string) (*TestPKI, error) {
	if len(names) == 0 {
		return nil, errors.New("fl: NewTestPKI needs at least one party name")
	}
	now := time.Now()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("fl: test CA key: %w", err)
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
		return nil, fmt.Errorf("fl: test CA certificate: %w", err)
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, fmt.Errorf("fl: test CA certificate: %w", err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(caCert)
	p := &TestPKI{
		CAPEM:   pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		parties: make(map[string]testParty, len(names)),
	}
	for _, name := range names {
		if !partyName.MatchString(name) {
			return nil, fmt.Errorf("fl: party name %q is not a lower-case DNS label", name)
		}
		if _, dup := p.parties[name]; dup {
			return nil, fmt.Errorf("fl: party name %q given twice", name)
		}
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("fl: key for %q: %w", name, err)
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
			return nil, fmt.Errorf("fl: certificate for %q: %w", name, err)
		}
		keyDER, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			return nil, fmt.Errorf("fl: key for %q: %w", name, err)
		}
		tp := testParty{
			certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
			keyPEM:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
		}
		cert, err := tls.X509KeyPair(tp.certPEM, tp.keyPEM)
		if err != nil {
			return nil, fmt.Errorf("fl: key pair for %q: %w", name, err)
		}
		tp.id = &TLSIdentity{Certificate: cert, Roots: roots}
		p.parties[name] = tp
	}
	return p, nil
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127)) // crypto/rand does not fail
	return n
}

// Identity returns the named party's identity.
func (p *TestPKI) Identity(name string) (*TLSIdentity, error) {
	tp, ok := p.parties[name]
	if !ok {
		return nil, fmt.Errorf("fl: test PKI has no party %q", name)
	}
	return tp.id, nil
}

func (p *TestPKI) mustIdentity(name string) *TLSIdentity {
	id, err := p.Identity(name)
	if err != nil {
		panic(err)
	}
	return id
}

// ServerTLS returns the listening configuration of the named party (see
// TLSIdentity.ServerTLS). It panics if name was not given to NewTestPKI.
func (p *TestPKI) ServerTLS(name string, peers ...string) *tls.Config {
	return p.mustIdentity(name).ServerTLS(peers...)
}

// ClientTLS returns the dialing configuration of the named party towards
// serverName (see TLSIdentity.ClientTLS). It panics if name was not given
// to NewTestPKI.
func (p *TestPKI) ClientTLS(name, serverName string) *tls.Config {
	return p.mustIdentity(name).ClientTLS(serverName)
}

// WritePEM writes ca.pem and, per party, NAME.pem and NAME-key.pem (mode
// 0600) into dir, for LoadTLS in the two-process mode.
func (p *TestPKI) WritePEM(dir string) error {
	if err := os.WriteFile(filepath.Join(dir, "ca.pem"), p.CAPEM, 0o644); err != nil {
		return fmt.Errorf("fl: write CA: %w", err)
	}
	for name, tp := range p.parties {
		if err := os.WriteFile(filepath.Join(dir, name+".pem"), tp.certPEM, 0o644); err != nil {
			return fmt.Errorf("fl: write certificate: %w", err)
		}
		if err := os.WriteFile(filepath.Join(dir, name+"-key.pem"), tp.keyPEM, 0o600); err != nil {
			return fmt.Errorf("fl: write key: %w", err)
		}
	}
	return nil
}
