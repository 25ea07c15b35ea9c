// Package strictyaml decodes YAML into Go structs strictly and says where it
// went wrong in the words of the file, not of Go: every error names the field
// path as a user writes it (simulated[0].count), what was found and what is
// wanted (got string "two", want an integer); an unknown field names the
// nearest known one; an empty file, or a second document in it, is an error.
//
// Struct fields are matched by their yaml tag (the field name lowercased when
// there is none); `yaml:",inline"` embeds a struct's fields; a *yaml.Node
// field keeps the raw node for a later, separate decode.
package strictyaml

import (
	"bytes"
	"encoding"
	"errors"
	"fmt"
	"io"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Errors is every problem found in one decode, in file order.
type Errors []string

func (e Errors) Error() string { return strings.Join(e, "\n  ") }

// Document parses data as exactly one YAML document and returns its root
// mapping node (nil for a document that is empty or only comments).
func Document(data []byte) (*yaml.Node, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, errors.New("the file is empty; want a YAML mapping")
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("the file has no YAML document (only comments?), want a YAML mapping")
		}
		return nil, fmt.Errorf("not valid YAML: %s", strings.TrimPrefix(err.Error(), "yaml: "))
	}
	var second yaml.Node
	switch err := dec.Decode(&second); {
	case err == nil:
		line := second.Line
		if len(second.Content) > 0 {
			line = second.Content[0].Line
		}
		return nil, fmt.Errorf("line %d: a second YAML document (after ---); the file holds one document", line)
	case !errors.Is(err, io.EOF):
		return nil, fmt.Errorf("after the first document: %s", strings.TrimPrefix(err.Error(), "yaml: "))
	}
	root := &doc
	if root.Kind == yaml.DocumentNode {
		if len(root.Content) == 0 {
			return nil, errors.New("the file has no YAML document, want a YAML mapping")
		}
		root = root.Content[0]
	}
	if root.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("line %d: the file is a YAML %s, want a mapping of fields", root.Line, kindName(root))
	}
	return root, nil
}

// Decode decodes node into v (a pointer to a struct, slice, map or scalar);
// path names node in messages ("" for the root). All problems are collected
// and returned as Errors.
func Decode(node *yaml.Node, path string, v any) error {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return fmt.Errorf("strictyaml: Decode needs a non-nil pointer, got %T", v)
	}
	var errs Errors
	decode(node, path, rv.Elem(), &errs)
	if len(errs) > 0 {
		return errs
	}
	return nil
}

var (
	nodeType     = reflect.TypeFor[yaml.Node]()
	durationType = reflect.TypeFor[time.Duration]()
)

func decode(n *yaml.Node, path string, v reflect.Value, errs *Errors) {
	add := func(format string, args ...any) {
		*errs = append(*errs, fmt.Sprintf("%s: %s", label(path, n), fmt.Sprintf(format, args...)))
	}
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if v.Kind() == reflect.Pointer {
		if v.Type().Elem() == nodeType {
			v.Set(reflect.ValueOf(n))
			return
		}
		if isNull(n) {
			return
		}
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		decode(n, path, v.Elem(), errs)
		return
	}
	if v.Type() == nodeType {
		v.Set(reflect.ValueOf(*n))
		return
	}
	if isNull(n) {
		return // null leaves the zero value: the field's default
	}
	if v.CanAddr() {
		if tu, ok := v.Addr().Interface().(encoding.TextUnmarshaler); ok && v.Type() != durationType {
			if n.Kind != yaml.ScalarNode {
				add("got a %s, want a string", kindName(n))
				return
			}
			if err := tu.UnmarshalText([]byte(n.Value)); err != nil {
				add("%v", err)
			}
			return
		}
	}
	switch {
	case v.Type() == durationType:
		if n.Kind != yaml.ScalarNode {
			add("got a %s, want a duration like 20s or 1500ms", kindName(n))
			return
		}
		d, err := time.ParseDuration(n.Value)
		if err != nil {
			add("got %s, want a duration like 20s or 1500ms", shown(n))
			return
		}
		v.SetInt(int64(d))
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			add("got %s, want a mapping of fields (%s)", shown(n), strings.Join(fieldNames(v.Type()), ", "))
			return
		}
		fields := structFields(v)
		seen := map[string]int{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			key := k.Value
			sub := join(path, key)
			if line, dup := seen[key]; dup {
				*errs = append(*errs, fmt.Sprintf("%s (line %d): given twice (first on line %d)", sub, k.Line, line))
				continue
			}
			seen[key] = k.Line
			f, ok := fields[key]
			if !ok {
				names := fieldNames(v.Type())
				msg := fmt.Sprintf("%s (line %d): unknown field", sub, k.Line)
				if near := Nearest(key, names); near != "" {
					msg += fmt.Sprintf("; did you mean %s?", near)
				}
				msg += " Known fields here: " + strings.Join(names, ", ")
				*errs = append(*errs, msg)
				continue
			}
			decode(val, sub, f, errs)
		}
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			add("got %s, want a list", shown(n))
			return
		}
		out := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, item := range n.Content {
			decode(item, fmt.Sprintf("%s[%d]", path, i), out.Index(i), errs)
		}
		v.Set(out)
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			add("got %s, want a mapping", shown(n))
			return
		}
		if v.Type().Key().Kind() != reflect.String {
			add("strictyaml: map keys must be strings")
			return
		}
		if v.IsNil() {
			v.Set(reflect.MakeMap(v.Type()))
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			ev := reflect.New(v.Type().Elem()).Elem()
			decode(val, join(path, k.Value), ev, errs)
			v.SetMapIndex(reflect.ValueOf(k.Value).Convert(v.Type().Key()), ev)
		}
	case reflect.String:
		if n.Kind != yaml.ScalarNode {
			add("got a %s, want a string", kindName(n))
			return
		}
		v.SetString(n.Value)
	case reflect.Bool:
		b, err := strconv.ParseBool(n.Value)
		if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" || err != nil {
			add("got %s, want true or false", shown(n))
			return
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		i, err := strconv.ParseInt(n.Value, 0, v.Type().Bits())
		if n.Kind != yaml.ScalarNode || n.Tag != "!!int" || err != nil {
			add("got %s, want an integer", shown(n))
			return
		}
		v.SetInt(i)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		u, err := strconv.ParseUint(n.Value, 0, v.Type().Bits())
		if n.Kind != yaml.ScalarNode || n.Tag != "!!int" || err != nil {
			add("got %s, want a whole number of 0 or more", shown(n))
			return
		}
		v.SetUint(u)
	case reflect.Float32, reflect.Float64:
		f, err := strconv.ParseFloat(n.Value, v.Type().Bits())
		if n.Kind != yaml.ScalarNode || (n.Tag != "!!int" && n.Tag != "!!float") || err != nil {
			add("got %s, want a number", shown(n))
			return
		}
		v.SetFloat(f)
	default:
		add("strictyaml: cannot decode into %s", v.Type())
	}
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.Tag == "!!null" }

// structFields maps yaml keys to the struct's settable fields, inline
// structs included.
func structFields(v reflect.Value) map[string]reflect.Value {
	out := map[string]reflect.Value{}
	t := v.Type()
	for i := range t.NumField() {
		sf := t.Field(i)
		if !sf.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(sf.Tag.Get("yaml"), ",")
		if name == "-" {
			continue
		}
		if strings.Contains(opts, "inline") {
			for k, fv := range structFields(v.Field(i)) {
				out[k] = fv
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(sf.Name)
		}
		out[name] = v.Field(i)
	}
	return out
}

// fieldNames lists a struct type's yaml keys, sorted.
func fieldNames(t reflect.Type) []string {
	var out []string
	for i := range t.NumField() {
		sf := t.Field(i)
		if !sf.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(sf.Tag.Get("yaml"), ",")
		if name == "-" {
			continue
		}
		if strings.Contains(opts, "inline") {
			out = append(out, fieldNames(sf.Type)...)
			continue
		}
		if name == "" {
			name = strings.ToLower(sf.Name)
		}
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func label(path string, n *yaml.Node) string {
	if path == "" {
		path = "the file"
	}
	return fmt.Sprintf("%s (line %d)", path, n.Line)
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	case yaml.ScalarNode:
		return scalarName(n)
	}
	return "node"
}

func scalarName(n *yaml.Node) string {
	switch n.Tag {
	case "!!int":
		return "integer"
	case "!!float":
		return "number"
	case "!!bool":
		return "boolean"
	case "!!null":
		return "null"
	}
	return "string"
}

// shown describes a node for a message: its kind and, for a scalar, its
// value as written.
func shown(n *yaml.Node) string {
	if n.Kind != yaml.ScalarNode {
		return "a " + kindName(n)
	}
	v := n.Value
	if len(v) > 60 {
		v = v[:60] + "…"
	}
	return scalarName(n) + " " + strconv.Quote(v)
}

// Nearest returns the candidate closest to s by edit distance, when it is
// close enough to be a likely typo, else "".
func Nearest(s string, candidates []string) string {
	best, bestD := "", 1<<30
	for _, c := range candidates {
		if d := distance(strings.ToLower(s), strings.ToLower(c)); d < bestD {
			best, bestD = c, d
		}
	}
	if bestD <= max(2, len(s)/3) {
		return best
	}
	return ""
}

// distance is the Levenshtein distance between a and b.
func distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
