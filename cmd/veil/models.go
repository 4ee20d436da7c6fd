package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/veil-fl/veil/node/registry"
)

// cmdModels lists a registry.
func cmdModels(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("models", stderr)
	dir := fs.String("registry", "", "the registry's folder (a center's or a bank's)")
	asJSON := fs.Bool("json", false, "print one JSON object per version")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := need(map[string]string{"registry": *dir}); err != nil {
		return err
	}
	if st, err := os.Stat(*dir); err != nil {
		return err
	} else if !st.IsDir() {
		return fmt.Errorf("%s is not a folder", *dir)
	}
	r, err := registry.Open(*dir)
	if err != nil {
		return err
	}
	list, err := r.List()
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		for _, m := range list {
			if err := enc.Encode(m); err != nil {
				return err
			}
		}
		return nil
	}
	return writeModels(stdout, list)
}

// writeModels prints list as a table, with an owner column if any entry
// has an owner (a center's registry).
func writeModels(w io.Writer, list []registry.Meta) error {
	owners := false
	for _, m := range list {
		owners = owners || m.Owner != ""
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	head := "NAME\tVERSION\tKIND\tCREATED\tMETRICS\tCONFIG"
	if owners {
		head = "OWNER\t" + head
	}
	fmt.Fprintln(tw, head)
	for _, m := range list {
		row := fmt.Sprintf("%s\t%d\t%s\t%s\t%s\t%s", m.Name, m.Version, m.Kind, m.Created.UTC().Format(time.DateTime),
			metrics(m.Metrics), short(m.ConfigDigest))
		if owners {
			row = orDash(m.Owner) + "\t" + row
		}
		fmt.Fprintln(tw, row)
	}
	if len(list) == 0 {
		fmt.Fprintln(tw, "(no models)")
	}
	return tw.Flush()
}

func metrics(m map[string]float64) string {
	if len(m) == 0 {
		return "-"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		v := m[k]
		f := strconv.FormatFloat(v, 'f', 4, 64)
		if v == math.Trunc(v) && math.Abs(v) < 1e15 {
			f = strconv.FormatFloat(v, 'f', 0, 64) // a count
		}
		parts = append(parts, k+"="+f)
	}
	return strings.Join(parts, " ")
}

func short(digest string) string {
	if len(digest) > 12 {
		return digest[:12]
	}
	return orDash(digest)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
