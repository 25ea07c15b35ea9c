// Command wmpf-sim runs simulated devices and the simulated WeChat side.
//
//	wmpf-sim devices -n N -port P [flags]   N simulated devices on 127.0.0.1:P, P+1, …
//	wmpf-sim farm -n N -port P [flags]      the WeChat side and N devices that use it
//	wmpf-sim call --api URL --token T --sn SN --room voice|video --caller NAME
//	wmpf-sim profiles                       the device profiles (built in, or -profiles DIR)
//	wmpf-sim defects                        the defects a device can have
//	wmpf-sim apk -o FILE -version NAME [-version-code N] [-defect D]... [-package PKG]
//	                                        a simulated host-app build (signed APK)
//
// Devices print "READY serial=127.0.0.1:<port> sn=<sn> model=<model>" once
// they accept connections — and, for the farm, once the WeChat side can
// call them (activated, connected, holding a push token); the farm then
// prints "API url=… token=…". Both run
// until SIGINT or SIGTERM and then close cleanly.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	_ "time/tzdata"

	"github.com/wmpf-hil/wmpf-hil/internal/cli"
)

var commands = []cli.Command{
	{Name: "devices", Summary: "run simulated devices", Run: runDevices},
	{Name: "farm", Summary: "run the simulated WeChat side and devices that use it", Run: runFarm},
	{Name: "call", Summary: "place a call through the simulated WeChat side", Run: runCall},
	{Name: "push", Summary: "send a push message through the push API (pushappmsg)", Run: runPush},
	{Name: "profiles", Summary: "list device profiles", Run: runProfiles},
	{Name: "defects", Summary: "list the defects a simulated device can have", Run: runDefects},
	{Name: "apk", Summary: "make a simulated host-app build (a signed APK to adb install)", Run: runAPK},
}

func main() {
	if len(os.Args) > 1 && (os.Args[1] == "-version" || os.Args[1] == "--version" || os.Args[1] == "version") {
		fmt.Println("wmpf-sim", cli.Version())
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return cli.Main(ctx, "wmpf-sim", commands, args, stdout, stderr)
}

func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	return cli.Flags("wmpf-sim "+name, stderr)
}

func parse(fs *flag.FlagSet, args []string) error { return cli.Parse(fs, args, 0) }

// multiFlag collects a repeatable flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
