// Package adbd is the device side of the ADB transport over TCP: what adbd on a
// network-attached Android device speaks to the adb server after `adb connect`.
//
// A Server listens on one TCP address and serves every connection the adb
// server makes to it: the CNXN handshake with a banner built from the device's
// properties, optional AUTH, and streams (OPEN/OKAY/WRTE/CLSE) with
// per-stream flow control and batched output. The package knows nothing
// about Android itself: shell commands go to a Shell, files to a FileSystem.
//
// Services, as AOSP adbd (daemon/services.cpp) names and answers them:
//
//   - shell:CMD, shell,v2,[raw|pty],TERM=..:CMD (shell protocol v2 with
//     separate stdout, stderr and exit status; an empty command is an
//     interactive shell, with a terminal only when the host asks for one)
//     and exec:CMD (raw). Shells run as root when adbd does, else as shell.
//   - sync: the file sync protocol (daemon/file_sync_service.cpp): STAT,
//     STA2, LST2, LIST, LIS2 (with "." and ".."), SEND (path,mode; DATA
//     chunks of at most 64 KiB; DONE with the mtime; parent directories are
//     made), RECV, QUIT, and FAIL with adbd's messages ("couldn't create
//     file: Permission denied", "open failed: No such file or directory",
//     ...). Contents stream through: nothing holds a whole file. SND2/RCV2
//     (sendrecv_v2) are not implemented and not advertised.
//   - abb_exec:SERVICE\0ARG... (raw) and abb:SERVICE\0ARG... (shell
//     protocol): `cmd SERVICE ARG...` through the Shell, which is how `adb
//     install` reaches `cmd package install -S SIZE`.
//   - reverse:forward:[norebind:]LOCAL;REMOTE, reverse:killforward:LOCAL,
//     reverse:killforward-all, reverse:list-forward, with adbd's replies
//     ("OKAY", the port chosen for tcp:0, "FAIL" + message, the listing as
//     "host-19 LOCAL REMOTE" lines). Rules belong to the connection (the
//     transport), as on a device, and go with it; no traffic is tunnelled.
//   - root: and unroot: with restart_service.cpp's texts; when adbd changes
//     user it restarts: the reply is flushed, then every connection drops
//     and the adb server reconnects (`adb root` waits for that). A device
//     that is not Debuggable refuses with "adbd cannot run as root in
//     production builds".
//   - reboot:[TARGET] through Config.Reboot; on success every connection
//     drops, on failure "reboot (reboot,TARGET) failed".
//   - any service the caller registers in Config.Services (tried first).
//
// Features: the CNXN banner (and so `adb features`) lists exactly what is
// implemented (Server.Features): shell_v2, cmd, abb_exec, abb, and with a
// FileSystem stat_v2, ls_v2, fixed_push_mkdir. The banner carries no
// trailing NUL (with one the adb server ignores the last feature).
//
// Limits: at most Config.MaxStreams (DefaultMaxStreams, 1024) streams open
// at once on a connection; an OPEN beyond is refused with CLSE, as adbd
// refuses a service it cannot start once out of file descriptors, so
// memory stays bounded (about 20 KB a stream). A connection that has not
// sent CNXN within Config.HandshakeTimeout (DefaultHandshakeTimeout, 10 s)
// is closed: adbd itself waits forever, but the adb server retries a TCP
// device after about that long, so a silent connection is not a server's.
package adbd

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wmpf-hil/wmpf-hil/internal/adbwire"
)

// AuthMode selects how the device answers the host's CNXN.
type AuthMode int

const (
	// AuthNone answers CNXN with CNXN: the device is online at once.
	AuthNone AuthMode = iota
	// AuthReject asks for authentication and never accepts: the adb server
	// lists the device as "unauthorized".
	AuthReject
	// AuthAcceptAny asks for authentication and accepts the first signature,
	// as a device that already trusts the host's key does.
	AuthAcceptAny
)

func (m AuthMode) String() string {
	switch m {
	case AuthNone:
		return "none"
	case AuthReject:
		return "reject"
	case AuthAcceptAny:
		return "accept"
	}
	return fmt.Sprintf("AuthMode(%d)", int(m))
}

// UnmarshalText parses a mode in a configuration file.
func (m *AuthMode) UnmarshalText(b []byte) error {
	v, err := ParseAuthMode(string(b))
	if err != nil {
		return err
	}
	*m = v
	return nil
}

// ParseAuthMode parses "none", "reject" or "accept".
func ParseAuthMode(s string) (AuthMode, error) {
	switch s {
	case "", "none":
		return AuthNone, nil
	case "reject":
		return AuthReject, nil
	case "accept":
		return AuthAcceptAny, nil
	}
	return 0, fmt.Errorf("auth %q: allowed values are none, reject, accept", s)
}

// ShellRequest is one shell session the host opened.
type ShellRequest struct {
	// Root is true when adbd runs as root (uid 0): the shell runs as root
	// too. Otherwise it runs as shell (uid 2000).
	Root bool
	// Command is the command line; empty for an interactive shell.
	Command string
	// PTY is true when the host asked for a terminal (interactive shells,
	// `adb shell -t`). Output then goes through a simulated line discipline.
	PTY bool
	// Term is the TERM the host passed, if any.
	Term   string
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
}

// Shell runs shell sessions for the device.
type Shell interface {
	// RunShell runs the request and returns its exit status. It must return
	// soon after ctx is done (the host closed the stream or the connection
	// went away).
	RunShell(ctx context.Context, req ShellRequest) int
}

// ShellFunc adapts a function to Shell.
type ShellFunc func(ctx context.Context, req ShellRequest) int

// RunShell calls f.
func (f ShellFunc) RunShell(ctx context.Context, req ShellRequest) int { return f(ctx, req) }

// ServiceFunc serves one stream opened with a registered service name. arg is
// the part of the service name after the registered prefix. Returning closes
// the stream (after its output is flushed).
type ServiceFunc func(ctx context.Context, arg string, s *Stream) error

// Banner is what the device says about itself in CNXN.
type Banner struct {
	Product, Model, Device string
	// Features the device implements. nil: what the Server implements
	// (Server.Features).
	Features []string
}

// String renders the CNXN banner, e.g.
// "device::ro.product.name=x;ro.product.model=y;ro.product.device=z;features=shell_v2,cmd".
// Property values must not contain ':' or ';' (the adb server splits on them);
// they are replaced by '_'.
func (b Banner) String() string {
	clean := strings.NewReplacer(":", "_", ";", "_", "\x00", "_")
	features := b.Features
	if features == nil {
		features = []string{FeatureShellV2, FeatureCmd}
	}
	return fmt.Sprintf("device::ro.product.name=%s;ro.product.model=%s;ro.product.device=%s;features=%s",
		clean.Replace(b.Product), clean.Replace(b.Model), clean.Replace(b.Device), strings.Join(features, ","))
}

// Config configures a Server.
type Config struct {
	// Addr to listen on; default "127.0.0.1:0". Ignored when Listener is set.
	Addr     string
	Listener net.Listener
	Banner   Banner
	Auth     AuthMode
	Shell    Shell
	// Services maps a service-name prefix (e.g. "sync:") to its handler.
	// shell and exec are built in and served by Shell.
	Services map[string]ServiceFunc
	// FS is the device's file system as the sync service (adb push, pull,
	// ls, stat) sees it. nil: sync: is refused and the sync features are
	// not advertised.
	FS FileSystem
	// Debuggable is a device whose ro.debuggable is 1 (eng and userdebug
	// builds): `adb root` may restart adbd as root. A production build
	// refuses it.
	Debuggable bool
	// Root makes adbd run as root from the start (an eng build, or a
	// userdebug device after `adb root`). It needs Debuggable.
	Root bool
	// Reboot, when set, serves the reboot: service. It is called with the
	// target ("" for a normal reboot, "bootloader", "recovery", "sideload",
	// "fastboot", ...) after the host's stream was acknowledged. A nil
	// error means the device goes down: adbd drops every connection (the
	// hook brings the device back when it has booted). An error is
	// reported to the host as "reboot (reboot,TARGET) failed" and the
	// device stays up. nil Reboot: the service answers as if setting
	// sys.powerctl failed.
	Reboot func(target string) error
	// MaxStreams bounds the streams open at once on one connection;
	// default DefaultMaxStreams. An OPEN beyond it is refused (CLSE), as
	// adbd refuses a service it cannot start.
	MaxStreams int
	// HandshakeTimeout closes a connection that has not completed the
	// CNXN (and AUTH) handshake in time; default DefaultHandshakeTimeout.
	HandshakeTimeout time.Duration
	// MaxPayload offered in CNXN; default adbwire.MaxPayload (1 MiB).
	MaxPayload uint32
	// Logf, when set, receives protocol diagnostics.
	Logf func(format string, args ...any)
}

// Server serves one simulated device's ADB transport.
type Server struct {
	cfg      Config
	ln       net.Listener
	banner   []byte
	prefixes []string

	root     atomic.Bool
	features []string

	mu     sync.Mutex
	conns  map[*conn]struct{}
	closed bool
	frozen bool
	thaw   chan struct{}

	wg sync.WaitGroup
}

// Start listens and serves in the background.
func Start(cfg Config) (*Server, error) {
	if cfg.Shell == nil {
		return nil, errors.New("adbd: Config.Shell is required")
	}
	if cfg.Root && !cfg.Debuggable {
		return nil, errors.New("adbd: Config.Root needs Config.Debuggable (a production build never runs adbd as root)")
	}
	if cfg.MaxStreams < 0 {
		return nil, fmt.Errorf("adbd: Config.MaxStreams %d: allowed 0 (default %d) or more", cfg.MaxStreams, DefaultMaxStreams)
	}
	if cfg.MaxStreams == 0 {
		cfg.MaxStreams = DefaultMaxStreams
	}
	if cfg.HandshakeTimeout < 0 {
		return nil, fmt.Errorf("adbd: Config.HandshakeTimeout %v: allowed 0 (default %v) or more", cfg.HandshakeTimeout, DefaultHandshakeTimeout)
	}
	if cfg.HandshakeTimeout == 0 {
		cfg.HandshakeTimeout = DefaultHandshakeTimeout
	}
	if cfg.MaxPayload == 0 {
		cfg.MaxPayload = adbwire.MaxPayload
	}
	if cfg.MaxPayload < adbwire.MaxPayloadV1 || cfg.MaxPayload > adbwire.MaxPayload {
		return nil, fmt.Errorf("adbd: Config.MaxPayload %d: allowed %d..%d", cfg.MaxPayload, adbwire.MaxPayloadV1, adbwire.MaxPayload)
	}
	ln := cfg.Listener
	if ln == nil {
		addr := cfg.Addr
		if addr == "" {
			addr = "127.0.0.1:0"
		}
		var err error
		if ln, err = net.Listen("tcp", addr); err != nil {
			return nil, fmt.Errorf("adbd: listen: %w", err)
		}
	}
	s := &Server{
		cfg:      cfg,
		ln:       ln,
		conns:    make(map[*conn]struct{}),
		features: implementedFeatures(cfg),
	}
	s.root.Store(cfg.Root)
	banner := cfg.Banner
	if banner.Features == nil {
		banner.Features = s.features
	}
	// adbd sends the banner without a terminating NUL: with one, the adb
	// server would read the last feature as "NAME\x00" and ignore it.
	s.banner = []byte(banner.String())
	for p := range cfg.Services {
		s.prefixes = append(s.prefixes, p)
	}
	// Longest prefix first, so "shell,v2" style overlaps resolve predictably.
	sort.Slice(s.prefixes, func(i, j int) bool { return len(s.prefixes[i]) > len(s.prefixes[j]) })
	s.wg.Add(1)
	go s.accept()
	return s, nil
}

// Addr is the address the device listens on ("127.0.0.1:PORT").
func (s *Server) Addr() string { return s.ln.Addr().String() }

func (s *Server) logf(format string, args ...any) {
	if s.cfg.Logf != nil {
		s.cfg.Logf(format, args...)
	}
}

func (s *Server) accept() {
	defer s.wg.Done()
	for {
		nc, err := s.ln.Accept()
		if err != nil {
			return
		}
		if tc, ok := nc.(*net.TCPConn); ok {
			_ = tc.SetNoDelay(true)
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			nc.Close()
			return
		}
		c := newConn(s, nc)
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go func() {
			defer s.wg.Done()
			c.serve()
			s.mu.Lock()
			delete(s.conns, c)
			s.mu.Unlock()
		}()
	}
}

// Conns reports how many host connections are open.
func (s *Server) Conns() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// DropConnections closes every open connection, as a network drop or a
// restarted adbd would; the device keeps listening.
func (s *Server) DropConnections() {
	s.mu.Lock()
	conns := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.close(errors.New("connection dropped"))
	}
}

// Freeze stops the device from reading or writing on its connections, which
// stay open, as a hung device does. Thaw resumes.
func (s *Server) Freeze() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.frozen {
		s.frozen = true
		s.thaw = make(chan struct{})
	}
}

// Thaw undoes Freeze.
func (s *Server) Thaw() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.frozen {
		s.frozen = false
		close(s.thaw)
	}
}

// gate blocks while the server is frozen. It returns false when ctx ends first.
func (s *Server) gate(done <-chan struct{}) bool {
	s.mu.Lock()
	if !s.frozen {
		s.mu.Unlock()
		return true
	}
	ch := s.thaw
	s.mu.Unlock()
	select {
	case <-ch:
		return true
	case <-done:
		return false
	}
}

// Close stops listening, closes every connection and waits for their
// sessions to end. It is safe to call more than once.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		s.wg.Wait()
		return nil
	}
	s.closed = true
	if s.frozen {
		s.frozen = false
		close(s.thaw)
	}
	s.mu.Unlock()
	err := s.ln.Close()
	s.DropConnections()
	s.wg.Wait()
	return err
}

func randomToken() []byte {
	b := make([]byte, 20)
	_, _ = rand.Read(b)
	return b
}
