package adb

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/wmpf-hil/wmpf-hil/internal/adbwire"
)

// Device is one device behind the server, named by its serial.
type Device struct {
	c      *Client
	serial string

	mu       sync.Mutex
	features []string // cached banner features; nil until asked
}

// Device returns a handle on the device with the given serial. Nothing is
// checked until it is used.
func (c *Client) Device(serial string) *Device { return &Device{c: c, serial: serial} }

// Serial is the device's serial ("HOST:PORT" for network devices).
func (d *Device) Serial() string { return d.serial }

// Client is the client the device was got from.
func (d *Device) Client() *Client { return d.c }

// State asks the server for the device's state.
func (d *Device) State(ctx context.Context) (State, error) {
	s, err := d.c.query(ctx, "get-state", d.serial, "host-serial:"+d.serial+":get-state")
	if err != nil {
		var ae *Error
		if errors.As(err, &ae) && errors.Is(err, ErrDeviceNotFound) {
			return StateGone, err
		}
		return "", err
	}
	return State(strings.TrimSpace(s)), nil
}

// Features lists what the device said it implements in its banner
// (shell_v2, cmd, stat_v2, abb_exec, ...). It asks the server each time;
// the handle keeps the answer for the decisions it makes itself.
func (d *Device) Features(ctx context.Context) ([]string, error) {
	s, err := d.c.query(ctx, "features", d.serial, "host-serial:"+d.serial+":features")
	if err != nil {
		return nil, err
	}
	// A banner that ends in a NUL (as older adbd and the simulator send
	// it) leaves the NUL on the last feature in the server's list.
	list := []string{}
	for _, f := range strings.Split(s, ",") {
		if f = strings.Trim(f, "\x00 \t\r\n"); f != "" {
			list = append(list, f)
		}
	}
	d.mu.Lock()
	d.features = list
	d.mu.Unlock()
	return list, nil
}

// HasFeature reports whether the device's banner lists the feature. The
// first call on a handle asks the server; later calls use its answer until
// the device reboots (WaitBoot asks again).
func (d *Device) HasFeature(ctx context.Context, name string) (bool, error) {
	d.mu.Lock()
	list := d.features
	d.mu.Unlock()
	if list == nil {
		var err error
		if list, err = d.Features(ctx); err != nil {
			return false, err
		}
	}
	for _, f := range list {
		if f == name {
			return true, nil
		}
	}
	return false, nil
}

// forgetFeatures drops the cached features: the device may have changed.
func (d *Device) forgetFeatures() {
	d.mu.Lock()
	d.features = nil
	d.mu.Unlock()
}

// shellV2 reports whether the device speaks shell v2.
func (d *Device) shellV2(ctx context.Context) (bool, error) {
	return d.HasFeature(ctx, "shell_v2")
}

// open connects to the device through the server and opens a service.
func (d *Device) open(ctx context.Context, op, service string) (*hostConn, error) {
	h, err := d.c.dial(ctx, op, d.serial)
	if err != nil {
		return nil, err
	}
	stop := watch(ctx, h)
	if err := h.request("host:transport:" + d.serial); err != nil {
		stop()
		h.Close()
		return nil, wrap(ctx, op, d.serial, err)
	}
	if err := h.request(service); err != nil {
		stop()
		h.Close()
		return nil, wrap(ctx, op, d.serial, err)
	}
	stop()
	return h, nil
}

// readBufs are the read buffers of shell round trips.
var readBufs = sync.Pool{New: func() any { b := make([]byte, 16*1024); return &b }}

// Result is what a shell command left.
type Result struct {
	Stdout   []byte
	Stderr   []byte
	ExitCode int
}

// Shell runs cmd (a device shell command line) and returns its output and
// exit status. The error is non-nil only when the command could not run to
// its end: no server, no device, the device went away.
func (d *Device) Shell(ctx context.Context, cmd string) (Result, error) {
	v2, err := d.shellV2(ctx)
	if err != nil {
		return Result{}, err
	}
	if !v2 {
		return d.legacyShell(ctx, cmd)
	}
	h, err := d.open(ctx, "shell", "shell,v2,raw:"+cmd)
	if err != nil {
		return Result{}, err
	}
	defer h.Close()
	defer watch(ctx, h)()
	var res Result
	var out, errb bytes.Buffer
	dec := adbwire.NewPacketDecoder(0)
	bp := readBufs.Get().(*[]byte)
	defer readBufs.Put(bp)
	buf := *bp
	for {
		n, rerr := h.r.Read(buf)
		dec.Write(buf[:n])
		for {
			p, ok, perr := dec.Next()
			if perr != nil {
				return Result{}, &Error{Op: "shell", Serial: d.serial, Kind: ErrProtocol, Err: perr}
			}
			if !ok {
				break
			}
			switch p.ID {
			case adbwire.ShellStdout:
				out.Write(p.Data)
			case adbwire.ShellStderr:
				errb.Write(p.Data)
			case adbwire.ShellExit:
				if len(p.Data) > 0 {
					res.ExitCode = int(p.Data[0])
				}
				res.Stdout, res.Stderr = out.Bytes(), errb.Bytes()
				return res, nil
			}
		}
		if rerr != nil {
			return Result{Stdout: out.Bytes(), Stderr: errb.Bytes()}, lostErr(ctx, "shell", d.serial, cmd, rerr)
		}
	}
}

func lostErr(ctx context.Context, op, serial, cmd string, err error) error {
	if ctx.Err() != nil {
		return &Error{Op: op, Serial: serial, Err: context.Cause(ctx)}
	}
	return &Error{Op: op, Serial: serial, Kind: ErrStreamLost, Msg: fmt.Sprintf("`%s` ended without an exit status", cmd), Err: err}
}

// exitMarker ends the output of a legacy shell command with its status.
const exitMarker = "\x1fwmpfhil-exit:"

// legacyShell runs cmd over the legacy shell service, which has no exit
// status and mixes stderr into stdout; the status is appended by the command.
func (d *Device) legacyShell(ctx context.Context, cmd string) (Result, error) {
	h, err := d.open(ctx, "shell", "shell:"+cmd+`; echo "`+exitMarker+`$?"`)
	if err != nil {
		return Result{}, err
	}
	defer h.Close()
	defer watch(ctx, h)()
	data, rerr := io.ReadAll(h.r)
	i := bytes.LastIndex(data, []byte(exitMarker))
	if i < 0 {
		if rerr == nil {
			rerr = io.EOF
		}
		return Result{Stdout: data}, lostErr(ctx, "shell", d.serial, cmd, rerr)
	}
	var code int
	fmt.Sscanf(string(data[i+len(exitMarker):]), "%d", &code)
	return Result{Stdout: data[:i], ExitCode: code}, nil
}

// Run runs cmd and returns its stdout; a non-zero exit is an *ExitError
// carrying stderr.
func (d *Device) Run(ctx context.Context, cmd string) (string, error) {
	res, err := d.Shell(ctx, cmd)
	if err != nil {
		return string(res.Stdout), err
	}
	if res.ExitCode != 0 {
		return string(res.Stdout), &ExitError{Serial: d.serial, Command: cmd, Code: res.ExitCode, Stderr: string(res.Stderr)}
	}
	return string(res.Stdout), nil
}

// Quote quotes s as one word for the device shell.
func Quote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:=@%+,", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// Command joins args into a command line, quoting each.
func Command(args ...string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = Quote(a)
	}
	return strings.Join(q, " ")
}
