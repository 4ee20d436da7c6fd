package registry

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestPutGet(t *testing.T) {
	r, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	created := time.Date(2026, 12, 7, 5, 0, 0, 0, time.UTC)
	m1, err := r.Put(Meta{Owner: "bank-a", Name: "sme", Kind: "lr", Training: "t1", Created: created, Metrics: map[string]float64{"auc": 0.8}},
		map[string][]byte{"passive_lr.json": []byte("half 1")})
	if err != nil {
		t.Fatal(err)
	}
	if m1.Version != 1 || !slices.Equal(m1.Files, []string{"passive_lr.json"}) {
		t.Errorf("first put %+v", m1)
	}
	m2, err := r.Put(Meta{Owner: "bank-a", Name: "sme", Kind: "sbt", Training: "t2"}, map[string][]byte{"passive_sbt.json": []byte("half 2")})
	if err != nil || m2.Version != 2 || m2.Created.IsZero() {
		t.Fatalf("second put %+v %v", m2, err)
	}
	latest, err := r.Get("bank-a", "sme", 0)
	if err != nil || latest.Version != 2 || latest.Kind != "sbt" {
		t.Errorf("latest %+v %v", latest, err)
	}
	got, err := r.Get("bank-a", "sme", 1)
	if err != nil || !got.Created.Equal(created) || got.Metrics["auc"] != 0.8 || got.Training != "t1" {
		t.Errorf("v1 %+v %v", got, err)
	}
	b, err := r.ReadFile(got, "passive_lr.json")
	if err != nil || string(b) != "half 1" {
		t.Errorf("file %q %v", b, err)
	}
	if _, err := r.ReadFile(got, "passive_sbt.json"); !errors.Is(err, ErrNotFound) {
		t.Errorf("file of another version: %v", err)
	}
	if m, err := r.FindTraining("bank-a", "sme", "t1"); err != nil || m.Version != 1 {
		t.Errorf("FindTraining %+v %v", m, err)
	}
	if _, err := r.FindTraining("bank-a", "sme", "t9"); !errors.Is(err, ErrNotFound) {
		t.Errorf("FindTraining of an unknown id: %v", err)
	}
	// A given version that exists is refused and left as it was.
	if _, err := r.Put(Meta{Owner: "bank-a", Name: "sme", Version: 1, Kind: "lr"}, map[string][]byte{"passive_lr.json": []byte("other")}); !errors.Is(err, ErrExists) {
		t.Errorf("overwrite: %v", err)
	}
	if b, _ := r.ReadFile(got, "passive_lr.json"); string(b) != "half 1" {
		t.Errorf("v1 overwritten: %q", b)
	}
	if m, err := r.Put(Meta{Owner: "bank-a", Name: "sme", Version: 7, Kind: "lr"}, nil); err != nil || m.Version != 7 {
		t.Errorf("given version: %+v %v", m, err)
	}
	for _, c := range []struct {
		owner, name string
		version     int
		want        error
	}{{"bank-a", "sme", 3, ErrNotFound}, {"bank-b", "sme", 0, ErrNotFound}, {"bank-a", "../x", 0, ErrBadName}, {"a/b", "sme", 0, ErrBadName}, {"bank-a", "42", 0, ErrBadName}, {"bank-a", "sme", -1, ErrBadName}} {
		if _, err := r.Get(c.owner, c.name, c.version); !errors.Is(err, c.want) {
			t.Errorf("Get(%q, %q, %d) = %v, want %v", c.owner, c.name, c.version, err, c.want)
		}
	}
	for _, f := range []string{"meta.json", "../x", ".hidden", "a/b", ""} {
		if _, err := r.Put(Meta{Owner: "bank-a", Name: "sme"}, map[string][]byte{f: nil}); !errors.Is(err, ErrBadName) {
			t.Errorf("file name %q: %v", f, err)
		}
	}
}

func TestListBothLayouts(t *testing.T) {
	r, _ := Open(t.TempDir())
	for _, m := range []Meta{{Owner: "bank-b", Name: "a"}, {Owner: "bank-a", Name: "z"}, {Owner: "bank-a", Name: "z"}, {Name: "mine"}} {
		if _, err := r.Put(m, nil); err != nil {
			t.Fatal(err)
		}
	}
	list, err := r.List()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range list {
		got = append(got, what(m.Owner, m.Name, m.Version))
	}
	if want := []string{"mine v1", "bank-a/z v1", "bank-a/z v2", "bank-b/a v1"}; !slices.Equal(got, want) {
		t.Errorf("list %v, want %v", got, want)
	}
	if _, err := os.Stat(filepath.Join(r.Dir(), "mine", "1", MetaFile)); err != nil {
		t.Errorf("bank layout: %v", err)
	}
}

// TestConcurrentPuts: writers asking for the next version each get their
// own, in one process or through two Registry values on one folder.
func TestConcurrentPuts(t *testing.T) {
	dir := t.TempDir()
	r1, _ := Open(dir)
	r2, _ := Open(dir)
	const n = 16
	var wg sync.WaitGroup
	versions := make([]int, n)
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := r1
			if i%2 == 1 {
				r = r2
			}
			m, err := r.Put(Meta{Name: "m", Training: strings.Repeat("x", i)}, map[string][]byte{"f": []byte{byte(i)}})
			versions[i], errs[i] = m.Version, err
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	slices.Sort(versions)
	for i, v := range versions {
		if v != i+1 {
			t.Fatalf("versions %v, want 1..%d each once", versions, n)
		}
	}
	// Each version holds the file its writer gave.
	for v := 1; v <= n; v++ {
		m, err := r1.Get("", "m", v)
		if err != nil {
			t.Fatal(err)
		}
		b, err := r1.ReadFile(m, "f")
		if err != nil || len(b) != 1 || len(m.Training) != int(b[0]) {
			t.Errorf("v%d: file %v, training %q", v, b, m.Training)
		}
	}
	ents, _ := os.ReadDir(filepath.Join(dir, "m"))
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".tmp") {
			t.Errorf("temporary folder left: %s", e.Name())
		}
	}
}

func TestCorrupt(t *testing.T) {
	r, _ := Open(t.TempDir())
	m, _ := r.Put(Meta{Owner: "bank-a", Name: "sme"}, map[string][]byte{"f": nil})
	p := filepath.Join(r.Dir(), "bank-a", "sme", "1", MetaFile)
	for _, bad := range []string{"{", `{"owner":"bank-b","name":"sme","version":1}`, `{"owner":"bank-a","name":"sme","version":1,"files":["../../x"]}`} {
		if err := os.WriteFile(p, []byte(bad), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := r.Get("bank-a", "sme", 1); !errors.Is(err, ErrCorrupt) {
			t.Errorf("meta %s: %v, want ErrCorrupt", bad, err)
		}
	}
	_ = m
}

// FuzzReadMeta: no meta.json makes a read panic; whatever it accepts names
// the model it is stored as and only plain file names.
func FuzzReadMeta(f *testing.F) {
	f.Add([]byte(`{"owner":"bank-a","name":"sme","version":1,"kind":"lr","files":["a.json"]}`))
	f.Add([]byte(`{"owner":"bank-a","name":"sme","version":1,"files":["meta.json"]}`))
	f.Add([]byte(`null`))
	dir := f.TempDir()
	r, _ := Open(dir)
	if _, err := r.Put(Meta{Owner: "bank-a", Name: "sme"}, nil); err != nil {
		f.Fatal(err)
	}
	p := filepath.Join(dir, "bank-a", "sme", "1", MetaFile)
	f.Fuzz(func(t *testing.T, b []byte) {
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		m, err := r.Get("bank-a", "sme", 0)
		if err != nil {
			return
		}
		if m.Owner != "bank-a" || m.Name != "sme" || m.Version != 1 {
			t.Fatalf("accepted %+v", m)
		}
		for _, f := range m.Files {
			if checkFile(f) != nil {
				t.Fatalf("accepted file %q", f)
			}
		}
	})
}
