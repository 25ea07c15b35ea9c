package wechat

import (
	"strings"
	"testing"

	"github.com/wmpf-hil/wmpf-hil/harness/protocol"
)

// Each fault turns one refusal into a success, and only that one.
func TestFaultsSkipTheirChecks(t *testing.T) {
	type check struct {
		name  string
		fault Fault
		code  int
		run   func(t *testing.T, s *Server, d *testDevice) (int, int) // HTTP status, code
	}
	callWith := func(mod func(map[string]any)) func(t *testing.T, s *Server, d *testDevice) (int, int) {
		return func(t *testing.T, s *Server, d *testDevice) (int, int) {
			b := callBody(d)
			mod(b)
			st, r := placeCall(t, s, b)
			return st, r.ErrCode
		}
	}
	push := func(body map[string]any) func(t *testing.T, s *Server, d *testDevice) (int, int) {
		return func(t *testing.T, s *Server, d *testDevice) (int, int) {
			st, data := do(t, "POST", s.URL()+"/wxa/business/runtime/pushappmsg?access_token="+s.AccessToken(), body)
			r := decode[struct {
				ErrCode int `json:"errcode"`
			}](t, data)
			return st, r.ErrCode
		}
	}
	checks := []check{
		{"bad roomType", FaultNoValidation, protocol.CodeRoomType, callWith(func(b map[string]any) { b["roomType"] = "fax" })},
		{"unknown token", FaultAcceptAnyToken, protocol.CodeBadPushToken, callWith(func(b map[string]any) { b["pushToken"] = "nope" })},
		{"offline sn", FaultOfflineAccepted, protocol.CodeDeviceOffline, callWith(func(b map[string]any) { b["sn"] = "NEVER-SEEN" })},
		{"too long", FaultNoSizeLimit, protocol.CodeNickName, callWith(func(b map[string]any) { b["nickName"] = strings.Repeat("x", 6000) })},
		{"pushappmsg missing msg", FaultNoValidation, protocol.ErrcodeBadParameter, push(map[string]any{"push_token": "x"})},
		{"pushappmsg unknown token", FaultAcceptAnyToken, protocol.ErrcodeInvalidPushToken, push(map[string]any{"msg": "{}", "push_token": "nope"})},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			healthy := start(t, Config{})
			_, code := c.run(t, healthy, newDevice(t, healthy, "SN-H", "M1"))
			if code != c.code {
				t.Fatalf("healthy side: code %d, want %d", code, c.code)
			}
			faulty := start(t, Config{Faults: []string{string(c.fault)}})
			_, code = c.run(t, faulty, newDevice(t, faulty, "SN-F", "M1"))
			if code != 0 {
				t.Fatalf("with %s: code %d, want success", c.fault, code)
			}
		})
	}
	if _, err := New(Config{Faults: []string{"slow"}}); err == nil || !strings.Contains(err.Error(), "accept-any-token") {
		t.Fatalf("unknown fault: %v", err)
	}
}

func TestLicenceFault(t *testing.T) {
	for _, faulty := range []bool{false, true} {
		cfg := Config{}
		if faulty {
			cfg.Faults = []string{string(FaultLicenceIgnored)}
		}
		s := start(t, cfg)
		d := newDevice(t, s, "SN-L", "M1")
		admin(t, s, "POST", "/sim/devices/SN-L", map[string]any{"licence": "expired"})
		_, r := placeCall(t, s, callBody(d))
		if faulty && r.ErrCode != 0 || !faulty && r.ErrCode != protocol.CodeLicenceExpired {
			t.Fatalf("faulty=%v: code %d", faulty, r.ErrCode)
		}
	}
}
