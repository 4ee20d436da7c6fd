package link_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/veil-fl/veil/fl"
	"github.com/veil-fl/veil/fl/fltest"
	"github.com/veil-fl/veil/fl/link"
)

// The credit center listens on loopback with mutual TLS; the bank dials it.
// Each session is handed to the handler in its own goroutine.
func ExampleListen() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	pki, err := fltest.NewPKI("bank", "center")
	if err != nil {
		log.Fatal(err)
	}

	srv, addr, err := link.Listen("127.0.0.1:0", func(ctx context.Context, t fl.Transport) error {
		if _, err := fl.Handshake(ctx, t, fl.Hello{Role: fl.RolePassive, Params: "hist13"}); err != nil {
			return err
		}
		key, err := fl.Expect(ctx, t, "example.key")
		if err != nil {
			return err
		}
		return t.Send(ctx, fl.Message{Type: "example.ack", Payload: fmt.Appendf(nil, "%d bytes", len(key))})
	}, link.GRPCOptions{TLS: pki.ServerTLS("center", "bank")})
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Shutdown(ctx)

	t, err := link.Dial(ctx, addr.String(), link.GRPCOptions{TLS: pki.ClientTLS("bank", "center")})
	if err != nil {
		log.Fatal(err)
	}
	defer t.Close()
	if _, err := fl.Handshake(ctx, t, fl.Hello{Role: fl.RoleActive, Params: "hist13"}); err != nil {
		log.Fatal(err)
	}
	// 9 MiB, the size of one Galois key at N=2^14: streamed in 1 MiB chunks.
	if err := t.Send(ctx, fl.Message{Type: "example.key", Payload: make([]byte, 9<<20)}); err != nil {
		log.Fatal(err)
	}
	ack, err := fl.Expect(ctx, t, "example.ack")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("center received", string(ack))
	// Output:
	// center received 9437184 bytes
}
