package adb_test

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wmpf-hil/wmpf-hil/simulator/android"
)

// Benchmarks print figures; they assert nothing about speed.

// latencies records per-operation durations and reports their percentiles.
type latencies []time.Duration

func (l latencies) report(b *testing.B) {
	if len(l) == 0 {
		return
	}
	s := slices.Clone(l)
	slices.Sort(s)
	at := func(p float64) float64 {
		return float64(s[int(p*float64(len(s)-1))].Nanoseconds()) / 1e3
	}
	b.ReportMetric(at(0.50), "p50-us")
	b.ReportMetric(at(0.99), "p99-us")
	b.ReportMetric(float64(s[len(s)-1].Nanoseconds())/1e3, "max-us")
}

// bareShell is the smallest host-protocol round trip: one connection to the
// server, the transport and shell v2 requests, packets read to the exit
// packet.
func bareShell(addr, serial, cmd string, quickAck bool) (int, error) {
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		return 0, err
	}
	defer nc.Close()
	var src io.Reader = nc
	if quickAck {
		raw, err := nc.(*net.TCPConn).SyscallConn()
		if err != nil {
			return 0, err
		}
		src = quickAckReader{nc.(*net.TCPConn), raw}
	}
	r := bufio.NewReaderSize(src, 4096)
	for _, req := range []string{"host:transport:" + serial, "shell,v2,raw:" + cmd} {
		if _, err := fmt.Fprintf(nc, "%04x%s", len(req), req); err != nil {
			return 0, err
		}
		var st [4]byte
		if _, err := io.ReadFull(r, st[:]); err != nil {
			return 0, err
		}
		if string(st[:]) != "OKAY" {
			return 0, fmt.Errorf("%s: %q", req, st[:])
		}
	}
	var h [5]byte
	for {
		if _, err := io.ReadFull(r, h[:]); err != nil {
			return 0, err
		}
		n := int64(binary.LittleEndian.Uint32(h[1:]))
		if h[0] == 3 {
			code, err := r.ReadByte()
			return int(code), err
		}
		if _, err := io.CopyN(io.Discard, r, n); err != nil {
			return 0, err
		}
	}
}

// quickAckReader re-arms TCP_QUICKACK before each read, as the layer does.
type quickAckReader struct {
	c   *net.TCPConn
	raw syscall.RawConn
}

func (q quickAckReader) Read(p []byte) (int, error) {
	q.raw.Control(func(fd uintptr) { syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_QUICKACK, 1) })
	return q.c.Read(p)
}

// BenchmarkShellRoundTrip runs `true` on a simulated device through the adb
// server: bare (the hand-written host-protocol round trip above), bare with
// TCP_QUICKACK, the layer (Device.Run), and fork (the adb command per call).
// The layer line also reports layer/bare and layer/bare-quickack, and the
// fork line fork/layer: ratios of their ns/op.
func BenchmarkShellRoundTrip(b *testing.B) {
	srv, dev, d := setup(b)
	ctx := context.Background()
	serial := dev.Serial()
	perOp := map[string]float64{}
	timed := func(name string, op func(b *testing.B)) {
		b.Run(name, func(b *testing.B) {
			lat := make(latencies, 0, b.N)
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			for range b.N {
				t0 := time.Now()
				op(b)
				lat = append(lat, time.Since(t0))
			}
			perOp[name] = float64(time.Since(start).Nanoseconds()) / float64(b.N)
			b.StopTimer()
			lat.report(b)
			switch name {
			case "layer":
				b.ReportMetric(perOp["layer"]/perOp["bare"], "layer/bare")
				b.ReportMetric(perOp["layer"]/perOp["bare-quickack"], "layer/bare-quickack")
			case "fork":
				b.ReportMetric(perOp["fork"]/perOp["layer"], "fork/layer")
			}
		})
	}
	timed("bare", func(b *testing.B) {
		if code, err := bareShell(srv.Addr(), serial, "true", false); err != nil || code != 0 {
			b.Fatalf("bare round trip: exit %d, %v", code, err)
		}
	})
	timed("bare-quickack", func(b *testing.B) {
		if code, err := bareShell(srv.Addr(), serial, "true", true); err != nil || code != 0 {
			b.Fatalf("bare round trip: exit %d, %v", code, err)
		}
	})
	timed("layer", func(b *testing.B) {
		if _, err := d.Run(ctx, "true"); err != nil {
			b.Fatal(err)
		}
	})
	env := append(os.Environ(), srv.Env()...)
	timed("fork", func(b *testing.B) {
		cmd := exec.Command("adb", "-s", serial, "shell", "true")
		cmd.Env = env
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("adb shell true: %v: %s", err, out)
		}
	})
}

func BenchmarkLogcatLineDelay(b *testing.B) {
	_, dev, d := setup(b)
	ctx := bounded(b)
	s, err := d.StreamShell(ctx, "logcat -v epoch,usec -T 1")
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	nextLine(b, ctx, s)
	sys := dev.System()
	var lat latencies
	seq := 0
	b.ResetTimer()
	for range b.N {
		seq++
		msg := fmt.Sprintf("line-%d", seq)
		sent := time.Now()
		sys.Log(android.Entry{Tag: "BENCH", Msg: msg, Time: sent})
		for {
			l := nextLine(b, ctx, s)
			if strings.HasSuffix(l.Text, ": "+msg) && strings.Contains(l.Text, " BENCH") {
				lat = append(lat, l.Received.Sub(sent))
				break
			}
		}
	}
	b.StopTimer()
	lat.report(b)
}
