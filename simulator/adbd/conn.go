package adbd

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wmpf-hil/wmpf-hil/internal/adbwire"
)

// conn is one TCP connection from an adb server.
type conn struct {
	srv *Server
	nc  net.Conn

	ctx    context.Context
	cancel context.CancelCauseFunc

	wmu  sync.Mutex // serialises writes; guards wbuf
	wbuf []byte

	mu      sync.Mutex
	greeted bool // the host's CNXN arrived
	online  bool
	version uint32
	maxData uint32
	nextID  uint32
	streams map[uint32]*Stream
	reverse []reverseRule // adb reverse rules of this transport, in order
	closed  bool
	down    atomic.Bool // set before the socket closes; send checks it under wmu

	streamWG sync.WaitGroup
}

func newConn(s *Server, nc net.Conn) *conn {
	ctx, cancel := context.WithCancelCause(context.Background())
	return &conn{
		srv:     s,
		nc:      nc,
		ctx:     ctx,
		cancel:  cancel,
		maxData: adbwire.MaxPayloadV1,
		streams: make(map[uint32]*Stream),
	}
}

func (c *conn) serve() {
	defer c.streamWG.Wait()
	defer c.close(errors.New("connection closed"))
	// A connection that never says CNXN is not an adb server's: close it.
	hs := time.AfterFunc(c.srv.cfg.HandshakeTimeout, func() {
		c.mu.Lock()
		greeted := c.greeted
		c.mu.Unlock()
		if !greeted {
			c.srv.logf("adbd %s: no CNXN within %v: closing", c.srv.Addr(), c.srv.cfg.HandshakeTimeout)
			c.close(errors.New("handshake timeout"))
		}
	})
	defer hs.Stop()
	br := bufio.NewReaderSize(c.nc, 64*1024)
	for {
		c.mu.Lock()
		limit := c.maxData
		if !c.online {
			limit = adbwire.MaxPayload
		}
		c.mu.Unlock()
		m, err := adbwire.ReadMessage(br, limit)
		if err != nil {
			if c.ctx.Err() == nil {
				c.srv.logf("adbd %s: read: %v", c.srv.Addr(), err)
			}
			return
		}
		if !c.srv.gate(c.ctx.Done()) {
			return
		}
		if err := c.handle(m); err != nil {
			c.srv.logf("adbd %s: %v", c.srv.Addr(), err)
			return
		}
	}
}

// close tears the connection down once: the socket first and every stream
// aborted, so nothing more reaches the host (a command that ends because
// its context is cancelled must not look like one that exited), then the
// streams' contexts are cancelled.
func (c *conn) close(cause error) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	c.down.Store(true)
	streams := c.streams
	c.streams = map[uint32]*Stream{}
	c.mu.Unlock()
	c.wmu.Lock()
	c.nc.Close()
	c.wmu.Unlock()
	for _, st := range streams {
		st.abort()
	}
	c.cancel(cause)
}

// errConnClosed is returned by send on a closed connection.
var errConnClosed = errors.New("adbd: connection closed")

// send writes one message. Errors close the connection.
func (c *conn) send(m adbwire.Message) error {
	if !c.srv.gate(c.ctx.Done()) {
		return context.Cause(c.ctx)
	}
	c.wmu.Lock()
	if c.down.Load() {
		c.wmu.Unlock()
		return errConnClosed
	}
	c.wbuf = adbwire.AppendMessage(c.wbuf[:0], m)
	_, err := c.nc.Write(c.wbuf)
	if cap(c.wbuf) > 256*1024 {
		c.wbuf = nil
	}
	c.wmu.Unlock()
	if err != nil {
		c.close(fmt.Errorf("write: %w", err))
	}
	return err
}

func (c *conn) handle(m adbwire.Message) error {
	switch m.Command {
	case adbwire.CmdCNXN:
		return c.handleCNXN(m)
	case adbwire.CmdAUTH:
		return c.handleAUTH(m)
	}
	c.mu.Lock()
	online := c.online
	c.mu.Unlock()
	if !online {
		// Stream traffic before the handshake: ignore, as adbd does.
		return nil
	}
	switch m.Command {
	case adbwire.CmdOPEN:
		return c.handleOPEN(m)
	case adbwire.CmdOKAY:
		if st := c.stream(m.Arg1); st != nil {
			st.acked(m.Arg0)
		}
	case adbwire.CmdWRTE:
		st := c.stream(m.Arg1)
		if st == nil {
			// Unknown stream: tell the host it is gone.
			return c.send(adbwire.Message{Command: adbwire.CmdCLSE, Arg0: 0, Arg1: m.Arg0})
		}
		st.received(m.Data)
	case adbwire.CmdCLSE:
		if st := c.stream(m.Arg1); st != nil {
			c.forget(st)
			st.abort()
		}
	}
	return nil
}

func (c *conn) handleCNXN(m adbwire.Message) error {
	if m.Arg0 < adbwire.VersionMin {
		return fmt.Errorf("CNXN version 0x%08x below 0x%08x", m.Arg0, adbwire.VersionMin)
	}
	c.mu.Lock()
	c.greeted = true
	// A new CNXN restarts the session: every stream goes away.
	streams := c.streams
	c.streams = map[uint32]*Stream{}
	c.version = min(m.Arg0, adbwire.VersionSkipChecksum)
	c.maxData = min(max(m.Arg1, adbwire.MaxPayloadV1), c.srv.cfg.MaxPayload)
	c.online = false
	c.mu.Unlock()
	for _, st := range streams {
		st.abort()
	}
	if c.srv.cfg.Auth == AuthNone {
		return c.goOnline()
	}
	return c.send(adbwire.Message{Command: adbwire.CmdAUTH, Arg0: adbwire.AuthToken, Data: randomToken()})
}

func (c *conn) goOnline() error {
	c.mu.Lock()
	c.online = true
	c.mu.Unlock()
	return c.send(adbwire.Message{
		Command: adbwire.CmdCNXN,
		Arg0:    adbwire.VersionSkipChecksum,
		Arg1:    c.srv.cfg.MaxPayload,
		Data:    c.srv.banner,
	})
}

func (c *conn) handleAUTH(m adbwire.Message) error {
	switch m.Arg0 {
	case adbwire.AuthSignature:
		if c.srv.cfg.Auth == AuthAcceptAny {
			return c.goOnline()
		}
		// Not accepted: offer a fresh token, as adbd does after a bad signature.
		return c.send(adbwire.Message{Command: adbwire.CmdAUTH, Arg0: adbwire.AuthToken, Data: randomToken()})
	case adbwire.AuthRSAPublicKey:
		if c.srv.cfg.Auth == AuthAcceptAny {
			return c.goOnline()
		}
		// The user would be asked on the device's screen; nobody answers.
		return nil
	}
	return nil
}

func (c *conn) stream(localID uint32) *Stream {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.streams[localID]
}

func (c *conn) forget(st *Stream) {
	c.mu.Lock()
	if c.streams[st.localID] == st {
		delete(c.streams, st.localID)
	}
	c.mu.Unlock()
}

func (c *conn) handleOPEN(m adbwire.Message) error {
	name := strings.TrimRight(string(m.Data), "\x00")
	run := c.srv.resolve(c, name)
	if run == nil {
		c.srv.logf("adbd %s: unsupported service %q", c.srv.Addr(), name)
		return c.send(adbwire.Message{Command: adbwire.CmdCLSE, Arg0: 0, Arg1: m.Arg0})
	}
	c.mu.Lock()
	if len(c.streams) >= c.srv.cfg.MaxStreams {
		c.mu.Unlock()
		c.srv.logf("adbd %s: %d streams open: refusing %q", c.srv.Addr(), c.srv.cfg.MaxStreams, name)
		return c.send(adbwire.Message{Command: adbwire.CmdCLSE, Arg0: 0, Arg1: m.Arg0})
	}
	c.nextID++
	if c.nextID == 0 {
		c.nextID = 1
	}
	st := newStream(c, c.nextID, m.Arg0, c.maxData)
	c.streams[st.localID] = st
	c.mu.Unlock()
	if err := c.send(adbwire.Message{Command: adbwire.CmdOKAY, Arg0: st.localID, Arg1: st.remoteID}); err != nil {
		return err
	}
	c.streamWG.Add(2)
	go func() {
		defer c.streamWG.Done()
		st.pump()
	}()
	go func() {
		defer c.streamWG.Done()
		err := run(st.ctx, st)
		if err != nil && st.ctx.Err() == nil {
			c.srv.logf("adbd %s: service %q: %v", c.srv.Addr(), name, err)
		}
		st.Close()
	}()
	return nil
}
