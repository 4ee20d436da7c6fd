// Package digest hashes the parts of a training's configuration and data
// into the checkpoint digests of package fl and its protocols.
package digest

import (
	"crypto/sha256"
	"strconv"
)

// Sum is a SHA-256 over the parts, each length-prefixed, so that different
// splits of the same bytes hash differently.
func Sum(parts ...[]byte) [32]byte {
	h := sha256.New()
	for _, p := range parts {
		h.Write(strconv.AppendInt(nil, int64(len(p)), 10))
		h.Write([]byte{':'})
		h.Write(p)
	}
	return [32]byte(h.Sum(nil))
}
