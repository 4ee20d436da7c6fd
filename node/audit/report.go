package audit

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

// Period is the span Report groups sessions by.
type Period string

// Periods.
const (
	PerDay   Period = "day"   // UTC days, "2026-12-07"
	PerMonth Period = "month" // UTC months, "2026-12"
	PerAll   Period = "all"   // one period, "all"
)

// ReportOptions select and group what Report shows. The zero value
// reports every bank, all time, per day.
type ReportOptions struct {
	// Bank keeps only the sessions with this peer ("" for all).
	Bank string
	// Since and Until keep the sessions ended (for unfinished ones,
	// begun) at or after Since and before Until; zero for no bound.
	Since, Until time.Time
	// Per is the period sessions are grouped by; "" is PerDay.
	Per Period
}

// ReportRow is one line of a report: a bank and period, its sessions, and
// one kind of disclosure made in them, summed.
type ReportRow struct {
	Bank, Period string
	// Sessions is the sessions of the bank in the period, Failed those
	// that did not end ok, Unfinished those the log shows begun and never
	// ended (counted in Sessions and Failed too).
	Sessions, Failed, Unfinished int
	// BytesSent and BytesReceived are the bank's sessions' bytes in the
	// period, from this node's side.
	BytesSent, BytesReceived uint64
	// Disclosure is one kind of disclosure summed over the bank's sessions
	// in the period (Count and Values added up); its To is empty in the
	// one row of a bank and period with no disclosure.
	Disclosure Disclosure
}

type reportKey struct{ bank, period string }

// Summarize aggregates the sessions of verified records (Read) per bank
// and period: the session records, and the sessions begun and never ended
// with what their step records say they disclosed. Rows are sorted by
// bank, period, receiver and step.
func Summarize(records []Record, opt ReportOptions) ([]ReportRow, error) {
	per := opt.Per
	if per == "" {
		per = PerDay
	}
	var layout string
	switch per {
	case PerDay:
		layout = "2006-01-02"
	case PerMonth:
		layout = "2006-01"
	case PerAll:
	default:
		return nil, fmt.Errorf("audit: report period %q: want %q, %q or %q", per, PerDay, PerMonth, PerAll)
	}
	period := func(t time.Time) string {
		if per == PerAll {
			return string(PerAll)
		}
		return t.UTC().Format(layout)
	}
	keep := func(bank string, t time.Time) bool {
		return (opt.Bank == "" || bank == opt.Bank) &&
			(opt.Since.IsZero() || !t.Before(opt.Since)) &&
			(opt.Until.IsZero() || t.Before(opt.Until))
	}

	type group struct {
		row   ReportRow
		discl []Disclosure
	}
	groups := map[reportKey]*group{}
	at := func(bank string, t time.Time) *group {
		k := reportKey{bank, period(t)}
		g := groups[k]
		if g == nil {
			g = &group{row: ReportRow{Bank: k.bank, Period: k.period}}
			groups[k] = g
		}
		return g
	}
	c := newChain()
	for _, r := range records {
		if r.Type == TypeSession {
			s := r.Session
			if keep(s.Peer.Name, r.Time) {
				g := at(s.Peer.Name, r.Time)
				g.row.Sessions++
				if s.Outcome != OutcomeOK {
					g.row.Failed++
				}
				g.row.BytesSent += s.BytesSent
				g.row.BytesReceived += s.BytesReceived
				g.discl = addDisclosures(g.discl, s.Disclosures)
			}
		}
		c.add(r)
	}
	for _, u := range c.unfinished() {
		if keep(u.Begin.Peer.Name, u.Time) {
			g := at(u.Begin.Peer.Name, u.Time)
			g.row.Sessions++
			g.row.Failed++
			g.row.Unfinished++
			g.discl = addDisclosures(g.discl, u.Disclosures)
		}
	}

	var rows []ReportRow
	for _, g := range groups {
		if len(g.discl) == 0 {
			rows = append(rows, g.row)
		}
		for _, d := range g.discl {
			row := g.row
			row.Disclosure = d
			rows = append(rows, row)
		}
	}
	sort.SliceStable(rows, func(i, j int) bool {
		a, b := rows[i], rows[j]
		if a.Bank != b.Bank {
			return a.Bank < b.Bank
		}
		if a.Period != b.Period {
			return a.Period < b.Period
		}
		if a.Disclosure.To != b.Disclosure.To {
			return a.Disclosure.To < b.Disclosure.To
		}
		if a.Disclosure.Step != b.Disclosure.Step {
			return a.Disclosure.Step < b.Disclosure.Step
		}
		return a.Disclosure.What < b.Disclosure.What
	})
	return rows, nil
}

// Report writes the disclosures per bank and period as a table (the body
// of `veil audit report FILE [-bank NAME] [-since T]`): bank, period,
// sessions (failed, unfinished), bytes each way, and per kind of
// disclosure the receiver, the step, what, the shape, the vectors and the
// values revealed.
func Report(w io.Writer, records []Record, opt ReportOptions) error {
	rows, err := Summarize(records, opt)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "BANK\tPERIOD\tSESSIONS\tFAILED\tUNFINISHED\tSENT\tRECEIVED\tTO\tSTEP\tWHAT\tSHAPE\tVECTORS\tVALUES")
	for _, r := range rows {
		d := r.Disclosure
		to, step, what, shape, vectors, values := "-", "-", "-", "-", "-", "-"
		if d.To != "" {
			to, step, what, vectors, values = d.To, d.Step, d.What, Count(int64(d.Count)), Count(d.Values)
			if d.Masked {
				what += " (masked shares)"
			}
			if len(d.Shape) > 0 {
				dims := make([]string, len(d.Shape))
				for i, n := range d.Shape {
					dims[i] = fmt.Sprint(n)
				}
				shape = strings.Join(dims, "x")
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n",
			cell(r.Bank), r.Period, r.Sessions, r.Failed, r.Unfinished,
			Count(int64(r.BytesSent)), Count(int64(r.BytesReceived)), cell(to), cell(step), cell(what), shape, vectors, values)
	}
	if len(rows) == 0 {
		fmt.Fprintln(tw, "(no sessions)")
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("audit: write report: %w", err)
	}
	return nil
}

// cell keeps a name on one table cell: tabs and line breaks become spaces.
func cell(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\t' || r == '\n' || r == '\r' || r == '\v' || r == '\f' {
			return ' '
		}
		return r
	}, s)
}

// ParseTime reads the time of a -since or -until flag: RFC 3339
// ("2026-12-07T06:00:00Z"), a UTC date ("2026-12-07") or month
// ("2026-12"), or a duration back from now ("72h": now minus 72 hours).
func ParseTime(s string, now time.Time) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02", "2006-01"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, fmt.Errorf("audit: time %q: want RFC 3339 (2026-12-07T06:00:00Z), a date (2026-12-07), a month (2026-12) or a duration back from now (72h)", s)
}
