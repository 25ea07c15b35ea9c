package adb

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel kinds of failure. Use errors.Is on any error of this package.
var (
	// ErrServerUnavailable: no adb server answers at the address.
	ErrServerUnavailable = errors.New("adb server unavailable")
	// ErrDeviceNotFound: the server does not know the serial.
	ErrDeviceNotFound = errors.New("device not found")
	// ErrDeviceOffline: the server knows the device but cannot talk to it.
	ErrDeviceOffline = errors.New("device offline")
	// ErrUnauthorized: the device has not accepted this host's key.
	ErrUnauthorized = errors.New("device unauthorized")
	// ErrConnectFailed: `adb connect` did not connect.
	ErrConnectFailed = errors.New("connect failed")
	// ErrStreamLost: a stream ended without the command's exit status: the
	// device or the server went away mid-command.
	ErrStreamLost = errors.New("stream lost")
	// ErrProtocol: the server answered something this package cannot parse.
	ErrProtocol = errors.New("adb protocol error")
)

// Error is a failure of one ADB operation.
type Error struct {
	Op     string // e.g. "shell", "connect", "devices"
	Serial string // the device, if any
	Kind   error  // one of the sentinels above, or nil
	Msg    string // what the server or the system said
	Err    error  // the underlying error, if any
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("adb ")
	b.WriteString(e.Op)
	if e.Serial != "" {
		fmt.Fprintf(&b, " %s", e.Serial)
	}
	if e.Kind != nil {
		fmt.Fprintf(&b, ": %v", e.Kind)
	}
	if e.Msg != "" {
		fmt.Fprintf(&b, ": %s", e.Msg)
	}
	if e.Err != nil {
		fmt.Fprintf(&b, ": %v", e.Err)
	}
	return b.String()
}

// Unwrap lets errors.Is see both the kind and the cause.
func (e *Error) Unwrap() []error {
	var errs []error
	if e.Kind != nil {
		errs = append(errs, e.Kind)
	}
	if e.Err != nil {
		errs = append(errs, e.Err)
	}
	return errs
}

// classifyFail maps the text of a server FAIL reply to a kind.
func classifyFail(msg string) error {
	m := strings.ToLower(msg)
	switch {
	case strings.Contains(m, "not found"), strings.Contains(m, "no devices"), strings.Contains(m, "no such device"):
		return ErrDeviceNotFound
	case strings.Contains(m, "unauthorized"):
		return ErrUnauthorized
	case strings.Contains(m, "offline"), strings.Contains(m, "still connecting"), strings.Contains(m, "still authorizing"):
		return ErrDeviceOffline
	}
	return nil
}

// ExitError reports a command that ran and exited non-zero.
type ExitError struct {
	Serial  string
	Command string
	Code    int
	Stderr  string
}

func (e *ExitError) Error() string {
	msg := strings.TrimSpace(e.Stderr)
	if len(msg) > 300 {
		msg = msg[:300] + "…"
	}
	if msg == "" {
		return fmt.Sprintf("%s: `%s` exited %d", e.Serial, e.Command, e.Code)
	}
	return fmt.Sprintf("%s: `%s` exited %d: %s", e.Serial, e.Command, e.Code, msg)
}
