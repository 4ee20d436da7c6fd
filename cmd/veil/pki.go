package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/veil-fl/veil/fl/pki"
)

// cmdPKI writes a pilot PKI: ca.pem and NAME.pem, NAME-key.pem per name.
func cmdPKI(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("pki", stderr)
	out := fs.String("out", "", "folder to write ca.pem and, per name, NAME.pem and NAME-key.pem into (created if need be)")
	names := fs.String("names", "", "comma-separated certificate names: lower-case DNS labels, e.g. center,bank-a,bank-b")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := need(map[string]string{"out": *out, "names": *names}); err != nil {
		return err
	}
	var list []string
	for _, n := range strings.Split(*names, ",") {
		if n = strings.TrimSpace(n); n != "" {
			list = append(list, n)
		}
	}
	p, err := pki.NewPilot(list...)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	if err := p.WritePEM(*out); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s\n", filepath.Join(*out, "ca.pem"))
	for _, n := range p.Names() {
		fmt.Fprintf(stdout, "wrote %s, %s\n", filepath.Join(*out, n+".pem"), filepath.Join(*out, n+"-key.pem"))
	}
	fmt.Fprintln(stdout, "a pilot PKI: the CA key is discarded and the certificates expire in 7 days; production uses the institutions' own")
	return nil
}
