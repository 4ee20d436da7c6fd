package he_test

import (
	"fmt"
	"math"

	"github.com/veil-fl/veil/he"
)

// The bank encrypts its residuals d, the credit center multiplies them by its
// plaintext feature matrix X, and the pair decrypts X^T d to the center only.
func Example() {
	params := he.MustParams(he.Linear14)
	const rows, cols = 1000, 3
	spec := he.KeySpec{Rotations: he.XtdRotations(params, rows, cols)}
	// In a deployment each party runs its own KeyGen and the two exchange
	// its messages over the session; LocalPair does both sides in-process.
	bank, center, err := he.LocalPair(params, spec, []byte("joint seed from the handshake.."))
	if err != nil {
		panic(err)
	}

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
	bank, center, err := he.LocalPair(params, he.KeySpec{Pack: true}, []byte("joint seed from the handshake.."))
	if err != nil {
		panic(err)
	}
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
