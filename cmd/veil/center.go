package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"

	"github.com/veil-fl/veil/node"
	"github.com/veil-fl/veil/node/config"
)

// cmdCenter serves the credit center's node, or with -check validates its
// config.
func cmdCenter(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("center", stderr)
	path := fs.String("config", "", "the center's config file (center.yaml; see package node/config)")
	check := fs.Bool("check", false, "validate the config, the PEM files and the tables, then exit without serving")
	lv := logLevel(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := need(map[string]string{"config": *path}); err != nil {
		return err
	}
	cfg, err := config.LoadCenter(*path)
	if err != nil {
		return err
	}
	if *check {
		return checkCenter(ctx, cfg, stdout)
	}
	log := newLogger(stderr, lv)
	c, err := node.NewCenter(cfg, log)
	if err != nil {
		return err
	}
	defer c.Close() // the audit log's lock, if Serve is never reached
	// SIGINT/SIGTERM: drain and stop; a second one kills (the default
	// handling is restored once draining starts). SIGHUP: reload tables.
	// Both are caught before "listening" is printed. The node starts to
	// drain (and says so) only after the default handling is back, so that
	// a second signal sent on seeing "draining" kills.
	sig, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, drain := context.WithCancel(ctx)
	defer drain()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	if err := c.Listen(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "listening %s\n", c.Addr())
	go func() { // ends when cmdCenter returns (its deferred drain)
		for {
			select {
			case <-sig.Done():
				stop()
				drain()
				return
			case <-ctx.Done():
				return
			case <-hup:
				if err := c.Reload(ctx); err != nil {
					log.Error("reload failed: the tables loaded before stay in use", "err", err)
				}
			}
		}
	}()
	return c.Serve(ctx)
}

// checkCenter validates what a center would serve and prints a summary.
func checkCenter(ctx context.Context, cfg *config.Center, stdout io.Writer) error {
	if err := cfg.CheckFiles(); err != nil {
		return err
	}
	tables, err := cfg.LoadTables(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: ok\n", cfg.File)
	for _, name := range sortedNames(cfg.Tables) {
		t := tables[name]
		fmt.Fprintf(stdout, "  table %s: %d rows, %d feature columns (%s)\n", name, t.Rows(), len(t.Columns), cfg.Tables[name].Source)
	}
	for _, name := range cfg.BankNames() {
		b, _ := cfg.Bank(name)
		cols := "all columns"
		if len(b.Columns) > 0 {
			cols = fmt.Sprintf("%d columns", len(b.Columns))
		}
		outputs := strings.Join(b.Outputs, ", ")
		if outputs == "" {
			outputs = "no scoring"
		}
		fmt.Fprintf(stdout, "  bank %s: tables %s, %s; models %s; outputs %s; %d sessions, %d rows\n", name,
			strings.Join(b.Tables, ", "), cols, strings.Join(b.Models, ", "), outputs, b.MaxSessions, b.MaxRows)
	}
	l := cfg.Limits
	fmt.Fprintf(stdout, "  limits: %d sessions, %d per bank, %d trainings, %d rows, session %s, idle %s\n",
		l.Sessions, l.PerBank, l.Trainings, l.Rows, l.SessionTimeout, l.IdleTimeout)
	return nil
}

func sortedNames[V any](m map[string]V) []string {
	var names []string
	for k := range m {
		names = append(names, k)
	}
	slices.Sort(names)
	return names
}
