// Command wmpf-hil runs the suites against a farm and works with their
// reports.
//
//	wmpf-hil run [-devices FILE] [-reports DIR] [-procs N] [-label-filter EXPR]
//	wmpf-hil bench [-arrival poisson:2/s] [-duration 2m] [-baseline RUN_DIR]
//	                                 release benchmark, gated on a baseline
//	wmpf-hil report RUN_DIR          render report.html and junit.xml again
//	wmpf-hil devices [-devices FILE] bring the farm up, health-check, print it
//	wmpf-hil watch -serial SERIAL [-adb tcp:HOST:PORT]
//	                                 follow a device's contract events live
package main

import (
	"context"
	"flag"
	"io"
	"os"
	"os/signal"
	"syscall"
	_ "time/tzdata"

	"github.com/wmpf-hil/wmpf-hil/internal/cli"
)

var commands = []cli.Command{
	{Name: "run", Summary: "run the suites against a farm, one Ginkgo process per device, and write the report", Run: runRun},
	{Name: "bench", Summary: "release benchmark: open-loop calls at a set rate, p50…p99.9 per stage and model, gated on a baseline", Run: runBench},
	{Name: "report", Summary: "render a run's report.html and junit.xml from its results.jsonl", Run: runReport},
	{Name: "devices", Summary: "bring the farm up, health-check every device and print the farm", Run: runDevices},
	{Name: "watch", Summary: "follow a device's contract events live, on the host clock", Run: runWatch},
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(cli.Main(ctx, "wmpf-hil", commands, os.Args[1:], os.Stdout, os.Stderr))
}

func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	return cli.Flags("wmpf-hil "+name, stderr)
}

func parse(fs *flag.FlagSet, args []string, positional int) error {
	return cli.Parse(fs, args, positional)
}
