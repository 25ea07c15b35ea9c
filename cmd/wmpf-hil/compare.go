package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/wmpf-hil/wmpf-hil/harness/report"
	"github.com/wmpf-hil/wmpf-hil/internal/cli"
)

func init() {
	commands = append(commands, cli.Command{Name: "compare",
		Summary: "judge two benchmark runs (run directories or bench.json; comma-separated shards) with the release gate, running nothing: exit 4 on a regression",
		Run:     runCompare})
}

// runCompare is wmpf-hil compare [-alpha A] [-min-effect P%] [-json FILE]
// OLD NEW: the release gate's table for two kept runs, as bench -baseline
// prints it. Exit 4 on a regression, 2 on bad input, 0 otherwise.
func runCompare(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("compare", stderr)
	gateCfg := gateFlags(fs)
	jsonOut := fs.String("json", "", "also write the judgement to this file (as the run's gate.json)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: wmpf-hil compare [flags] OLD NEW\n  OLD, NEW: a run directory or its bench.json; several, comma-separated, are put together\n")
		fs.PrintDefaults()
	}
	if err := parse(fs, args, 2); err != nil {
		return err
	}
	cfg, err := gateCfg()
	if err != nil {
		return err
	}
	old, err := report.ReadBenchSet(fs.Arg(0))
	if err != nil {
		return cli.UsageError{Msg: "OLD: " + err.Error()}
	}
	now, err := report.ReadBenchSet(fs.Arg(1))
	if err != nil {
		return cli.UsageError{Msg: "NEW: " + err.Error()}
	}
	if _, err := old.GateSamples(); err != nil {
		return cli.UsageError{Msg: "OLD: " + err.Error()}
	}
	if _, err := now.GateSamples(); err != nil {
		return cli.UsageError{Msg: "NEW: " + err.Error()}
	}
	res, err := report.CompareBench(cfg, old, now)
	if err != nil {
		return cli.UsageError{Msg: err.Error()}
	}
	rep := report.GateReport{Baseline: fs.Arg(0), BaselineRun: old.Run, BaselineCalls: old.Calls, Run: now.Run, Calls: now.Calls, Result: res}
	report.WriteGateTable(stdout, rep)
	if *jsonOut != "" {
		b, err := json.MarshalIndent(rep, "", "  ")
		if err == nil {
			err = os.WriteFile(*jsonOut, append(b, '\n'), 0o644)
		}
		if err != nil {
			return fmt.Errorf("-json: %w", err)
		}
	}
	if res.Regressed() {
		return cli.ExitError{Code: exitRegression}
	}
	return nil
}
