//go:build !unix

package audit

import "os"

// lock is a no-op where flock is not available: run one node per file.
func lock(*os.File) error { return nil }
