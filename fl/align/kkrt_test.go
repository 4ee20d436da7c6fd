package align_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/veil-fl/veil/dataset"
	"github.com/veil-fl/veil/fl"
	"github.com/veil-fl/veil/fl/align"
	"github.com/veil-fl/veil/fl/fltest"
	"github.com/veil-fl/veil/mpc/psi"
)

// checkKKRT aligns bankIDs and centerIDs with KKRT (the default) and ECDH,
// and checks that both parties' rows are identical, in the same order.
func checkKKRT(t *testing.T, bankIDs, centerIDs []string) {
	t.Helper()
	ecdh := align.Options{BalancedProtocol: align.ECDH}
	e, eC, _, _ := pair(t, bankIDs, centerIDs, ecdh, ecdh)
	require.NoError(t, e.err)
	require.NoError(t, eC.err)
	k, kC, bs, cs := pair(t, bankIDs, centerIDs, align.Options{}, align.Options{})
	require.NoError(t, k.err)
	require.NoError(t, kC.err)
	require.Equal(t, e.res.Rows, k.res.Rows, "the bank's rows as ECDH's")
	require.Equal(t, eC.res.Rows, kC.res.Rows, "the center's rows as ECDH's")
	require.Equal(t, k.res.Digest, kC.res.Digest)
	for i := range k.res.Rows {
		require.Equal(t, bankIDs[k.res.Rows[i]], centerIDs[kC.res.Rows[i]])
	}
	t.Logf("%d of %d x %d; bank sent %d bytes, center %d", len(k.res.Rows), len(bankIDs), len(centerIDs), bs.SentBytes, cs.SentBytes)
}

// TestKKRTSynthetic: on the synthetic tables KKRT aligns exactly as ECDH.
func TestKKRTSynthetic(t *testing.T) {
	rows := 3000
	if testing.Short() {
		rows = 600
	}
	bankTable, centerTable, err := dataset.Synthesize(dataset.SynthOptions{Rows: rows, Seed: 11})
	require.NoError(t, err)
	checkKKRT(t, bankTable.IDs, centerTable.IDs)
	// The receiver is the smaller set: swap the sizes' roles too.
	checkKKRT(t, centerTable.IDs[:rows/3], bankTable.IDs)
}

// TestKKRTRealData: on every pair in ../shared/data, as ECDH.
func TestKKRTRealData(t *testing.T) {
	const dir = "../../../shared/data"
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("shared data sets not found at %s: %v", dir, err)
	}
	pairs, err := filepath.Glob(filepath.Join(dir, "*_guest.csv"))
	require.NoError(t, err)
	require.NotEmpty(t, pairs)
	for _, guest := range pairs {
		name := filepath.Base(guest[:len(guest)-len("_guest.csv")])
		t.Run(name, func(t *testing.T) {
			bankIDs, centerIDs := readIDs(t, guest), readIDs(t, guest[:len(guest)-len("_guest.csv")]+"_host.csv")
			if testing.Short() && len(bankIDs)+len(centerIDs) > 2000 {
				t.Skip("a large pair; run without -short")
			}
			checkKKRT(t, bankIDs, centerIDs)
		})
	}
}

// TestProtocolMismatch: a KKRT party and an ECDH one refuse each other at
// psi.mode, naming both protocols, before any PSI message.
func TestProtocolMismatch(t *testing.T) {
	bankIDs, centerIDs := []string{"a", "b", "c"}, []string{"b", "c", "d"}
	b, c, bs, cs := pair(t, bankIDs, centerIDs, align.Options{}, align.Options{BalancedProtocol: align.ECDH})
	for _, err := range []error{b.err, c.err} {
		require.Error(t, err)
		require.True(t, errors.Is(err, align.ErrProtocolMismatch) || errors.Is(err, fl.ErrPeerAborted), "%v", err)
		require.ErrorContains(t, err, "kkrt")
		require.ErrorContains(t, err, "ecdh")
	}
	require.Less(t, bs.SentBytes+cs.SentBytes, uint64(1024), "nothing but psi.mode and the aborts")
	_, err := align.ParseProtocol("rsa")
	require.Error(t, err)
	for _, p := range []align.Protocol{align.KKRT, align.ECDH} {
		got, err := align.ParseProtocol(p.String())
		require.NoError(t, err)
		require.Equal(t, p, got)
	}
}

// TestCuckooFallback: when the receiver's ids do not fit their cuckoo
// table, both parties run ECDH instead if both accept it (the same rows as
// ECDH), and both end with ErrCuckoo if either set NoFallback.
func TestCuckooFallback(t *testing.T) {
	defer align.FailCuckoo()()
	bankTable, centerTable, err := dataset.Synthesize(dataset.SynthOptions{Rows: 400, Seed: 3})
	require.NoError(t, err)
	bankIDs, centerIDs := bankTable.IDs, centerTable.IDs
	ecdh := align.Options{BalancedProtocol: align.ECDH}
	e, eC, _, _ := pair(t, bankIDs, centerIDs, ecdh, ecdh)
	require.NoError(t, e.err)
	require.NoError(t, eC.err)

	b, c, _, _ := pair(t, bankIDs, centerIDs, align.Options{}, align.Options{})
	require.NoError(t, b.err)
	require.NoError(t, c.err)
	require.Equal(t, e.res.Rows, b.res.Rows)
	require.Equal(t, eC.res.Rows, c.res.Rows)

	for _, tc := range []struct{ bank, center bool }{{true, false}, {false, true}, {true, true}} {
		b, c, _, _ := pair(t, bankIDs, centerIDs, align.Options{NoFallback: tc.bank}, align.Options{NoFallback: tc.center})
		for _, err := range []error{b.err, c.err} {
			require.Error(t, err)
			require.ErrorContains(t, err, psi.ErrCuckoo.Error())
		}
		require.True(t, errors.Is(b.err, align.ErrCuckoo) || errors.Is(c.err, align.ErrCuckoo))
	}
}

// TestBeforeRevealKKRT: the party with the hook is KKRT's receiver (even
// with the larger set); the hook sees its rows before it sends the
// matches, the one message that shows the sender the intersection; a
// refusal reaches the peer before it.
func TestBeforeRevealKKRT(t *testing.T) {
	bankIDs := []string{"e5", "e1", "e9", "e3", "e7"}
	centerIDs := []string{"e3", "e4", "e5", "e6", "e7", "e8"}
	t.Run("accepts", func(t *testing.T) {
		var got []int
		sentBefore := -1
		resB, resC, errB, errC, _, center := runTapped(t, bankIDs, centerIDs, func(center *tap) align.Options {
			return align.Options{BeforeReveal: func(rows []int) error {
				got = rows
				sentBefore = len(center.sentOf(align.TypeKKRT))
				return nil
			}}
		})
		require.NoError(t, errB)
		require.NoError(t, errC)
		require.Equal(t, resC.Rows, got)
		require.Equal(t, 2, sentBefore, "the hook runs after the receiver's setup and codes, before its matches")
		require.Len(t, center.sentOf(align.TypeKKRT), 3)
		require.Equal(t, resB.Digest, resC.Digest)
	})
	t.Run("refuses", func(t *testing.T) {
		refused := errors.New("quota: over the daily count")
		_, _, errB, errC, _, center := run(t, bankIDs, centerIDs, align.Options{BeforeReveal: func([]int) error { return refused }})
		require.ErrorIs(t, errC, refused)
		require.ErrorIs(t, errB, fl.ErrPeerAborted)
		require.Len(t, center.sentOf(align.TypeKKRT), 2, "no matches sent")
	})
	t.Run("both hooks", func(t *testing.T) {
		ta, tc := fltest.NewPipe()
		defer ta.Close()
		defer tc.Close()
		ctx, cancel := context.WithTimeout(context.Background(), fltest.Deadline(time.Minute))
		defer cancel()
		hook := align.Options{BeforeReveal: func([]int) error { return nil }}
		var errC error
		var wg sync.WaitGroup
		wg.Go(func() { _, errC = align.AlignWith(ctx, tc, centerIDs, hook) })
		_, errB := align.AlignWith(ctx, ta, bankIDs, hook)
		wg.Wait()
		require.NoError(t, ctx.Err())
		require.True(t, errors.Is(errB, fl.ErrProtocol) || errors.Is(errB, fl.ErrPeerAborted), "%v", errB)
		require.True(t, errors.Is(errC, fl.ErrProtocol) || errors.Is(errC, fl.ErrPeerAborted), "%v", errC)
	})
	t.Run("empty", func(t *testing.T) {
		calls := 0
		_, _, errB, errC, _, _ := run(t, []string{"x1", "x2"}, centerIDs, align.Options{BeforeReveal: func([]int) error { calls++; return nil }})
		require.Zero(t, calls)
		require.ErrorIs(t, errC, psi.ErrEmptyIntersection)
		require.True(t, errors.Is(errB, psi.ErrEmptyIntersection) || errors.Is(errB, fl.ErrPeerAborted), "%v", errB)
	})
}

// tamperNth changes the n-th message of type typ (either way).
func tamperNth(typ string, n int, f func([]byte) []byte) (func(fl.Message) fl.Message, *atomic.Bool) {
	hit := new(atomic.Bool)
	var seen atomic.Int32
	return func(m fl.Message) fl.Message {
		if m.Type == typ && int(seen.Add(1)) == n+1 {
			hit.Store(true)
			m.Payload = f(bytes.Clone(m.Payload))
		}
		return m
	}, hit
}

// TestKKRTHostile corrupts each balanced-mode message of the KKRT run in
// turn (psi.mode, each of the six psi.kkrt steps, psi.digest; psi.fallback
// unasked for or with a payload): both parties stop with a matchable
// error and neither waits for its deadline.
func TestKKRTHostile(t *testing.T) {
	bankIDs := []string{"a", "b", "c", "d", "e"}
	centerIDs := []string{"c", "d", "e", "f"}
	type target struct {
		typ string
		n   int
	}
	targets := []target{{align.TypeMode, 0}, {align.TypeMode, 1}, {align.TypeDigest, 0}}
	for n := range 6 {
		targets = append(targets, target{align.TypeKKRT, n})
	}
	for _, tg := range targets {
		for _, m := range fltest.Mutations {
			if fltest.VectorMutation(m.Name) {
				continue
			}
			t.Run(tg.typ+"/"+string(rune('0'+tg.n))+"/"+m.Name, func(t *testing.T) {
				tamper, hit := tamperNth(tg.typ, tg.n, func(b []byte) []byte { return m.Fn(b, "") })
				b, c, _, _ := pair(t, bankIDs, centerIDs, align.Options{}, align.Options{}, fltest.Tamper(tamper))
				require.True(t, hit.Load())
				require.True(t, b.err != nil || c.err != nil)
				for _, err := range []error{b.err, c.err} {
					if err == nil && tg.typ == align.TypeDigest {
						continue
					}
					require.Error(t, err)
					require.True(t, errors.Is(err, fl.ErrProtocol) || errors.Is(err, fl.ErrPeerAborted), "%v", err)
				}
			})
		}
	}
	// psi.mode's fields: a zero count, an unknown protocol, unknown flags.
	for name, f := range map[string]func(b []byte){
		"no ids":   func(b []byte) { clear(b[8:16]) },
		"protocol": func(b []byte) { b[5] = 9 },
		"flags":    func(b []byte) { b[6] = 0x80 },
		"reserved": func(b []byte) { b[7] = 1 },
		"version":  func(b []byte) { b[4] = 1 },
	} {
		t.Run("psi.mode/"+name, func(t *testing.T) {
			tamper, hit := tamperNth(align.TypeMode, 0, func(b []byte) []byte { f(b); return b })
			b, c, _, _ := pair(t, bankIDs, centerIDs, align.Options{}, align.Options{}, fltest.Tamper(tamper))
			require.True(t, hit.Load())
			for _, err := range []error{b.err, c.err} {
				require.True(t, errors.Is(err, fl.ErrProtocol) || errors.Is(err, fl.ErrPeerAborted), "%v", err)
			}
		})
	}
	// A count in psi.mode other than the KKRT hello's.
	t.Run("psi.mode/count", func(t *testing.T) {
		tamper, hit := tamperNth(align.TypeMode, 0, func(b []byte) []byte { b[15]++; return b })
		b, c, _, _ := pair(t, bankIDs, centerIDs, align.Options{}, align.Options{}, fltest.Tamper(tamper))
		require.True(t, hit.Load())
		for _, err := range []error{b.err, c.err} {
			require.True(t, errors.Is(err, fl.ErrProtocol) || errors.Is(err, fl.ErrPeerAborted), "%v", err)
		}
	})
	// Counts in psi.mode that make both parties choose one role: each
	// sees a peer of more ids (both receive) or of fewer (both send). Both
	// stop at once on psi.receiver; without it two receivers would wait
	// for each other's hello until the deadline.
	for name, ids := range map[string]byte{"both receive": 200, "both send": 1} {
		t.Run("psi.mode/"+name, func(t *testing.T) {
			var hits atomic.Int32
			tamper := func(m fl.Message) fl.Message {
				if m.Type == align.TypeMode {
					hits.Add(1)
					m.Payload = bytes.Clone(m.Payload)
					clear(m.Payload[8:16])
					m.Payload[15] = ids
				}
				return m
			}
			b, c, _, _ := pair(t, bankIDs, centerIDs, align.Options{}, align.Options{}, fltest.Tamper(tamper))
			require.Equal(t, int32(2), hits.Load())
			for _, err := range []error{b.err, c.err} {
				require.True(t, errors.Is(err, fl.ErrProtocol) || errors.Is(err, fl.ErrPeerAborted), "%v", err)
			}
		})
	}
	// psi.fallback in place of the codes, which the sender refused.
	t.Run("psi.fallback with a payload", func(t *testing.T) {
		restore := align.FailCuckoo()
		defer restore()
		turn := func(m fl.Message) fl.Message {
			if m.Type == align.TypeFallback {
				m.Payload = []byte{1}
			}
			return m
		}
		b, c, _, _ := pair(t, bankIDs, centerIDs, align.Options{}, align.Options{}, fltest.Tamper(turn))
		for _, err := range []error{b.err, c.err} {
			require.True(t, errors.Is(err, fl.ErrProtocol) || errors.Is(err, fl.ErrPeerAborted), "%v", err)
		}
	})
}
