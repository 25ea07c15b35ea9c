package adb

import (
	"net"
	"syscall"
)

// quickAckConn re-arms TCP_QUICKACK before every read. The adb server writes
// to its client sockets without TCP_NODELAY, so after a small write it waits
// for our ACK before sending the next segment; with delayed ACKs that wait is
// up to 40 ms per streamed line. Quick ACKs remove the stall.
type quickAckConn struct {
	*net.TCPConn
	raw syscall.RawConn
}

func withQuickAck(c net.Conn) net.Conn {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return c
	}
	raw, err := tc.SyscallConn()
	if err != nil {
		return c
	}
	q := &quickAckConn{TCPConn: tc, raw: raw}
	q.arm()
	return q
}

func (c *quickAckConn) arm() {
	_ = c.raw.Control(func(fd uintptr) {
		_ = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_QUICKACK, 1)
	})
}

func (c *quickAckConn) Read(p []byte) (int, error) {
	c.arm()
	return c.TCPConn.Read(p)
}
