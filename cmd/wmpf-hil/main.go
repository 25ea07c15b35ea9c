// Command wmpf-hil runs the suites against a farm and works with their
// reports.
//
//	wmpf-hil run [-devices FILE] [-reports DIR] [-procs N] [-label-filter EXPR]
//	wmpf-hil report RUN_DIR          render report.html and junit.xml again
//	wmpf-hil devices [-devices FILE] bring the farm up, health-check, print it
//	wmpf-hil watch -serial SERIAL [-adb tcp:HOST:PORT]
//	                                 follow a device's contract events live
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	_ "time/tzdata"
)

type command struct {
	name, summary string
	run           func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

var commands = []command{
	{"run", "run the suites against a farm, one Ginkgo process per device, and write the report", runRun},
	{"report", "render a run's report.html and junit.xml from its results.jsonl", runReport},
	{"devices", "bring the farm up, health-check every device and print the farm", runDevices},
	{"watch", "follow a device's contract events live, on the host clock", runWatch},
}

// usageError is a mistake on the command line: exit status 2.
type usageError struct{ msg string }

func (u usageError) Error() string { return u.msg }

// exitError carries another program's exit status.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprintln(stderr, "usage: wmpf-hil COMMAND [flags]   (wmpf-hil COMMAND -h for its flags)")
		for _, c := range commands {
			fmt.Fprintf(stderr, "  %-8s %s\n", c.name, c.summary)
		}
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range commands {
		if c.name != args[0] {
			continue
		}
		err := c.run(ctx, args[1:], stdout, stderr)
		var ee exitError
		var ue usageError
		switch {
		case err == nil, errors.Is(err, flag.ErrHelp):
			return 0
		case errors.As(err, &ee):
			return ee.code
		case errors.As(err, &ue):
			fmt.Fprintf(stderr, "wmpf-hil %s: %v\n", c.name, err)
			return 2
		}
		fmt.Fprintf(stderr, "wmpf-hil %s: %v\n", c.name, err)
		return 1
	}
	names := make([]string, len(commands))
	for i, c := range commands {
		names[i] = c.name
	}
	fmt.Fprintf(stderr, "wmpf-hil: unknown command %q: allowed %s\n", args[0], strings.Join(names, ", "))
	return 2
}

func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("wmpf-hil "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

func parse(fs *flag.FlagSet, args []string, positional int) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err.Error()}
	}
	if fs.NArg() != positional {
		if positional == 0 {
			return usageError{fmt.Sprintf("unexpected argument %q", fs.Arg(0))}
		}
		return usageError{fmt.Sprintf("want %d argument(s), got %d", positional, fs.NArg())}
	}
	return nil
}
