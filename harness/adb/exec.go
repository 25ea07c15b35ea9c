package adb

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
)

// execBuffer is the size of the buffer that carries stdin to the device.
const execBuffer = 256 * 1024

// Exec runs cmd on the device through the exec service (`adb exec-out`):
// raw bytes both ways, no terminal, no shell protocol, so binary output
// (a PNG, an APK) arrives unaltered. stdin, when not nil, is copied to the
// command as it runs; stdout receives everything the command writes, stderr
// included (exec does not separate them), until the device closes the
// stream.
//
// exec has no exit status: a command that fails shows it only by what it
// prints, and the end of the stream is the only sign the command ended (a
// device that dies mid-command looks the same). Callers check the output.
//
// The error is non-nil when the stream could not run to its end: no server,
// no device, ctx ended, or the device closed the stream before taking all
// of stdin (then stdout still holds what the device said). When ctx ends,
// the connection is closed and Exec returns once stdin's Read and stdout's
// Write have returned: those two must not block forever.
func (d *Device) Exec(ctx context.Context, cmd string, stdin io.Reader, stdout io.Writer) error {
	if strings.TrimSpace(cmd) == "" {
		return &Error{Op: "exec", Serial: d.serial, Msg: "command is empty"}
	}
	return d.rawService(ctx, "exec", "exec:"+cmd, cmd, stdin, stdout)
}

// AbbExec runs a binder command through adbd's abb_exec service (Android
// 10+, feature abb_exec), as `adb install` does with `package install`:
// args go to the service named by the first one (`package`), no shell
// parses them. Otherwise it behaves as Exec.
func (d *Device) AbbExec(ctx context.Context, args []string, stdin io.Reader, stdout io.Writer) error {
	if len(args) == 0 || args[0] == "" {
		return &Error{Op: "abb_exec", Serial: d.serial, Msg: "no service named; want arguments such as package install -S SIZE"}
	}
	for i, a := range args {
		if strings.ContainsRune(a, 0) {
			return &Error{Op: "abb_exec", Serial: d.serial, Msg: fmt.Sprintf("argument %d %q contains a NUL byte (the separator)", i, a)}
		}
	}
	return d.rawService(ctx, "abb_exec", "abb_exec:"+strings.Join(args, "\x00"), strings.Join(args, " "), stdin, stdout)
}

// rawService opens a service that carries raw bytes both ways (exec:,
// abb_exec:) and runs it to its end.
func (d *Device) rawService(ctx context.Context, op, service, cmd string, stdin io.Reader, stdout io.Writer) error {
	h, err := d.open(ctx, op, service)
	if err != nil {
		return err
	}
	defer h.Close()
	defer watch(ctx, h)()
	if stdin == nil {
		return d.execErr(ctx, op, cmd, copyOut(stdout, h))
	}
	// The device's output is read while stdin is written, so that a command
	// that talks as it reads cannot stall on a full socket.
	readDone := make(chan error, 1)
	go func() { readDone <- copyOut(stdout, h) }()
	_, werr := io.CopyBuffer(writerOnly{h}, readerOnly{stdin}, make([]byte, execBuffer))
	if werr != nil {
		var srcErr *stdinError
		if errors.As(werr, &srcErr) {
			// Reading stdin failed: stop the command.
			h.Conn.SetDeadline(deadlinePast)
			<-readDone
			return &Error{Op: op, Serial: d.serial, Msg: fmt.Sprintf("`%s`: reading stdin", cmd), Err: srcErr.err}
		}
		rerr := <-readDone
		if ctx.Err() != nil {
			return &Error{Op: op, Serial: d.serial, Err: context.Cause(ctx)}
		}
		if rerr != nil {
			return d.execErr(ctx, op, cmd, rerr)
		}
		return &Error{Op: op, Serial: d.serial, Kind: ErrStreamLost,
			Msg: fmt.Sprintf("`%s`: the device closed the stream before taking all of stdin", cmd), Err: werr}
	}
	return d.execErr(ctx, op, cmd, <-readDone)
}

// execErr turns the end of an exec stream into an error (nil for a clean end).
func (d *Device) execErr(ctx context.Context, op, cmd string, err error) error {
	if ctx.Err() != nil {
		return &Error{Op: op, Serial: d.serial, Err: context.Cause(ctx)}
	}
	if err == nil {
		return nil
	}
	var we *stdoutError
	if errors.As(err, &we) {
		return &Error{Op: op, Serial: d.serial, Msg: fmt.Sprintf("`%s`: writing its output", cmd), Err: we.err}
	}
	return &Error{Op: op, Serial: d.serial, Kind: ErrStreamLost, Msg: fmt.Sprintf("`%s` lost its stream", cmd), Err: err}
}

// ExecOut runs cmd through the exec service and returns all it printed.
func (d *Device) ExecOut(ctx context.Context, cmd string) ([]byte, error) {
	var out bytes.Buffer
	err := d.Exec(ctx, cmd, nil, &out)
	return out.Bytes(), err
}

// readerOnly hides any WriterTo of the source, and marks its errors, so
// that io.CopyBuffer uses the buffer and a failure of the source is told
// apart from one of the connection.
type readerOnly struct{ r io.Reader }

type stdinError struct{ err error }

func (e *stdinError) Error() string { return "stdin: " + e.err.Error() }

func (r readerOnly) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if err != nil && err != io.EOF {
		err = &stdinError{err}
	}
	return n, err
}

// copyOut copies the device's output to w until the stream ends; errors of
// w are marked as such.
func copyOut(w io.Writer, h *hostConn) error {
	_, err := io.Copy(markedWriter{w}, h.r)
	return err
}

type markedWriter struct{ w io.Writer }

func (m markedWriter) Write(p []byte) (int, error) {
	n, err := m.w.Write(p)
	if err != nil {
		err = &stdoutError{err}
	}
	return n, err
}

// writerOnly hides the connection's ReadFrom for the same reason.
type writerOnly struct{ w io.Writer }

func (w writerOnly) Write(p []byte) (int, error) { return w.w.Write(p) }

type stdoutError struct{ err error }

func (e *stdoutError) Error() string { return "stdout: " + e.err.Error() }
