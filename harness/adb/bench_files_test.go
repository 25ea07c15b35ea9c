package adb_test

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/wmpf-hil/wmpf-hil/internal/fakedevice"
)

// Transfer benchmarks: go test reports MB/s (b.SetBytes). The device keeps
// files in memory, so the figures are those of the layer, the adb server
// and loopback; the "adb" lines fork the adb command on the same server for
// comparison.

const benchFile = 16 << 20

func BenchmarkPush(b *testing.B) {
	srv, fd, d := fakeSetup(b, fakedevice.Config{})
	ctx := bounded(b)
	data := randomBytes(b, benchFile)
	b.Run("layer", func(b *testing.B) {
		b.SetBytes(benchFile)
		for range b.N {
			if err := d.Push(ctx, bytes.NewReader(data), "/data/local/tmp/bench", 0o644, time.Now()); err != nil {
				b.Fatal(err)
			}
		}
	})
	local := filepath.Join(b.TempDir(), "bench")
	if err := os.WriteFile(local, data, 0o644); err != nil {
		b.Fatal(err)
	}
	env := append(os.Environ(), srv.Env()...)
	b.Run("adb", func(b *testing.B) {
		b.SetBytes(benchFile)
		for range b.N {
			cmd := exec.Command("adb", "-s", fd.Serial(), "push", local, "/data/local/tmp/bench")
			cmd.Env = env
			if out, err := cmd.CombinedOutput(); err != nil {
				b.Fatalf("adb push: %v: %s", err, out)
			}
		}
	})
}

func BenchmarkPull(b *testing.B) {
	_, fd, d := fakeSetup(b, fakedevice.Config{})
	ctx := bounded(b)
	fd.PutFile("/data/local/tmp/bench", fakedevice.File{Data: randomBytes(b, benchFile), Mode: 0o100644})
	b.SetBytes(benchFile)
	b.ResetTimer()
	for range b.N {
		if n, err := d.Pull(ctx, "/data/local/tmp/bench", io.Discard); err != nil || n != benchFile {
			b.Fatalf("pull: %d bytes, %v", n, err)
		}
	}
}

func BenchmarkExecStdin(b *testing.B) {
	_, _, d := fakeSetup(b, fakedevice.Config{})
	ctx := bounded(b)
	data := randomBytes(b, benchFile)
	b.SetBytes(benchFile)
	b.ResetTimer()
	for range b.N {
		if err := d.Exec(ctx, "head -c "+itoa(benchFile), bytes.NewReader(data), io.Discard); err != nil {
			b.Fatal(err)
		}
	}
}
