package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/veil-fl/veil/node/audit"
)

const auditUsage = `usage:
  veil audit verify FILE [-head HASH]
  veil audit report FILE [-bank NAME] [-since T] [-until T] [-per day|month|all]
`

// cmdAudit checks an audit log's chain (verify) or prints its disclosures
// per bank and period (report).
func cmdAudit(_ context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return &usageError{"missing subcommand: verify or report\n" + auditUsage}
	}
	switch args[0] {
	case "verify":
		return auditVerify(args[1:], stdout, stderr)
	case "report":
		return auditReport(args[1:], stdout, stderr)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, auditUsage)
		return flag.ErrHelp
	}
	return &usageError{fmt.Sprintf("unknown subcommand %q: verify or report\n%s", args[0], auditUsage)}
}

// parseFile parses a subcommand's flags and its one FILE argument, which
// may come before or after the flags.
func parseFile(fs *flag.FlagSet, args []string) (string, error) {
	var file string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		file, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return "", err
		}
		return "", &usageError{err.Error()}
	}
	rest := fs.Args()
	if file == "" && len(rest) > 0 {
		file, rest = rest[0], rest[1:]
	}
	if len(rest) > 0 {
		return "", &usageError{fmt.Sprintf("unexpected argument %q", rest[0])}
	}
	if file == "" {
		return "", &usageError{"missing FILE (the audit log)"}
	}
	return file, nil
}

// auditVerify checks the chain of FILE and prints its head; the error of
// a log that fails names its first bad line.
func auditVerify(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("audit verify", stderr)
	head := fs.String("head", "", "a head kept apart from the log (the hash of a record): the log must still hold it, so records cut from the tail or a rewritten chain are found")
	file, err := parseFile(fs, args)
	if err != nil {
		return err
	}
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	recs, h, err := audit.Read(f)
	if err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	if *head != "" {
		found := false
		for _, r := range recs {
			found = found || r.Hash == *head
		}
		if !found {
			return fmt.Errorf("%s: %w: no record has the head's hash %s: records were cut from the tail, or the chain was rewritten (the log ends at line %d, %s)",
				file, audit.ErrCorrupt, *head, h.Seq, h.Hash)
		}
	}
	fmt.Fprintf(stdout, "ok %s: %d records, head %d %s\n", file, h.Seq, h.Seq, h.Hash)
	return nil
}

// auditReport prints the disclosures of FILE per bank and period.
func auditReport(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("audit report", stderr)
	bank := fs.String("bank", "", "only this bank's sessions")
	since := fs.String("since", "", "only sessions at or after T: RFC 3339, a date (2026-12-07), a month (2026-12) or a duration back from now (72h)")
	until := fs.String("until", "", "only sessions before T (as -since)")
	per := fs.String("per", string(audit.PerDay), "the period rows group by: day, month or all")
	file, err := parseFile(fs, args)
	if err != nil {
		return err
	}
	opt := audit.ReportOptions{Bank: *bank, Per: audit.Period(*per)}
	switch opt.Per {
	case audit.PerDay, audit.PerMonth, audit.PerAll:
	default:
		return &usageError{fmt.Sprintf("-per %q: want day, month or all", *per)}
	}
	now := time.Now()
	for _, t := range []struct {
		flag, v string
		dst     *time.Time
	}{{"since", *since, &opt.Since}, {"until", *until, &opt.Until}} {
		if t.v == "" {
			continue
		}
		if *t.dst, err = audit.ParseTime(t.v, now); err != nil {
			return &usageError{fmt.Sprintf("-%s: %v", t.flag, err)}
		}
	}
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	// A report is only as good as the chain: it reads a verified log.
	recs, _, err := audit.Read(f)
	if err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	return audit.Report(stdout, recs, opt)
}
