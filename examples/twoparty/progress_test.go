package main

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/veil-fl/veil/job"
)

// Without a terminal, a step of counted units whose units the job does not
// log (the alignment's phases) still ends with one line, and no bar is
// drawn.
func TestProgressCountedStepLogsItsEnd(t *testing.T) {
	var w, logs bytes.Buffer
	p := newProgress(&w, slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	require.False(t, p.tty)
	p.event(job.Event{Step: "aligning ids by PSI", Total: 3})
	for d := range 4 {
		p.event(job.Event{Step: "aligning ids by PSI", Done: d, Total: 3})
	}
	p.event(job.Event{Step: "aligning ids by PSI", Done: 3, Total: 3, End: true})
	require.Empty(t, w.String(), "no bar without a terminal")
	require.Equal(t, 1, strings.Count(logs.String(), "aligning ids by PSI: done"), logs.String())
}
