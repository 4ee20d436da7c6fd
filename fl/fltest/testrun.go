package fltest

import "time"

// Deadline is d, a test's deadline for a run that should end well within
// it, stretched under the race detector, whose slowdown would otherwise
// turn a slow run into a "waited for the deadline" failure. The tests
// that check no party waits for the deadline use it: a hang still fails
// them, only later.
func Deadline(d time.Duration) time.Duration { return d * raceSlowdown }
