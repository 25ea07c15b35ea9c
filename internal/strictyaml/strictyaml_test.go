package strictyaml

import (
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

type inner struct {
	Count int      `yaml:"count"`
	Names []string `yaml:"names"`
}

type outer struct {
	Version int                `yaml:"version"`
	Groups  []inner            `yaml:"groups"`
	Scale   map[string]float64 `yaml:"scale"`
	Wait    time.Duration      `yaml:"wait"`
	On      bool               `yaml:"on"`
	Raw     *yaml.Node         `yaml:"raw"`
	Shared  `yaml:",inline"`
}

type Shared struct {
	Label string `yaml:"label"`
}

func decodeString(t *testing.T, s string) (outer, error) {
	t.Helper()
	var o outer
	root, err := Document([]byte(s))
	if err != nil {
		return o, err
	}
	return o, Decode(root, "", &o)
}

func TestDecodeGood(t *testing.T) {
	o, err := decodeString(t, "version: 1\ngroups: [{count: 2, names: [a, b]}]\nscale: {launch: 1.3, answer: 2}\nwait: 1500ms\non: true\nlabel: x\nraw: {anything: [1, 2]}\n")
	if err != nil {
		t.Fatal(err)
	}
	if o.Version != 1 || len(o.Groups) != 1 || o.Groups[0].Count != 2 || o.Groups[0].Names[1] != "b" ||
		o.Scale["launch"] != 1.3 || o.Scale["answer"] != 2 || o.Wait != 1500*time.Millisecond || !o.On || o.Label != "x" ||
		o.Raw == nil || o.Raw.Kind != yaml.MappingNode {
		t.Fatalf("%+v", o)
	}
}

func TestDecodeErrorsNameTheField(t *testing.T) {
	cases := []struct{ yaml, want string }{
		{"", "the file is empty"},
		{"# only a comment\n", "no YAML document"},
		{"version: 1\n---\nversion: 2\n", "line 3: a second YAML document"},
		{"- a\n- b\n", "the file is a YAML list, want a mapping"},
		{"groups: [{count: two}]", `groups[0].count (line 1): got string "two", want an integer`},
		{"groups: [{count: 1.5}]", `groups[0].count (line 1): got number "1.5", want an integer`},
		{"groups: {count: 1}", `groups (line 1): got a mapping, want a list`},
		{"groups: [{cuont: 1}]", "groups[0].cuont (line 1): unknown field; did you mean count?"},
		{"version: 1\nlable: x\n", "lable (line 2): unknown field; did you mean label?"},
		{"zzzzzz: 1", "zzzzzz (line 1): unknown field Known fields here: groups, label, on, raw, scale, version, wait"},
		{"scale: {launch: fast}", `scale.launch (line 1): got string "fast", want a number`},
		{"wait: soon", `wait (line 1): got string "soon", want a duration`},
		{"on: yes please", `on (line 1): got string "yes please", want true or false`},
		{"version: 1\nversion: 2\n", "version (line 2): given twice (first on line 1)"},
		{"version: [1]", "version (line 1): got a list, want an integer"},
		{"groups: [{count: x}, {count: y}]", "groups[1].count"},
	}
	for _, c := range cases {
		_, err := decodeString(t, c.yaml)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q\n  error: %v\n  want: %s", c.yaml, err, c.want)
		}
	}
}

func TestNearest(t *testing.T) {
	names := []string{"count", "profile", "defects", "clockOffset"}
	for in, want := range map[string]string{"cuont": "count", "profiel": "profile", "defect": "defects", "clockoffset": "clockOffset", "colour": ""} {
		if got := Nearest(in, names); got != want {
			t.Errorf("Nearest(%q) = %q, want %q", in, got, want)
		}
	}
}
