// Package testmode tells tests how thorough to be. A plain `go test ./...`
// keeps within its ten minutes on two cores; CI sets VEIL_TEST=full, which
// adds the hostile-input tests' whole matrix (every mutation of every
// message), the real-data trainings on every shared dataset and the noise
// measurements at the parameter sets' row limits.
package testmode

import "os"

// Full reports whether VEIL_TEST=full asks for the whole matrix.
func Full() bool { return os.Getenv("VEIL_TEST") == "full" }
