package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/wmpf-hil/wmpf-hil/harness/report"
	"github.com/wmpf-hil/wmpf-hil/internal/cli"
)

const mergeHelp = `Combines the report folders of the shards of one run (wmpf-hil run -shard I/N,
on several hosts, CI jobs or Kubernetes pods) into one: results.jsonl, junit.xml
(a testsuite per device), ctrf.json, report.html with the whole spec × device
matrix, the evidence, and bench.json computed again from every shard's calls.
It never changes or deletes its inputs. A shard missing or crashed (no end
record) is named in the merged report and is an error unless -allow-partial.

Exit status: the merged run's (0 pass, 1 product failure, 3 infrastructure
trouble or a shard missing with -allow-partial), 2 bad input, 4 a shard
missing or crashed without -allow-partial.
`

// exitPartial is merge's exit status when shards are missing or crashed
// and -allow-partial was not given.
const exitPartial = 4

func runMerge(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("merge", stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: wmpf-hil merge -o OUT DIR...\n\n%s\nFlags:\n", mergeHelp)
		fs.PrintDefaults()
	}
	out := fs.String("o", "", "the merged run's folder (must not exist)")
	partial := fs.Bool("allow-partial", false, "merge what there is when a shard is missing or crashed (the merged run cannot pass)")
	runID := fs.String("run-id", "", "the merged run's id (default: the shards' run id)")
	if err := cli.Parse(fs, args, -1); err != nil {
		return err
	}
	if *out == "" {
		return cli.Usagef("-o: required: the folder to write the merged run to")
	}
	if fs.NArg() == 0 {
		return cli.Usagef("give the shards' run folders: wmpf-hil merge -o OUT DIR...")
	}
	var dirs []string
	for _, d := range fs.Args() {
		st, err := os.Stat(d)
		switch {
		case err != nil && os.IsNotExist(err) && *partial:
			// A shard that never started left no folder: the merged run
			// names it missing.
			fmt.Fprintf(stderr, "wmpf-hil merge: %s does not exist: leaving it out\n", d)
			continue
		case err != nil || !st.IsDir():
			return cli.Usagef("%s: not a run folder (%v)", d, err)
		}
		dirs = append(dirs, d)
	}
	if len(dirs) == 0 {
		return cli.Usagef("none of the shards' run folders exists")
	}
	res, err := report.Merge(*out, dirs, report.MergeOptions{AllowPartial: *partial, RunID: *runID})
	if err != nil {
		if res != nil && (len(res.Missing) > 0 || len(res.Crashed) > 0) {
			fmt.Fprintf(stderr, "wmpf-hil merge: %v\n", err)
			return cli.ExitError{Code: exitPartial}
		}
		if errors.Is(err, os.ErrExist) {
			return cli.Usagef("-o %s: %v", *out, err)
		}
		return cli.UsageError{Msg: err.Error()}
	}
	fmt.Fprintf(stdout, "merged %d shards (%d records, %d evidence files) into %s\n", len(res.Shards), res.Records, res.EvidenceFiles, res.Dir)
	for _, s := range res.Shards {
		state := "finished"
		if !s.Finished {
			state = "crashed (no end record)"
		}
		fmt.Fprintf(stdout, "  shard %d/%d %s from %s on %s: %d records, %s\n", s.Index, s.Count, s.ID, s.Dir, s.Host, s.Records, state)
	}
	for _, m := range res.Missing {
		fmt.Fprintf(stdout, "  shard %d missing\n", m)
	}
	summarize(stdout, res.Dir)
	return exitStatus(res.End.ExitCode, res.Dir)
}
