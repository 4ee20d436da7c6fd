package compare

import (
	crand "crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"

	"github.com/veil-fl/veil/mpc/ot"
)

// Width is the width of the shares: values live modulo 2^Width and are
// compared as signed Width-bit integers.
const Width = 32

// MaxCuts bounds the comparisons per record (the leaves carry two bits per
// cut in one OT message of at most 64 bits).
const MaxCuts = 32

// blockBits is the width m of a leaf: the chooser's bits of one 1-out-of-16
// OT (CrypTFlow2's choice for 32-bit values).
const blockBits = 4

var (
	// ErrInput is returned for inputs the protocol cannot take.
	ErrInput = errors.New("compare: invalid input")
	// ErrMessage is returned for a peer message of the wrong shape.
	ErrMessage = errors.New("compare: malformed message")
	// ErrState is returned for a call out of the protocol's order.
	ErrState = errors.New("compare: call out of order")
)

// The comparison's carry is the millionaires' bit [alpha < beta] over the
// low Width-1 bits, alpha = 2^(Width-1) - 1 - low(x) (the chooser's) and beta
// = low(y) (the offerer's): low(x) + low(y) >= 2^(Width-1) exactly when
// alpha < beta. Then the sign bit of x + y is msb(x) ^ msb(y) ^ carry.
const lowBits = Width - 1

// leaf is block t of the low bits: its offset and width.
type leaf struct{ off, width int }

func leaves() []leaf {
	var ls []leaf
	for off := 0; off < lowBits; off += blockBits {
		ls = append(ls, leaf{off, min(blockBits, lowBits-off)})
	}
	return ls
}

// A run is a set of OTs of the same choice width that one message
// carries: leaves of one width, or the nodes of one level.
type run struct {
	at    int // first OT of the batch
	count int // OTs
	k     int // choice bits of each
	w     int // message bits
}

// plan lays out the batch's random OTs: the leaves (per record, shared by
// all cuts, grouped by width), then each level of the tree (per record,
// cut and node).
type plan struct {
	n, cuts int
	leaves  []leaf
	leafRun []run // leafRun[g]: leaves of group g
	group   []int // group of each leaf, and its index in the group
	inGroup []int
	// groupLeaves[g] lists the leaves of group g in order.
	groupLeaves [][]int
	levels      []level
	total       int
}

// level is one layer of the tree: nodes combine items 2p (low) and 2p+1
// (high) of the layer below; an odd last item passes up.
type level struct {
	items int // items below
	nodes int
	root  bool // the last level: the carry only (k = 2, one bit)
	run   run
}

func newPlan(n, cuts int) plan {
	p := plan{n: n, cuts: cuts, leaves: leaves()}
	byWidth := map[int]int{}
	for _, l := range p.leaves {
		g, ok := byWidth[l.width]
		if !ok {
			g = len(p.leafRun)
			byWidth[l.width] = g
			p.leafRun = append(p.leafRun, run{k: l.width, w: 2 * cuts})
			p.groupLeaves = append(p.groupLeaves, nil)
		}
		p.groupLeaves[g] = append(p.groupLeaves[g], len(p.group))
		p.group = append(p.group, g)
		p.inGroup = append(p.inGroup, p.leafRun[g].count)
		p.leafRun[g].count++
	}
	for g := range p.leafRun {
		p.leafRun[g].at = p.total
		p.leafRun[g].count *= n
		p.total += p.leafRun[g].count * p.leafRun[g].k
	}
	for items := len(p.leaves); items > 1; items = (items + 1) / 2 {
		lv := level{items: items, nodes: items / 2, root: items == 2}
		lv.run = run{at: p.total, count: n * cuts * lv.nodes, k: 3, w: 2}
		if lv.root {
			lv.run.k, lv.run.w = 2, 1
		}
		p.total += lv.run.count * lv.run.k
		p.levels = append(p.levels, lv)
	}
	return p
}

// shares holds one party's XOR shares of the lt and eq bits of every item
// of a layer, for every record and cut: index ((r*cuts)+j)*items + item.
type shares struct {
	items  int
	lt, eq []uint8
}

func newShares(n, cuts, items int) shares {
	return shares{items: items, lt: make([]uint8, n*cuts*items), eq: make([]uint8, n*cuts*items)}
}

func newRand() (*rand.ChaCha8, error) {
	var seed [32]byte
	if _, err := crand.Read(seed[:]); err != nil {
		return nil, fmt.Errorf("compare: randomness: %w", err)
	}
	return rand.NewChaCha8(seed), nil
}

// join and split frame the parts of a message: a uvarint length each.
func join(parts ...[]byte) []byte {
	size := 0
	for _, p := range parts {
		size += binary.MaxVarintLen64 + len(p)
	}
	out := make([]byte, 0, size)
	for _, p := range parts {
		out = binary.AppendUvarint(out, uint64(len(p)))
		out = append(out, p...)
	}
	return out
}

func split(msg []byte, n int, what string) ([][]byte, error) {
	parts := make([][]byte, n)
	for i := range parts {
		l, k := binary.Uvarint(msg)
		if k <= 0 || l > uint64(len(msg)-k) {
			return nil, fmt.Errorf("%w: %s: part %d of %d is cut short", ErrMessage, what, i, n)
		}
		parts[i], msg = msg[k:k+int(l)], msg[k+int(l):]
	}
	if len(msg) != 0 {
		return nil, fmt.Errorf("%w: %s: %d bytes after the %d parts", ErrMessage, what, len(msg), n)
	}
	return parts, nil
}

func checkInput(n, cuts int) error {
	if n < 1 || cuts < 1 || cuts > MaxCuts || n*cuts > ot.MaxBatch/64 {
		return fmt.Errorf("%w: %d records of %d cuts (want 1 .. %d cuts, at most %d comparisons a batch)", ErrInput, n, cuts, MaxCuts, ot.MaxBatch/64)
	}
	return nil
}
