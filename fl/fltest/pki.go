package fltest

import (
	"crypto/tls"
	"fmt"

	"github.com/veil-fl/veil/fl"
	"github.com/veil-fl/veil/fl/pki"
)

// PKI is a pilot PKI (package fl/pki) with the tests' shorthand: ServerTLS
// and ClientTLS by party name, which panic on a name the test did not
// give, where a program would handle pki.Pilot.Identity's error.
type PKI struct {
	*pki.Pilot
}

// NewPKI creates a pilot PKI with a certificate for each name (see
// pki.NewPilot).
func NewPKI(names ...string) (*PKI, error) {
	p, err := pki.NewPilot(names...)
	if err != nil {
		return nil, err
	}
	return &PKI{p}, nil
}

func (p *PKI) mustIdentity(name string) *fl.TLSIdentity {
	id, err := p.Identity(name)
	if err != nil {
		panic(fmt.Sprintf("fltest: %v", err))
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
