package config

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestPSIFolders: the center's psi_store and a bank's psi_cache default to
// a folder beside the registry, and a given one resolves against the
// config's folder.
func TestPSIFolders(t *testing.T) {
	c, err := ParseCenter("/etc/veil/center.yaml", []byte(centerYAML))
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(filepath.Dir(c.Registry), "psi"); c.PSIStore != want {
		t.Errorf("default psi_store %q, want %q", c.PSIStore, want)
	}
	c, err = ParseCenter("/etc/veil/center.yaml", []byte(centerYAML+"psi_store: sets\n"))
	if err != nil || c.PSIStore != "/etc/veil/sets" {
		t.Errorf("psi_store: sets: %q, %v", c.PSIStore, err)
	}
	j, err := ParseJob("/home/bank/job.yaml", []byte(jobYAML))
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(filepath.Dir(j.Registry), "psi-cache"); j.PSICache != want {
		t.Errorf("default job psi_cache %q, want %q", j.PSICache, want)
	}
	s, err := ParseScore("/home/bank/score.yaml", []byte(scoreYAML+"psi_cache: /var/cache/veil\n"))
	if err != nil || s.PSICache != "/var/cache/veil" {
		t.Errorf("score psi_cache: %q, %v", s.PSICache, err)
	}
	c, err = ParseCenter("/etc/veil/center.yaml", []byte(strings.Replace(centerYAML, "registry: center-models/", "registry: /srv/models/", 1)))
	if err != nil || c.PSIStore != "/srv/psi" {
		t.Errorf("a registry with a trailing slash: psi_store %q, want /srv/psi beside it", c.PSIStore)
	}
	s, err = ParseScore("/home/bank/score.yaml", []byte(scoreYAML))
	if err != nil || s.PSICache != j.PSICache {
		t.Errorf("score's default psi_cache %q, the job's %q (%v)", s.PSICache, j.PSICache, err)
	}
}
