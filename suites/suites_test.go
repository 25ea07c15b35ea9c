package suites_test

import (
	"flag"
	"testing"

	"github.com/wmpf-hil/wmpf-hil/harness/framework"
	"github.com/wmpf-hil/wmpf-hil/simulator/provider"
	_ "github.com/wmpf-hil/wmpf-hil/suites"
)

func init() {
	framework.RegisterFlags(flag.CommandLine)
	provider.Register()
}

// TestSuites runs the suites on every device of the farm (-devices FILE).
func TestSuites(t *testing.T) {
	framework.RunSuites(t, "wmpf-hil")
}
