package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/veil-fl/veil/job"
	"golang.org/x/term"
)

// progress shows the long steps of the bank's side (alignment, key
// generation, epochs, trees, scoring): a progress bar on stderr when stderr
// is a terminal, quiet log lines otherwise. A nil *progress shows nothing
// (the center's side in one process, where the bank's bars suffice).
type progress struct {
	w   io.Writer
	tty bool
	log *slog.Logger
	cur *step // the job's step in progress (event)
}

// event shows a job's progress: a new step starts a bar (or a spinner),
// Done advances it, End finishes it.
func (p *progress) event(e job.Event) {
	if p.cur == nil || p.cur.name != e.Step {
		p.cur.finish()
		p.cur = p.start(e.Step, e.Total)
	}
	if e.Done > 0 {
		p.cur.set(e.Done, "")
	}
	if e.End {
		p.cur.finish()
		p.cur = nil
	}
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func newProgress(stderr io.Writer, log *slog.Logger) *progress {
	return &progress{w: stderr, tty: isTerminal(stderr), log: log}
}

// step is one long step in progress.
type step struct {
	p     *progress
	name  string
	total int
	bar   *progressbar.ProgressBar
	start time.Time
	// logged is set once a unit was logged: the step's end then needs no
	// line of its own.
	logged bool
}

// start begins a step of total units (epochs, trees), or of unknown length
// when total <= 0 (a spinner).
func (p *progress) start(name string, total int) *step {
	if p == nil {
		return nil
	}
	s := &step{p: p, name: name, total: total, start: time.Now()}
	if p.tty {
		opts := []progressbar.Option{
			progressbar.OptionSetWriter(p.w),
			progressbar.OptionSetDescription(name),
			progressbar.OptionSetElapsedTime(true),
			progressbar.OptionThrottle(100 * time.Millisecond),
		}
		max := total
		if total > 0 {
			opts = append(opts, progressbar.OptionShowCount(), progressbar.OptionSetPredictTime(true),
				progressbar.OptionShowElapsedTimeOnFinish(),
				progressbar.OptionOnCompletion(func() { fmt.Fprintln(p.w) }))
		} else {
			max = -1 // a spinner, replaced by one line when done
			opts = append(opts, progressbar.OptionSpinnerType(14), progressbar.OptionClearOnFinish())
		}
		s.bar = progressbar.NewOptions(max, opts...)
		_ = s.bar.RenderBlank()
	}
	return s
}

// set records that done units are finished; without a terminal it logs msg
// with attrs instead.
func (s *step) set(done int, msg string, attrs ...any) {
	if s == nil {
		return
	}
	if s.bar != nil {
		_ = s.bar.Set(done)
		return
	}
	if msg != "" {
		s.p.log.Info(msg, attrs...)
		s.logged = true
	}
}

// finish ends the step; without a terminal it logs one line with its time.
func (s *step) finish() {
	if s == nil {
		return
	}
	if s.bar != nil {
		// Finish also stops a spinner's ticker.
		_ = s.bar.Finish()
		if s.total <= 0 {
			fmt.Fprintf(s.p.w, "%s: done in %.1fs\n", s.name, time.Since(s.start).Seconds())
		}
		return
	}
	if s.logged {
		return // its units were logged one by one
	}
	level := slog.LevelInfo
	if time.Since(s.start) < quickStep {
		level = slog.LevelDebug
	}
	s.p.log.Log(context.Background(), level, s.name+": done", "seconds", time.Since(s.start).Seconds())
}

// quickStep is the time under which a finished step is not worth a line.
const quickStep = 500 * time.Millisecond
