package fl_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/veil-fl/veil/fl"
)

// Two parties in one process: the bank (active) and the credit center
// (passive) open a session over an in-memory pipe, agree on a seed, and
// exchange a message.
func ExampleHandshake() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	bank, center := fl.NewPipe()

	type result struct {
		s   *fl.Session
		err error
	}
	centerDone := make(chan result, 1)
	go func() {
		s, err := fl.Handshake(ctx, center, fl.Hello{Role: fl.RolePassive, Params: "hist13"})
		if err == nil {
			err = center.Send(ctx, fl.Message{Type: "example.greeting", Payload: []byte("hello, bank")})
		}
		centerDone <- result{s, err}
	}()

	s, err := fl.Handshake(ctx, bank, fl.Hello{Role: fl.RoleActive, Params: "hist13", Rows: 30000})
	if err != nil {
		log.Fatal(err)
	}
	greeting, err := fl.Expect(ctx, bank, "example.greeting")
	if err != nil {
		log.Fatal(err)
	}
	c := <-centerDone
	if c.err != nil {
		log.Fatal(c.err)
	}
	fmt.Println("peer role:", s.Peer.Role)
	fmt.Println("parameter set:", s.Peer.Params)
	fmt.Println("rows, as the center sees them:", c.s.Rows)
	fmt.Println("same seed:", s.Seed == c.s.Seed)
	fmt.Println("greeting:", string(greeting))
	fmt.Println("bank received", bank.Stats().RecvMessages, "messages")
	// Output:
	// peer role: passive
	// parameter set: hist13
	// rows, as the center sees them: 30000
	// same seed: true
	// greeting: hello, bank
	// bank received 4 messages
}

// A mismatch fails on both sides, with both values in the error.
func ExampleMismatchError() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	bank, center := fl.NewPipe()
	go func() {
		_, _ = fl.Handshake(ctx, center, fl.Hello{Role: fl.RolePassive, Params: "linear14"})
	}()
	_, err := fl.Handshake(ctx, bank, fl.Hello{Role: fl.RoleActive, Params: "hist13"})
	fmt.Println(err)
	// Output:
	// fl: handshake: parameter set mismatch: local "hist13", peer "linear14" (both parties must use the same HE parameter set)
}

// The credit center listens on loopback with mutual TLS; the bank dials it.
// Each session is handed to the handler in its own goroutine.
func ExampleListen() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	pki, err := fl.NewTestPKI("bank", "center")
	if err != nil {
		log.Fatal(err)
	}

	srv, addr, err := fl.Listen("127.0.0.1:0", func(ctx context.Context, t fl.Transport) error {
		if _, err := fl.Handshake(ctx, t, fl.Hello{Role: fl.RolePassive, Params: "hist13"}); err != nil {
			return err
		}
		key, err := fl.Expect(ctx, t, "example.key")
		if err != nil {
			return err
		}
		return t.Send(ctx, fl.Message{Type: "example.ack", Payload: fmt.Appendf(nil, "%d bytes", len(key))})
	}, fl.GRPCOptions{TLS: pki.ServerTLS("center", "bank")})
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Shutdown(ctx)

	t, err := fl.Dial(ctx, addr.String(), fl.GRPCOptions{TLS: pki.ClientTLS("bank", "center")})
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
