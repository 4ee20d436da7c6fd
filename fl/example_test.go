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
