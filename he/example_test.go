package he_test

import (
	"fmt"
	"math"

	"github.com/veil-fl/veil/he"
)

// jointKeys runs the two-party key generation of both parties: each sends
// its first round, answers the peer's with its second, and finishes with
// its own secret-key share and the collective keys.
func jointKeys(params he.Params, spec he.KeySpec, seed []byte) (bank, center *he.Party) {
	kb, err := he.NewKeyGen(params, spec, seed)
	if err != nil {
		panic(err)
	}
	kc, err := he.NewKeyGen(params, spec, seed)
	if err != nil {
		panic(err)
	}
	b1, c1 := kb.Round1(), kc.Round1()
	b2, err := kb.Round2(c1)
	if err != nil {
		panic(err)
	}
	c2, err := kc.Round2(b1)
	if err != nil {
		panic(err)
	}
	if bank, err = kb.Finish(c2); err != nil {
		panic(err)
	}
	if center, err = kc.Finish(b2); err != nil {
		panic(err)
	}
	return bank, center
}

// The bank encrypts its residuals d, the credit center multiplies them by its
// plaintext feature matrix X, and the pair decrypts X^T d to the center only.
func Example() {
	params := he.MustParams(he.Linear14)
	const rows, cols = 1000, 3
	spec := he.KeySpec{Rotations: he.XtdRotations(params, rows, cols)}
	// In a deployment each party runs its own KeyGen and the two exchange
	// its rounds over the session (fl/joint.GenerateKeys); jointKeys plays
	// both sides here.
	bank, center := jointKeys(params, spec, []byte("joint seed from the handshake.."))

	x := make([]float64, rows*cols) // the center's features, row-major
	d := make([]float64, rows)      // the bank's residuals
	for i := 0; i < rows; i++ {
		d[i] = math.Sin(float64(i))
		for j := 0; j < cols; j++ {
			x[i*cols+j] = float64((i+j)%7) - 3
		}
	}
	encD, _ := bank.Encrypt(d)
	m, _ := center.PrepareMatrix(x, rows, cols)
	grad, _ := center.MulTransposed(m, encD)
	share, _ := bank.DecryptShare(grad) // the bank helps, learns nothing
	got, _ := center.Decrypt(grad, share)

	for j := 0; j < cols; j++ {
		want := 0.0
		for i := 0; i < rows; i++ {
			want += x[i*cols+j] * d[i]
		}
		fmt.Printf("column %d: %.4f (float64 %.4f)\n", j, got[j], want)
	}
	// Output:
	// column 0: -15.4434 (float64 -15.4434)
	// column 1: -15.3011 (float64 -15.3011)
	// column 2: -5.1752 (float64 -5.1752)
}

// Histograms of encrypted gradients over the center's binned features,
// decrypted to the bank.
func ExampleParty_Histograms() {
	params := he.MustParams(he.Hist13)
	bank, center := jointKeys(params, he.KeySpec{Pack: true}, []byte("joint seed from the handshake.."))
	g := []float64{0.5, -0.25, 1, 0.125, -1}
	bins := [][]uint8{{0, 1, 1, 2, 0}} // one feature, three bins
	enc, _ := bank.EncryptCoeffs(g, he.HistogramChunk(params, 3, len(bins), len(g)))
	hist, _ := center.Histograms([]*he.Vector{enc}, he.HistogramSpec{Bins: bins, K: 3})
	share, _ := center.DecryptShare(hist[0])
	sums, _ := bank.Decrypt(hist[0], share)
	for b, s := range sums {
		fmt.Printf("bins <= %d: %.3f\n", b, s)
	}
	// Output:
	// bins <= 0: -0.500
	// bins <= 1: 0.250
	// bins <= 2: 0.375
}
