package wechat

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wmpf-hil/wmpf-hil/harness/protocol"
)

// limitsConfig is a server with short HTTP limits, so that the tests see
// them act within a second.
func limitsConfig() Config {
	return Config{ReadHeaderTimeout: 200 * time.Millisecond, ReadTimeout: 400 * time.Millisecond,
		WriteTimeout: 400 * time.Millisecond, IdleTimeout: 300 * time.Millisecond, PingInterval: 50 * time.Millisecond}
}

func dialServer(t *testing.T, s *Server) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(s.URL(), "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// closedWithin reads (and discards) from conn until the server closes it,
// and returns how long that took from start; it fails the test if the
// connection is still open after max.
func closedWithin(t *testing.T, conn net.Conn, start time.Time, max time.Duration) (time.Duration, string) {
	t.Helper()
	_ = conn.SetReadDeadline(start.Add(max))
	got, err := io.ReadAll(conn)
	took := time.Since(start)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("the connection is still open %v after the request began (read so far: %q)", max, got)
	}
	return took, string(got)
}

// A client that sends its body a byte at a time, for longer than the
// server's ReadTimeout, is cut off at ReadTimeout: it does not hold a
// connection and a handler for as long as it likes.
func TestSlowBodyIsCutOffAtReadTimeout(t *testing.T) {
	cfg := limitsConfig()
	s := start(t, cfg)
	conn := dialServer(t, s)
	begun := time.Now()
	head := "POST /sim/voip/callWMPF?access_token=" + s.AccessToken() + " HTTP/1.1\r\nHost: sim\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
	if _, err := io.WriteString(conn, head); err != nil {
		t.Fatal(err)
	}
	// Dribble the body from another goroutine until the server hangs up
	// (a write fails) or the test ends.
	done := make(chan struct{})
	t.Cleanup(func() { close(done) })
	go func() {
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			if _, err := conn.Write([]byte(" ")); err != nil {
				return
			}
		}
	}()
	took, reply := closedWithin(t, conn, begun, 5*time.Second)
	t.Logf("slow body: connection closed %v after the request began (ReadTimeout %v); reply %q", took.Round(time.Millisecond), cfg.ReadTimeout, firstLineOf(reply))
	if took < cfg.ReadTimeout-50*time.Millisecond {
		t.Errorf("closed after %v, before ReadTimeout %v", took, cfg.ReadTimeout)
	}
	if took > cfg.ReadTimeout+time.Second {
		t.Errorf("closed after %v, more than a second past ReadTimeout %v", took, cfg.ReadTimeout)
	}
}

// Headers that never finish are cut off at ReadHeaderTimeout.
func TestSlowHeadersAreCutOffAtReadHeaderTimeout(t *testing.T) {
	cfg := limitsConfig()
	s := start(t, cfg)
	conn := dialServer(t, s)
	begun := time.Now()
	if _, err := io.WriteString(conn, "GET /sim/devices HTTP/1.1\r\nHost: sim\r\nX-Slow: "); err != nil {
		t.Fatal(err)
	}
	took, _ := closedWithin(t, conn, begun, 5*time.Second)
	t.Logf("slow headers: connection closed after %v (ReadHeaderTimeout %v)", took.Round(time.Millisecond), cfg.ReadHeaderTimeout)
	if took < cfg.ReadHeaderTimeout-50*time.Millisecond || took > cfg.ReadHeaderTimeout+time.Second {
		t.Errorf("closed after %v, want about ReadHeaderTimeout %v", took, cfg.ReadHeaderTimeout)
	}
}

// A kept-alive connection with no request on it is closed at IdleTimeout.
func TestIdleConnectionIsClosedAtIdleTimeout(t *testing.T) {
	cfg := limitsConfig()
	s := start(t, cfg)
	conn := dialServer(t, s)
	if _, err := io.WriteString(conn, "GET /sim/devices?access_token="+s.AccessToken()+" HTTP/1.1\r\nHost: sim\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Close {
		t.Fatalf("HTTP %d, close %v: want 200 on a kept-alive connection", resp.StatusCode, resp.Close)
	}
	idle := time.Now()
	_ = conn.SetReadDeadline(idle.Add(5 * time.Second))
	_, err = br.ReadByte()
	took := time.Since(idle)
	if !errors.Is(err, io.EOF) {
		t.Fatalf("after %v idle: %v, want the server to close the connection", took, err)
	}
	t.Logf("idle keep-alive connection closed after %v (IdleTimeout %v)", took.Round(time.Millisecond), cfg.IdleTimeout)
	if took < cfg.IdleTimeout-50*time.Millisecond || took > cfg.IdleTimeout+time.Second {
		t.Errorf("closed after %v idle, want about IdleTimeout %v", took, cfg.IdleTimeout)
	}
}

// A device's push stream lives longer than ReadTimeout and WriteTimeout
// together, and still carries pushes.
func TestPushStreamOutlivesTheRequestTimeouts(t *testing.T) {
	cfg := limitsConfig()
	s := start(t, cfg)
	d := newDevice(t, s, "SN-LIMITS", "M1")
	until := time.Now().Add(cfg.ReadTimeout + cfg.WriteTimeout + 300*time.Millisecond)
	pings := 0
	for time.Now().Before(until) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		m, err := d.stream.Next(ctx)
		cancel()
		if err != nil {
			t.Fatalf("the push stream ended after %d pings: %v", pings, err)
		}
		if m.Type == "ping" {
			pings++
		}
	}
	call := mustCall(t, s, callBody(d))
	m := next(t, d.stream)
	if m.Type != "push" || !strings.Contains(m.Msg, call.GroupID) {
		t.Fatalf("after %d pings over %v, the stream carried %+v, want the call's push (groupId %s)", pings,
			cfg.ReadTimeout+cfg.WriteTimeout, m, call.GroupID)
	}
}

// A token sent as "Authorization: Bearer …" is not read; the error says
// where it goes (the access_token query parameter, as WeChat's server
// API). Without the header the error stays short.
func TestBearerTokenErrorNamesTheQueryParameter(t *testing.T) {
	s := start(t, Config{})
	tok := s.AccessToken()
	for _, c := range []struct {
		method, path string
		status       int
	}{
		{"GET", "/sim/devices", http.StatusUnauthorized},
		{"POST", "/sim/voip/callWMPF", http.StatusUnauthorized},
		{"POST", "/wxa/business/runtime/pushappmsg", http.StatusOK}, // WeChat replies 200 with errcode
	} {
		for _, auth := range []string{"Bearer " + tok, "bearer " + tok, "Token " + tok} {
			req, err := http.NewRequestWithContext(testCtx(t), c.method, s.URL()+c.path, strings.NewReader("{}"))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", auth)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			data, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			got := decode[protocol.APIError](t, data)
			scheme, _, _ := strings.Cut(auth, " ")
			if resp.StatusCode != c.status || got.ErrCode != protocol.ErrcodeAccessTokenMissing {
				t.Errorf("%s %s with Authorization %s: HTTP %d errcode %d, want HTTP %d errcode %d", c.method, c.path, scheme,
					resp.StatusCode, got.ErrCode, c.status, protocol.ErrcodeAccessTokenMissing)
			}
			for _, want := range []string{"access_token query parameter", "?access_token=", "Authorization header", `"` + scheme + `"`, "/cgi-bin/token"} {
				if !strings.Contains(got.ErrMsg, want) {
					t.Errorf("%s %s with Authorization %s: errmsg %q does not say %q", c.method, c.path, scheme, got.ErrMsg, want)
				}
			}
			if strings.Contains(got.ErrMsg, tok) {
				t.Errorf("errmsg %q repeats the token", got.ErrMsg)
			}
		}
	}
	_, data := do(t, "GET", s.URL()+"/sim/devices", nil)
	if msg := decode[protocol.APIError](t, data).ErrMsg; strings.Contains(msg, "Authorization") {
		t.Errorf("without an Authorization header the error mentions it: %q", msg)
	}
	// The query parameter still wins when both are given.
	req, _ := http.NewRequestWithContext(testCtx(t), "GET", s.URL()+"/sim/devices?access_token="+tok, nil)
	req.Header.Set("Authorization", "Bearer nonsense")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("access_token in the query and a stray Authorization header: HTTP %d, want 200", resp.StatusCode)
	}
}

func TestLimitsConfigValidation(t *testing.T) {
	for _, c := range []struct {
		cfg  Config
		want []string
	}{
		{Config{ReadTimeout: -time.Second}, []string{"ReadTimeout", "-1s", "positive", "default 15s"}},
		{Config{WriteTimeout: -1}, []string{"WriteTimeout", "default 30s"}},
		{Config{IdleTimeout: -time.Minute}, []string{"IdleTimeout", "default 1m0s"}},
		{Config{ReadHeaderTimeout: -1}, []string{"ReadHeaderTimeout", "default 5s"}},
		{Config{ReadHeaderTimeout: 2 * time.Second, ReadTimeout: time.Second}, []string{"ReadHeaderTimeout 2s", "at most ReadTimeout (1s)"}},
	} {
		_, err := New(c.cfg)
		if err == nil {
			t.Errorf("%+v: no error", c.cfg)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("error %q does not contain %q", err, w)
			}
		}
	}
	s, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	if cfg := s.Config(); cfg.ReadHeaderTimeout != DefaultReadHeaderTimeout || cfg.ReadTimeout != DefaultReadTimeout ||
		cfg.WriteTimeout != DefaultWriteTimeout || cfg.IdleTimeout != DefaultIdleTimeout {
		t.Errorf("defaults: header %v read %v write %v idle %v", cfg.ReadHeaderTimeout, cfg.ReadTimeout, cfg.WriteTimeout, cfg.IdleTimeout)
	}
}

func firstLineOf(s string) string {
	l, _, _ := strings.Cut(s, "\r\n")
	return l
}
