package joint

import (
	"context"
	"fmt"
	"math"
	"sync"

	"github.com/veil-fl/veil/fl"
	"github.com/veil-fl/veil/he"
)

// ErrUndeclared reports a decryption the protocol did not declare: a
// vector the peer asks this party to help decrypt (or that this party is
// about to release) for another receiver, or in another layout, length,
// level or scale than its step's declaration, or one more than the step's
// count. The party refuses it and aborts the session. The refusals of a
// plan are *UndeclaredError values, which match it.
var ErrUndeclared = fmt.Errorf("%w: undeclared decryption", fl.ErrProtocol)

// UndeclaredError is a vector a plan refused: the step, the part of the
// declaration it breaks and both values, so that the party told of it (the
// error reaches the peer as the abort's reason) can see which side is
// wrong. It holds shapes and roles only, never a value of the vector.
type UndeclaredError struct {
	Step string
	// Field is what differs: "plan" (none), "step" (not in the plan),
	// "holder" (the plan is held by no party), "receiver", "ciphertexts", "layout", "length",
	// "level", "scale" or "count" (one vector more than declared).
	Field string
	// Got is the vector's (or the request's), Want the plan's.
	Got, Want string
}

func (e *UndeclaredError) Error() string {
	switch e.Field {
	case "plan":
		return fmt.Sprintf("%v: step %s: no disclosure plan", ErrUndeclared, e.Step)
	case "step":
		return fmt.Sprintf("%v: step %s is not in the plan", ErrUndeclared, e.Step)
	case "holder":
		return fmt.Sprintf("%v: step %s: the plan is held by %s, want %s", ErrUndeclared, e.Step, e.Got, e.Want)
	case "receiver":
		return fmt.Sprintf("%v: step %s: a decryption to the %s party, the plan declares it to the %s party", ErrUndeclared, e.Step, e.Got, e.Want)
	case "count":
		return fmt.Sprintf("%v: step %s: vector %s, the plan declares %s", ErrUndeclared, e.Step, e.Got, e.Want)
	}
	return fmt.Sprintf("%v: step %s: %s %s, the plan declares %s", ErrUndeclared, e.Step, e.Field, e.Got, e.Want)
}

// Unwrap makes errors.Is match ErrUndeclared (and fl.ErrProtocol).
func (e *UndeclaredError) Unwrap() error { return ErrUndeclared }

// A Disclosure declares one step of a protocol that decrypts, or opens into
// shares, values for one party: what the values are, the shape of the
// vectors, and how many such vectors the whole run reveals. A protocol
// builds its plan from the options both parties agreed before it starts;
// the helping (or releasing) party checks every vector against it, so that
// what each party learns is exactly what the plan lists.
type Disclosure struct {
	// Step names the step ("vlr.loss").
	Step string `json:"step"`
	// To is the party that learns the values: the peer of the party that
	// helps decrypt or opens them, which refuses a step declared to itself
	// (a peer that would have it help decrypt what the plan gives this
	// party, and so learn it too).
	To fl.Role `json:"to"`
	// What says in words what is revealed.
	What string `json:"what"`
	// Layout, Len (values per vector, AnyLen for any up to MaxLen) and
	// Level (AnyLevel for any) are the shape every vector of the step has.
	Layout he.Layout `json:"layout"`
	Len    int       `json:"len"`
	// MaxLen, with Len AnyLen, is the most values a vector may hold: the
	// declaration of a step whose vectors vary in length (a shorter last
	// batch, the nodes of a tree level). 0 sets no maximum.
	MaxLen int `json:"max_len,omitempty"`
	Level  int `json:"level"`
	// LogScale is log2 of the scale of every vector of the step (of each
	// ciphertext, or of shares), within ScaleTolerance bits: the scale the
	// flooding and the decryption headroom were sized for. 0 leaves
	// vectors to the parameters' scale within a bit, and shares unchecked.
	LogScale float64 `json:"log_scale,omitempty"`
	// Vectors is how many vectors the step reveals in the whole run, and
	// Values how many values in all (for the record; Vectors is enforced).
	Vectors int `json:"vectors"`
	Values  int `json:"values"`
	// Masked: the values reach the receiver as a share masked with uniform
	// randomness (he.OpenToPeer), which reveals nothing by itself.
	Masked bool `json:"masked,omitempty"`
}

func (d Disclosure) want() VectorWant {
	return VectorWant{Layout: d.Layout, Len: d.Len, MaxLen: d.MaxLen, Level: d.Level, LogScale: d.LogScale}
}

// A Plan is a protocol run's declared disclosures, with the count of
// vectors each step has revealed so far, as one party holds it. It is safe
// for concurrent use.
type Plan struct {
	mu      sync.Mutex
	holder  fl.Role               // the party that admits vectors; "" admits none
	observe func(Admission) error // the observer of the context it was taken up with; nil: none
	order   []string
	steps   map[string]Disclosure
	used    map[string]int
	coeffs  int // coefficients admitted for decryption, for the flooding's budget
}

// NewPlan returns the plan of the given disclosures (steps distinct). It
// is held by no party and admits nothing until HeldBy names its holder.
func NewPlan(ds ...Disclosure) *Plan {
	p := &Plan{steps: map[string]Disclosure{}, used: map[string]int{}}
	for _, d := range ds {
		if _, dup := p.steps[d.Step]; !dup {
			p.order = append(p.order, d.Step)
		}
		p.steps[d.Step] = d
	}
	return p
}

// HeldBy returns a copy of the plan's declarations, with no vector counted
// yet, held by the party self: every vector it admits is decrypted or
// opened to self's peer, so it admits only the steps declared to the peer.
// Both parties build the same plan; each holds its own copy. ctx is the
// session's: the copy keeps its observer (WithObserver), if any, and
// tells it every admission, on whatever goroutine it is made.
//
// A step declared to the peer with no vector and some values (what a
// secure comparison reveals, such as scoring's bands: nothing is
// decrypted, so nothing is admitted) is reported to the observer here,
// once, with its declared values (Admission's Undecrypted).
func (p *Plan) HeldBy(ctx context.Context, self fl.Role) *Plan {
	q := NewPlan(p.Disclosures()...)
	q.holder = self
	q.observe = ObserverFrom(ctx)
	for _, d := range q.Disclosures() {
		if d.To == peerOf(self) && d.Vectors == 0 && d.Values > 0 {
			// HeldBy cannot refuse: an observer's error here is its own
			// to report.
			_ = q.notify(Admission{Holder: self, To: d.To, Step: d.Step, What: d.What, Masked: d.Masked,
				Layout: d.Layout, Len: d.Values, Undecrypted: true})
		}
	}
	return q
}

// Holder returns the party that holds the plan ("" for none).
func (p *Plan) Holder() fl.Role {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.holder
}

// Disclosures returns the declared disclosures, in declaration order.
func (p *Plan) Disclosures() []Disclosure {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]Disclosure, 0, len(p.order))
	for _, s := range p.order {
		out = append(out, p.steps[s])
	}
	return out
}

// Used returns how many vectors the step has revealed.
func (p *Plan) Used(step string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.used[step]
}

// Admit checks a vector about to be decrypted or opened for the step, to
// the holder's peer, against its declaration and counts it; any mismatch
// (receiver, layout, length, level, scale), or one vector too many, is an
// *UndeclaredError naming the step.
//
// It also keeps the run within the coefficients its parameter set's
// flooding is sized for (he.ParamSet.MaxDecrypted): past them the
// statistical distance of the whole run would exceed 2^-40, and the vector
// is refused with he.ErrLimit.
func (p *Plan) Admit(params he.Params, step string, v *he.Vector) error {
	return p.admitVector(params, step, v, false)
}

// admitVector is Admit; sum: only the sum of v's values is to be revealed
// (HelpDecryptSum), which the observer hears as one value.
func (p *Plan) admitVector(params he.Params, step string, v *he.Vector, sum bool) error {
	check := func(d Disclosure) *UndeclaredError {
		if m := d.want().check(params, v); m != nil {
			return &UndeclaredError{Step: step, Field: m.field, Got: m.got, Want: m.want}
		}
		return nil
	}
	return p.admit(step, check, func() budget {
		return budget{coeffs: len(v.Cts) * params.N(), max: params.Set().MaxDecrypted(), set: params.ID()}
	}, shape{v.Layout, v.Len, len(v.Cts), sum})
}

// shape is an admitted vector's, for the observer (Admission).
type shape struct {
	layout he.Layout
	n, cts int
	sum    bool
}

// AdmitShares is Admit for a share about to be revealed (he.SharedVector,
// which has no level and no flooding budget: Params.Flood sizes its own).
// A step that declares a level is one of ciphertexts, and refuses shares.
func (p *Plan) AdmitShares(step string, sv *he.SharedVector) error {
	var sh shape
	if sv != nil {
		sh = shape{sv.Layout, sv.Len, len(sv.Shares), false}
	}
	return p.admit(step, func(d Disclosure) *UndeclaredError {
		mis := func(field, got, want string) *UndeclaredError {
			return &UndeclaredError{Step: step, Field: field, Got: got, Want: want}
		}
		if sv == nil || len(sv.Shares) == 0 {
			return mis("ciphertexts", "no shares", "at least one")
		}
		if sv.Layout != d.Layout {
			return mis("layout", sv.Layout.String(), d.Layout.String())
		}
		if m := d.want().checkLen(sv.Len); m != nil {
			return mis(m.field, m.got, m.want)
		}
		if d.Level != AnyLevel {
			return mis("level", "shares (no level)", fmt.Sprint(d.Level))
		}
		if s := math.Log2(sv.Scale); d.LogScale != 0 && !(math.Abs(s-d.LogScale) <= ScaleTolerance) {
			return mis("scale", fmt.Sprintf("2^%.3f", s), fmt.Sprintf("2^%.3f", d.LogScale))
		}
		return nil
	}, nil, sh)
}

// budget is what one admitted vector costs of its parameter set's
// flooding budget: coefficients decrypted, out of max (0: none kept).
type budget struct {
	coeffs, max int
	set         string
}

// peerOf returns the other party of a two-party run ("" for a role that
// is neither).
func peerOf(r fl.Role) fl.Role {
	switch r {
	case fl.RoleActive:
		return fl.RolePassive
	case fl.RolePassive:
		return fl.RoleActive
	}
	return ""
}

// admit checks the receiver, the vector's shape, the step's count and the
// run's flooding budget, in that order, then tells the plan's observer
// (WithObserver), and only then counts the vector. An
// observer's error refuses the vector: nothing is revealed that the
// observer could not record.
func (p *Plan) admit(step string, check func(Disclosure) *UndeclaredError, cost func() budget, sh shape) error {
	if p == nil {
		return &UndeclaredError{Step: step, Field: "plan"}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	d, ok := p.steps[step]
	if !ok {
		return &UndeclaredError{Step: step, Field: "step"}
	}
	to := peerOf(p.holder)
	if to == "" {
		return &UndeclaredError{Step: step, Field: "holder", Got: fmt.Sprintf("%q", p.holder), Want: fmt.Sprintf("%q or %q (Plan.HeldBy)", fl.RoleActive, fl.RolePassive)}
	}
	if d.To != to {
		return &UndeclaredError{Step: step, Field: "receiver", Got: string(to), Want: string(d.To)}
	}
	if err := check(d); err != nil {
		return err
	}
	if p.used[step] >= d.Vectors {
		return &UndeclaredError{Step: step, Field: "count", Got: fmt.Sprint(p.used[step] + 1), Want: fmt.Sprint(d.Vectors)}
	}
	var b budget
	if cost != nil {
		b = cost()
	}
	if b.max > 0 && p.coeffs+b.coeffs > b.max {
		return fmt.Errorf("%w: step %s: %w: the run would decrypt %d coefficients, over the %d the flooding of %s is sized for", ErrUndeclared, step, he.ErrLimit, p.coeffs+b.coeffs, b.max, b.set)
	}
	a := Admission{Holder: p.holder, To: d.To, Step: d.Step, What: d.What, Masked: d.Masked,
		Layout: sh.layout, Len: sh.n, Ciphertexts: sh.cts, FixedLen: d.Len != AnyLen && !sh.sum, Sum: sh.sum}
	if sh.sum {
		a.Len = 1
	}
	if err := p.notify(a); err != nil {
		return fmt.Errorf("joint: step %s: the disclosure could not be recorded, so it is refused: %w", step, err)
	}
	p.used[step]++
	if b.max > 0 {
		p.coeffs += b.coeffs
	}
	return nil
}

// notify reports an admission to the plan's observer and returns its
// error (nil without one).
func (p *Plan) notify(a Admission) error {
	if p.observe == nil {
		return nil
	}
	return p.observe(a)
}
