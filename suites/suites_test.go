package suites_test

import (
	"flag"
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/wmpf-hil/wmpf-hil/harness/framework"
	"github.com/wmpf-hil/wmpf-hil/simulator/provider"
	_ "github.com/wmpf-hil/wmpf-hil/suites"
)

func init() {
	framework.RegisterFlags(flag.CommandLine)
	provider.Register()
}

// TestSuites runs the suites on every device of the farm (-devices FILE),
// under go test or the ginkgo CLI (which recognises a Ginkgo suite by its
// test files importing Ginkgo).
func TestSuites(t *testing.T) {
	RegisterFailHandler(Fail)
	framework.RunSuites(t, "wmpf-hil")
}
