// The wmpf-hil suites: what QA runs nightly and before a release, on real
// devices or the simulated farm. Run them through `wmpf-hil run` (one
// Ginkgo process per device) or directly:
//
//	go tool ginkgo -p --procs 4 ./suites -- -devices devices.yaml
//
// Labels: smoke, launch, latency, restart, call-end, bad-input, benchmark.
package suites_test

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"gopkg.in/yaml.v3"

	"github.com/wmpf-hil/wmpf-hil/harness/framework"
)

func TestSuites(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "wmpf-hil")
}

var _ = framework.Setup()

// fixturesDir finds fixtures/: up from the working directory, else beside
// this source file (a precompiled suite may run from anywhere).
func fixturesDir() string {
	if d := os.Getenv("WMPF_HIL_FIXTURES"); d != "" {
		return d
	}
	if wd, err := os.Getwd(); err == nil {
		for d := wd; ; d = filepath.Dir(d) {
			if st, err := os.Stat(filepath.Join(d, "fixtures", "hostile-names.yaml")); err == nil && !st.IsDir() {
				return filepath.Join(d, "fixtures")
			}
			if filepath.Dir(d) == d {
				break
			}
		}
	}
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(filepath.Dir(file)), "fixtures")
}

// fixture reads a YAML file of fixtures/ into v, at tree construction (the
// table entries come from it).
func fixture(name string, v any) {
	data, err := os.ReadFile(filepath.Join(fixturesDir(), name))
	if err != nil {
		panic("fixtures: " + err.Error())
	}
	if err := yaml.Unmarshal(data, v); err != nil {
		panic("fixtures/" + name + ": " + err.Error())
	}
}

// tableTimeout bounds each table entry (tables themselves take no timeout).
var tableTimeout = SpecTimeout(90 * time.Second)
