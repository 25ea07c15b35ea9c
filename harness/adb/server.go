package adb

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// ServerOptions configure a LocalServer.
type ServerOptions struct {
	// Port to listen on, on 127.0.0.1; 0 picks a free one. Never 5037 unless
	// asked for: tests must not touch a user's server.
	Port int
	// ADB is the adb binary; default "adb" from PATH.
	ADB string
	// Home is the server's HOME, where it keeps its key; default a fresh
	// temporary directory removed on Close.
	Home string
	// Env adds environment variables for the server.
	Env []string
	// Remote makes the server listen on all interfaces (adb -a), so that
	// harnesses on other hosts can use it.
	Remote bool
}

// LocalServer is an adb server this process started and owns.
type LocalServer struct {
	addr    string
	bin     string
	args    []string
	env     []string
	home    string
	ownHome bool
	logs    *bytes.Buffer
	logMu   *sync.Mutex

	mu       sync.Mutex
	cmd      *exec.Cmd
	exited   chan struct{}
	waitErr  error
	restarts int
}

// StartServer starts `adb server nodaemon` with an isolated HOME on its own
// port and waits until it answers. ADB_EMU=0 keeps it from probing the
// emulator ports 5555-5585. On Linux the server dies with the process that
// started it, even one killed with SIGKILL (serverAttrs).
func StartServer(ctx context.Context, opts ServerOptions) (*LocalServer, error) {
	adbPath := opts.ADB
	if adbPath == "" {
		adbPath = "adb"
	}
	bin, err := exec.LookPath(adbPath)
	if err != nil {
		return nil, fmt.Errorf("start adb server: %q not found (install platform-tools, e.g. apt-get install -y adb): %w", adbPath, err)
	}
	port := opts.Port
	if port == 0 {
		if port, err = freePort(); err != nil {
			return nil, fmt.Errorf("start adb server: %w", err)
		}
	}
	if port < 1 || port > 65535 {
		return nil, fmt.Errorf("start adb server: port %d: allowed 1..65535", port)
	}
	s := &LocalServer{addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), bin: bin, home: opts.Home,
		logs: &bytes.Buffer{}, logMu: &sync.Mutex{}}
	if s.home == "" {
		if s.home, err = os.MkdirTemp("", "wmpf-hil-adb-home-"); err != nil {
			return nil, fmt.Errorf("start adb server: %w", err)
		}
		s.ownHome = true
	}
	s.args = []string{"-P", strconv.Itoa(port)}
	if opts.Remote {
		s.args = append(s.args, "-a")
	}
	s.args = append(s.args, "server", "nodaemon")
	s.env = append(os.Environ(), "HOME="+s.home, "ADB_EMU=0", "ANDROID_ADB_SERVER_PORT="+strconv.Itoa(port))
	s.env = append(s.env, opts.Env...)
	if err := s.spawn(ctx); err != nil {
		s.cleanHome()
		return nil, err
	}
	return s, nil
}

// spawn starts the server process and waits until it answers.
func (s *LocalServer) spawn(ctx context.Context) error {
	cmd := exec.Command(s.bin, s.args...)
	cmd.Env = s.env
	cmd.Stdout = lockedWriter{s.logMu, s.logs}
	cmd.Stderr = lockedWriter{s.logMu, s.logs}
	cmd.SysProcAttr = serverAttrs()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start adb server: %w", err)
	}
	raiseFileLimit(cmd.Process.Pid)
	exited := make(chan struct{})
	s.mu.Lock()
	s.cmd, s.exited, s.waitErr = cmd, exited, nil
	s.mu.Unlock()
	go func() {
		err := cmd.Wait()
		s.mu.Lock()
		if s.cmd == cmd {
			s.waitErr = err
		}
		s.mu.Unlock()
		close(exited)
	}()
	c := NewClient(s.addr)
	for {
		wctx, cancel := context.WithTimeout(ctx, time.Second)
		_, err := c.query(wctx, "version", "", "host:version")
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-exited:
			return fmt.Errorf("start adb server on %s: it exited (%v): %s", s.addr, s.exitErr(), s.Logs())
		case <-ctx.Done():
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
			return fmt.Errorf("start adb server on %s: %w (last: %v)", s.addr, ctx.Err(), err)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Restart starts the server again, on the same port and with the same
// HOME (so the same key), after its process exited: what a farm does when
// its adb server crashes mid-run. Devices reached with `adb connect` must
// be connected again. Restarting a server that still runs is an error.
func (s *LocalServer) Restart(ctx context.Context) error {
	select {
	case <-s.Exited():
	default:
		return fmt.Errorf("restart adb server on %s: it is still running (pid %d)", s.addr, s.Pid())
	}
	if err := s.spawn(ctx); err != nil {
		return err
	}
	s.mu.Lock()
	s.restarts++
	s.mu.Unlock()
	return nil
}

// Restarts counts the successful Restarts.
func (s *LocalServer) Restarts() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.restarts
}

// ExitStatus says how the last server process ended ("running" while it
// runs).
func (s *LocalServer) ExitStatus() string {
	select {
	case <-s.Exited():
	default:
		return "running"
	}
	if err := s.exitErr(); err != nil {
		return err.Error()
	}
	return "exit status 0"
}

func (s *LocalServer) exitErr() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.waitErr
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.w.Len() > 1<<20 {
		return len(p), nil
	}
	return l.w.Write(p)
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// Addr is the server's address.
func (s *LocalServer) Addr() string { return s.addr }

// SocketSpec is the value for ADB_SERVER_SOCKET that names this server.
func (s *LocalServer) SocketSpec() string { return "tcp:" + s.addr }

// Env returns environment entries that point the adb command at this server
// with the same HOME (and key).
func (s *LocalServer) Env() []string {
	return []string{"ADB_SERVER_SOCKET=" + s.SocketSpec(), "HOME=" + s.home}
}

// Client returns a client of this server.
func (s *LocalServer) Client() *Client { return NewClient(s.addr) }

// Pid of the server process.
func (s *LocalServer) Pid() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cmd.Process.Pid
}

// Exited is closed when the current server process has exited.
func (s *LocalServer) Exited() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.exited
}

// Logs returns what the server printed.
func (s *LocalServer) Logs() string {
	s.logMu.Lock()
	defer s.logMu.Unlock()
	return s.logs.String()
}

// Close stops the server (kill-server, then SIGKILL if it lingers) and
// removes its temporary HOME.
func (s *LocalServer) Close() error {
	exited := s.Exited()
	select {
	case <-exited:
	default:
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_ = NewClient(s.addr).Kill(ctx)
		cancel()
		select {
		case <-exited:
		case <-time.After(3 * time.Second):
			_ = syscall.Kill(-s.Pid(), syscall.SIGKILL)
			<-exited
		}
	}
	s.cleanHome()
	var ee *exec.ExitError
	if err := s.exitErr(); err != nil && !errors.As(err, &ee) {
		return err
	}
	return nil
}

func (s *LocalServer) cleanHome() {
	if s.ownHome && s.home != "" {
		_ = os.RemoveAll(filepath.Clean(s.home))
		s.home = ""
	}
}
