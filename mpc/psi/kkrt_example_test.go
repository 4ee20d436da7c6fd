package psi_test

import (
	"context"
	"fmt"

	"github.com/veil-fl/veil/mpc/psi"
)

// A bank (the KKRT receiver) and a credit center (the sender) find their
// shared enterprises; here both run in one process and pass the messages
// directly (a transport would carry MarshalBinary's bytes).
func ExampleKKRTSender() {
	ctx := context.Background()
	bank := []string{"91210200A", "91210200B", "91210200C", "91210200D"}
	center := []string{"91210200D", "91210200X", "91210200B", "91210200Y", "91210200Z"}
	s, err := psi.NewKKRTSender(center, nil)
	if err != nil {
		panic(err)
	}
	r, err := psi.NewKKRTReceiver(bank, nil)
	if err != nil {
		panic(err)
	}
	hello, _ := s.Hello(ctx)
	setup, err := r.Setup(ctx, hello)
	if err != nil {
		panic(err)
	}
	base, err := s.Base(ctx, setup)
	if err != nil {
		panic(err)
	}
	codes, err := r.Codes(ctx, base)
	if err != nil {
		panic(err)
	}
	encoded, err := s.Encode(ctx, codes)
	if err != nil {
		panic(err)
	}
	matches, err := r.Match(ctx, encoded)
	if err != nil {
		panic(err)
	}
	resBank, err := r.Result()
	if err != nil {
		panic(err)
	}
	resCenter, err := s.Finish(ctx, matches)
	if err != nil {
		panic(err)
	}
	fmt.Println("shared:", len(resBank.Rows), "same digest:", resBank.Digest == resCenter.Digest)
	for i := range resBank.Rows {
		if bank[resBank.Rows[i]] != center[resCenter.Rows[i]] {
			panic("misaligned")
		}
	}
	// Output: shared: 2 same digest: true
}
