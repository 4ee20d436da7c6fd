package config

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"

	yaml "go.yaml.in/yaml/v3"
)

// Error is a config error: the file, the 1-based line and column (0 when
// unknown), the dotted key ("banks.bank-b.outputs") and what is wrong.
type Error struct {
	File         string
	Line, Column int
	Key, Msg     string
}

// Error formats e as "center.yaml:7:5: banks.bank-b.modles: unknown key".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
		if e.Column > 0 {
			fmt.Fprintf(&b, ":%d", e.Column)
		}
	}
	b.WriteString(": ")
	if e.Key != "" {
		b.WriteString(e.Key)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// pos is where a key was met in a config file.
type pos struct{ line, col int }

// decoder walks a YAML node tree into a Go value, strictly: every key must
// name a field (yaml struct tag), every value must have the field's type,
// and every field tagged required must be present. Fields keep what they
// held before (their defaults) unless their key is present.
type decoder struct {
	file string
	// at holds the position of each key met, by dotted path, and of the
	// root as "": what the checks after decoding cite.
	at map[string]pos
}

func (d *decoder) errAt(n *yaml.Node, key, format string, args ...any) *Error {
	e := &Error{File: d.file, Key: key, Msg: fmt.Sprintf(format, args...)}
	if n != nil {
		e.Line, e.Column = n.Line, n.Column
	}
	return e
}

// errKey is an error about a key decoded before: at its line, or at its
// closest ancestor's when it was not given.
func (d *decoder) errKey(key, format string, args ...any) *Error {
	e := &Error{File: d.file, Key: key, Msg: fmt.Sprintf(format, args...)}
	for k := key; ; {
		if p, ok := d.at[k]; ok {
			e.Line, e.Column = p.line, p.col
			break
		}
		if k == "" {
			break
		}
		i := strings.LastIndexByte(k, '.')
		if i < 0 {
			k = ""
		} else {
			k = k[:i]
		}
	}
	return e
}

// has reports whether key was given in the file.
func (d *decoder) has(key string) bool { _, ok := d.at[key]; return ok }

var syntaxLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// parse reads data into v (a pointer to a struct holding its defaults).
func (d *decoder) parse(data []byte, v any) error {
	d.at = map[string]pos{"": {}}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		msg := err.Error()
		if m := syntaxLine.FindStringSubmatch(msg); m != nil {
			line, _ := strconv.Atoi(m[1])
			return &Error{File: d.file, Line: line, Msg: m[2]}
		}
		return &Error{File: d.file, Msg: strings.TrimPrefix(msg, "yaml: ")}
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return &Error{File: d.file, Msg: "empty config: want a mapping of keys"}
	}
	root := doc.Content[0]
	d.at[""] = pos{root.Line, root.Column}
	return d.value(root, reflect.ValueOf(v).Elem(), "")
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// kindName says what a YAML node is, for type errors.
func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	}
	switch n.Tag {
	case "!!str":
		return fmt.Sprintf("the string %q", clip(n.Value))
	case "!!int":
		return "the integer " + clip(n.Value)
	case "!!float":
		return "the number " + clip(n.Value)
	case "!!bool":
		return "the boolean " + n.Value
	case "!!null":
		return "no value"
	}
	return fmt.Sprintf("%q", clip(n.Value))
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

var durationType = reflect.TypeOf(time.Duration(0))

// value decodes n into v, the field at path.
func (d *decoder) value(n *yaml.Node, v reflect.Value, path string) error {
	if n.Kind == yaml.AliasNode || n.Anchor != "" {
		return d.errAt(n, path, "anchors and aliases are not supported in a config")
	}
	if v.Type() == durationType {
		if n.Kind != yaml.ScalarNode || n.Tag != "!!str" {
			return d.errAt(n, path, "want a duration such as 30s or 10m, got %s", kindName(n))
		}
		t, err := time.ParseDuration(n.Value)
		if err != nil || t < 0 {
			return d.errAt(n, path, "want a non-negative duration such as 30s or 10m, got %q", clip(n.Value))
		}
		v.SetInt(int64(t))
		return nil
	}
	switch v.Kind() {
	case reflect.Pointer:
		p := reflect.New(v.Type().Elem())
		if !v.IsNil() {
			p.Elem().Set(v.Elem())
		}
		if err := d.value(n, p.Elem(), path); err != nil {
			return err
		}
		v.Set(p)
		return nil
	case reflect.Struct:
		return d.mapping(n, v, path)
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			return d.errAt(n, path, "want a mapping, got %s", kindName(n))
		}
		m := reflect.MakeMapWithSize(v.Type(), len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			if k.Kind != yaml.ScalarNode || k.Tag != "!!str" || k.Value == "" {
				return d.errAt(k, path, "want a name as key, got %s", kindName(k))
			}
			key := join(path, k.Value)
			if m.MapIndex(reflect.ValueOf(k.Value)).IsValid() {
				return d.errAt(k, key, "given twice")
			}
			d.at[key] = pos{k.Line, k.Column}
			e := reflect.New(v.Type().Elem()).Elem()
			if err := d.value(val, e, key); err != nil {
				return err
			}
			m.SetMapIndex(reflect.ValueOf(k.Value), e)
		}
		v.Set(m)
		return nil
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			return d.errAt(n, path, "want a list, got %s", kindName(n))
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, c := range n.Content {
			if err := d.value(c, s.Index(i), fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
		v.Set(s)
		return nil
	}
	if n.Kind != yaml.ScalarNode {
		return d.errAt(n, path, "want %s, got %s", typeName(v.Type()), kindName(n))
	}
	switch v.Kind() {
	case reflect.String:
		if n.Tag != "!!str" {
			return d.errAt(n, path, "want a string, got %s (quote it)", kindName(n))
		}
		v.SetString(n.Value)
	case reflect.Int, reflect.Int64:
		if n.Tag != "!!int" {
			return d.errAt(n, path, "want an integer, got %s", kindName(n))
		}
		x, err := strconv.ParseInt(strings.ReplaceAll(n.Value, "_", ""), 0, 64)
		if err != nil || v.OverflowInt(x) {
			return d.errAt(n, path, "want an integer, got %q", clip(n.Value))
		}
		v.SetInt(x)
	case reflect.Float64:
		if n.Tag != "!!float" && n.Tag != "!!int" {
			return d.errAt(n, path, "want a number, got %s", kindName(n))
		}
		x, err := strconv.ParseFloat(strings.ReplaceAll(n.Value, "_", ""), 64)
		if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
			return d.errAt(n, path, "want a finite number, got %q", clip(n.Value))
		}
		v.SetFloat(x)
	case reflect.Bool:
		if n.Tag != "!!bool" {
			return d.errAt(n, path, "want true or false, got %s", kindName(n))
		}
		x, err := strconv.ParseBool(strings.ToLower(n.Value))
		if err != nil {
			return d.errAt(n, path, "want true or false, got %q", clip(n.Value))
		}
		v.SetBool(x)
	default:
		return errors.New("config: internal: no decoding for " + v.Type().String())
	}
	return nil
}

func typeName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Int, reflect.Int64:
		return "an integer"
	case reflect.Float64:
		return "a number"
	case reflect.Bool:
		return "true or false"
	}
	return t.String()
}

// mapping decodes a YAML mapping into the struct v by its yaml tags.
func (d *decoder) mapping(n *yaml.Node, v reflect.Value, path string) error {
	if n.Kind != yaml.MappingNode {
		return d.errAt(n, path, "want a mapping of keys, got %s", kindName(n))
	}
	t := v.Type()
	fields := map[string]int{}
	var required []string
	for i := range t.NumField() {
		tag := t.Field(i).Tag.Get("yaml")
		if tag == "" || tag == "-" {
			continue
		}
		name, opt, _ := strings.Cut(tag, ",")
		fields[name] = i
		if opt == "required" {
			required = append(required, name)
		}
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode || k.Tag != "!!str" {
			return d.errAt(k, path, "want a key name, got %s", kindName(k))
		}
		key := join(path, k.Value)
		f, ok := fields[k.Value]
		if !ok {
			return d.errAt(k, key, "unknown key")
		}
		if seen[k.Value] {
			return d.errAt(k, key, "given twice")
		}
		seen[k.Value] = true
		d.at[key] = pos{k.Line, k.Column}
		if val.Kind == yaml.ScalarNode && val.Tag == "!!null" {
			continue // "key:" with no value keeps the default; a required one is missing
		}
		if err := d.value(val, v.Field(f), key); err != nil {
			return err
		}
	}
	for _, name := range required {
		if !seen[name] || isNull(n, name) {
			return d.errAt(n, join(path, name), "missing required key")
		}
	}
	return nil
}

func isNull(n *yaml.Node, name string) bool {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == name {
			return n.Content[i+1].Kind == yaml.ScalarNode && n.Content[i+1].Tag == "!!null"
		}
	}
	return false
}
