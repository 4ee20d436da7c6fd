package registry_test

import (
	"fmt"
	"os"

	"github.com/veil-fl/veil/node/registry"
)

func Example() {
	dir, _ := os.MkdirTemp("", "registry")
	defer os.RemoveAll(dir)
	r, _ := registry.Open(dir)
	// The center stores its half under the bank's name; a bank uses owner "".
	m, _ := r.Put(registry.Meta{Owner: "bank-a", Name: "sme-credit", Kind: "lr", Training: "9906838d6419e638846bf25eba2380ef"},
		map[string][]byte{"passive_lr.json": []byte(`{}`)})
	latest, _ := r.Get("bank-a", "sme-credit", 0)
	b, _ := r.ReadFile(latest, "passive_lr.json")
	fmt.Println(m.Version, latest.Kind, latest.Files, string(b))
	_, err := r.Put(registry.Meta{Owner: "bank-a", Name: "sme-credit", Version: 1}, nil)
	fmt.Println(err)
	// Output:
	// 1 lr [passive_lr.json] {}
	// registry: version exists: bank-a/sme-credit v1
}
