package android

import (
	"context"
	"io"
	"testing"
)

func BenchmarkExecEcho(b *testing.B) {
	s := newSys(b, Config{Seed: 1})
	ctx := context.Background()
	stdio := Stdio{Stdout: io.Discard, Stderr: io.Discard}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if st := s.Exec(ctx, "echo hi", stdio); st != 0 {
			b.Fatalf("status %d", st)
		}
	}
}

func BenchmarkLog(b *testing.B) {
	s := newSys(b, Config{Seed: 1})
	p := s.Process("system_server")
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p.Log(Info, "Bench", "a typical log message of some modest length")
	}
}

func BenchmarkLogWithStreamingReader(b *testing.B) {
	s := newSys(b, Config{Seed: 1})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		s.Exec(ctx, "logcat -v threadtime", Stdio{Stdout: io.Discard})
		close(done)
	}()
	p := s.Process("system_server")
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p.Log(Info, "Bench", "a typical log message of some modest length")
	}
	b.StopTimer()
	cancel()
	<-done
}
