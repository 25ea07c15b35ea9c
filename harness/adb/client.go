// Package adb is the harness's ADB layer: everything in wmpf-hil that talks to
// a device goes through it. It speaks the adb server's host protocol (the
// socket on port 5037 by default) itself: shell protocol v2 with stdout,
// stderr and exit status apart; streaming shells delivering lines as they
// arrive; exec with raw bytes both ways; the sync protocol (push, pull,
// stat); reboot and waiting for boot; screenshots; device tracking; and
// starting an isolated adb server for tests and runs.
//
// Every call takes a context and honours it: when the context ends, the
// call's connection is closed and the call returns; no goroutine of this
// package outlives the context it was started with. (docs/adb.md says why
// github.com/electricbubble/gadb, which knows no context, is not used here.)
package adb

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// DefaultServerAddr is where adb clients look for the server by default.
const DefaultServerAddr = "127.0.0.1:5037"

// ServerAddrFromEnv returns the adb server address named by
// ADB_SERVER_SOCKET ("tcp:HOST:PORT" or "tcp:PORT"), or DefaultServerAddr
// when it is unset.
func ServerAddrFromEnv() (string, error) {
	v, ok := os.LookupEnv("ADB_SERVER_SOCKET")
	if !ok || v == "" {
		return DefaultServerAddr, nil
	}
	return ParseServerSocket(v)
}

// ParseServerSocket parses an adb socket spec: "tcp:HOST:PORT" or "tcp:PORT".
func ParseServerSocket(spec string) (string, error) {
	rest, ok := strings.CutPrefix(spec, "tcp:")
	if !ok {
		return "", fmt.Errorf("ADB_SERVER_SOCKET %q: allowed forms are tcp:HOST:PORT and tcp:PORT", spec)
	}
	host, port := "127.0.0.1", rest
	if i := strings.LastIndex(rest, ":"); i >= 0 {
		host, port = rest[:i], rest[i+1:]
		host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
		if host == "" || host == "localhost" {
			host = "127.0.0.1"
		}
	}
	p, err := strconv.Atoi(port)
	if err != nil || p < 1 || p > 65535 {
		return "", fmt.Errorf("ADB_SERVER_SOCKET %q: port %q: allowed 1..65535", spec, port)
	}
	return net.JoinHostPort(host, strconv.Itoa(p)), nil
}

// Client talks to one adb server.
type Client struct {
	addr   string
	dialer net.Dialer
}

// NewClient returns a client of the adb server at addr ("HOST:PORT").
// Nothing is dialled until a request is made.
func NewClient(addr string) *Client {
	return &Client{addr: addr, dialer: net.Dialer{Timeout: 5 * time.Second}}
}

// Addr is the server address.
func (c *Client) Addr() string { return c.addr }

// hostConn is one connection to the server carrying host-protocol requests.
type hostConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *Client) dial(ctx context.Context, op, serial string) (*hostConn, error) {
	nc, err := c.dialer.DialContext(ctx, "tcp", c.addr)
	if err != nil {
		e := &Error{Op: op, Serial: serial, Msg: "no adb server at " + c.addr, Err: err}
		if ctx.Err() == nil {
			e.Kind = ErrServerUnavailable
		}
		return nil, e
	}
	nc = withQuickAck(nc)
	r := readers.Get().(*bufio.Reader)
	r.Reset(nc)
	return &hostConn{Conn: nc, r: r}, nil
}

// readers are the buffered readers of host connections, reused: a shell
// round trip should not allocate its buffers anew.
var readers = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 16*1024) }}

// Close closes the connection and gives its reader back.
func (h *hostConn) Close() error {
	err := h.Conn.Close()
	if h.r != nil {
		h.r.Reset(nil)
		readers.Put(h.r)
		h.r = nil
	}
	return err
}

// watch unblocks every read and write of the connection when ctx ends (by
// a deadline in the past); call the returned stop when done. It starts no
// goroutine until ctx ends, and the one it then starts returns at once.
func watch(ctx context.Context, nc net.Conn) (stop func() bool) {
	return context.AfterFunc(ctx, func() { nc.SetDeadline(deadlinePast) })
}

// deadlinePast is a deadline that has passed: it fails pending I/O at once.
var deadlinePast = time.Unix(1, 0)

// request sends one host-protocol request and reads OKAY or FAIL.
func (h *hostConn) request(req string) error {
	if len(req) > 0xffff {
		return fmt.Errorf("%w: request of %d bytes", ErrProtocol, len(req))
	}
	msg := make([]byte, 0, 4+len(req))
	msg = fmt.Appendf(msg, "%04x", len(req))
	msg = append(msg, req...)
	if _, err := h.Write(msg); err != nil {
		return err
	}
	return h.status()
}

// failError is a FAIL reply from the server.
type failError struct{ msg string }

func (f *failError) Error() string { return f.msg }

func (h *hostConn) status() error {
	var st [4]byte
	if _, err := io.ReadFull(h.r, st[:]); err != nil {
		return err
	}
	switch string(st[:]) {
	case "OKAY":
		return nil
	case "FAIL":
		msg, err := h.readBlock()
		if err != nil {
			return err
		}
		return &failError{msg: msg}
	}
	return fmt.Errorf("%w: status %q", ErrProtocol, st[:])
}

// readBlock reads a hex-length-prefixed block.
func (h *hostConn) readBlock() (string, error) {
	var lb [4]byte
	if _, err := io.ReadFull(h.r, lb[:]); err != nil {
		return "", err
	}
	n, err := strconv.ParseUint(string(lb[:]), 16, 16)
	if err != nil {
		return "", fmt.Errorf("%w: length %q", ErrProtocol, lb[:])
	}
	buf := make([]byte, n)
	if _, err := io.ReadFull(h.r, buf); err != nil {
		return "", err
	}
	return string(buf), nil
}

// wrap turns a transport-level failure into an *Error.
func wrap(ctx context.Context, op, serial string, err error) error {
	if err == nil {
		return nil
	}
	var ae *Error
	if errors.As(err, &ae) {
		return err
	}
	if ctx.Err() != nil {
		return &Error{Op: op, Serial: serial, Err: context.Cause(ctx)}
	}
	var fe *failError
	if errors.As(err, &fe) {
		return &Error{Op: op, Serial: serial, Kind: classifyFail(fe.msg), Msg: fe.msg}
	}
	if errors.Is(err, syscall.ECONNREFUSED) {
		return &Error{Op: op, Serial: serial, Kind: ErrServerUnavailable, Err: err}
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) {
		return &Error{Op: op, Serial: serial, Kind: ErrStreamLost, Msg: "the adb server closed the connection", Err: err}
	}
	return &Error{Op: op, Serial: serial, Err: err}
}

// query sends a request whose reply is one hex-length-prefixed block.
func (c *Client) query(ctx context.Context, op, serial, req string) (string, error) {
	h, err := c.dial(ctx, op, serial)
	if err != nil {
		return "", err
	}
	defer h.Close()
	defer watch(ctx, h)()
	if err := h.request(req); err != nil {
		return "", wrap(ctx, op, serial, err)
	}
	s, err := h.readBlock()
	return s, wrap(ctx, op, serial, err)
}

// Version returns the server's protocol version (41 for platform-tools 29+).
func (c *Client) Version(ctx context.Context) (int, error) {
	text, err := c.query(ctx, "version", "", "host:version")
	if err != nil {
		return 0, err
	}
	v, perr := strconv.ParseUint(strings.TrimSpace(text), 16, 32)
	if perr != nil {
		return 0, &Error{Op: "version", Kind: ErrProtocol, Msg: fmt.Sprintf("version %q is not hexadecimal", text)}
	}
	return int(v), nil
}

// State of a device as the adb server lists it.
type State string

// Device states printed by `adb devices`.
const (
	StateDevice       State = "device"
	StateOffline      State = "offline"
	StateUnauthorized State = "unauthorized"
	StateAuthorizing  State = "authorizing"
	StateConnecting   State = "connecting"
	StateRecovery     State = "recovery"
	StateBootloader   State = "bootloader"
	StateHost         State = "host"
	StateNoPerm       State = "no permissions"
	// StateGone is not printed by adb: the server no longer lists the device.
	StateGone State = "gone"
)

// DeviceInfo is one line of `adb devices -l`.
type DeviceInfo struct {
	Serial      string
	State       State
	Product     string
	Model       string
	Device      string
	TransportID string
	USB         string
}

// ParseDevicesLong parses the text of host:devices-l (or host:devices).
func ParseDevicesLong(text string) []DeviceInfo {
	var out []DeviceInfo
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimRight(line, "\r")
		// The adb command prints a header the server's reply lacks; a
		// daemon starting prints "* daemon …" lines.
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "List of devices attached") || strings.HasPrefix(line, "* ") {
			continue
		}
		var serial, rest string
		if i := strings.IndexAny(line, " \t"); i >= 0 {
			serial, rest = line[:i], strings.TrimLeft(line[i:], " \t")
		} else {
			continue
		}
		d := DeviceInfo{Serial: serial}
		// "no permissions" has a space and a bracketed explanation.
		if strings.HasPrefix(rest, "no permissions") {
			d.State = StateNoPerm
			if j := strings.Index(rest, "]"); j >= 0 {
				rest = rest[j+1:]
			} else {
				rest = strings.TrimPrefix(rest, "no permissions")
			}
		} else {
			f := strings.Fields(rest)
			if len(f) == 0 {
				continue
			}
			d.State, rest = State(f[0]), strings.Join(f[1:], " ")
		}
		for _, kv := range strings.Fields(rest) {
			k, v, ok := strings.Cut(kv, ":")
			if !ok {
				continue
			}
			switch k {
			case "product":
				d.Product = v
			case "model":
				d.Model = v
			case "device":
				d.Device = v
			case "transport_id":
				d.TransportID = v
			case "usb":
				d.USB = v
			}
		}
		out = append(out, d)
	}
	return out
}

// Devices lists the devices the server knows, in every state.
func (c *Client) Devices(ctx context.Context) ([]DeviceInfo, error) {
	text, err := c.query(ctx, "devices", "", "host:devices-l")
	if err != nil {
		return nil, err
	}
	return ParseDevicesLong(text), nil
}

// Connect asks the server to connect to a network device at hostport
// ("HOST:PORT"). `adb connect` exits 0 even when it fails; this reads the
// server's text and fails unless it says connected.
//
// It speaks the host protocol itself rather than through gadb: the adb
// 29.0.6 server can crash (a use after free in its socket handling) when a
// client closes its end of a connect request before the server closes its
// own, which gadb does; so this reads to the end before closing, as the adb
// command does.
func (c *Client) Connect(ctx context.Context, hostport string) error {
	if _, _, err := splitHostPort(hostport); err != nil {
		return &Error{Op: "connect", Serial: hostport, Err: err}
	}
	h, err := c.dial(ctx, "connect", hostport)
	if err != nil {
		return err
	}
	defer h.Close()
	defer watch(ctx, h)()
	if err := h.request("host:connect:" + hostport); err != nil {
		return wrap(ctx, "connect", hostport, err)
	}
	msg, err := h.readBlock()
	if err != nil {
		return wrap(ctx, "connect", hostport, err)
	}
	h.drain(ctx)
	msg = strings.TrimSpace(msg)
	switch {
	case strings.HasPrefix(msg, "connected to"), strings.HasPrefix(msg, "already connected to"):
		return nil
	case strings.Contains(msg, "authenticate"):
		return &Error{Op: "connect", Serial: hostport, Kind: ErrUnauthorized, Msg: msg}
	}
	return &Error{Op: "connect", Serial: hostport, Kind: ErrConnectFailed, Msg: msg}
}

// Disconnect asks the server to drop a network device. A serial the server
// does not know is ErrDeviceNotFound.
func (c *Client) Disconnect(ctx context.Context, hostport string) error {
	if _, _, err := splitHostPort(hostport); err != nil {
		return &Error{Op: "disconnect", Serial: hostport, Err: err}
	}
	h, err := c.dial(ctx, "disconnect", hostport)
	if err != nil {
		return err
	}
	defer h.Close()
	defer watch(ctx, h)()
	if err := h.request("host:disconnect:" + hostport); err != nil {
		return wrap(ctx, "disconnect", hostport, err)
	}
	msg, err := h.readBlock()
	if err != nil {
		return wrap(ctx, "disconnect", hostport, err)
	}
	h.drain(ctx)
	if msg = strings.TrimSpace(msg); !strings.HasPrefix(msg, "disconnected") {
		return &Error{Op: "disconnect", Serial: hostport, Kind: classifyFail(msg), Msg: msg}
	}
	return nil
}

// drain reads until the server closes the connection, for at most
// drainWait (less if ctx ends sooner). The adb 29 server can crash when a
// client closes a connect or disconnect request before the server closes
// its end; the adb command reads to the end, and so does this layer.
func (h *hostConn) drain(ctx context.Context) {
	deadline := time.Now().Add(drainWait)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	if ctx.Err() != nil {
		return
	}
	_ = h.SetReadDeadline(deadline)
	if ctx.Err() != nil {
		// ctx ended between the check and the deadline: keep its deadline.
		_ = h.SetReadDeadline(deadlinePast)
	}
	_, _ = io.Copy(io.Discard, h.r)
}

// drainWait bounds drain.
const drainWait = 2 * time.Second

func splitHostPort(hostport string) (string, int, error) {
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		return "", 0, fmt.Errorf("address %q: want HOST:PORT: %w", hostport, err)
	}
	p, err := strconv.Atoi(port)
	if err != nil || p < 1 || p > 65535 {
		return "", 0, fmt.Errorf("address %q: port allowed 1..65535", hostport)
	}
	return host, p, nil
}

// Kill asks the server to exit (`adb kill-server`).
func (c *Client) Kill(ctx context.Context) error {
	h, err := c.dial(ctx, "kill-server", "")
	if err != nil {
		return err
	}
	defer h.Close()
	defer watch(ctx, h)()
	return wrap(ctx, "kill-server", "", h.request("host:kill"))
}
