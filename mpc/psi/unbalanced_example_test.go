package psi_test

import (
	"context"
	"fmt"
	"log"

	"github.com/veil-fl/veil/mpc/psi"
)

// The unbalanced mode: the center's store encodes its ids once per key
// epoch for the bank; each session, the bank's cache catches up and only
// the bank's ids are blinded. (Messages are passed directly here; a
// transport moves their MarshalBinary encodings.)
func ExampleCenterSet() {
	ctx := context.Background()
	bankIDs := []string{"ent-001", "ent-002", "ent-003", "ent-004"}
	centerIDs := []string{"ent-004", "ent-009", "ent-002", "ent-007"}

	store := &psi.CenterStore{Center: "center"} // Dir: "" keeps it in memory
	cache := psi.NewCache("center", "bank")

	for session := range 2 {
		// The center: its set for this bank, synced to its table.
		set, err := store.Set(ctx, "bank", centerIDs)
		if err != nil {
			log.Fatal(err)
		}
		// The bank's cache state goes to the center; the update comes back.
		u := set.UpdateFor(cache.State())
		if err := cache.Apply(ctx, u); err != nil {
			log.Fatal(err)
		}
		// The bank blinds its ids; the center raises them to its key.
		q, err := psi.NewQuery(bankIDs, nil)
		if err != nil {
			log.Fatal(err)
		}
		blinded, err := q.Blind(ctx)
		if err != nil {
			log.Fatal(err)
		}
		reply, err := set.Reblind(ctx, blinded)
		if err != nil {
			log.Fatal(err)
		}
		// The bank finds its ids in the cache and tells the center the slots.
		m, err := q.Finish(ctx, reply, cache)
		if err != nil {
			log.Fatal(err)
		}
		c, err := set.Match(m.Slots, len(bankIDs))
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("session %d: whole set sent %v, points sent %d\n", session, u.Full(), u.Len())
		for i := range m.Rows {
			fmt.Println(bankIDs[m.Rows[i]], centerIDs[c.Rows[i]])
		}
		fmt.Println("digests agree:", m.Digest == c.Digest)
	}
	// Unordered output:
	// session 0: whole set sent true, points sent 4
	// session 1: whole set sent false, points sent 0
	// ent-002 ent-002
	// ent-004 ent-004
	// ent-002 ent-002
	// ent-004 ent-004
	// digests agree: true
	// digests agree: true
}
