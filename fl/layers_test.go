package fl_test

import (
	"os/exec"
	"strings"
	"testing"
)

// The layout's layers hold: no protocol links gRPC, the transports link no
// lattigo, and he, mpc, model and dataset import nothing of fl.
func TestLayers(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command on PATH to list dependencies")
	}
	const mod = "github.com/veil-fl/veil/"
	rules := []struct {
		pkgs      []string
		forbidden string
	}{
		{[]string{"fl/align", "fl/vlr", "fl/boost", "fl/woe", "fl/score", "fl/joint", "job"}, "google.golang.org/grpc"},
		{[]string{"fl", "fl/link"}, "github.com/tuneinsight/lattigo"},
		{[]string{"he", "mpc/psi", "mpc/ot", "mpc/compare", "model", "dataset"}, mod + "fl"},
	}
	for _, r := range rules {
		for _, p := range r.pkgs {
			out, err := exec.Command("go", "list", "-deps", mod+p).Output()
			if err != nil {
				t.Fatalf("go list -deps %s: %v", p, err)
			}
			for _, dep := range strings.Fields(string(out)) {
				if dep == r.forbidden || strings.HasPrefix(dep, r.forbidden+"/") {
					t.Errorf("%s depends on %s", p, dep)
				}
			}
		}
	}
}
