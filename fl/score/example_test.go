package score_test

import (
	"context"
	"fmt"

	"github.com/veil-fl/veil/fl"
	"github.com/veil-fl/veil/fl/joint"
	"github.com/veil-fl/veil/fl/score"
)

// Band-only scoring of a linear model: the bank learns each record's band,
// never the score.
func Example() {
	ta, tc := fl.NewPipe()
	ctx := context.Background()
	seed := []byte("joint seed of the session's handshake")
	opt := score.Options{Cuts: score.LogitCuts(-2, 0, 2)} // logit cut points: four bands

	bankPart := []float64{-3, 0.5, 1, 2}        // with the intercept
	centerPart := []float64{-0.5, -1.5, 0, 1.2} // the center's x . w
	go func() {
		center, err := joint.GenerateKeys(ctx, tc, score.Params(), score.KeySpec(), seed)
		if err != nil {
			panic(err)
		}
		if err := score.LinearPassive(ctx, tc, center, centerPart, opt); err != nil {
			panic(err)
		}
	}()
	bank, err := joint.GenerateKeys(ctx, ta, score.Params(), score.KeySpec(), seed)
	if err != nil {
		panic(err)
	}
	res, err := score.LinearActive(ctx, ta, bank, bankPart, opt)
	if err != nil {
		panic(err)
	}
	fmt.Println("bands:", res.Bands, "scores decrypted:", res.Logits != nil)
	// Output: bands: [0 1 2 3] scores decrypted: false
}
