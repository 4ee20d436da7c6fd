package job_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/veil-fl/veil/dataset"
	"github.com/veil-fl/veil/fl"
	"github.com/veil-fl/veil/fl/fltest"
	"github.com/veil-fl/veil/fl/link"
	"github.com/veil-fl/veil/fl/score"
	"github.com/veil-fl/veil/fl/vlr"
	"github.com/veil-fl/veil/job"
	"github.com/veil-fl/veil/model"
)

// A bank and a credit center train LR over gRPC with mutual TLS, save
// their halves, reload them and grade the bank's enterprises with
// band-only encrypted scoring: the whole of a service's job.
func Example() {
	ctx := context.Background()
	bank, center, err := dataset.Synthesize(dataset.SynthOptions{Rows: 2000, Seed: 7})
	check(err)
	pki, err := fltest.NewPKI("bank", "center")
	check(err)
	dir, err := os.MkdirTemp("", "veil-job")
	check(err)
	defer os.RemoveAll(dir)

	// The center serves one job; the bank runs it: PSI, split, LR, AUC.
	done := make(chan error, 1)
	srv, addr, err := link.Listen("127.0.0.1:0", func(ctx context.Context, t fl.Transport) error {
		_, err := job.RunPassive(ctx, t, job.Spec{Train: center, Dir: dir})
		done <- err
		return err
	}, link.GRPCOptions{TLS: pki.ServerTLS("center", "bank")})
	check(err)
	defer srv.Close()
	t, err := link.Dial(ctx, addr.String(), link.GRPCOptions{TLS: pki.ClientTLS("bank", "center")})
	check(err)
	res, err := job.RunActive(ctx, t, job.Spec{Train: bank, LR: vlr.Options{Epochs: 10}, Dir: dir})
	check(err)
	check(<-done)
	t.Close()
	fmt.Printf("%d rows aligned; LR test AUC over 0.75: %v\n", res.RowsAligned, res.Model(job.LR).AUC > 0.75)

	// Later: both halves reloaded, the center serves band-only scoring.
	bankHalf, centerHalf := loadHalf(dir, "active_lr.json"), loadHalf(dir, "passive_lr.json")
	cuts, err := score.ProbabilityCuts([]float64{0.05, 0.2})
	check(err)
	opt := score.Options{Output: score.Bands, Cuts: cuts}
	svc := &score.Service{Table: center, LR: centerHalf, Options: opt, Banks: map[string]score.Quota{"bank": {}}}
	srv2, addr2, err := link.Listen("127.0.0.1:0", svc.Handle, link.GRPCOptions{TLS: pki.ServerTLS("center", "bank")})
	check(err)
	defer srv2.Close()
	t2, err := link.Dial(ctx, addr2.String(), link.GRPCOptions{TLS: pki.ClientTLS("bank", "center")})
	check(err)
	defer t2.Close()
	graded, err := score.RequestLR(ctx, t2, bank.IDs, bank.X, bankHalf, opt)
	check(err)
	fmt.Printf("%d enterprises graded into %d bands\n", len(graded.IDs), cuts.Len()+1)
	// Output:
	// 1800 rows aligned; LR test AUC over 0.75: true
	// 1800 enterprises graded into 3 bands
}

func loadHalf(dir, name string) *model.LRHalf {
	f, err := os.Open(filepath.Join(dir, name))
	check(err)
	defer f.Close()
	h, err := model.LoadLRHalf(f)
	check(err)
	return h
}

func check(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
