package compare

import (
	"fmt"
	"math/rand/v2"

	"github.com/veil-fl/veil/mpc/ot"
)

const (
	lowMask = 1<<lowBits - 1
	signBit = lowBits
)

// A Helper is the chooser's side of a batch of comparisons: it holds one
// share x_r per record and learns nothing.
type Helper struct {
	c     *ot.Chooser
	p     plan
	x     []uint32
	cb    *ot.ChooserBatch
	stage int // 0: before Start; 1: leaves sent; 1+s: level s-1's choices sent
	cur   shares
	// choice is the index each OT of the run in flight asked for.
	choice []uint
	done   bool
}

// A Learner is the offerer's side: it holds one share y_rj per record and
// cut and learns, for each, whether x_r + y_rj modulo 2^Width is
// non-negative as a signed integer.
type Learner struct {
	o      *ot.Offerer
	p      plan
	y      []uint32
	ob     *ot.OffererBatch
	rnd    *rand.ChaCha8
	stage  int
	cur    shares
	result []uint8
}

// NewHelper prepares the chooser's side of n = len(x) records, cuts
// comparisons each, on the OT session c.
func NewHelper(c *ot.Chooser, x []uint32, cuts int) (*Helper, error) {
	if err := checkInput(len(x), cuts); err != nil {
		return nil, err
	}
	return &Helper{c: c, p: newPlan(len(x), cuts), x: x}, nil
}

// NewLearner prepares the offerer's side: y holds the shares of n records
// times cuts comparisons, record by record.
func NewLearner(o *ot.Offerer, y []uint32, cuts int) (*Learner, error) {
	if cuts < 1 || len(y)%cuts != 0 {
		return nil, fmt.Errorf("%w: %d shares for %d cuts a record", ErrInput, len(y), cuts)
	}
	if err := checkInput(len(y)/cuts, cuts); err != nil {
		return nil, err
	}
	rnd, err := newRand()
	if err != nil {
		return nil, err
	}
	return &Learner{o: o, p: newPlan(len(y)/cuts, cuts), y: y, rnd: rnd}, nil
}

// Messages returns the number of messages each side sends for a batch:
// the helper sends one more than the learner.
func Messages() (helper, learner int) {
	p := newPlan(1, 1)
	return len(p.levels) + 2, len(p.levels) + 1
}

// weakChoices makes the helper's random OTs with choice bits all zero, so
// that its derandomization d = c ^ r sends its choices in the clear: the
// weak variant TestLearnerViewIndependentOfInputs attacks. Never set
// outside that test.
var weakChoices = false

// alpha is the chooser's millionaires' input.
func (h *Helper) alpha(r int) uint32 { return lowMask - h.x[r]&lowMask }

// leafOf maps OT i of leaf group g to its record and leaf.
func (p *plan) leafOf(g, i int) (r, t int) {
	per := len(p.groupLeaves[g])
	return i / per, p.groupLeaves[g][i%per]
}

// Start returns the helper's first message: the batch's random OTs and its
// choices for the leaves.
func (h *Helper) Start() ([]byte, error) {
	if h.stage != 0 {
		return nil, fmt.Errorf("%w: Start called twice", ErrState)
	}
	var choices ot.Bits // nil: fresh random choice bits
	if weakChoices {
		choices = ot.NewBits(h.p.total)
	}
	cb, u, err := h.c.Extend(h.p.total, choices)
	if err != nil {
		return nil, err
	}
	h.cb = cb
	parts := [][]byte{u}
	for g, ru := range h.p.leafRun {
		choice := func(i int) uint {
			r, t := h.p.leafOf(g, i)
			l := h.p.leaves[t]
			return uint(h.alpha(r)>>l.off) & (1<<l.width - 1)
		}
		d, err := cb.Derandomize(ru.at, ru.count, ru.k, choice)
		if err != nil {
			return nil, err
		}
		parts = append(parts, d)
	}
	h.stage = 1
	return join(parts...), nil
}

// Next takes the learner's message and returns the helper's answer; done
// reports that the answer is the helper's last message.
func (h *Helper) Next(msg []byte) (out []byte, done bool, err error) {
	switch {
	case h.done || h.stage == 0:
		return nil, false, fmt.Errorf("%w: Next before Start or after the last message", ErrState)
	case h.stage == 1:
		if err := h.receiveLeaves(msg); err != nil {
			return nil, false, err
		}
	default:
		if err := h.receiveLevel(h.stage-2, msg); err != nil {
			return nil, false, err
		}
	}
	if s := h.stage - 1; s < len(h.p.levels) {
		out, err := h.chooseLevel(s)
		h.stage++
		return out, false, err
	}
	h.done = true
	return h.output(), true, nil
}

func (h *Helper) receiveLeaves(msg []byte) error {
	n, cuts, items := h.p.n, h.p.cuts, len(h.p.leaves)
	parts, err := split(msg, len(h.p.leafRun), "leaf messages")
	if err != nil {
		return err
	}
	h.cur = newShares(n, cuts, items)
	for g, ru := range h.p.leafRun {
		choice := func(i int) uint {
			r, t := h.p.leafOf(g, i)
			l := h.p.leaves[t]
			return uint(h.alpha(r)>>l.off) & (1<<l.width - 1)
		}
		vals, err := h.cb.Receive(ru.at, ru.count, ru.k, ru.w, choice, parts[g])
		if err != nil {
			return fmt.Errorf("compare: leaf messages: %w", err)
		}
		for i, v := range vals {
			r, t := h.p.leafOf(g, i)
			for j := range cuts {
				o := (r*cuts+j)*items + t
				h.cur.lt[o], h.cur.eq[o] = uint8(v>>j&1), uint8(v>>(cuts+j)&1)
			}
		}
	}
	return nil
}

// chooseLevel returns the choices of level s: per node (high eq, low lt,
// low eq) of the helper's shares.
func (h *Helper) chooseLevel(s int) ([]byte, error) {
	lv := h.p.levels[s]
	h.choice = make([]uint, lv.run.count)
	for i := range h.choice {
		rj, node := i/lv.nodes, i%lv.nodes
		lo, hi := rj*lv.items+2*node, rj*lv.items+2*node+1
		c := uint(h.cur.eq[hi]) | uint(h.cur.lt[lo])<<1
		if !lv.root {
			c |= uint(h.cur.eq[lo]) << 2
		}
		h.choice[i] = c
	}
	return h.cb.Derandomize(lv.run.at, lv.run.count, lv.run.k, func(i int) uint { return h.choice[i] })
}

func (h *Helper) receiveLevel(s int, msg []byte) error {
	lv := h.p.levels[s]
	vals, err := h.cb.Receive(lv.run.at, lv.run.count, lv.run.k, lv.run.w, func(i int) uint { return h.choice[i] }, msg)
	if err != nil {
		return fmt.Errorf("compare: level %d messages: %w", s, err)
	}
	h.cur = combine(h.cur, lv, h.p.n*h.p.cuts, func(i int) (uint8, uint8) { return uint8(vals[i] & 1), uint8(vals[i] >> 1 & 1) })
	return nil
}

// combine builds the next layer of one party's shares: node p of lt/eq
// pair (lo, hi) becomes lt = lt_hi ^ and1, eq = and2, where and1 and and2
// are the party's shares of eq_hi & lt_lo and eq_hi & eq_lo (from the OT);
// an odd last item passes up.
func combine(cur shares, lv level, groups int, ands func(i int) (uint8, uint8)) shares {
	items := (lv.items + 1) / 2
	next := newShares(groups, 1, items)
	for g := range groups {
		for node := range lv.nodes {
			hi := g*lv.items + 2*node + 1
			a1, a2 := ands(g*lv.nodes + node)
			next.lt[g*items+node] = cur.lt[hi] ^ a1
			next.eq[g*items+node] = a2
		}
		if lv.items%2 == 1 {
			last := g*lv.items + lv.items - 1
			next.lt[g*items+items-1], next.eq[g*items+items-1] = cur.lt[last], cur.eq[last]
		}
	}
	return next
}

// output is the helper's last message: per record and cut, msb(x_r) ^ its
// share of the carry.
func (h *Helper) output() []byte {
	n, cuts := h.p.n, h.p.cuts
	bits := ot.NewBits(n * cuts)
	for r := range n {
		for j := range cuts {
			bits.Set(r*cuts+j, uint(h.x[r]>>signBit&1)^uint(h.cur.lt[r*cuts+j]))
		}
	}
	return bitsBytes(bits, n*cuts)
}

func bitsBytes(b ot.Bits, n int) []byte {
	out := make([]byte, (n+7)/8)
	for i := range out {
		out[i] = byte(b[i/8] >> (8 * (i % 8)))
	}
	return out
}

func bytesBit(b []byte, i int) uint8 { return b[i/8] >> (i % 8) & 1 }

// Next takes the helper's message and returns the learner's answer; done
// reports that the helper's message was its last and Result is ready.
func (l *Learner) Next(msg []byte) (out []byte, done bool, err error) {
	switch {
	case l.result != nil:
		return nil, false, fmt.Errorf("%w: Next after the last message", ErrState)
	case l.stage == 0:
		out, err = l.offerLeaves(msg)
	case l.stage <= len(l.p.levels):
		out, err = l.offerLevel(l.stage-1, msg)
	default:
		return nil, true, l.finish(msg)
	}
	if err != nil {
		return nil, false, err
	}
	l.stage++
	return out, false, nil
}

func (l *Learner) randomBits(n int) []uint8 {
	b := make([]uint8, n)
	for i := 0; i < n; i += 64 {
		v := l.rnd.Uint64()
		for k := i; k < min(i+64, n); k++ {
			b[k] = uint8(v >> (k - i) & 1)
		}
	}
	return b
}

func (l *Learner) offerLeaves(msg []byte) ([]byte, error) {
	n, cuts, items := l.p.n, l.p.cuts, len(l.p.leaves)
	parts, err := split(msg, 1+len(l.p.leafRun), "random OTs and leaf choices")
	if err != nil {
		return nil, err
	}
	ob, err := l.o.Extend(l.p.total, parts[0])
	if err != nil {
		return nil, fmt.Errorf("compare: random OTs: %w", err)
	}
	l.ob = ob
	l.cur = shares{items: items, lt: l.randomBits(n * cuts * items), eq: l.randomBits(n * cuts * items)}
	out := make([][]byte, len(l.p.leafRun))
	for g, ru := range l.p.leafRun {
		message := func(i int, v uint) uint64 {
			r, t := l.p.leafOf(g, i)
			lf := l.p.leaves[t]
			var m uint64
			for j := range cuts {
				beta := uint(l.y[r*cuts+j]&lowMask>>lf.off) & (1<<lf.width - 1)
				o := (r*cuts+j)*items + t
				lt, eq := l.cur.lt[o], l.cur.eq[o]
				if v < beta {
					lt ^= 1
				}
				if v == beta {
					eq ^= 1
				}
				m |= uint64(lt)<<j | uint64(eq)<<(cuts+j)
			}
			return m
		}
		if out[g], err = ob.Offer(ru.at, ru.count, ru.k, ru.w, parts[1+g], message); err != nil {
			return nil, fmt.Errorf("compare: leaf choices: %w", err)
		}
	}
	return join(out...), nil
}

func (l *Learner) offerLevel(s int, msg []byte) ([]byte, error) {
	lv := l.p.levels[s]
	r1, r2 := l.randomBits(lv.run.count), l.randomBits(lv.run.count)
	cur := l.cur
	message := func(i int, x uint) uint64 {
		rj, node := i/lv.nodes, i%lv.nodes
		lo, hi := rj*lv.items+2*node, rj*lv.items+2*node+1
		eqHi := uint8(x&1) ^ cur.eq[hi]
		m := uint64(r1[i] ^ eqHi&(uint8(x>>1&1)^cur.lt[lo]))
		if !lv.root {
			m |= uint64(r2[i]^eqHi&(uint8(x>>2&1)^cur.eq[lo])) << 1
		}
		return m
	}
	out, err := l.ob.Offer(lv.run.at, lv.run.count, lv.run.k, lv.run.w, msg, message)
	if err != nil {
		return nil, fmt.Errorf("compare: level %d choices: %w", s, err)
	}
	l.cur = combine(cur, lv, l.p.n*l.p.cuts, func(i int) (uint8, uint8) { return r1[i], r2[i] })
	return out, nil
}

func (l *Learner) finish(msg []byte) error {
	n, cuts := l.p.n, l.p.cuts
	if len(msg) != (n*cuts+7)/8 {
		return fmt.Errorf("%w: %d bytes of output shares for %d comparisons", ErrMessage, len(msg), n*cuts)
	}
	res := make([]uint8, n*cuts)
	for i := range res {
		res[i] = 1 ^ bytesBit(msg, i) ^ uint8(l.y[i]>>signBit&1) ^ l.cur.lt[i]
	}
	l.result = res
	return nil
}

// Result returns, per record and cut (record by record), 1 when x_r + y_rj
// modulo 2^Width is non-negative as a signed Width-bit integer, else 0;
// nil before the helper's last message.
func (l *Learner) Result() []uint8 { return l.result }
