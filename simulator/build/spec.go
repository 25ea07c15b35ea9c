// Package build is the simulated host-app build: a real, signed APK whose
// AndroidManifest.xml gives the package and version, and whose asset
// assets/wmpf-hil/build.json says how the simulated host app behaves once
// the APK is installed on a simulated device (defects switched on, timing
// overrides). It writes such APKs (binary manifest encoder, APK Signature
// Scheme v2 signer) and reads the behaviour back from an installed APK.
// docs/simulated-builds.md describes the format.
package build

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"github.com/wmpf-hil/wmpf-hil/simulator/profile"
)

// SpecPath is where a simulated build keeps its behaviour in the APK.
const SpecPath = "assets/wmpf-hil/build.json"

// Format names the version of the build.json format.
const Format = "wmpf-hil/simulated-build/1"

// Spec is the behaviour of a simulated host-app build (build.json).
type Spec struct {
	Format string `json:"format"`
	// Defects switched on in this build (profile.DefectNames).
	Defects []string `json:"defects,omitempty"`
	// Timing overrides the device profile's timing, by YAML name
	// (timing.appHandle …) with the profile's text forms ("lognormal(15ms,
	// 60ms)", slowLaunchFactor "6").
	Timing map[string]string `json:"timing,omitempty"`
	// Notes is free text (what the build is for).
	Notes string `json:"notes,omitempty"`
}

// ParseSpec decodes and checks build.json: unknown fields, unknown defects,
// unknown timing names and bad values are errors naming them.
func ParseSpec(data []byte) (*Spec, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var s Spec
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("%s: %w", SpecPath, err)
	}
	if err := s.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", SpecPath, err)
	}
	return &s, nil
}

// Validate checks the format, the defects and the timing overrides.
func (s *Spec) Validate() error {
	if s.Format != Format {
		return fmt.Errorf("format %q: allowed %q", s.Format, Format)
	}
	if _, err := profile.ParseDefects(s.Defects); err != nil {
		return fmt.Errorf("defects: %w", err)
	}
	_, err := s.ApplyTiming(profile.Timing{SlowLaunchFactor: 1})
	return err
}

// DefectSet returns the build's defects.
func (s *Spec) DefectSet() profile.DefectSet {
	d, err := profile.ParseDefects(s.Defects)
	if err != nil {
		return profile.DefectSet{}
	}
	return d
}

// deviceTimings are timing fields of the device, not of the app: a build
// cannot change them.
var deviceTimings = map[string]bool{"boot": true}

// TimingNames lists the timing fields a build may override.
func TimingNames() []string {
	var out []string
	t := reflect.TypeOf(profile.Timing{})
	for i := range t.NumField() {
		if n := yamlName(t.Field(i)); !deviceTimings[n] {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

func yamlName(f reflect.StructField) string {
	return strings.Split(f.Tag.Get("yaml"), ",")[0]
}

// ApplyTiming returns base with the build's overrides applied.
func (s *Spec) ApplyTiming(base profile.Timing) (profile.Timing, error) {
	out := base
	v := reflect.ValueOf(&out).Elem()
	names := make([]string, 0, len(s.Timing))
	for n := range s.Timing {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		val := s.Timing[name]
		idx := -1
		for i := range v.NumField() {
			if yamlName(v.Type().Field(i)) == name && !deviceTimings[name] {
				idx = i
			}
		}
		if idx < 0 {
			return base, fmt.Errorf("timing %q: allowed %s", name, strings.Join(TimingNames(), ", "))
		}
		f := v.Field(idx)
		switch f.Interface().(type) {
		case profile.Dist:
			d, err := profile.ParseDist(val)
			if err != nil {
				return base, fmt.Errorf("timing.%s: %w", name, err)
			}
			f.Set(reflect.ValueOf(d))
		case float64:
			x, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
			if err != nil || x < 1 {
				return base, fmt.Errorf("timing.%s %q: allowed a number, 1 or more", name, val)
			}
			f.SetFloat(x)
		default:
			return base, fmt.Errorf("timing.%s: cannot be overridden", name)
		}
	}
	return out, nil
}

// Marshal encodes the spec as build.json.
func (s *Spec) Marshal() ([]byte, error) {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// TimingText is a profile's timing in build.json's form (unset
// distributions left out).
func TimingText(t profile.Timing) map[string]string {
	out := map[string]string{}
	v := reflect.ValueOf(t)
	for i := range v.NumField() {
		name := yamlName(v.Type().Field(i))
		if deviceTimings[name] {
			continue
		}
		switch x := v.Field(i).Interface().(type) {
		case profile.Dist:
			if !x.IsZero() {
				out[name] = x.String()
			}
		case float64:
			out[name] = strconv.FormatFloat(x, 'g', -1, 64)
		}
	}
	return out
}
