package config

import (
	"strings"
	"testing"
)

// TestLinkMbps: sbt.link_mbps reaches boost.Options.LinkMbps (0 by
// default) and a negative speed is refused naming the file, line and key.
func TestLinkMbps(t *testing.T) {
	sbt := strings.Replace(jobYAML, "model: lr", "model: sbt", 1)
	for _, c := range []struct {
		yaml string
		want float64
		err  string
	}{
		{sbt, 0, ""},
		{sbt + "sbt: {link_mbps: 100}\n", 100, ""},
		{sbt + "sbt: {link_mbps: -1}\n", 0, "job.yaml:11:1: sbt: sbt.link_mbps"},
	} {
		j, err := ParseJob("job.yaml", []byte(c.yaml))
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%q: error %v, want one naming %s", c.yaml, err, c.err)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		s, err := j.Spec()
		if err != nil {
			t.Fatal(err)
		}
		if s.SBT.LinkMbps != c.want {
			t.Errorf("link_mbps %v, want %v", s.SBT.LinkMbps, c.want)
		}
	}
}
