package joint

import (
	"fmt"
	"github.com/veil-fl/veil/fl"
	"sync"

	"github.com/veil-fl/veil/he"
)

// ErrUndeclared reports a decryption the protocol did not declare: a
// vector the peer asks this party to help decrypt (or that this party is
// about to release) in another layout, length or level than its step's
// declaration, or one more than the step's count. The party refuses it and
// aborts the session.
var ErrUndeclared = fmt.Errorf("%w: undeclared decryption", fl.ErrProtocol)

// A Disclosure declares one step of a protocol that decrypts, or opens into
// shares, values for one party: what the values are, the shape of the
// vectors, and how many such vectors the whole run reveals. A protocol
// builds its plan from the options both parties agreed before it starts;
// the helping (or releasing) party checks every vector against it, so that
// what each party learns is exactly what the plan lists.
type Disclosure struct {
	// Step names the step ("vlr.loss").
	Step string `json:"step"`
	// To is the party that learns the values.
	To fl.Role `json:"to"`
	// What says in words what is revealed.
	What string `json:"what"`
	// Layout, Len (values per vector, AnyLen for any) and Level (AnyLevel
	// for any) are the shape every vector of the step has.
	Layout he.Layout `json:"layout"`
	Len    int       `json:"len"`
	Level  int       `json:"level"`
	// Vectors is how many vectors the step reveals in the whole run, and
	// Values how many values in all (for the record; Vectors is enforced).
	Vectors int `json:"vectors"`
	Values  int `json:"values"`
	// Masked: the values reach the receiver as a share masked with uniform
	// randomness (he.OpenToPeer), which reveals nothing by itself.
	Masked bool `json:"masked,omitempty"`
}

// A Plan is a protocol run's declared disclosures, with the count of
// vectors each step has revealed so far. It is safe for concurrent use.
type Plan struct {
	mu     sync.Mutex
	order  []string
	steps  map[string]Disclosure
	used   map[string]int
	coeffs int // coefficients admitted for decryption, for the flooding's budget
}

// NewPlan returns the plan of the given disclosures (steps distinct).
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

// Admit checks a vector about to be decrypted or opened for the step
// against its declaration and counts it; any mismatch, or one vector too
// many, is an ErrUndeclared naming the step.
//
// It also keeps the run within the coefficients its parameter set's
// flooding is sized for (he.ParamSet.MaxDecrypted): past them the
// statistical distance of the whole run would exceed 2^-40, and the vector
// is refused with he.ErrLimit.
func (p *Plan) Admit(params he.Params, step string, v *he.Vector) error {
	check := func(d Disclosure) error {
		return CheckVector(params, v, step, VectorWant{Layout: d.Layout, Len: d.Len, Level: d.Level})
	}
	return p.admit(step, check, func() budget {
		return budget{coeffs: len(v.Cts) * params.N(), max: params.Set().MaxDecrypted(), set: params.ID()}
	})
}

// AdmitShares is Admit for a share about to be revealed (he.SharedVector,
// which has no level and no flooding budget: Params.Flood sizes its own).
func (p *Plan) AdmitShares(step string, sv *he.SharedVector) error {
	return p.admit(step, func(d Disclosure) error {
		if sv == nil {
			return fmt.Errorf("step %s: no shares", step)
		}
		if sv.Layout != d.Layout || (d.Len != AnyLen && sv.Len != d.Len) {
			return fmt.Errorf("step %s: shares of a %s vector of %d values, the plan declares %s of %d", step, sv.Layout, sv.Len, d.Layout, d.Len)
		}
		return nil
	}, nil)
}

// budget is what one admitted vector costs of its parameter set's
// flooding budget: coefficients decrypted, out of max (0: none kept).
type budget struct {
	coeffs, max int
	set         string
}

// admit checks the vector's shape against the step, the step's count and
// the run's flooding budget, and only then counts the vector.
func (p *Plan) admit(step string, check func(Disclosure) error, cost func() budget) error {
	if p == nil {
		return fmt.Errorf("%w: step %s: no disclosure plan", ErrUndeclared, step)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	d, ok := p.steps[step]
	if !ok {
		return fmt.Errorf("%w: step %s is not in the plan", ErrUndeclared, step)
	}
	if err := check(d); err != nil {
		return fmt.Errorf("%w: %w", ErrUndeclared, err)
	}
	if p.used[step] >= d.Vectors {
		return fmt.Errorf("%w: step %s: vector %d, the plan declares %d", ErrUndeclared, step, p.used[step]+1, d.Vectors)
	}
	var b budget
	if cost != nil {
		b = cost()
	}
	if b.max > 0 && p.coeffs+b.coeffs > b.max {
		return fmt.Errorf("%w: step %s: %w: the run would decrypt %d coefficients, over the %d the flooding of %s is sized for", ErrUndeclared, step, he.ErrLimit, p.coeffs+b.coeffs, b.max, b.set)
	}
	p.used[step]++
	if b.max > 0 {
		p.coeffs += b.coeffs
	}
	return nil
}
