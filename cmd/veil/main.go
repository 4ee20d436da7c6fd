// Command veil runs a credit center's node and a bank's jobs against it.
//
//	veil pki -out DIR -names center,bank-a,bank-b
//	veil center -config center.yaml [-check]
//	veil train -config job.yaml [-json]
//	veil score -config score.yaml [-json]
//	veil models -registry DIR [-json]
//	veil audit verify FILE [-head HASH]
//	veil audit report FILE [-bank NAME] [-since T] [-until T] [-per day|month|all]
//
// pki writes a throwaway CA and one certificate per name (ca.pem, NAME.pem,
// NAME-key.pem), for pilots; production uses the institutions' own PKI.
//
// center serves the credit center's node (package node) until SIGINT or
// SIGTERM: then it refuses new sessions and waits for the running ones to
// finish or time out. SIGHUP reloads the tables whose sources changed;
// running sessions keep the tables they started with. It prints
// "listening ADDR" on stdout once it accepts sessions. With -check it only
// validates: the config (package config: keys, types, the policy's tables,
// models and outputs), the certificate, key and CA files, and every table,
// loaded and checked against the banks' columns; it prints a summary.
//
// train runs one training job of the bank with the center (job.yaml) and
// stores the bank's half in its registry; the center stores its own. With
// -json it prints one line: model, name, version, auc and ks on the test
// rows, rows_aligned, train_seconds, bytes_sent and more.
//
// score scores the bank's enterprises with a registered model and writes
// grades.csv and whitelist.csv into the config's out folder. What the
// bank learns is the output the center's policy allows it: grades by
// secure comparison (bands, approve), or decrypted scores (scores).
//
// models lists a registry: name, version, kind, created, test metrics and
// the job config's digest, with the owner (the bank) on a center's.
//
// audit verify checks an audit log's hash chain (package node/audit) and
// prints its head, or names the first altered, removed or reordered line
// (exit status 1); -head also checks that the log still holds a head kept
// apart. audit report prints a verified log's disclosures per bank and
// period as a table: sessions, bytes each way and, per kind of disclosure,
// what was revealed to whom, as counts and shapes.
//
// The config files are documented in package config
// (github.com/veil-fl/veil/node/config), with a commented example of each
// in cmd/veil/testdata. Exit status: 0 done, 1 error, 2 usage. Logs and
// errors go to stderr, results to stdout; the logs are JSON lines
// (log/slog) unless stderr is a terminal.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"

	"golang.org/x/term"
)

// Exit statuses.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

const usage = `usage:
  veil pki -out DIR -names center,bank-a,bank-b
  veil center -config center.yaml [-check]
  veil train -config job.yaml [-json]
  veil score -config score.yaml [-json]
  veil models -registry DIR [-json]
  veil audit verify FILE [-head HASH]
  veil audit report FILE [-bank NAME] [-since T] [-until T] [-per day|month|all]
Run "veil COMMAND -h" for a command's flags.
`

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

// usageError is a command line the command cannot run: exit status 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

// run runs the command line args; ctx ending stops a center as SIGTERM
// does (tests).
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	cmds := map[string]func(context.Context, []string, io.Writer, io.Writer) error{
		"pki": cmdPKI, "center": cmdCenter, "train": cmdTrain, "score": cmdScore, "models": cmdModels, "audit": cmdAudit,
	}
	name := args[0]
	if name == "-h" || name == "-help" || name == "--help" || name == "help" {
		fmt.Fprint(stdout, usage)
		return exitOK
	}
	cmd, ok := cmds[name]
	if !ok {
		fmt.Fprintf(stderr, "veil: unknown command %q\n%s", name, usage)
		return exitUsage
	}
	err := cmd(ctx, args[1:], stdout, stderr)
	var ue *usageError
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "veil %s: %v\n", name, err)
		return exitUsage
	default:
		fmt.Fprintf(stderr, "veil %s: %v\n", name, err)
		return exitError
	}
}

// flags is a subcommand's flag set; parse turns flag errors and stray
// arguments into usage errors.
func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("veil "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return &usageError{err.Error()}
	}
	if fs.NArg() > 0 {
		return &usageError{fmt.Sprintf("unexpected argument %q", fs.Arg(0))}
	}
	return nil
}

// need returns a usage error naming the flags among names left empty.
func need(flags map[string]string) error {
	var missing []string
	for name, v := range flags {
		if v == "" {
			missing = append(missing, "-"+name)
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return &usageError{"missing " + strings.Join(missing, ", ")}
	}
	return nil
}

// logLevel adds -log to fs.
func logLevel(fs *flag.FlagSet) *slog.LevelVar {
	lv := new(slog.LevelVar)
	fs.TextVar(lv, "log", lv, "log level: debug, info, warn or error")
	return lv
}

// newLogger logs to w: text on a terminal, JSON lines otherwise (a
// service's log collector).
func newLogger(w io.Writer, lv *slog.LevelVar) *slog.Logger {
	opts := &slog.HandlerOptions{Level: lv}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}
