package digest

import "testing"

func TestSumSplits(t *testing.T) {
	if Sum([]byte("conf"), []byte("igdata")) == Sum([]byte("config"), []byte("data")) {
		t.Fatal("two splits of the same bytes hash alike")
	}
	if Sum([]byte("ab")) != Sum([]byte("ab")) {
		t.Fatal("not deterministic")
	}
}
