package score

import (
	"context"
	"fmt"
	"math"

	"github.com/veil-fl/veil/fl"
	"github.com/veil-fl/veil/fl/boost"
	"github.com/veil-fl/veil/mpc/compare"
	"github.com/veil-fl/veil/mpc/ot"
)

// Band output is secure two-party comparison, not decryption. Each party
// turns its part of every record's logit into a fixed-point integer modulo
// 2^32 with BandFracBits fractional bits: for a linear model its partial
// score, for trees additive shares of the score made by correlated OTs
// (the center's path indicators e_k as choices, the bank's coefficients as
// correlations). For each cut c_j the bank subtracts round(c_j 2^20) + 1
// from its share, so the shares add up to w_rj = z_r - c_j - 2^-20 in
// fixed point, and mpc/compare reveals to the bank only whether each w_rj
// is non-negative. Those bits fall as j rises, so they are the band and no
// more. No key is generated and nothing is decrypted.

// Message types of band output.
const (
	// TypeOT carries the OT setup between the parties: the center's base-OT
	// offer, the bank's answer, the center's sealed seeds.
	TypeOT = "score.ot"
	// TypeBand carries one step of a batch: correlated OTs for trees, then
	// the comparison's messages (mpc/compare).
	TypeBand = "score.band"
)

// BandFracBits is the fixed-point precision of band output, and
// MaxBandInput bounds the partial scores (for trees: |base| + the sum of
// |leaf weights| of each record's reachable leaves) and the cut points:
// three values of 2^29 fixed-point units stay within the 2^31 of a signed
// 32-bit comparison.
const (
	BandFracBits = 20
	MaxBandInput = 512
)

// BandEpsilon returns the width around each cut within which a record's
// band may come out on either side: the rounding of each fixed-point term
// (terms: 2 for a linear model, 1 + the ensemble's center splits for
// trees) and of the cut, half a unit each. With u = 2^-BandFracBits and R
// rounding to whole units, the comparison says z > c exactly when
// S = sum R(term/u) - R(c/u) >= 1, and S = (z - c)/u + d with
// |d| <= (terms + 1)/2 =: E; so z > c + E u always gives 1 and z <= c - E u
// always 0 (the band errs only for z - c in [-(E - 1) u, E u]). Terms that
// are zero (a center split a record's path does not take) add no rounding,
// so for trees this is a bound, not the typical width.
func BandEpsilon(terms int) float64 { return float64(terms+1) / 2 * math.Exp2(-BandFracBits) }

func toFixed(v float64) uint32 { return uint32(int64(math.Round(math.Ldexp(v, BandFracBits)))) }

// bandBatchRows is the default batch of band output: up to 4096 records,
// fewer when a batch's random OTs (16 bytes each) would pass 16 MiB.
func bandBatchRows(otsPerRecord int) int {
	rows := 4096
	for rows > 64 && rows*otsPerRecord*16 > 16<<20 {
		rows /= 2
	}
	return rows
}

// comparisonOTs is the random OTs per record of mpc/compare: 31 for the
// leaves, 20 per cut for the tree.
func comparisonOTs(cuts int) int { return 31 + 20*cuts }

// otSetupCenter runs the center's side of the OT setup.
func otSetupCenter(ctx context.Context, t fl.Transport) (*ot.Chooser, error) {
	c, offer, err := ot.NewChooser()
	if err != nil {
		return nil, fl.Fail(ctx, t, err)
	}
	if err := t.Send(ctx, fl.Message{Type: TypeOT, Payload: offer}); err != nil {
		return nil, err
	}
	answer, err := fl.Expect(ctx, t, TypeOT)
	if err != nil {
		return nil, err
	}
	sealed, err := c.Accept(answer)
	if err != nil {
		return nil, fl.Fail(ctx, t, fmt.Errorf("score: the bank's OT setup: %w", err))
	}
	return c, t.Send(ctx, fl.Message{Type: TypeOT, Payload: sealed})
}

// otSetupBank runs the bank's side of the OT setup.
func otSetupBank(ctx context.Context, t fl.Transport) (*ot.Offerer, error) {
	offer, err := fl.Expect(ctx, t, TypeOT)
	if err != nil {
		return nil, err
	}
	o, answer, err := ot.NewOfferer(offer)
	if err != nil {
		return nil, fl.Fail(ctx, t, fmt.Errorf("score: the center's OT setup: %w", err))
	}
	if err := t.Send(ctx, fl.Message{Type: TypeOT, Payload: answer}); err != nil {
		return nil, err
	}
	sealed, err := fl.Expect(ctx, t, TypeOT)
	if err != nil {
		return nil, err
	}
	if err := o.Finish(sealed); err != nil {
		return nil, fl.Fail(ctx, t, fmt.Errorf("score: the center's OT setup: %w", err))
	}
	return o, nil
}

// helpCompare is the center's side of one batch's comparisons.
func helpCompare(ctx context.Context, t fl.Transport, c *ot.Chooser, x []uint32, cuts int) error {
	h, err := compare.NewHelper(c, x, cuts)
	if err != nil {
		return fl.Fail(ctx, t, err)
	}
	msg, err := h.Start()
	if err != nil {
		return fl.Fail(ctx, t, err)
	}
	for {
		if err := t.Send(ctx, fl.Message{Type: TypeBand, Payload: msg}); err != nil {
			return err
		}
		in, err := fl.Expect(ctx, t, TypeBand)
		if err != nil {
			return err
		}
		out, done, err := h.Next(in)
		if err != nil {
			return fl.Fail(ctx, t, fmt.Errorf("score: the bank's comparison message: %w", err))
		}
		if done {
			return t.Send(ctx, fl.Message{Type: TypeBand, Payload: out})
		}
		msg = out
	}
}

// learnCompare is the bank's side: y holds its shares, cuts per record;
// it adds each record's non-negative comparisons into bands.
func learnCompare(ctx context.Context, t fl.Transport, o *ot.Offerer, y []uint32, cuts int, bands []int) error {
	l, err := compare.NewLearner(o, y, cuts)
	if err != nil {
		return fl.Fail(ctx, t, err)
	}
	for {
		in, err := fl.Expect(ctx, t, TypeBand)
		if err != nil {
			return err
		}
		out, done, err := l.Next(in)
		if err != nil {
			return fl.Fail(ctx, t, fmt.Errorf("score: the center's comparison message: %w", err))
		}
		if done {
			break
		}
		if err := t.Send(ctx, fl.Message{Type: TypeBand, Payload: out}); err != nil {
			return err
		}
	}
	for i, bit := range l.Result() {
		bands[i/cuts] += int(bit)
	}
	return nil
}

// bankShares returns the bank's shares for records lo..hi: its own part
// (fixed point) minus each cut and one unit.
func bankShares(own []uint32, cuts []float64) []uint32 {
	k := len(cuts)
	y := make([]uint32, len(own)*k)
	for j, c := range cuts {
		cj := toFixed(c) + 1
		for r, v := range own {
			y[r*k+j] = v - cj
		}
	}
	return y
}

// checkBandInputs refuses a partial score outside band output's range. Its
// error, which the peer is told, names the record but never the value: a
// party's partial score is what scoring keeps from the other.
func checkBandInputs(u []float64, whose string) error {
	for i, v := range u {
		if !(math.Abs(v) < MaxBandInput) {
			return fmt.Errorf("%w: %s partial score of record %d lies outside the (-%d, %d) of band output", ErrOptions, whose, i, MaxBandInput, MaxBandInput)
		}
	}
	return nil
}

// linearBandsCenter is LinearPassive with band output.
func linearBandsCenter(ctx context.Context, t fl.Transport, u []float64, o Options) error {
	DisclosurePlan(o, len(u)).HeldBy(ctx, fl.RolePassive) // reports what the run reveals
	if err := checkDiscloseValues(o, len(u)); err != nil {
		return fl.Fail(ctx, t, err)
	}
	var (
		c   *ot.Chooser
		rev *ot.Offerer
		err error
	)
	if o.Disclose != nil {
		rev, err = otReverseCenter(ctx, t)
	} else {
		c, err = otSetupCenter(ctx, t)
	}
	if err != nil {
		return err
	}
	nb := o.batches(len(u))
	o.progress(0, nb)
	for b := range nb {
		lo, hi := o.bounds(b, len(u))
		x := make([]uint32, hi-lo)
		for i := range x {
			x[i] = toFixed(u[lo+i])
		}
		if rev != nil {
			err = discloseBatch(ctx, t, rev, x, o.Disclose.Values[lo:hi], o, true)
		} else {
			err = helpCompare(ctx, t, c, x, o.Cuts.Len())
		}
		if err != nil {
			return err
		}
		o.progress(b+1, nb)
	}
	return nil
}

// linearBandsBank is LinearActive with band output.
func linearBandsBank(ctx context.Context, t fl.Transport, u []float64, o Options) (*Result, error) {
	var (
		of  *ot.Offerer
		rev *ot.Chooser
		err error
	)
	if o.Disclose != nil {
		rev, err = otReverseBank(ctx, t)
	} else {
		of, err = otSetupBank(ctx, t)
	}
	if err != nil {
		return nil, err
	}
	res := newBandResult(len(u), o)
	nb := o.batches(len(u))
	o.progress(0, nb)
	for b := range nb {
		lo, hi := o.bounds(b, len(u))
		own := make([]uint32, hi-lo)
		for i := range own {
			own[i] = toFixed(u[lo+i])
		}
		if rev != nil {
			// The bank's one input a record: its partial score, range
			// checked inside the circuit.
			err = receiveBatch(ctx, t, rev, own, o, true, res, lo)
		} else {
			err = learnCompare(ctx, t, of, bankShares(own, o.Cuts.v), o.Cuts.Len(), res.Bands[lo:hi])
		}
		if err != nil {
			return nil, err
		}
		o.progress(b+1, nb)
	}
	return res, nil
}

// treesBandsCenter is TreesPassive with band output: per batch, correlated
// OTs on its path indicators give it a share of each record's score, which
// it compares.
func treesBandsCenter(ctx context.Context, t fl.Transport, m *boost.PassiveModel, links []splitLink, bins [][]uint8, rows int, o Options) error {
	DisclosurePlan(o, rows).HeldBy(ctx, fl.RolePassive) // reports what the run reveals
	if err := checkDiscloseValues(o, rows); err != nil {
		return fl.Fail(ctx, t, err)
	}
	c, err := otSetupCenter(ctx, t)
	if err != nil {
		return err
	}
	var rev *ot.Offerer
	if o.Disclose != nil {
		if rev, err = otReverseCenter(ctx, t); err != nil {
			return err
		}
	}
	s := len(links)
	nb := o.batches(rows)
	o.progress(0, nb)
	for b := range nb {
		lo, hi := o.bounds(b, rows)
		n := hi - lo
		x := make([]uint32, n)
		if s > 0 {
			e := pathIndicators(m, links, bins, lo, hi, s)
			choices := ot.NewBits(n * s)
			for k := range s {
				for r := range n {
					if e[k][r] == 1 {
						choices.Set(r*s+k, 1)
					}
				}
			}
			cb, u, err := c.Extend(n*s, choices)
			if err != nil {
				return fl.Fail(ctx, t, err)
			}
			if err := t.Send(ctx, fl.Message{Type: TypeBand, Payload: u}); err != nil {
				return err
			}
			tau, err := fl.Expect(ctx, t, TypeBand)
			if err != nil {
				return err
			}
			sh, err := cb.Correlate(0, n*s, 32, tau)
			if err != nil {
				return fl.Fail(ctx, t, fmt.Errorf("score: the bank's correlations: %w", err))
			}
			for i, v := range sh {
				x[i/s] += uint32(v)
			}
		}
		if rev != nil {
			err = discloseBatch(ctx, t, rev, x, o.Disclose.Values[lo:hi], o, false)
		} else {
			err = helpCompare(ctx, t, c, x, o.Cuts.Len())
		}
		if err != nil {
			return err
		}
		o.progress(b+1, nb)
	}
	return nil
}

// treesBandsBank is TreesActive with band output: its correlations are the
// fixed-point coefficients of the center's path indicators, and its share
// starts from its own constant.
func treesBandsBank(ctx context.Context, t fl.Transport, pl *treePlan, bins [][]uint8, rows int, o Options) (*Result, error) {
	of, err := otSetupBank(ctx, t)
	if err != nil {
		return nil, err
	}
	var rev *ot.Chooser
	if o.Disclose != nil {
		if rev, err = otReverseBank(ctx, t); err != nil {
			return nil, err
		}
	}
	s := len(pl.links)
	res := newBandResult(rows, o)
	nb := o.batches(rows)
	o.progress(0, nb)
	for b := range nb {
		lo, hi := o.bounds(b, rows)
		n := hi - lo
		constant := make([]float64, n)
		coef := make([][]float64, s)
		for k := range coef {
			coef[k] = make([]float64, n)
		}
		pl.coefficients(bins, lo, hi, constant, coef)
		own := make([]uint32, n)
		for r := range n {
			bound := math.Abs(constant[r])
			for k := range s {
				bound += math.Abs(coef[k][r])
			}
			if !(bound < MaxBandInput) {
				// The bound is the bank's (its leaf weights): the error,
				// which the center is told, names the record only.
				return nil, fl.Fail(ctx, t, fmt.Errorf("%w: record %d's score (base score plus the leaf weights it may reach) may pass the (-%d, %d) of band output", ErrOptions, lo+r, MaxBandInput, MaxBandInput))
			}
			own[r] = toFixed(constant[r])
		}
		if s > 0 {
			u, err := fl.Expect(ctx, t, TypeBand)
			if err != nil {
				return nil, err
			}
			ob, err := of.Extend(n*s, u)
			if err != nil {
				return nil, fl.Fail(ctx, t, fmt.Errorf("score: the center's OTs: %w", err))
			}
			sh, tau, err := ob.Correlate(0, n*s, 32, func(i int) uint64 { return uint64(toFixed(coef[i%s][i/s])) })
			if err != nil {
				return nil, fl.Fail(ctx, t, err)
			}
			if err := t.Send(ctx, fl.Message{Type: TypeBand, Payload: tau}); err != nil {
				return nil, err
			}
			for i, v := range sh {
				own[i/s] += uint32(v)
			}
		}
		if rev != nil {
			// A random share: the circuit checks the sum's window instead.
			err = receiveBatch(ctx, t, rev, own, o, false, res, lo)
		} else {
			err = learnCompare(ctx, t, of, bankShares(own, o.Cuts.v), o.Cuts.Len(), res.Bands[lo:hi])
		}
		if err != nil {
			return nil, err
		}
		o.progress(b+1, nb)
	}
	return res, nil
}

// Flags (Options.Disclose) replace the batch's comparisons with a
// conditional disclosure (mpc/compare: Discloser, Recipient): a garbled
// circuit of the same comparisons that the center garbles and the bank
// evaluates on its one input a record, releasing each record's flags
// exactly when its logit is at or below cut At. The bank is the OT chooser
// there: a second OT setup, with the roles the other way round.

// releaseBatchRows is the batch of a run with flags: up to 4096 records,
// fewer when the center's garbled message would pass 32 MiB.
func releaseBatchRows(cuts int) int {
	rows := 4096
	for rows > 64 {
		_, d := compare.ReleaseMessageBytes(rows, compare.ReleaseOptions{Cuts: make([]uint32, cuts), Bounded: true, SecretBits: compare.MaxSecretBits})
		if d <= 32<<20 {
			break
		}
		rows /= 2
	}
	return rows
}

// releaseOptions are a run's terms of disclosure: the cut constants the
// bank's shares subtract (bankShares), the release cut and the flags'
// width.
func releaseOptions(o Options, bounded bool) compare.ReleaseOptions {
	ks := make([]uint32, o.Cuts.Len())
	for j, c := range o.Cuts.v {
		ks[j] = toFixed(c) + 1
	}
	return compare.ReleaseOptions{Cuts: ks, At: o.Disclose.At, Bounded: bounded, SecretBits: len(o.Disclose.Flags)}
}

// checkDiscloseValues refuses a center run whose flags are not one value
// a record; the error names counts only.
func checkDiscloseValues(o Options, rows int) error {
	if o.Disclose != nil && len(o.Disclose.Values) != rows {
		return fmt.Errorf("%w: the center's flags hold %d values for %d records", ErrOptions, len(o.Disclose.Values), rows)
	}
	return nil
}

func newBandResult(rows int, o Options) *Result {
	res := &Result{Bands: make([]int, rows)}
	if o.Disclose != nil {
		res.Disclosed, res.Flags = make([]bool, rows), make([]uint64, rows)
	}
	return res
}

// otReverseCenter runs the center's side of the second OT setup, in which
// it is the offerer.
func otReverseCenter(ctx context.Context, t fl.Transport) (*ot.Offerer, error) {
	offer, err := fl.Expect(ctx, t, TypeOT)
	if err != nil {
		return nil, err
	}
	o, answer, err := ot.NewOfferer(offer)
	if err != nil {
		return nil, fl.Fail(ctx, t, fmt.Errorf("score: the bank's OT setup: %w", err))
	}
	if err := t.Send(ctx, fl.Message{Type: TypeOT, Payload: answer}); err != nil {
		return nil, err
	}
	sealed, err := fl.Expect(ctx, t, TypeOT)
	if err != nil {
		return nil, err
	}
	if err := o.Finish(sealed); err != nil {
		return nil, fl.Fail(ctx, t, fmt.Errorf("score: the bank's OT setup: %w", err))
	}
	return o, nil
}

// otReverseBank runs the bank's side of the second OT setup: it chooses.
func otReverseBank(ctx context.Context, t fl.Transport) (*ot.Chooser, error) {
	c, offer, err := ot.NewChooser()
	if err != nil {
		return nil, fl.Fail(ctx, t, err)
	}
	if err := t.Send(ctx, fl.Message{Type: TypeOT, Payload: offer}); err != nil {
		return nil, err
	}
	answer, err := fl.Expect(ctx, t, TypeOT)
	if err != nil {
		return nil, err
	}
	sealed, err := c.Accept(answer)
	if err != nil {
		return nil, fl.Fail(ctx, t, fmt.Errorf("score: the center's OT setup: %w", err))
	}
	return c, t.Send(ctx, fl.Message{Type: TypeOT, Payload: sealed})
}

// discloseBatch is the center's side of one batch with flags: x its
// shares, values the records' flags.
func discloseBatch(ctx context.Context, t fl.Transport, of *ot.Offerer, x []uint32, values []uint64, o Options, bounded bool) error {
	d, err := compare.NewDiscloser(of, x, values, releaseOptions(o, bounded))
	if err != nil {
		return fl.Fail(ctx, t, err)
	}
	msg, err := fl.Expect(ctx, t, TypeBand)
	if err != nil {
		return err
	}
	out, err := d.Respond(msg)
	if err != nil {
		return fl.Fail(ctx, t, fmt.Errorf("score: the bank's input labels: %w", err))
	}
	return t.Send(ctx, fl.Message{Type: TypeBand, Payload: out})
}

// receiveBatch is the bank's side: y its one input a record; it fills
// res's bands, Disclosed and Flags from record lo on.
func receiveBatch(ctx context.Context, t fl.Transport, c *ot.Chooser, y []uint32, o Options, bounded bool, res *Result, lo int) error {
	r, err := compare.NewRecipient(c, y, releaseOptions(o, bounded))
	if err != nil {
		return fl.Fail(ctx, t, err)
	}
	msg, err := r.Start()
	if err != nil {
		return fl.Fail(ctx, t, err)
	}
	if err := t.Send(ctx, fl.Message{Type: TypeBand, Payload: msg}); err != nil {
		return err
	}
	in, err := fl.Expect(ctx, t, TypeBand)
	if err != nil {
		return err
	}
	rel, err := r.Finish(in)
	if err != nil {
		return fl.Fail(ctx, t, fmt.Errorf("score: the center's garbled comparisons: %w", err))
	}
	cuts := o.Cuts.Len()
	for i, bit := range rel.Bits {
		res.Bands[lo+i/cuts] += int(bit)
	}
	copy(res.Disclosed[lo:], rel.Released)
	copy(res.Flags[lo:], rel.Secrets)
	return nil
}
