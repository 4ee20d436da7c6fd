package audit

import "sync"

// Tally counts a running session's disclosures as the code that decrypts
// admits them (the node feeds it from the joint-decryption plans'
// admissions), and hands them out as Step records (Flush: what was added
// since the last flush) and as the session record's totals (Total). It is
// safe for concurrent use.
type Tally struct {
	mu           sync.Mutex
	total, fresh []Disclosure
}

// Add counts d (Count vectors, Values values) with those of the same
// receiver, step, what, shape and masking.
func (t *Tally) Add(d Disclosure) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.total = addDisclosures(t.total, []Disclosure{d})
	t.fresh = addDisclosures(t.fresh, []Disclosure{d})
}

// Flush returns what was added since the last Flush (nil for nothing) and
// starts afresh: the Disclosures of the session's next Step record.
func (t *Tally) Flush() []Disclosure {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := t.fresh
	t.fresh = nil
	return out
}

// Total returns everything added: the Disclosures of the session record.
func (t *Tally) Total() []Disclosure {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]Disclosure, len(t.total))
	for i, d := range t.total {
		d.Shape = append([]int(nil), d.Shape...)
		out[i] = d
	}
	return out
}
