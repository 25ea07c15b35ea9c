// The wmpf-hil suites: what QA runs nightly and before a release, on real
// devices or the simulated farm. Run them through `wmpf-hil run` (one
// Ginkgo process per device) or directly:
//
//	go tool ginkgo -p --procs 4 ./suites -- -devices devices.yaml
//
// Labels: smoke, launch, latency, restart, call-end, bad-input.
package suites_test

import (
	"os"
	"path/filepath"
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

// fixture reads a YAML file of fixtures/ into v, at tree construction (the
// table entries come from it).
func fixture(name string, v any) {
	data, err := os.ReadFile(filepath.Join("..", "fixtures", name))
	if err != nil {
		panic("fixtures: " + err.Error())
	}
	if err := yaml.Unmarshal(data, v); err != nil {
		panic("fixtures/" + name + ": " + err.Error())
	}
}

// tableTimeout bounds each table entry (tables themselves take no timeout).
var tableTimeout = SpecTimeout(90 * time.Second)
