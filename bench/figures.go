package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"math"
	mrand "math/rand/v2"
	"runtime"
	"time"

	"github.com/veil-fl/veil/dataset"
	"github.com/veil-fl/veil/fl"
	"github.com/veil-fl/veil/fl/boost"
	"github.com/veil-fl/veil/fl/vlr"
	"github.com/veil-fl/veil/he"
	"github.com/veil-fl/veil/internal/hetest"
	"github.com/veil-fl/veil/model"
	"github.com/veil-fl/veil/mpc/psi"
)

var seed = []byte("veil-bench-joint-seed-0123456789ab")

func cores() string { return fmt.Sprintf("%d cores", runtime.GOMAXPROCS(0)) }

func normal(r *mrand.Rand, n int) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = r.NormFloat64()
	}
	return v
}

func benchEncrypt(runs int) ([]figure, error) {
	params := he.MustParams(he.Linear14)
	bank, _, err := hetest.LocalPair(params, he.KeySpec{}, seed)
	if err != nil {
		return nil, err
	}
	vals := normal(mrand.New(mrand.NewPCG(1, 1)), 8*params.Slots())
	sec, err := median(runs, func() error { _, err := bank.Encrypt(vals); return err })
	if err != nil {
		return nil, err
	}
	pk, err := newPaillier(1024, rand.Reader)
	if err != nil {
		return nil, err
	}
	const pn = 200
	psec, err := median(runs, func() error {
		for i := 0; i < pn; i++ {
			if _, err := pk.encrypt(int64(i), rand.Reader); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	f := figure{Name: "encrypt_per_value", Value: sec / float64(len(vals)) * 1e6, Unit: "us/value",
		Note: fmt.Sprintf("CKKS %s (N=2^14, 8192 slots), %d values in %d ciphertexts, %s; baseline Paillier-1024 (math/big, g=n+1), per value", params.ID(), len(vals), len(vals)/params.Slots(), cores())}
	return []figure{withBaseline(f, psec/pn*1e6)}, nil
}

func benchXtd(runs int) ([]figure, error) {
	const rows, cols = 100_000, 300
	params := he.MustParams(he.Linear14)
	center, bank, err := hetest.LocalPair(params, he.KeySpec{Rotations: he.XtdRotations(params, rows, cols)}, seed)
	if err != nil {
		return nil, err
	}
	r := mrand.New(mrand.NewPCG(2, 2))
	m, err := center.PrepareMatrix(normal(r, rows*cols), rows, cols)
	if err != nil {
		return nil, err
	}
	d, err := bank.Encrypt(normal(r, rows))
	if err != nil {
		return nil, err
	}
	sec, err := median(runs, func() error { _, err := center.MulTransposed(m, d); return err })
	if err != nil {
		return nil, err
	}
	return []figure{{Name: "he_xtd_100k_300", Value: sec, Unit: "s",
		Note: fmt.Sprintf("X^T Enc(d), X %d x %d plaintext (diagonals prepared once), %s N=2^14, %s", rows, cols, params.ID(), cores())}}, nil
}

func benchHist(runs int) ([]figure, error) {
	const n, F, K = 100_000, 30, 32
	params := he.MustParams(he.Hist13)
	bank, center, err := hetest.LocalPair(params, he.KeySpec{Pack: true}, seed)
	if err != nil {
		return nil, err
	}
	r := mrand.New(mrand.NewPCG(3, 3))
	bins := make([][]uint8, F)
	for f := range bins {
		bins[f] = make([]uint8, n)
		for j := range bins[f] {
			bins[f][j] = uint8(r.IntN(K))
		}
	}
	plan, err := center.PrepareHistograms(he.HistogramSpec{Bins: bins, K: K}, n, 4<<30)
	if err != nil {
		return nil, err
	}
	var gh []*he.Vector
	for range 2 {
		v, err := bank.EncryptCoeffs(normal(r, n), he.HistogramChunk(params, K, len(bins), n))
		if err != nil {
			return nil, err
		}
		gh = append(gh, v)
	}
	sec, err := median(runs, func() error { _, err := center.HistogramsPlanned(gh, plan); return err })
	if err != nil {
		return nil, err
	}
	return []figure{{Name: "he_hist_100k_30x32", Value: sec, Unit: "s",
		Note: fmt.Sprintf("one root level: cumulative histograms of g and h, %d samples x %d features x %d bins, packed, %s N=2^13, binning prepared once (%.0f MiB), %s",
			n, F, K, params.ID(), float64(plan.Bytes())/(1<<20), cores())}}, nil
}

func benchVLR(runs int) ([]figure, error) {
	const n, db, dc = 100_000, 30, 300
	r := mrand.New(mrand.NewPCG(4, 4))
	xb, xc := normal(r, n*db), normal(r, n*dc)
	y := make([]float64, n)
	for i := range y {
		z := -1.5 + 0.5*xb[i*db] - 0.5*xc[i*dc]
		if r.Float64() < 1/(1+math.Exp(-z)) {
			y[i] = 1
		}
	}
	shared, sharedBytes, err := vlrEpoch(runs, xb, xc, y, db, dc, vlr.Options{Epochs: 1000})
	if err != nil {
		return nil, err
	}
	reveal, revealBytes, err := vlrEpoch(runs, xb, xc, y, db, dc, vlr.Options{Epochs: 1000, RevealGradients: true})
	if err != nil {
		return nil, err
	}
	joined := model.JoinColumns(xb, db, xc, dc)
	plain, err := median(runs, func() error {
		_, _, _, err := model.TrainLR(joined, y, db+dc, model.LROptions{Epochs: 1})
		return err
	})
	if err != nil {
		return nil, err
	}
	sizes := fmt.Sprintf("one full-batch epoch, %d rows x (%d bank + %d center) columns, both parties in one process over the in-memory transport, %s", n, db, dc, cores())
	f := figure{Name: "vlr_epoch_100k_30x300", Value: shared, Unit: "s",
		Note: sizes + "; secret-shared weights (the default): weights re-encrypted from shares, X Enc(w), scores opened and re-encrypted, degree-5 sigmoid under encryption, X^T d opened into shares, shared15 N=2^15; baseline: the plaintext reference epoch (model.TrainLR, loss included)"}
	fr := figure{Name: "vlr_epoch_100k_30x300_reveal", Value: reveal, Unit: "s",
		Note: sizes + "; RevealGradients (each party decrypts its own gradient), sigmoid from the center's encrypted powers, linear14 N=2^14; baseline: the default secret-shared epoch"}
	return []figure{withBaseline(f, plain), withBaseline(fr, shared),
		{Name: "bytes_per_sample_vlr_epoch", Value: sharedBytes, Unit: "bytes/sample",
			Note: fmt.Sprintf("secret-shared weights, both directions, per row and epoch, %d rows x (%d + %d) columns", n, db, dc)},
		{Name: "bytes_per_sample_vlr_epoch_reveal", Value: revealBytes, Unit: "bytes/sample",
			Note: fmt.Sprintf("RevealGradients, both directions, per row and epoch, %d rows x (%d + %d) columns", n, db, dc)},
	}, nil
}

// vlrEpoch sets up a training and returns the median time of an epoch and
// the bytes per row and epoch, both directions.
func vlrEpoch(runs int, xb, xc, y []float64, db, dc int, opt vlr.Options) (sec, bytes float64, err error) {
	n := len(y)
	ta, tc := fl.NewPipe()
	defer ta.Close()
	defer tc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	var passive *vlr.Passive
	ready := make(chan error, 1)
	go func() {
		var err error
		passive, err = vlr.NewPassive(ctx, tc, seed, vlr.Data{X: xc, Cols: dc})
		ready <- err
	}()
	active, err := vlr.NewActive(ctx, ta, seed, vlr.Data{X: xb, Cols: db, Y: y}, opt)
	if err != nil {
		return 0, 0, err
	}
	if err := <-ready; err != nil {
		return 0, 0, err
	}
	before := ta.Stats()
	epochs := 0
	sec, err = median(runs, func() error {
		epochs++
		done := make(chan error, 1)
		go func() { done <- passive.Epoch(ctx) }()
		if _, err := active.Epoch(ctx); err != nil {
			return err
		}
		return <-done
	})
	if err != nil {
		return 0, 0, err
	}
	after := ta.Stats()
	bytes = float64(after.SentBytes-before.SentBytes+after.RecvBytes-before.RecvBytes) / float64(epochs) / float64(n)
	return sec, bytes, nil
}

func benchPSI(int) ([]figure, error) {
	const n = 1_000_000
	idsA, idsB := make([]string, n), make([]string, n)
	for i := range n {
		idsA[i] = fmt.Sprintf("91210200%010d", i)
		idsB[i] = fmt.Sprintf("91210200%010d", i+n/2)
	}
	ctx := context.Background()
	var sent int
	sec, err := median(1, func() error {
		a, err := psi.NewParty(idsA, rand.Reader)
		if err != nil {
			return err
		}
		b, err := psi.NewParty(idsB, rand.Reader)
		if err != nil {
			return err
		}
		a1, err := a.Blind(ctx)
		if err != nil {
			return err
		}
		b1, err := b.Blind(ctx)
		if err != nil {
			return err
		}
		a2, err := a.Exchange(ctx, b1)
		if err != nil {
			return err
		}
		b2, err := b.Exchange(ctx, a1)
		if err != nil {
			return err
		}
		ra, err := a.Finish(ctx, b2)
		if err != nil {
			return err
		}
		if _, err := b.Finish(ctx, a2); err != nil {
			return err
		}
		if len(ra.Rows) != n/2 {
			return fmt.Errorf("intersection of %d, want %d", len(ra.Rows), n/2)
		}
		for _, m := range []*psi.Message{a1, a2} {
			data, err := m.MarshalBinary()
			if err != nil {
				return err
			}
			sent += len(data)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return []figure{{Name: "psi_1m", Value: sec, Unit: "s",
		Note: fmt.Sprintf("ECDH PSI on ristretto255, %d x %d ids, 50%% overlap, both parties' work in one process (one run), each party sends %.0f MB, %s", n, n, float64(sent)/1e6, cores())}}, nil
}

// widePair returns the synthetic enterprise pair widened to the requested
// numbers of columns: the generator's columns first, then deterministic
// noisy mixtures of them.
func widePair(rows, bankF, centerF int, seedVal int64) (*dataset.Table, *dataset.Table, error) {
	bank, center, err := dataset.Synthesize(dataset.SynthOptions{Rows: rows, Seed: seedVal})
	if err != nil {
		return nil, nil, err
	}
	widen := func(t *dataset.Table, cols int, s uint64) *dataset.Table {
		if cols <= t.Cols() {
			keep := make([]float64, 0, t.Rows()*cols)
			for i := 0; i < t.Rows(); i++ {
				keep = append(keep, t.X[i*t.Cols():i*t.Cols()+cols]...)
			}
			return &dataset.Table{Name: t.Name, IDs: t.IDs, Columns: t.Columns[:cols], X: keep, Labels: t.Labels}
		}
		r := mrand.New(mrand.NewPCG(s, 9))
		d := t.Cols()
		out := &dataset.Table{Name: t.Name, IDs: t.IDs, Columns: append([]string{}, t.Columns...), Labels: t.Labels, X: make([]float64, 0, t.Rows()*cols)}
		for j := d; j < cols; j++ {
			out.Columns = append(out.Columns, fmt.Sprintf("mix_%d", j))
		}
		src := make([]int, cols-d)
		for k := range src {
			src[k] = r.IntN(d)
		}
		for i := 0; i < t.Rows(); i++ {
			row := t.X[i*d : (i+1)*d]
			out.X = append(out.X, row...)
			for k := range src {
				v := row[src[k]]
				if !math.IsNaN(v) {
					v = math.Log1p(math.Abs(v)) + r.NormFloat64()
				}
				out.X = append(out.X, v)
			}
		}
		return out
	}
	return widen(bank, bankF, 1), widen(center, centerF, 2), nil
}

func benchSBT(int) ([]figure, error) {
	const n, db, dc = 100_000, 30, 300
	r := mrand.New(mrand.NewPCG(5, 5))
	xb, xc := normal(r, n*db), normal(r, n*dc)
	y := make([]float64, n)
	for i := range y {
		if z := xb[i*db] - xc[i*dc] + 0.5*xc[i*dc+1]*xb[i*db+1]; r.Float64() < 1/(1+math.Exp(-z)) {
			y[i] = 1
		}
	}
	ta, tc := fl.NewPipe()
	defer ta.Close()
	defer tc.Close()
	ctx := context.Background()
	done := make(chan error, 1)
	go func() {
		_, err := boost.TrainPassive(ctx, tc, seed, boost.Data{X: xc, Cols: dc})
		done <- err
	}()
	var first, second time.Time
	_, err := boost.TrainActive(ctx, ta, seed, boost.Data{X: xb, Cols: db, Y: y}, boost.Options{GBDTOptions: model.GBDTOptions{Trees: 2, MaxDepth: 5}}, func(tree int) {
		if tree == 0 {
			first = time.Now()
		} else {
			second = time.Now()
		}
	})
	if err != nil {
		return nil, err
	}
	if err := <-done; err != nil {
		return nil, err
	}
	return []figure{{Name: "sbt_tree_100k_30x300_d5", Value: second.Sub(first).Seconds(), Unit: "s",
		Note: fmt.Sprintf("one SecureBoost tree (the second: setup and the root plan excluded), depth 5, 32 bins, %d rows x (%d bank + %d center) columns, both parties in one process, hist13 N=2^13, %s", n, db, dc, cores())}}, nil
}
