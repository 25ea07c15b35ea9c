package adbd

import (
	"context"
	"strings"
)

// abbService serves abb_exec:SERVICE\0ARG... (raw: the stream is the
// command's stdin and stdout) and abb:SERVICE\0ARG... (the shell
// protocol, with stderr and the exit status) by running `cmd SERVICE
// ARG...` through the Shell: what Android's abb daemon does by calling the
// binder service's shell command, and what `adb install` relies on when
// abb_exec is advertised.
func (s *Server) abbService(arg string, protocol bool) runFunc {
	args := strings.Split(arg, "\x00")
	if len(args) == 0 || args[0] == "" {
		return nil
	}
	quoted := make([]string, 0, len(args)+1)
	quoted = append(quoted, "cmd")
	for _, a := range args {
		quoted = append(quoted, shellQuote(a))
	}
	cmdline := strings.Join(quoted, " ")
	if protocol {
		svc := ShellService{V2: true, Command: cmdline}
		return func(ctx context.Context, st *Stream) error { return s.runShell(ctx, st, svc) }
	}
	return func(ctx context.Context, st *Stream) error {
		s.cfg.Shell.RunShell(ctx, ShellRequest{Command: cmdline, Root: s.root.Load(), Stdin: st, Stdout: st, Stderr: st})
		return nil
	}
}

// shellQuote quotes a word for a POSIX shell unless it needs none.
func shellQuote(w string) string {
	if w != "" && strings.Trim(w, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:,+@%") == "" {
		return w
	}
	return "'" + strings.ReplaceAll(w, "'", `'\''`) + "'"
}
