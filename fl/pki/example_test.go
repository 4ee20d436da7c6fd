package pki_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/veil-fl/veil/fl"
	"github.com/veil-fl/veil/fl/pki"
)

// A pilot PKI for a trial in two processes: the files each party's
// process loads with fl.LoadTLS.
func Example() {
	p, err := pki.NewPilot("bank", "center")
	if err != nil {
		log.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "veil-pki")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	if err := p.WritePEM(dir); err != nil {
		log.Fatal(err)
	}
	id, err := fl.LoadTLS(filepath.Join(dir, "center.pem"), filepath.Join(dir, "center-key.pem"), filepath.Join(dir, "ca.pem"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("center's certificate names", id.Certificate.Leaf.DNSNames)
	// Output:
	// center's certificate names [center]
}
