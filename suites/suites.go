// Package suites holds the wmpf-hil specs: what QA runs nightly and before
// a release, on real devices or the simulated farm, every spec on every
// device of the farm. They are built into wmpf-hil (wmpf-hil run), and run
// with Ginkgo directly too:
//
//	go tool ginkgo -p --procs 4 ./suites -- -devices devices.yaml
//
// Labels: smoke, launch, latency, restart, reboot, call-end, bad-input,
// push-token, benchmark.
package suites

import (
	"os"
	"path/filepath"

	. "github.com/onsi/ginkgo/v2"
	"gopkg.in/yaml.v3"

	"github.com/wmpf-hil/wmpf-hil/fixtures"
	"github.com/wmpf-hil/wmpf-hil/harness/framework"
)

// fixture reads a YAML file of fixtures/ into v, at tree construction (the
// table entries come from it): from $WMPF_HIL_FIXTURES when set, else the
// fixtures built into the binary.
func fixture(name string, v any) {
	var data []byte
	var err error
	if d := os.Getenv("WMPF_HIL_FIXTURES"); d != "" {
		data, err = os.ReadFile(filepath.Join(d, name))
	} else {
		data, err = fixtures.Read(name)
	}
	if err != nil {
		panic("fixtures: " + err.Error())
	}
	if err := yaml.Unmarshal(data, v); err != nil {
		panic("fixtures/" + name + ": " + err.Error())
	}
}

// tableTimeout bounds each table entry (tables themselves take no timeout).
var tableTimeout = SpecTimeout(framework.DefaultTimeouts.Spec)
