package android

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"time"
)

// Entry points: a command line (Exec), an interactive shell (Interactive)
// and a script read from a pipe (Script), each as an sh process.

// Exec runs a command line like `adb shell CMD`: as an `sh -c` process
// (child of adbd, uid 2000 or 0) whose commands run as child processes. It
// returns the exit status when the command line ends, or 130 (ctx
// cancelled) / 143 (deadline or system closed) as soon as ctx is done.
// Background jobs (&) are killed when it returns.
func (s *System) Exec(ctx context.Context, cmdline string, stdio Stdio) int {
	return s.run(ctx, []string{"sh", "-c", cmdline}, stdio, func(sh *shell, tio ioTable) int {
		return sh.runSource(context.WithoutCancel(sh.proc.ctx), cmdline, tio)
	})
}

// Interactive runs `adb shell` without a command: it prints the prompt
// "<ro.product.device>:<cwd> $ " ("# " when rooted), reads and runs one
// line at a time from Stdin until "exit" or EOF, and returns the last exit
// status. Commands get an empty stdin.
func (s *System) Interactive(ctx context.Context, stdio Stdio) int {
	return s.readLoop(ctx, stdio, true)
}

// Script runs a shell whose stdin is not a terminal (`adb shell < script`):
// like Interactive, but mksh prints no prompt when it reads a pipe.
func (s *System) Script(ctx context.Context, stdio Stdio) int {
	return s.readLoop(ctx, stdio, false)
}

func (s *System) readLoop(ctx context.Context, stdio Stdio, prompt bool) int {
	if stdio.Stdin == nil {
		stdio.Stdin = strings.NewReader("")
	}
	src := stdio.Stdin
	stdio.Stdin = nil
	return s.run(ctx, []string{"sh"}, stdio, func(sh *shell, tio ioTable) int {
		lines := make(chan string)
		go func() {
			defer close(lines)
			br := bufio.NewReader(src)
			for {
				l, err := br.ReadString('\n')
				if l != "" {
					select {
					case lines <- l:
					case <-sh.proc.ctx.Done():
						return
					}
				}
				if err != nil {
					return
				}
			}
		}()
		pending := ""
		for !sh.exited {
			switch {
			case !prompt:
			case pending != "":
				fmt.Fprint(tio.out, "> ")
			default:
				p := "$ "
				if sh.uid == 0 {
					p = "# "
				}
				fmt.Fprintf(tio.out, "%s:%s %s", s.GetProp("ro.product.device"), sh.cwd, p)
			}
			var line string
			var ok bool
			select {
			case line, ok = <-lines:
			case <-sh.proc.ctx.Done():
				return sh.status
			}
			if !ok {
				if pending != "" && !prompt {
					sh.runSource(context.WithoutCancel(sh.proc.ctx), strings.TrimRight(pending, "\n"), tio)
				}
				break
			}
			src := pending + line
			if _, err := parseScript(src); err != nil && needsMore(err) {
				pending = src
				continue
			}
			pending = ""
			sh.runSource(context.WithoutCancel(sh.proc.ctx), strings.TrimRight(src, "\n"), tio)
		}
		return sh.status
	})
}

func needsMore(err error) bool {
	m := err.Error()
	return strings.Contains(m, "unexpected EOF") || strings.Contains(m, "expected") ||
		strings.Contains(m, "unmatched") || strings.Contains(m, "no closing quote") || strings.Contains(m, "missing")
}

func (s *System) run(ctx context.Context, args []string, stdio Stdio, body func(sh *shell, tio ioTable) int) int {
	execCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(s.ctx, cancel)
	defer stop()
	sem := make(chan struct{}, 1)
	var closed atomic.Bool
	out := &gateWriter{sem: sem, w: stdio.Stdout, closed: &closed}
	errw := &gateWriter{sem: sem, w: stdio.Stderr, closed: &closed}
	var in io.Reader = strings.NewReader("")
	var lazy *lazyStdin
	if stdio.Stdin != nil {
		lazy = newLazyStdin(stdio.Stdin)
		in = lazy
	}
	ppid := 0
	s.mu.Lock()
	if s.adbd != nil {
		ppid = s.adbd.Pid
	}
	s.mu.Unlock()
	sh, err := s.newShell(execCtx, args, ppid, out)
	if err != nil {
		fmt.Fprintf(errw, "%s: %v\n", shName, err)
		return 255
	}
	done := make(chan int, 1)
	go func() {
		st := body(sh, ioTable{in: in, out: out, err: errw})
		sh.finish()
		s.exitProcess(sh.proc)
		done <- st
	}()
	finish := func() {
		closed.Store(true)
		// let a write in progress complete, unless the caller's writer is
		// itself blocked
		t := time.NewTimer(100 * time.Millisecond)
		select {
		case sem <- struct{}{}:
			<-sem
		case <-t.C:
		}
		t.Stop()
		if lazy != nil {
			lazy.close()
		}
	}
	select {
	case st := <-done:
		finish()
		if ctx.Err() != nil {
			return ctxStatus(ctx)
		}
		if s.ctx.Err() != nil {
			return 143
		}
		if sig := sh.proc.Signal(); sig != 0 {
			return 128 + sig
		}
		return st
	case <-execCtx.Done():
		finish()
		cancel()
		s.mu.Lock()
		s.dieLocked(sh.proc, 0, "exit")
		s.mu.Unlock()
		s.afterDeaths()
		if ctx.Err() != nil {
			return ctxStatus(ctx)
		}
		return 143
	}
}

func ctxStatus(ctx context.Context) int {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return 143
	}
	return 130
}

// runSource parses and runs a script in this shell; it returns $?.
