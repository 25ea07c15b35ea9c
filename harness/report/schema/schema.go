// Package schema holds the JSON Schemas (draft 2020-12) of results.jsonl,
// schema v1: record.schema.json for a line, one schema per record kind
// (run, device, start, spec, call, restart, incident, end) and
// defs.schema.json for what they share. docs/results.md describes every
// field. Validator checks records against them.
package schema

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// Version is the results.jsonl schema version these schemas describe.
const Version = 1

// Base is the URI the schemas' $id values start with. They are
// identifiers only: Validator never fetches anything.
const Base = "https://wmpf-hil.github.io/schema/results/v1/"

// RecordSchema is the schema of one line of results.jsonl.
const RecordSchema = "record.schema.json"

// FS holds the schema files.
//
//go:embed *.schema.json
var FS embed.FS

// Validator validates records of results.jsonl.
type Validator struct {
	record *jsonschema.Schema
	kinds  map[string]*jsonschema.Schema
}

// New compiles the embedded schemas, with "format" asserted (times must be
// RFC 3339).
func New() (*Validator, error) {
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	names, err := fs.Glob(FS, "*.schema.json")
	if err != nil {
		return nil, fmt.Errorf("schema: %w", err)
	}
	for _, name := range names {
		b, err := FS.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("schema: %w", err)
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("schema %s: %w", name, err)
		}
		if err := c.AddResource(Base+name, doc); err != nil {
			return nil, fmt.Errorf("schema %s: %w", name, err)
		}
	}
	v := &Validator{kinds: map[string]*jsonschema.Schema{}}
	if v.record, err = c.Compile(Base + RecordSchema); err != nil {
		return nil, fmt.Errorf("schema %s: %w", RecordSchema, err)
	}
	for _, name := range names {
		kind := strings.TrimSuffix(name, ".schema.json")
		if kind == "record" || kind == "defs" {
			continue
		}
		if v.kinds[kind], err = c.Compile(Base + name); err != nil {
			return nil, fmt.Errorf("schema %s: %w", name, err)
		}
	}
	return v, nil
}

// Kinds lists the record kinds that have a schema.
func (v *Validator) Kinds() []string {
	out := make([]string, 0, len(v.kinds))
	for k := range v.kinds {
		out = append(out, k)
	}
	return out
}

// Validate checks one line of results.jsonl against record.schema.json.
func (v *Validator) Validate(line []byte) error {
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(line))
	if err != nil {
		return fmt.Errorf("not JSON: %w", err)
	}
	if err := v.record.Validate(inst); err != nil {
		return fmt.Errorf("%s record: %w", kindOf(line), err)
	}
	return nil
}

// ValidatePayload checks a record's payload (the object under its kind)
// against the kind's schema.
func (v *Validator) ValidatePayload(kind string, payload []byte) error {
	s, ok := v.kinds[kind]
	if !ok {
		return fmt.Errorf("no schema for record kind %q", kind)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(payload))
	if err != nil {
		return fmt.Errorf("not JSON: %w", err)
	}
	if err := s.Validate(inst); err != nil {
		return fmt.Errorf("%s payload: %w", kind, err)
	}
	return nil
}

func kindOf(line []byte) string {
	var k struct {
		Kind string `json:"kind"`
	}
	if json.Unmarshal(line, &k) != nil || k.Kind == "" {
		return "a"
	}
	return fmt.Sprintf("%q", k.Kind)
}
