package fltest

import (
	"os"
	"time"
)

// Deadline is d, a test's deadline for a run that should end well within
// it, stretched under the race detector, whose slowdown would otherwise
// turn a slow run into a "waited for the deadline" failure. The tests
// that check no party waits for the deadline use it: a hang still fails
// them, only later.
func Deadline(d time.Duration) time.Duration { return d * raceSlowdown }

// FullHostile reports whether the hostile-input tests run their whole
// matrix (every mutation of every message), as CI does with
// VEIL_HOSTILE=full; otherwise a plain run corrupts every message type one
// way ("truncated"), which keeps `go test ./...` within its time on two
// cores, and -short fewer still.
func FullHostile() bool { return os.Getenv("VEIL_HOSTILE") == "full" }
