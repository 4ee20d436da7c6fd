// Command twoparty is Veil's main job. Until vertical logistic regression and
// SecureBoost land, it demonstrates the cryptographic core on generated data:
// the bank and the credit center, two parties in this process that talk only
// through serialized messages, generate two-party threshold keys; the bank
// encrypts its residual vector d; the center computes X^T Enc(d) on its
// plaintext feature matrix X; and the pair jointly decrypts the result to the
// center only. It prints what each party learned, the bytes exchanged and the
// precision against float64.
package main

import (
	"crypto/rand"
	"flag"
	"fmt"
	"log/slog"
	"math"
	mrand "math/rand/v2"
	"os"
	"time"

	"github.com/veil-fl/veil/he"
)

func main() {
	rows := flag.Int("rows", 20000, "enterprises (rows) in the generated data")
	cols := flag.Int("cols", 10, "credit-center features")
	seed := flag.Uint64("seed", 42, "seed of the generated data")
	flag.Parse()
	if err := run(*rows, *cols, *seed); err != nil {
		fmt.Fprintln(os.Stderr, "twoparty:", err)
		os.Exit(1)
	}
}

// wire counts the bytes the two parties exchange.
type wire struct{ bankToCenter, centerToBank int }

func run(rows, cols int, seed uint64) error {
	if rows < 1 || cols < 1 {
		return fmt.Errorf("-rows and -cols must be positive")
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	start := time.Now()
	var w wire

	// Generated data: the center's standardized features, the bank's residuals.
	r := mrand.New(mrand.NewPCG(seed, seed^0x5eed))
	x := make([]float64, rows*cols)
	for i := range x {
		x[i] = r.NormFloat64()
	}
	d := make([]float64, rows)
	for i := range d {
		d[i] = r.Float64() - 0.2 // p - y of a credit model, in [-1, 1]
	}

	params, err := he.NewParams(he.Linear14)
	if err != nil {
		return err
	}
	// The joint seed comes from the session handshake; here, fresh randomness.
	jointSeed := make([]byte, 32)
	if _, err := rand.Read(jointSeed); err != nil {
		return err
	}
	spec := he.KeySpec{Rotations: he.XtdRotations(params, cols)}

	log.Info("threshold key generation", "params", params.ID(), "rotations", len(spec.Rotations))
	bankKG, err := he.NewKeyGen(params, spec, jointSeed)
	if err != nil {
		return err
	}
	centerKG, err := he.NewKeyGen(params, spec, jointSeed)
	if err != nil {
		return err
	}
	b1, c1 := bankKG.MarshalRound1(), centerKG.MarshalRound1()
	w.bankToCenter += len(b1)
	w.centerToBank += len(c1)
	peerC1, err := bankKG.UnmarshalRound1(c1)
	if err != nil {
		return err
	}
	peerB1, err := centerKG.UnmarshalRound1(b1)
	if err != nil {
		return err
	}
	if _, err := bankKG.Round2(peerC1); err != nil {
		return err
	}
	if _, err := centerKG.Round2(peerB1); err != nil {
		return err
	}
	b2, err := bankKG.MarshalRound2()
	if err != nil {
		return err
	}
	c2, err := centerKG.MarshalRound2()
	if err != nil {
		return err
	}
	w.bankToCenter += len(b2)
	w.centerToBank += len(c2)
	peerC2, err := bankKG.UnmarshalRound2(c2)
	if err != nil {
		return err
	}
	peerB2, err := centerKG.UnmarshalRound2(b2)
	if err != nil {
		return err
	}
	bank, err := bankKG.Finish(peerC2)
	if err != nil {
		return err
	}
	center, err := centerKG.Finish(peerB2)
	if err != nil {
		return err
	}
	keyTime := time.Since(start)

	log.Info("bank encrypts d", "rows", rows)
	t0 := time.Now()
	encD, err := bank.Encrypt(d)
	if err != nil {
		return err
	}
	msg, err := params.MarshalVector(encD)
	if err != nil {
		return err
	}
	w.bankToCenter += len(msg)
	atCenter, err := params.UnmarshalVector(msg)
	if err != nil {
		return err
	}

	log.Info("center computes X^T Enc(d)", "cols", cols)
	m, err := center.PrepareMatrix(x, rows, cols)
	if err != nil {
		return err
	}
	t1 := time.Now()
	grad, err := center.MulTransposed(m, atCenter)
	if err != nil {
		return err
	}
	kernelTime := time.Since(t1)

	// Joint decryption to the center: it sends the result, the bank returns
	// a flooded share.
	msg, err = params.MarshalVector(grad)
	if err != nil {
		return err
	}
	w.centerToBank += len(msg)
	atBank, err := params.UnmarshalVector(msg)
	if err != nil {
		return err
	}
	share, err := bank.DecryptShare(atBank)
	if err != nil {
		return err
	}
	msg, err = params.MarshalDecryptionShare(share)
	if err != nil {
		return err
	}
	w.bankToCenter += len(msg)
	share, err = params.UnmarshalDecryptionShare(msg)
	if err != nil {
		return err
	}
	got, err := center.Decrypt(grad, share)
	if err != nil {
		return err
	}
	runTime := time.Since(t0)

	want := make([]float64, cols)
	for i := 0; i < rows; i++ {
		for j := 0; j < cols; j++ {
			want[j] += x[i*cols+j] * d[i]
		}
	}
	maxErr, maxVal := 0.0, 0.0
	for j := range want {
		maxErr = math.Max(maxErr, math.Abs(got[j]-want[j]))
		maxVal = math.Max(maxVal, math.Abs(want[j]))
	}

	fmt.Printf("Veil two-party demo: X^T Enc(d) under two-party threshold CKKS (%s, logQP %.0f)\n\n", params.ID(), params.LogQP())
	fmt.Printf("rows %d, center features %d\n", rows, cols)
	fmt.Printf("key generation      %8.2f s   (%d rotation keys, no party holds the secret key)\n", keyTime.Seconds(), len(spec.Rotations))
	fmt.Printf("encrypt+X^T d+decrypt %6.2f s   (X^T Enc(d) alone %.3f s)\n", runTime.Seconds(), kernelTime.Seconds())
	fmt.Printf("bytes bank->center  %8.1f MiB\n", float64(w.bankToCenter)/(1<<20))
	fmt.Printf("bytes center->bank  %8.1f MiB\n\n", float64(w.centerToBank)/(1<<20))
	fmt.Println("what each party learned:")
	fmt.Println("  bank:   its own residuals d; of the center, only ciphertexts and the public keys")
	fmt.Printf("  center: X^T d, its %d-entry gradient; of d itself, nothing\n", cols)
	for j := 0; j < min(cols, 5); j++ {
		fmt.Printf("    gradient[%d] = %12.6f   float64 %12.6f\n", j, got[j], want[j])
	}
	fmt.Printf("\nprecision: max |error| %.2e, relative to max |gradient| %.2e (target 1e-6)\n", maxErr, maxErr/maxVal)
	return nil
}
