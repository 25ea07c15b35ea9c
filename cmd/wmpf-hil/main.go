// Command wmpf-hil runs the suites against a farm and works with their
// reports. The suites are built in: an installed wmpf-hil needs no Go
// toolchain and no source tree.
//
//	wmpf-hil run [-devices FILE] [-reports DIR] [-procs N] [-label-filter EXPR] [-shard I/N]
//	wmpf-hil bench [-arrival poisson:2/s] [-duration 2m] [-baseline RUN_DIR]
//	                                 release benchmark, gated on a baseline
//	wmpf-hil merge -o OUT DIR...     one report from the folders of a run's shards
//	wmpf-hil report RUN_DIR          render report.html, junit.xml and ctrf.json again
//	wmpf-hil devices [-devices FILE] bring the farm up, health-check, print it
//	wmpf-hil watch -serial SERIAL [-adb tcp:HOST:PORT]
//	                                 follow a device's contract events live
//	wmpf-hil -version
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	_ "time/tzdata"

	"github.com/wmpf-hil/wmpf-hil/harness/runner"
	"github.com/wmpf-hil/wmpf-hil/internal/cli"
	"github.com/wmpf-hil/wmpf-hil/simulator/provider"
	_ "github.com/wmpf-hil/wmpf-hil/suites"
)

var commands = []cli.Command{
	{Name: "run", Summary: "run the suites against a farm, every spec on every device, and write the report", Run: runRun},
	{Name: "bench", Summary: "release benchmark: open-loop calls at a set rate, p50…p99.9 per stage and model, gated on a baseline", Run: runBench},
	{Name: "merge", Summary: "merge the report folders of a run's shards into one report", Run: runMerge},
	{Name: "report", Summary: "render a run's report.html, junit.xml and ctrf.json from its results.jsonl", Run: runReport},
	{Name: "devices", Summary: "bring the farm up, health-check every device and print the farm", Run: runDevices},
	{Name: "watch", Summary: "follow a device's contract events live, on the host clock", Run: runWatch},
	{Name: "worker", Summary: "", Run: runWorker, Hidden: true},
}

func main() {
	provider.Register()
	if len(os.Args) > 1 && (os.Args[1] == "-version" || os.Args[1] == "--version" || os.Args[1] == "version") {
		fmt.Println("wmpf-hil", cli.Version())
		return
	}
	ctx := interruptible(context.Background())
	os.Exit(cli.Main(ctx, "wmpf-hil", commands, os.Args[1:], os.Stdout, os.Stderr))
}

// interruptible is ctx cancelled by the first SIGINT or SIGTERM, with the
// signal as its cause (a run ends 130 or 143); a second signal exits at once.
func interruptible(ctx context.Context) context.Context {
	ctx, cancel := context.WithCancelCause(ctx)
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		sig := <-sigs
		cancel(runner.Signal(sig))
		sig = <-sigs
		fmt.Fprintf(os.Stderr, "wmpf-hil: %v again: stopping now\n", sig)
		if sig == syscall.SIGTERM {
			os.Exit(143)
		}
		os.Exit(130)
	}()
	return ctx
}

func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	return cli.Flags("wmpf-hil "+name, stderr)
}

func parse(fs *flag.FlagSet, args []string, positional int) error {
	return cli.Parse(fs, args, positional)
}
