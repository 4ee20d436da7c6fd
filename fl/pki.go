package fl

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"slices"
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
// private key and the CA certificate(s) it trusts, as any PKI issues them
// (package fl/pki writes a throwaway one in this form for trials).
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
