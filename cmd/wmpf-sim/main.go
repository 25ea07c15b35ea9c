// Command wmpf-sim runs simulated devices and the simulated WeChat side.
//
//	wmpf-sim devices -n N -port P [flags]   N simulated devices on 127.0.0.1:P, P+1, …
//	wmpf-sim farm -n N -port P [flags]      the WeChat side and N devices that use it
//	wmpf-sim call --api URL --token T --sn SN --room voice|video --caller NAME
//	wmpf-sim profiles                       the device profiles in fixtures/profiles
//	wmpf-sim defects                        the defects a device can have
//
// Devices print "READY serial=127.0.0.1:<port> sn=<sn> model=<model>" once
// they accept connections; the farm prints "API url=… token=…". Both run
// until SIGINT or SIGTERM and then close cleanly.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	_ "time/tzdata"
)

type command struct {
	name, summary string
	run           func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

var commands = []command{
	{"devices", "run simulated devices", runDevices},
	{"farm", "run the simulated WeChat side and devices that use it", runFarm},
	{"call", "place a call through the simulated WeChat side", runCall},
	{"push", "send a push message through the push API (pushappmsg)", runPush},
	{"profiles", "list device profiles", runProfiles},
	{"defects", "list the defects a simulated device can have", runDefects},
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// usageError is a mistake on the command line: exit status 2.
type usageError struct{ msg string }

func (u usageError) Error() string { return u.msg }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range commands {
		if c.name == args[0] {
			err := c.run(ctx, args[1:], stdout, stderr)
			switch {
			case err == nil:
				return 0
			case errors.Is(err, flag.ErrHelp):
				return 0
			}
			fmt.Fprintf(stderr, "wmpf-sim %s: %v\n", c.name, err)
			var ue usageError
			if errors.As(err, &ue) {
				return 2
			}
			return 1
		}
	}
	names := make([]string, len(commands))
	for i, c := range commands {
		names[i] = c.name
	}
	fmt.Fprintf(stderr, "wmpf-sim: unknown command %q: allowed %s\n", args[0], strings.Join(names, ", "))
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: wmpf-sim COMMAND [flags]   (wmpf-sim COMMAND -h for its flags)")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
	}
}

// newFlags returns a flag set whose errors come back instead of exiting.
func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("wmpf-sim "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err.Error()}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("unexpected argument %q", fs.Arg(0))}
	}
	return nil
}

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
