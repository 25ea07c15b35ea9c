package adb

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"time"

	"github.com/wmpf-hil/wmpf-hil/internal/adbwire"
)

// Line is one line of a streaming command's output.
type Line struct {
	Text     string    // without the line ending
	Stderr   bool      // from stderr rather than stdout
	Received time.Time // host clock when the line arrived
}

// Stream is a running shell command whose output arrives line by line
// (`logcat`, for one). Lines is closed when the command ends, the device or
// server goes away, or the context is cancelled; Err then says which.
type Stream struct {
	serial string
	cmd    string
	lines  chan Line
	cancel context.CancelFunc
	done   chan struct{}

	mu       sync.Mutex
	err      error
	exitCode int
	exited   bool
}

// StreamBuffer is how many lines a Stream holds for a slow reader before the
// device is slowed down (by TCP back-pressure, never by dropping lines).
const StreamBuffer = 4096

// StreamShell starts cmd on the device and returns at once; its output is
// delivered on Lines as each line arrives. Cancel ctx or call Close to stop
// it. It needs shell v2 (every device since Android 7).
func (d *Device) StreamShell(ctx context.Context, cmd string) (*Stream, error) {
	v2, err := d.shellV2(ctx)
	if err != nil {
		return nil, err
	}
	service := "shell:" + cmd
	if v2 {
		service = "shell,v2,raw:" + cmd
	}
	h, err := d.open(ctx, "stream", service)
	if err != nil {
		return nil, err
	}
	sctx, cancel := context.WithCancel(ctx)
	s := &Stream{serial: d.serial, cmd: cmd, lines: make(chan Line, StreamBuffer), cancel: cancel, done: make(chan struct{})}
	stop := watch(sctx, h)
	go func() {
		defer close(s.done)
		defer close(s.lines)
		defer h.Close()
		defer stop()
		s.finish(sctx, s.read(sctx, h, v2))
	}()
	return s, nil
}

// Lines delivers the output.
func (s *Stream) Lines() <-chan Line { return s.lines }

// Done is closed once the stream has ended and Lines is drained of nothing
// more to come.
func (s *Stream) Done() <-chan struct{} { return s.done }

// Close stops the command and waits for the stream to end.
func (s *Stream) Close() error {
	s.cancel()
	<-s.done
	return nil
}

// Err is nil while the stream runs and after the command exited by itself;
// otherwise it says why the stream ended (ErrStreamLost when the device or
// server went away, the context's error when cancelled).
func (s *Stream) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// ExitCode is the command's exit status, once it exited by itself.
func (s *Stream) ExitCode() (int, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.exitCode, s.exited
}

func (s *Stream) finish(ctx context.Context, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		if ctx.Err() != nil {
			s.err = &Error{Op: "stream", Serial: s.serial, Err: context.Cause(ctx)}
		} else {
			s.err = err
		}
	}
}

// lineSplitter turns chunks into lines.
type lineSplitter struct {
	partial []byte
}

func (ls *lineSplitter) feed(data []byte, emit func(string)) {
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			ls.partial = append(ls.partial, data...)
			return
		}
		var line []byte
		if len(ls.partial) > 0 {
			line = append(ls.partial, data[:i]...)
			ls.partial = ls.partial[:0]
		} else {
			line = data[:i]
		}
		emit(string(bytes.TrimSuffix(line, []byte("\r"))))
		data = data[i+1:]
	}
}

func (ls *lineSplitter) flush(emit func(string)) {
	if len(ls.partial) > 0 {
		emit(string(ls.partial))
		ls.partial = nil
	}
}

func (s *Stream) read(ctx context.Context, h *hostConn, v2 bool) error {
	var out, errs lineSplitter
	var now time.Time
	send := func(stderr bool) func(string) {
		return func(text string) {
			select {
			case s.lines <- Line{Text: text, Stderr: stderr, Received: now}:
			case <-ctx.Done():
			}
		}
	}
	emitOut, emitErr := send(false), send(true)
	dec := adbwire.NewPacketDecoder(0)
	buf := make([]byte, 64*1024)
	for {
		n, rerr := h.r.Read(buf)
		now = time.Now()
		if n > 0 {
			if !v2 {
				out.feed(buf[:n], emitOut)
			} else {
				dec.Write(buf[:n])
				for {
					p, ok, perr := dec.Next()
					if perr != nil {
						return &Error{Op: "stream", Serial: s.serial, Kind: ErrProtocol, Err: perr}
					}
					if !ok {
						break
					}
					switch p.ID {
					case adbwire.ShellStdout:
						out.feed(p.Data, emitOut)
					case adbwire.ShellStderr:
						errs.feed(p.Data, emitErr)
					case adbwire.ShellExit:
						out.flush(emitOut)
						errs.flush(emitErr)
						s.mu.Lock()
						s.exited = true
						if len(p.Data) > 0 {
							s.exitCode = int(p.Data[0])
						}
						s.mu.Unlock()
						return nil
					}
				}
			}
		}
		if rerr != nil {
			out.flush(emitOut)
			errs.flush(emitErr)
			if !v2 && ctx.Err() == nil {
				// The legacy service has no exit status: its end is the end.
				s.mu.Lock()
				s.exited = true
				s.mu.Unlock()
				return nil
			}
			if errors.Is(rerr, context.Canceled) || ctx.Err() != nil {
				return ctx.Err()
			}
			return lostErr(ctx, "stream", s.serial, s.cmd, rerr)
		}
	}
}
