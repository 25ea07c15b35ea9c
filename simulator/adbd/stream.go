package adbd

import (
	"context"
	"errors"
	"io"
	"sync"

	"github.com/wmpf-hil/wmpf-hil/internal/adbwire"
)

// ErrStreamClosed is returned by writes to a stream the host closed.
var ErrStreamClosed = errors.New("adbd: stream closed")

// Stream is one open ADB stream, seen from the device. Writes are batched
// into WRTE messages of up to the negotiated payload size, with at most one
// WRTE awaiting its OKAY, as the protocol requires. Reads return the host's
// WRTE payloads; each is acknowledged once it has been read.
type Stream struct {
	c        *conn
	localID  uint32
	remoteID uint32
	maxData  int

	ctx    context.Context
	cancel context.CancelFunc

	mu       sync.Mutex
	cond     *sync.Cond
	pending  []byte
	inflight bool
	closing  bool // local side done: flush, then CLSE
	aborted  bool // host closed, or the connection went away
	inbox    [][]byte
}

// highWater bounds the output a stream buffers before Write blocks.
const highWaterPayloads = 4

func newStream(c *conn, localID, remoteID, maxData uint32) *Stream {
	ctx, cancel := context.WithCancel(c.ctx)
	st := &Stream{c: c, localID: localID, remoteID: remoteID, maxData: int(maxData), ctx: ctx, cancel: cancel}
	st.cond = sync.NewCond(&st.mu)
	return st
}

// Context is done when the host closes the stream or the connection ends.
func (st *Stream) Context() context.Context { return st.ctx }

// Write queues p for the host. It blocks while too much output waits for the
// host, and fails once the stream is closed.
func (st *Stream) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	for !st.aborted && !st.closing && len(st.pending) >= highWaterPayloads*st.maxData {
		st.cond.Wait()
	}
	if st.aborted || st.closing {
		return 0, ErrStreamClosed
	}
	st.pending = append(st.pending, p...)
	st.cond.Broadcast()
	return len(p), nil
}

// Read returns data the host wrote to the stream; io.EOF once the stream is
// closed.
func (st *Stream) Read(p []byte) (int, error) {
	st.mu.Lock()
	for len(st.inbox) == 0 && !st.aborted {
		st.cond.Wait()
	}
	if len(st.inbox) == 0 {
		st.mu.Unlock()
		return 0, io.EOF
	}
	n := copy(p, st.inbox[0])
	st.inbox[0] = st.inbox[0][n:]
	done := len(st.inbox[0]) == 0
	if done {
		st.inbox = st.inbox[1:]
	}
	st.mu.Unlock()
	if done {
		// The whole payload was consumed: let the host send the next one.
		_ = st.c.send(adbwire.Message{Command: adbwire.CmdOKAY, Arg0: st.localID, Arg1: st.remoteID})
	}
	return n, nil
}

// Close flushes what was written and closes the stream (CLSE).
func (st *Stream) Close() error {
	st.mu.Lock()
	st.closing = true
	st.cond.Broadcast()
	st.mu.Unlock()
	return nil
}

// received is called by the connection for each WRTE. It never blocks: the
// host sends the next payload only after the OKAY that Read sends.
func (st *Stream) received(data []byte) {
	if len(data) == 0 {
		_ = st.c.send(adbwire.Message{Command: adbwire.CmdOKAY, Arg0: st.localID, Arg1: st.remoteID})
		return
	}
	st.mu.Lock()
	if !st.aborted {
		st.inbox = append(st.inbox, data)
		st.cond.Broadcast()
	}
	st.mu.Unlock()
}

// acked is called by the connection for each OKAY.
func (st *Stream) acked(remoteID uint32) {
	st.mu.Lock()
	if st.remoteID == 0 {
		st.remoteID = remoteID
	}
	st.inflight = false
	st.cond.Broadcast()
	st.mu.Unlock()
}

// abort ends the stream without a CLSE: the host closed it or the connection
// is gone.
func (st *Stream) abort() {
	st.mu.Lock()
	st.aborted = true
	st.pending = nil
	st.cond.Broadcast()
	st.mu.Unlock()
	st.cancel()
}

// pump sends queued output, one WRTE in flight at a time, then CLSE.
func (st *Stream) pump() {
	defer st.cancel()
	for {
		st.mu.Lock()
		for !st.aborted && (st.inflight || (len(st.pending) == 0 && !st.closing)) {
			st.cond.Wait()
		}
		if st.aborted {
			st.mu.Unlock()
			return
		}
		if len(st.pending) == 0 {
			// closing and flushed
			st.aborted = true
			st.cond.Broadcast()
			st.mu.Unlock()
			st.c.forget(st)
			_ = st.c.send(adbwire.Message{Command: adbwire.CmdCLSE, Arg0: st.localID, Arg1: st.remoteID})
			return
		}
		n := min(len(st.pending), st.maxData)
		chunk := make([]byte, n)
		copy(chunk, st.pending)
		st.pending = st.pending[n:]
		if len(st.pending) == 0 {
			st.pending = nil
		}
		st.inflight = true
		st.cond.Broadcast()
		st.mu.Unlock()
		if err := st.c.send(adbwire.Message{Command: adbwire.CmdWRTE, Arg0: st.localID, Arg1: st.remoteID, Data: chunk}); err != nil {
			st.abort()
			return
		}
	}
}
