package main

// Vertical LR's bytes per message kind (issue 18): the setup and one
// full-batch epoch of the secret-shared protocol (vlr's default) on
// default_credit from the shared data folder (all 30,000 aligned rows,
// standardized and clipped at 5, as a 30-epoch training would run them),
// or on the synthetic pair of 30,000 enterprises when the folder is
// absent, both parties in this process over the in-memory pipe. Figures:
//   - vlr_bytes_epoch: bytes per row of one epoch, both directions; the
//     note splits them by message kind and direction.
//   - vlr_bytes_training_30: bytes per row and epoch of a 30-epoch
//     training, the setup (options, key generation) spread over its
//     epochs.
//
//	go run ./bench -json -runs 1 -only vlr_bytes_epoch,vlr_bytes_training_30

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/veil-fl/veil/dataset"
	"github.com/veil-fl/veil/fl"
	"github.com/veil-fl/veil/fl/vlr"
	"github.com/veil-fl/veil/model"
)

func init() {
	suite = append(suite, benchmark{"vlr_bytes_epoch", func(int) ([]figure, error) { return vlrBytesFigure(0) }},
		benchmark{"vlr_bytes_training_30", func(int) ([]figure, error) { return vlrBytesFigure(1) }})
}

var vlrBytesOnce struct {
	sync.Once
	figs []figure
	err  error
}

func vlrBytesFigure(i int) ([]figure, error) {
	vlrBytesOnce.Do(func() { vlrBytesOnce.figs, vlrBytesOnce.err = benchVLRBytes() })
	if vlrBytesOnce.err != nil {
		return nil, vlrBytesOnce.err
	}
	return vlrBytesOnce.figs[i : i+1], nil
}

// vlrKinds counts, at the bank's end, the wire bytes of each message kind
// each way once started.
type vlrKinds struct {
	fl.Transport
	mu   sync.Mutex
	on   bool
	sent map[string]uint64
	recv map[string]uint64
}

func (k *vlrKinds) add(m map[string]uint64, msg fl.Message) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.on {
		m[msg.Type] += fl.WireSize(msg, 0, fl.DefaultChunkSize)
	}
}

func (k *vlrKinds) Send(ctx context.Context, m fl.Message) error {
	k.add(k.sent, m)
	return k.Transport.Send(ctx, m)
}

func (k *vlrKinds) Recv(ctx context.Context) (fl.Message, error) {
	m, err := k.Transport.Recv(ctx)
	if err == nil {
		k.add(k.recv, m)
	}
	return m, err
}

func vlrBytesData() (name string, xb, xc, y []float64, db, dc int, err error) {
	var bank, center *dataset.Table
	dir := ""
	for _, d := range []string{"../shared/data", "../../shared/data"} {
		if _, err := os.Stat(filepath.Join(d, "default_credit_hetero_guest.csv")); err == nil {
			dir = d
			break
		}
	}
	if dir != "" {
		name = "default_credit"
		if bank, err = dataset.ReadCSV(filepath.Join(dir, "default_credit_hetero_guest.csv"), dataset.CSVOptions{LabelColumn: "y"}); err != nil {
			return
		}
		if center, err = dataset.ReadCSV(filepath.Join(dir, "default_credit_hetero_host.csv"), dataset.CSVOptions{}); err != nil {
			return
		}
		rb, rc := dataset.Align(bank, center)
		bank, center = bank.Select(rb), center.Select(rc)
	} else {
		name = "synthetic 30,000"
		if bank, center, err = dataset.Synthesize(dataset.SynthOptions{Rows: 30_000, Seed: 42}); err != nil {
			return
		}
	}
	std := func(t *dataset.Table) ([]float64, error) {
		st, err := model.FitStandardizer(t.X, t.Cols())
		if err != nil {
			return nil, err
		}
		st.Clip = 5
		out := make([]float64, len(t.X))
		return out, st.Transform(t.X, out)
	}
	if xb, err = std(bank); err != nil {
		return
	}
	if xc, err = std(center); err != nil {
		return
	}
	return name, xb, xc, bank.Labels, bank.Cols(), center.Cols(), nil
}

func benchVLRBytes() ([]figure, error) {
	name, xb, xc, y, db, dc, err := vlrBytesData()
	if err != nil {
		return nil, err
	}
	n := len(y)
	ta, tc := fl.NewPipe()
	defer ta.Close()
	defer tc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	k := &vlrKinds{Transport: ta, sent: map[string]uint64{}, recv: map[string]uint64{}}
	seed := []byte("vlr-bench-joint-seed-0123456789ab")
	var passive *vlr.Passive
	ready := make(chan error, 1)
	go func() {
		var err error
		passive, err = vlr.NewPassive(ctx, tc, seed, vlr.Data{X: xc, Cols: dc})
		ready <- err
	}()
	const epochs = 30
	active, err := vlr.NewActive(ctx, k, seed, vlr.Data{X: xb, Cols: db, Y: y}, vlr.Options{Epochs: epochs})
	if err != nil {
		return nil, err
	}
	if err := <-ready; err != nil {
		return nil, err
	}
	st := ta.Stats()
	setup := st.SentBytes + st.RecvBytes
	k.mu.Lock()
	k.on = true
	k.mu.Unlock()
	t0 := time.Now()
	done := make(chan error, 1)
	go func() { done <- passive.Epoch(ctx) }()
	if _, err := active.Epoch(ctx); err != nil {
		return nil, err
	}
	if err := <-done; err != nil {
		return nil, err
	}
	wall := time.Since(t0)
	k.mu.Lock()
	defer k.mu.Unlock()
	type line struct {
		kind  string
		bytes uint64
	}
	var lines []line
	var total uint64
	for dir, m := range map[string]map[string]uint64{"bank->center": k.sent, "center->bank": k.recv} {
		for kind, b := range m {
			lines = append(lines, line{dir + " " + kind, b})
			total += b
		}
	}
	slices.SortFunc(lines, func(a, b line) int { return int(b.bytes) - int(a.bytes) })
	var parts []string
	for _, l := range lines {
		parts = append(parts, fmt.Sprintf("%s %.1f", l.kind, float64(l.bytes)/float64(n)))
	}
	sizes := fmt.Sprintf("%s, %d rows x (%d bank + %d center) columns, secret-shared weights (shared15 N=2^15), full batch, both parties in one process over the in-memory pipe, %s", name, n, db, dc, cores())
	return []figure{
		{Name: "vlr_bytes_epoch", Value: float64(total) / float64(n), Unit: "bytes/sample",
			Note: fmt.Sprintf("one epoch, both directions, %s; per message kind (bytes/row): %s; epoch wall %.1f s", sizes, strings.Join(parts, ", "), wall.Seconds())},
		{Name: "vlr_bytes_training_30", Value: (float64(setup)/epochs + float64(total)) / float64(n), Unit: "bytes/sample",
			Note: fmt.Sprintf("per row and epoch of a %d-epoch training with its setup (options, key generation: %.1f MiB) spread over the epochs, %s", epochs, float64(setup)/(1<<20), sizes)},
	}, nil
}
