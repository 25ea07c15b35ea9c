package adbd_test

import (
	"bufio"
	"errors"
	"io"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/wmpf-hil/wmpf-hil/internal/adbwire"
	"github.com/wmpf-hil/wmpf-hil/simulator/adbd"
)

// rawHost speaks the transport protocol to a device directly, as an adb
// server would, so that a test can do what the real server never does.
type rawHost struct {
	t  *testing.T
	nc net.Conn
	br *bufio.Reader
}

func dialRaw(t *testing.T, addr string) *rawHost {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	return &rawHost{t: t, nc: nc, br: bufio.NewReader(nc)}
}

func (h *rawHost) send(m adbwire.Message) {
	h.t.Helper()
	if _, err := h.nc.Write(adbwire.AppendMessage(nil, m)); err != nil {
		h.t.Fatal(err)
	}
}

func (h *rawHost) read() adbwire.Message {
	h.t.Helper()
	h.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	m, err := adbwire.ReadMessage(h.br, adbwire.MaxPayload)
	if err != nil {
		h.t.Fatal(err)
	}
	return m
}

func (h *rawHost) handshake() adbwire.Message {
	h.t.Helper()
	h.send(adbwire.Message{Command: adbwire.CmdCNXN, Arg0: adbwire.VersionSkipChecksum, Arg1: adbwire.MaxPayload, Data: []byte("host::\x00")})
	m := h.read()
	if m.Command != adbwire.CmdCNXN {
		h.t.Fatalf("handshake answered with %v", m)
	}
	return m
}

// settledGoroutines waits until the number of goroutines stops changing
// and returns it.
func settledGoroutines(t *testing.T) int {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	last, same := runtime.NumGoroutine(), 0
	for same < 5 {
		if time.Now().After(deadline) {
			t.Fatalf("goroutines still changing after 10 s (%d)", last)
		}
		time.Sleep(20 * time.Millisecond)
		n := runtime.NumGoroutine()
		if n == last {
			same++
		} else {
			last, same = n, 0
		}
	}
	return last
}

// memInuse is the heap and goroutine stacks in use.
func memInuse() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse + ms.StackInuse
}

// TestStreamsPerConnectionAreBounded opens 2000 streams that never end on
// one connection: the first MaxStreams are served, the rest are refused
// with CLSE, and neither goroutines nor heap grow past the bound.
func TestStreamsPerConnectionAreBounded(t *testing.T) {
	sh := &testShell{lines: make(chan string)}
	dev, err := adbd.Start(adbd.Config{Shell: sh})
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	h := dialRaw(t, dev.Addr())
	h.handshake()
	open := func(from, to uint32) (okays, closes int) {
		for id := from; id < to; id++ {
			h.send(adbwire.Message{Command: adbwire.CmdOPEN, Arg0: id, Data: []byte("shell,v2,raw:follow\x00")})
		}
		for id := from; id < to; id++ {
			switch m := h.read(); m.Command {
			case adbwire.CmdOKAY:
				okays++
			case adbwire.CmdCLSE:
				closes++
			default:
				t.Fatalf("OPEN answered with %v", m)
			}
		}
		return okays, closes
	}
	baseHeap, baseG := memInuse(), runtime.NumGoroutine()
	okays, closes := open(1, adbd.DefaultMaxStreams+1)
	if okays != adbd.DefaultMaxStreams || closes != 0 {
		t.Fatalf("first %d OPENs: %d OKAY, %d CLSE", adbd.DefaultMaxStreams, okays, closes)
	}
	// The goroutines of a stream start after its OKAY: wait until they have.
	atBoundG := settledGoroutines(t)
	atBoundHeap := memInuse()
	okays, closes = open(adbd.DefaultMaxStreams+1, 2001)
	if okays != 0 || closes != 2000-adbd.DefaultMaxStreams {
		t.Fatalf("OPENs past the bound: %d OKAY, %d CLSE", okays, closes)
	}
	endG := settledGoroutines(t)
	endHeap := memInuse()
	t.Logf("heap and stacks in use: %.1f MB at start, %.1f MB with %d streams, %.1f MB after 2000 OPENs; goroutines %d, %d, %d",
		float64(baseHeap)/1e6, float64(atBoundHeap)/1e6, adbd.DefaultMaxStreams, float64(endHeap)/1e6, baseG, atBoundG, endG)
	if endG > atBoundG+5 {
		t.Fatalf("goroutines grew past the bound: %d with %d streams, %d after 2000 OPENs", atBoundG, adbd.DefaultMaxStreams, endG)
	}
	perStream := float64(atBoundHeap-min(baseHeap, atBoundHeap)) / float64(adbd.DefaultMaxStreams)
	if grow := float64(endHeap) - float64(atBoundHeap); grow > 100*perStream+1e6 {
		t.Fatalf("memory grew %.0f bytes past the bound (%.0f bytes a stream)", grow, perStream)
	}
	// The connection still works: closing streams makes room again.
	h.send(adbwire.Message{Command: adbwire.CmdCLSE, Arg0: 7, Arg1: 1})
	deadline := time.Now().Add(10 * time.Second)
	for {
		h.send(adbwire.Message{Command: adbwire.CmdOPEN, Arg0: 5000, Data: []byte("shell,v2,raw:echo room\x00")})
		if m := h.read(); m.Command == adbwire.CmdOKAY {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no stream could be opened after one was closed")
		}
	}
}

// TestSilentConnectionIsClosed: a connection that never sends CNXN is
// closed after the handshake bound; one that did is kept.
func TestSilentConnectionIsClosed(t *testing.T) {
	const bound = 300 * time.Millisecond
	dev, err := adbd.Start(adbd.Config{Shell: &testShell{}, HandshakeTimeout: bound})
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	silent := dialRaw(t, dev.Addr())
	greeted := dialRaw(t, dev.Addr())
	greeted.handshake()
	start := time.Now()
	silent.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := silent.br.ReadByte(); !errors.Is(err, io.EOF) {
		t.Fatalf("silent connection: read %v, want EOF", err)
	}
	if waited := time.Since(start); waited < bound/2 || waited > 5*time.Second {
		t.Fatalf("silent connection closed after %v, bound %v", waited, bound)
	}
	time.Sleep(2 * bound) // the greeted connection must outlive the bound
	greeted.send(adbwire.Message{Command: adbwire.CmdOPEN, Arg0: 1, Data: []byte("shell,v2,raw:echo hi\x00")})
	if m := greeted.read(); m.Command != adbwire.CmdOKAY {
		t.Fatalf("greeted connection after the bound: %v", m)
	}
	if _, err := adbd.Start(adbd.Config{Shell: &testShell{}, HandshakeTimeout: -time.Second}); err == nil {
		t.Fatal("a negative HandshakeTimeout was accepted")
	}
}
