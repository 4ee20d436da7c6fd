package main

// SecureBoost's bytes per message kind (issue 18): one training of 30
// trees of depth 3 (32 bins, eta 0.3, lambda 1) on default_credit from the
// shared data folder (80% of the aligned rows, stratified, seed 42, as
// fl/boost's TestRealData), or on the synthetic pair of 30,000
// enterprises when the folder is absent, both parties in this process over
// the in-memory pipe: once planned for a 100 Mbit/s link
// (boost.Options.LinkMbps: parted layouts, levels from the root's
// gradients) and once without a link speed (the whole layout), the
// baseline. Figures:
//   - sbt_bytes_mb: the megabytes both ways (10^6 bytes), baseline the run
//     without a link speed; the note splits them by party and message
//     type, with both runs' wall times.
//   - sbt_bytes_100mbit_s: the wall time plus the time the bytes take on a
//     100 Mbit/s link each way (the busier direction), baseline the same
//     for the run without a link speed: a WAN estimate for a machine of its
//     own, not a shaped measurement (the wan_sbt figures are that).
//
//	go run ./bench -json -runs 1 -only sbt_bytes_mb,sbt_bytes_100mbit_s

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
	"github.com/veil-fl/veil/fl/boost"
	"github.com/veil-fl/veil/model"
)

func init() {
	// Two names, one training pair: whichever runs first trains, the other
	// reads its figures (the runner keeps only the figures -only names).
	suite = append(suite, benchmark{"sbt_bytes_mb", func(int) ([]figure, error) { return sbtBytesFigure(0) }},
		benchmark{"sbt_bytes_100mbit_s", func(int) ([]figure, error) { return sbtBytesFigure(1) }})
}

var sbtBytesOnce struct {
	sync.Once
	figs []figure
	err  error
}

func sbtBytesFigure(i int) ([]figure, error) {
	sbtBytesOnce.Do(func() { sbtBytesOnce.figs, sbtBytesOnce.err = benchSBTBytes() })
	if sbtBytesOnce.err != nil {
		return nil, sbtBytesOnce.err
	}
	return sbtBytesOnce.figs[i : i+1], nil
}

// kindCounter counts the payload bytes a transport sends, per message type.
type kindCounter struct {
	fl.Transport
	mu    sync.Mutex
	bytes map[string]int
}

func (k *kindCounter) Send(ctx context.Context, m fl.Message) error {
	k.mu.Lock()
	if k.bytes == nil {
		k.bytes = map[string]int{}
	}
	k.bytes[m.Type] += len(m.Payload)
	k.mu.Unlock()
	return k.Transport.Send(ctx, m)
}

func (k *kindCounter) summary() string {
	k.mu.Lock()
	defer k.mu.Unlock()
	var names []string
	for n := range k.bytes {
		if k.bytes[n] >= 5_000 {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	var parts []string
	for _, n := range names {
		parts = append(parts, fmt.Sprintf("%s %.1f", n, float64(k.bytes[n])/1e6))
	}
	return strings.Join(parts, ", ")
}

// sbtBytesRun is one training's traffic and time.
type sbtBytesRun struct {
	sent, recv   uint64 // the bank's
	wall         time.Duration
	bank, center string
}

func sbtBytesData() (name string, xb, xc, y []float64, db, dc int, err error) {
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
		train, _, serr := dataset.StratifiedSplit(bank.Labels, 0.2, 42)
		if serr != nil {
			err = serr
			return
		}
		bank, center = bank.Select(train), center.Select(train)
	} else {
		name = "synthetic 30,000"
		if bank, center, err = dataset.Synthesize(dataset.SynthOptions{Rows: 30_000, Seed: 42}); err != nil {
			return
		}
	}
	return name, bank.X, center.X, bank.Labels, bank.Cols(), center.Cols(), nil
}

func sbtBytesTrain(xb, xc, y []float64, db, dc int, mbps float64) (sbtBytesRun, error) {
	ta, tc := fl.NewPipe()
	defer ta.Close()
	defer tc.Close()
	ka, kc := &kindCounter{Transport: ta}, &kindCounter{Transport: tc}
	ctx := context.Background()
	done := make(chan error, 1)
	go func() {
		_, err := boost.TrainPassive(ctx, kc, seed, boost.Data{X: xc, Cols: dc})
		done <- err
	}()
	start := time.Now()
	opt := boost.Options{GBDTOptions: model.GBDTOptions{Trees: 30, MaxDepth: 3, Bins: 32, LearningRate: 0.3, Lambda: 1}, LinkMbps: mbps}
	ar, err := boost.TrainActive(ctx, ka, seed, boost.Data{X: xb, Cols: db, Y: y}, opt, nil)
	if err != nil {
		return sbtBytesRun{}, err
	}
	if err := <-done; err != nil {
		return sbtBytesRun{}, err
	}
	return sbtBytesRun{sent: ar.Stats.SentBytes, recv: ar.Stats.RecvBytes, wall: time.Since(start), bank: ka.summary(), center: kc.summary()}, nil
}

func benchSBTBytes() ([]figure, error) {
	name, xb, xc, y, db, dc, err := sbtBytesData()
	if err != nil {
		return nil, err
	}
	var runs [2]sbtBytesRun
	for i, mbps := range []float64{0, 100} {
		if runs[i], err = sbtBytesTrain(xb, xc, y, db, dc, mbps); err != nil {
			return nil, err
		}
	}
	mb := func(r sbtBytesRun) float64 { return float64(r.sent+r.recv) / 1e6 }
	wan := func(r sbtBytesRun) float64 {
		return r.wall.Seconds() + float64(max(r.sent, r.recv))*8/100e6
	}
	base, now := mb(runs[0]), mb(runs[1])
	bt, nt := wan(runs[0]), wan(runs[1])
	note := fmt.Sprintf("SecureBoost 30 trees of depth 3, 32 bins, %s (%d rows, %d bank + %d center columns), both parties in one process over the pipe, hist13 N=2^13, %s (shared with other work). "+
		"LinkMbps 100: bank sent %.1f MB (%s), received %.1f MB (%s), %.1f s. Without a link speed: bank sent %.1f MB (%s), received %.1f MB (%s), %.1f s. "+
		"Before issue 18 the same training sent 1090.3 MB and received 73.5 MB (1039.8 and 70.1 MiB).",
		name, len(y), db, dc, cores(),
		float64(runs[1].sent)/1e6, runs[1].bank, float64(runs[1].recv)/1e6, runs[1].center, runs[1].wall.Seconds(),
		float64(runs[0].sent)/1e6, runs[0].bank, float64(runs[0].recv)/1e6, runs[0].center, runs[0].wall.Seconds())
	r1, r2 := now/base, nt/bt
	return []figure{
		{Name: "sbt_bytes_mb", Value: now, Unit: "MB", Baseline: &base, Ratio: &r1, Note: note},
		{Name: "sbt_bytes_100mbit_s", Value: nt, Unit: "s", Baseline: &bt, Ratio: &r2,
			Note: "wall time plus the busier direction's bytes at 100 Mbit/s (an estimate, not a shaped link); " + note},
	}, nil
}
