package wechat

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/wmpf-hil/wmpf-hil/harness/protocol"
)

// maxBodyBytes bounds every request body.
const maxBodyBytes = 1 << 20

// Server is the simulated WeChat side. It is safe for concurrent use.
type Server struct {
	cfg       Config
	now       func() time.Time
	realClock bool
	handler   http.Handler

	mu           sync.Mutex
	closed       bool
	closeCh      chan struct{}
	accessTokens map[string]time.Time // token → expiry
	adminToken   string
	devices      map[string]*device
	pushTokens   map[string]*pushToken
	rooms        map[string]*room
	groups       map[string]*room // by groupId: the device knows a call by its push's groupId
	faults       map[Fault]bool
	pushes       map[string]*protocol.Push
	pushOrder    []*protocol.Push
	truth        []protocol.TruthStamp
	streams      sync.WaitGroup

	httpSrv *http.Server
	ln      net.Listener
	url     string
}

// New validates cfg and returns a Server that is not listening: serve
// Handler() yourself (for example with httptest.NewServer) or use Start.
// Errors name the Config field, its value and what is allowed.
func New(cfg Config) (*Server, error) {
	realClock := cfg.Now == nil
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Server{
		cfg:          cfg,
		now:          cfg.Now,
		realClock:    realClock,
		closeCh:      make(chan struct{}),
		accessTokens: map[string]time.Time{},
		devices:      map[string]*device{},
		pushTokens:   map[string]*pushToken{},
		rooms:        map[string]*room{},
		groups:       map[string]*room{},
		pushes:       map[string]*protocol.Push{},
	}
	if s.now == nil {
		s.now = time.Now
	}
	faults, err := ParseFaults(cfg.Faults)
	if err != nil {
		return nil, fmt.Errorf("wechat config: Faults: %w", err)
	}
	s.faults = faults
	for sn, rec := range cfg.Devices {
		s.devices[sn] = &device{sn: sn, modelID: rec.ModelID, licence: rec.Licence}
	}
	s.handler = s.routes()
	return s, nil
}

// Start creates a Server and serves it on addr ("127.0.0.1:0" picks a free
// port; "" means that). The server stops when ctx is done or on Close.
func Start(ctx context.Context, cfg Config, addr string) (*Server, error) {
	s, err := New(cfg)
	if err != nil {
		return nil, err
	}
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("wechat: listen on %q: %w", addr, err)
	}
	s.ln = ln
	s.url = "http://" + ln.Addr().String()
	s.httpSrv = &http.Server{Handler: s.handler, ReadHeaderTimeout: s.cfg.ReadHeaderTimeout, ReadTimeout: s.cfg.ReadTimeout,
		WriteTimeout: s.cfg.WriteTimeout, IdleTimeout: s.cfg.IdleTimeout}
	go func() {
		if err := s.httpSrv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.logf("wechat: serve %s: %v", s.url, err)
		}
	}()
	go func() {
		select {
		case <-ctx.Done():
			_ = s.Close()
		case <-s.closeCh:
		}
	}()
	s.logf("wechat: serving on %s (appid %s)", s.url, s.cfg.AppID)
	return s, nil
}

// Handler returns the server's HTTP handler.
func (s *Server) Handler() http.Handler { return s.handler }

// URL is the base URL the server listens on ("" unless made by Start).
func (s *Server) URL() string { return s.url }

// AppID is the vendor Mini Program appid in use (Config.AppID or its default).
func (s *Server) AppID() string { return s.cfg.AppID }

// AppSecret is the secret /cgi-bin/token accepts.
func (s *Server) AppSecret() string { return s.cfg.AppSecret }

// Config returns the configuration in use, defaults filled in.
func (s *Server) Config() Config { return s.cfg }

// Close ends every push stream (each gets {"type":"bye","reason":"server
// closing"}), stops the timers and, if the server was made by Start, stops
// listening and closes its connections (requests in flight get 250 ms to
// finish). It is safe to call more than once.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.closeCh)
	for _, r := range s.rooms {
		r.stopTimer()
	}
	for _, d := range s.devices {
		if d.graceTimer != nil {
			d.graceTimer.Stop()
		}
	}
	s.mu.Unlock()
	s.streams.Wait()
	if s.httpSrv != nil {
		// Requests in flight get a moment to finish; then every connection
		// is closed (clients keep dialled connections that never carried a
		// request, which Shutdown would wait seconds for).
		ctx, cancel := context.WithTimeout(context.Background(), 250*time.Millisecond)
		defer cancel()
		if err := s.httpSrv.Shutdown(ctx); err != nil {
			if cerr := s.httpSrv.Close(); cerr != nil {
				return fmt.Errorf("wechat: close %s: %w", s.url, cerr)
			}
		}
	}
	return nil
}

// AccessToken returns a valid access token, the same kind /cgi-bin/token
// gives, issuing a new one when the previous one has expired.
func (s *Server) AccessToken() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if exp, ok := s.accessTokens[s.adminToken]; ok && now.Add(time.Minute).Before(exp) {
		return s.adminToken
	}
	s.adminToken = s.issueAccessTokenLocked(now)
	return s.adminToken
}

// CheckTimers runs every transition that is due at Config.Now: ring
// timeouts, join-wait aborts, caller joins, time limits and the end of
// dropped devices' grace periods. Real timers call it on their own; with a
// fake clock, advance the clock and call it.
func (s *Server) CheckTimers() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	now := s.now()
	for _, r := range s.rooms {
		if r.state != protocol.StateEnded {
			s.advanceRoomLocked(r, now)
		}
	}
	for _, d := range s.devices {
		s.expireIfOfflineLocked(d, now)
	}
}

func (s *Server) logf(format string, args ...any) {
	s.cfg.Logf(format, args...)
}

func newID(prefix string, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		// crypto/rand does not fail on supported platforms; fall back to the
		// clock so an id is still unique enough for a simulator.
		return fmt.Sprintf("%s%x", prefix, time.Now().UnixNano())
	}
	return prefix + hex.EncodeToString(b)
}

// ---- HTTP plumbing ----

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	handle := func(pattern string, methods []string, h func(http.ResponseWriter, *http.Request)) {
		mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			for _, m := range methods {
				if r.Method == m {
					h(w, r)
					return
				}
			}
			allowed := strings.Join(methods, ", ")
			w.Header().Set("Allow", allowed)
			writeAPIError(w, newAPIError(http.StatusMethodNotAllowed, protocol.ErrcodeMethodNotAllowed,
				"method %s not allowed on %s; allowed %s", protocol.Show(r.Method), protocol.Show(r.URL.Path), allowed))
		})
	}
	get, post := []string{http.MethodGet}, []string{http.MethodPost}
	handle("/cgi-bin/token", get, s.handleToken)
	handle("/wxa/business/runtime/pushappmsg", post, s.withWeChatAccessToken(s.handlePushAppMsg))
	handle("/sim/voip/callWMPF", post, s.withAccessToken(s.handleCallWMPF))
	handle("/sim/voip/rooms/{roomId}", get, s.withAccessToken(s.handleRoom))
	handle("/sim/voip/rooms/{roomId}/{action}", post, s.withAccessToken(s.handleRoomAction))
	handle("/sim/devices", get, s.withAccessToken(s.handleDevices))
	handle("/sim/devices/{sn}", []string{http.MethodGet, http.MethodPost}, s.withAccessToken(s.handleDevice))
	handle("/sim/pushes", get, s.withAccessToken(s.handlePushes))
	handle("/sim/truth", []string{http.MethodGet, http.MethodPost}, s.withAccessToken(s.handleTruth))
	handle("/wmpf/activate", post, s.handleActivate)
	handle("/wmpf/pushtoken", post, s.handlePushTokenReq)
	handle("/wmpf/devicetoken", post, s.handleDeviceToken)
	handle("/wmpf/push", get, s.handlePushStream)
	handle("/wmpf/ack", post, s.handleAck)
	handle("/wmpf/truth", post, s.handleDeviceTruth)
	handle("/wmpf/voip/{roomId}/{action}", post, s.handleDeviceVoip)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeAPIError(w, newAPIError(http.StatusNotFound, protocol.ErrcodeNotFound, "no endpoint %s %s (see docs/wechat-sim.md)", r.Method, protocol.Show(r.URL.Path)))
	})
	return mux
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		status = http.StatusInternalServerError
		buf.Reset()
		fmt.Fprintf(&buf, `{"errcode":-1,"errmsg":%q}`+"\n", "encode reply: "+err.Error())
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

func writeAPIError(w http.ResponseWriter, e *apiError) {
	writeJSON(w, e.status, protocol.APIError{ErrCode: e.code, ErrMsg: e.msg})
}

func writeOK(w http.ResponseWriter) {
	writeJSON(w, http.StatusOK, protocol.APIError{ErrCode: 0, ErrMsg: "ok"})
}

// readBody reads a request body of at most maxBodyBytes.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, fmt.Errorf("request body over %d bytes", maxBodyBytes)
		}
		return nil, fmt.Errorf("read request body: %w", err)
	}
	return body, nil
}

// decodeStrict decodes one JSON object into v, rejecting unknown fields and
// trailing data.
func decodeStrict(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return errors.New("request body is empty; expected a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("request body: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("request body: more data after the JSON object")
	}
	return nil
}

// ---- access tokens ----

func (s *Server) issueAccessTokenLocked(now time.Time) string {
	if len(s.accessTokens) > 1000 {
		for t, exp := range s.accessTokens {
			if now.Sub(exp) > time.Hour {
				delete(s.accessTokens, t)
			}
		}
	}
	tok := newID("AT", 32)
	s.accessTokens[tok] = now.Add(s.cfg.AccessTokenTTL)
	return tok
}

// handleToken serves GET /cgi-bin/token like WeChat: HTTP 200 with either
// {"access_token","expires_in"} or {"errcode","errmsg"}.
func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	fail := func(code int, format string, args ...any) {
		writeJSON(w, http.StatusOK, protocol.APIError{ErrCode: code, ErrMsg: fmt.Sprintf(format, args...)})
	}
	switch gt, appid, secret := q.Get("grant_type"), q.Get("appid"), q.Get("secret"); {
	case gt != "client_credential":
		fail(protocol.ErrcodeInvalidGrantType, "invalid grant_type %s; allowed client_credential", protocol.Show(gt))
	case appid == "":
		fail(protocol.ErrcodeAppIDMissing, "appid missing; give the Mini Program's appid")
	case secret == "":
		fail(protocol.ErrcodeSecretMissing, "appsecret missing; give secret")
	case appid != s.cfg.AppID:
		fail(protocol.ErrcodeInvalidAppID, "invalid appid %s; this server knows %s", protocol.Show(appid), s.cfg.AppID)
	case secret != s.cfg.AppSecret:
		fail(protocol.ErrcodeInvalidAppSecret, "invalid appsecret for appid %s", appid)
	default:
		s.mu.Lock()
		tok := s.issueAccessTokenLocked(s.now())
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, protocol.AccessToken{AccessToken: tok, ExpiresIn: int64(s.cfg.AccessTokenTTL / time.Second)})
	}
}

// checkAccessToken checks ?access_token=. wechatStyle replies use HTTP 200
// (as WeChat's own API does); the simulator's endpoints use 401.
func (s *Server) checkAccessToken(r *http.Request, wechatStyle bool) *apiError {
	status := http.StatusUnauthorized
	if wechatStyle {
		status = http.StatusOK
	}
	tok := r.URL.Query().Get("access_token")
	if tok == "" {
		if auth := strings.TrimSpace(r.Header.Get("Authorization")); auth != "" {
			// WeChat's server API takes no Authorization header: say where
			// the token goes, not only that it is missing.
			scheme, _, _ := strings.Cut(auth, " ")
			return newAPIError(status, protocol.ErrcodeAccessTokenMissing,
				"access_token missing: the token goes in the access_token query parameter (?access_token=ACCESS_TOKEN), as in WeChat's server API; the Authorization header (scheme %s) is not read. Get a token from /cgi-bin/token",
				protocol.Show(scheme))
		}
		return newAPIError(status, protocol.ErrcodeAccessTokenMissing, "access_token missing; get one from /cgi-bin/token")
	}
	s.mu.Lock()
	exp, ok := s.accessTokens[tok]
	now := s.now()
	s.mu.Unlock()
	if !ok {
		return newAPIError(status, protocol.ErrcodeInvalidCredential, "invalid credential, access_token %s is invalid or not latest", protocol.Show(tok))
	}
	if !now.Before(exp) {
		return newAPIError(status, protocol.ErrcodeAccessTokenExpired, "access_token expired at %s; get a new one from /cgi-bin/token", exp.UTC().Format(time.RFC3339))
	}
	return nil
}

// withAccessToken guards a simulator endpoint (auth errors are HTTP 401).
func (s *Server) withAccessToken(h http.HandlerFunc) http.HandlerFunc {
	return s.guard(h, false)
}

// withWeChatAccessToken guards a WeChat API endpoint (auth errors are HTTP
// 200 with errcode, as WeChat replies).
func (s *Server) withWeChatAccessToken(h http.HandlerFunc) http.HandlerFunc {
	return s.guard(h, true)
}

func (s *Server) guard(h http.HandlerFunc, wechatStyle bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if e := s.checkAccessToken(r, wechatStyle); e != nil {
			writeAPIError(w, e)
			return
		}
		h(w, r)
	}
}
