// Package cli is the small command-line frame the project's programs share:
// subcommands, flag sets whose errors come back instead of exiting, and
// exit statuses (2 for a mistake on the command line).
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// Command is one subcommand.
type Command struct {
	Name, Summary string
	Run           func(ctx context.Context, args []string, stdout, stderr io.Writer) error
	// Hidden commands are left out of the usage (internal ones).
	Hidden bool
}

// UsageError is a mistake on the command line: exit status 2.
type UsageError struct{ Msg string }

func (u UsageError) Error() string { return u.Msg }

// Usagef makes a UsageError.
func Usagef(format string, args ...any) error { return UsageError{fmt.Sprintf(format, args...)} }

// ExitError carries an exit status to return without a message.
type ExitError struct{ Code int }

func (e ExitError) Error() string { return fmt.Sprintf("exit status %d", e.Code) }

// Main runs the subcommand args[0] and returns the exit status.
func Main(ctx context.Context, prog string, commands []Command, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprintf(stderr, "usage: %s COMMAND [flags]   (%s COMMAND -h for its flags)\n", prog, prog)
		for _, c := range commands {
			if !c.Hidden {
				fmt.Fprintf(stderr, "  %-9s %s\n", c.Name, c.Summary)
			}
		}
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range commands {
		if c.Name != args[0] {
			continue
		}
		err := c.Run(ctx, args[1:], stdout, stderr)
		var ee ExitError
		var ue UsageError
		switch {
		case err == nil, errors.Is(err, flag.ErrHelp):
			return 0
		case errors.As(err, &ee):
			return ee.Code
		case errors.As(err, &ue):
			fmt.Fprintf(stderr, "%s %s: %v\n", prog, c.Name, err)
			return 2
		}
		fmt.Fprintf(stderr, "%s %s: %v\n", prog, c.Name, err)
		return 1
	}
	names := make([]string, len(commands))
	for i, c := range commands {
		names[i] = c.Name
	}
	fmt.Fprintf(stderr, "%s: unknown command %q: allowed %s\n", prog, args[0], strings.Join(names, ", "))
	return 2
}

// Flags returns a flag set whose errors come back instead of exiting.
func Flags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// Parse parses args and checks the number of positional arguments (any
// number when positional is negative).
func Parse(fs *flag.FlagSet, args []string, positional int) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return UsageError{err.Error()}
	}
	if positional >= 0 && fs.NArg() != positional {
		if positional == 0 {
			return Usagef("unexpected argument %q", fs.Arg(0))
		}
		return Usagef("want %d argument(s), got %d", positional, fs.NArg())
	}
	return nil
}
