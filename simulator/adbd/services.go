package adbd

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/wmpf-hil/wmpf-hil/internal/adbwire"
)

type runFunc func(ctx context.Context, st *Stream) error

// maxShellPacketOut bounds one shell v2 packet the device sends.
const maxShellPacketOut = 32*1024 - adbwire.ShellHeaderSize

// resolve maps an OPEN destination to the code that serves it, or nil.
// Registered services come first, then adbd's own.
func (s *Server) resolve(c *conn, name string) runFunc {
	for _, p := range s.prefixes {
		if strings.HasPrefix(name, p) {
			fn, arg := s.cfg.Services[p], name[len(p):]
			return func(ctx context.Context, st *Stream) error { return fn(ctx, arg, st) }
		}
	}
	switch {
	case strings.HasPrefix(name, "shell:") || strings.HasPrefix(name, "shell,"):
		req, err := ParseShellService(name)
		if err != nil {
			return nil
		}
		return func(ctx context.Context, st *Stream) error { return s.runShell(ctx, st, req) }
	case strings.HasPrefix(name, "exec:"):
		cmd := name[len("exec:"):]
		return func(ctx context.Context, st *Stream) error {
			s.cfg.Shell.RunShell(ctx, ShellRequest{Command: cmd, Root: s.root.Load(), Stdin: st, Stdout: st, Stderr: st})
			return nil
		}
	case strings.HasPrefix(name, "abb_exec:"):
		return s.abbService(name[len("abb_exec:"):], false)
	case strings.HasPrefix(name, "abb:"):
		return s.abbService(name[len("abb:"):], true)
	case strings.HasPrefix(name, "sync:"):
		if s.cfg.FS == nil {
			return nil
		}
		return func(ctx context.Context, st *Stream) error { return s.serveSync(ctx, st) }
	case strings.HasPrefix(name, "reverse:"):
		arg := name[len("reverse:"):]
		return func(ctx context.Context, st *Stream) error { return c.serveReverse(arg, st) }
	case strings.HasPrefix(name, "root:"):
		return func(ctx context.Context, st *Stream) error { return s.serveRoot(st, true) }
	case strings.HasPrefix(name, "unroot:"):
		return func(ctx context.Context, st *Stream) error { return s.serveRoot(st, false) }
	case strings.HasPrefix(name, "reboot:"):
		target := name[len("reboot:"):]
		return func(ctx context.Context, st *Stream) error { return s.serveReboot(ctx, target, st) }
	}
	return nil
}

// ShellService is a parsed shell service name.
type ShellService struct {
	V2      bool
	PTY     bool
	Term    string
	Command string
}

// ParseShellService parses "shell:CMD" and "shell,v2,TERM=xterm,raw:CMD".
// Without raw or pty, a command runs raw and an empty command gets a pty,
// as adbd decides.
func ParseShellService(name string) (ShellService, error) {
	head, cmd, ok := strings.Cut(name, ":")
	if !ok {
		return ShellService{}, fmt.Errorf("shell service %q: no ':'", name)
	}
	args := strings.Split(head, ",")
	if args[0] != "shell" {
		return ShellService{}, fmt.Errorf("shell service %q: not a shell service", name)
	}
	svc := ShellService{Command: cmd, PTY: cmd == ""}
	for _, a := range args[1:] {
		switch {
		case a == "v2":
			svc.V2 = true
		case a == "raw":
			svc.PTY = false
		case a == "pty":
			svc.PTY = true
		case strings.HasPrefix(a, "TERM="):
			svc.Term = a[len("TERM="):]
		case a == "":
		default:
			return ShellService{}, fmt.Errorf("shell service %q: unknown argument %q", name, a)
		}
	}
	return svc, nil
}

func (s *Server) runShell(ctx context.Context, st *Stream, svc ShellService) error {
	req := ShellRequest{Command: svc.Command, PTY: svc.PTY, Term: svc.Term, Root: s.root.Load()}
	var stdinPipe *io.PipeWriter
	if svc.V2 {
		// Demultiplex the host's stdin packets.
		pr, pw := io.Pipe()
		stdinPipe = pw
		req.Stdin = pr
		go func() {
			defer pw.Close()
			dec := adbwire.NewPacketDecoder(0)
			buf := make([]byte, 4096)
			for {
				n, err := st.Read(buf)
				if n > 0 {
					dec.Write(buf[:n])
					for {
						p, ok, derr := dec.Next()
						if derr != nil {
							pw.CloseWithError(derr)
							return
						}
						if !ok {
							break
						}
						switch p.ID {
						case adbwire.ShellStdin:
							data := p.Data
							if svc.PTY {
								data = bytes.ReplaceAll(data, []byte("\r"), []byte("\n"))
							}
							if _, werr := pw.Write(data); werr != nil {
								return
							}
							if svc.PTY {
								// The terminal echoes what is typed.
								echo := bytes.ReplaceAll(data, []byte("\n"), []byte("\r\n"))
								_, _ = st.Write(adbwire.AppendPacket(nil, adbwire.ShellStdout, echo))
							}
						case adbwire.ShellCloseStdin:
							return
						}
					}
				}
				if err != nil {
					return
				}
			}
		}()
		out := &packetWriter{st: st, id: adbwire.ShellStdout, crlf: svc.PTY}
		req.Stdout = out
		if svc.PTY {
			req.Stderr = out // a terminal has one output
		} else {
			req.Stderr = &packetWriter{st: st, id: adbwire.ShellStderr}
		}
	} else {
		req.Stdin = st
		if svc.PTY {
			w := &crlfWriter{w: st}
			req.Stdout, req.Stderr = w, w
		} else {
			req.Stdout, req.Stderr = st, st
		}
	}
	// An empty Command asks the Shell for an interactive session.
	code := s.cfg.Shell.RunShell(ctx, req)
	if svc.V2 {
		_, _ = st.Write(adbwire.AppendPacket(nil, adbwire.ShellExit, []byte{byte(code)}))
		if stdinPipe != nil {
			stdinPipe.CloseWithError(io.EOF)
		}
	}
	return nil
}

// packetWriter wraps each write in shell v2 packets.
type packetWriter struct {
	st   *Stream
	id   byte
	crlf bool
	mu   sync.Mutex
	buf  []byte
}

func (w *packetWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	data := p
	if w.crlf {
		data = toCRLF(p)
	}
	for len(data) > 0 {
		n := min(len(data), maxShellPacketOut)
		w.buf = adbwire.AppendPacket(w.buf[:0], w.id, data[:n])
		if _, err := w.st.Write(w.buf); err != nil {
			return 0, err
		}
		data = data[n:]
	}
	return len(p), nil
}

type crlfWriter struct{ w io.Writer }

func (c *crlfWriter) Write(p []byte) (int, error) {
	if _, err := c.w.Write(toCRLF(p)); err != nil {
		return 0, err
	}
	return len(p), nil
}

func toCRLF(p []byte) []byte {
	if !bytes.Contains(p, []byte("\n")) {
		return p
	}
	out := make([]byte, 0, len(p)+bytes.Count(p, []byte("\n")))
	for i, b := range p {
		if b == '\n' && (i == 0 || p[i-1] != '\r') {
			out = append(out, '\r')
		}
		out = append(out, b)
	}
	return out
}
