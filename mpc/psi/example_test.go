package psi_test

import (
	"context"
	"fmt"
	"log"
	"slices"

	"github.com/veil-fl/veil/mpc/psi"
)

// send stands in for a transport: it moves a message as bytes.
func send(m *psi.Message) *psi.Message {
	b, err := m.MarshalBinary()
	if err != nil {
		log.Fatal(err)
	}
	var got psi.Message
	if err := got.UnmarshalBinary(b); err != nil {
		log.Fatal(err)
	}
	return &got
}

func Example() {
	ctx := context.Background()
	bankIDs := []string{"ent-001", "ent-002", "ent-003", "ent-004"}
	centerIDs := []string{"ent-004", "ent-009", "ent-002"}

	// Each party runs on its own side; nil means keys from crypto/rand.
	bank, err := psi.NewParty(bankIDs, nil)
	if err != nil {
		log.Fatal(err)
	}
	center, err := psi.NewParty(centerIDs, nil)
	if err != nil {
		log.Fatal(err)
	}

	// Round 1: each party sends its blinded ids.
	bank1, err := bank.Blind(ctx)
	if err != nil {
		log.Fatal(err)
	}
	center1, err := center.Blind(ctx)
	if err != nil {
		log.Fatal(err)
	}
	// Round 2: each party reblinds what it got and sends it back.
	bank2, err := bank.Exchange(ctx, send(center1))
	if err != nil {
		log.Fatal(err)
	}
	center2, err := center.Exchange(ctx, send(bank1))
	if err != nil {
		log.Fatal(err)
	}
	// Each party finds the intersection among its own rows.
	bankRes, err := bank.Finish(ctx, send(center2))
	if err != nil {
		log.Fatal(err)
	}
	centerRes, err := center.Finish(ctx, send(bank2))
	if err != nil {
		log.Fatal(err)
	}

	// Row i of both aligned tables holds the same id. The common order is
	// random, so sort the pairs to print them.
	var pairs []string
	for i := range bankRes.Rows {
		pairs = append(pairs, bankIDs[bankRes.Rows[i]]+" = "+centerIDs[centerRes.Rows[i]])
	}
	slices.Sort(pairs)
	fmt.Println("aligned rows:", len(pairs))
	for _, p := range pairs {
		fmt.Println(p)
	}
	fmt.Println("same digest:", bankRes.Digest == centerRes.Digest)
	// Output:
	// aligned rows: 2
	// ent-002 = ent-002
	// ent-004 = ent-004
	// same digest: true
}
