package android

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeHost is a host clock the test moves by hand.
type fakeHost struct {
	mu sync.Mutex
	t  time.Time
}

func (f *fakeHost) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.t
}

func (f *fakeHost) Advance(d time.Duration) {
	f.mu.Lock()
	f.t = f.t.Add(d)
	f.mu.Unlock()
}

var hostEpoch = time.Date(2021, 3, 4, 5, 6, 7, 123456789, time.UTC)

func newSys(t testing.TB, cfg Config) *System {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// newFixedSys returns a device whose host clock stands at hostEpoch.
func newFixedSys(t testing.TB, cfg Config) (*System, *fakeHost) {
	t.Helper()
	h := &fakeHost{t: hostEpoch}
	cfg.Clock.Host = h.Now
	return newSys(t, cfg), h
}

func run(t testing.TB, s *System, cmd string) (string, string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var out, errb bytes.Buffer
	st := s.Exec(ctx, cmd, Stdio{Stdout: &out, Stderr: &errb})
	return out.String(), errb.String(), st
}

func mustRun(t testing.TB, s *System, cmd string) string {
	t.Helper()
	out, errs, st := run(t, s, cmd)
	if st != 0 {
		t.Fatalf("%q: exit %d, stderr %q, stdout %q", cmd, st, errs, out)
	}
	return out
}

// waitFor waits for a value on ch.
func waitFor[T any](t testing.TB, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
	}
	var zero T
	return zero
}

func lines(s string) []string {
	s = strings.TrimSuffix(s, "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}
