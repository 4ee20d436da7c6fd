package audit_test

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/veil-fl/veil/node/audit"
)

// The node's use: open the log at start (closing the sessions a crash
// left unfinished), a begin record when a session starts, step records as
// it discloses, the session record before its result is released.
func Example() {
	dir, err := os.MkdirTemp("", "audit")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "audit.jsonl")

	log, err := audit.Open(path, audit.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, u := range log.Unfinished() {
		_, _ = log.Append(audit.Session{Begin: u.Begin, Disclosures: u.Disclosures, Outcome: audit.OutcomeAborted, Error: "the node restarted during the session"})
	}
	b := audit.Begin{ID: "7f3a", Peer: audit.Peer{Name: "bank-a"}, Protocol: "vlr", Table: "enterprises", Columns: []string{"tax_paid", "social_insurance"}, PeerColumns: 13}
	if _, err := log.Append(b); err != nil {
		fmt.Println(err)
		return
	}
	s := audit.Session{
		Begin: b, Rows: 30000, Duration: 95 * time.Second, Outcome: audit.OutcomeOK,
		Disclosures: []audit.Disclosure{
			{To: "bank-a", Step: "vlr.loss", What: "loss sums", Count: 30, Values: 30},
			{To: "center", Step: "vlr.weights", What: "its 2 final weights", Count: 1, Values: 2, Shape: []int{2}},
		},
	}
	if _, err := log.Append(s); err != nil { // fsync'd: now release the result
		fmt.Println(err)
		return
	}
	fmt.Println(s.Summary())
	if err := log.Close(); err != nil {
		fmt.Println(err)
		return
	}

	f, err := os.Open(path)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer f.Close()
	head, err := audit.Verify(f)
	fmt.Println(head.Seq, err)
	// Output:
	// to bank-a: 30 x loss sums; to center: 1 x its 2 final weights
	// 3 <nil>
}
