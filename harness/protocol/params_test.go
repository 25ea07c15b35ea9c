package protocol

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func validCall() map[string]any {
	return map[string]any{"roomType": "video", "sn": "SN1", "modelId": "M1", "pushToken": "PT1", "nickName": "Alice"}
}

func with(kv ...any) map[string]any {
	m := validCall()
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i].(string)] = kv[i+1]
	}
	return m
}

func without(key string) map[string]any {
	m := validCall()
	delete(m, key)
	return m
}

// callErrorCases: body → code and what errMsg must name.
var callErrorCases = []struct {
	name string
	body any // map (marshalled) or string (raw)
	code int
	want []string // substrings of errMsg
}{
	{"empty body", "", CodeBody, []string{"body", "empty"}},
	{"not JSON", "{roomType:", CodeBody, []string{"body", "not JSON"}},
	{"array", `[1,2]`, CodeBody, []string{"body", "array"}},
	{"string body", `"x"`, CodeBody, []string{"body", "string"}},
	{"null body", `null`, CodeBody, []string{"body", "null"}},
	{"trailing data", `{"roomType":"video"} {}`, CodeBody, []string{"body", "more data"}},
	{"invalid UTF-8", "{\"roomType\":\"vid\xffeo\"}", CodeBody, []string{"UTF-8"}},
	{"duplicate field", `{"roomType":"video","roomType":"voice","sn":"a","modelId":"m","pushToken":"p","nickName":"n"}`, CodeBody, []string{"roomType", "more than once"}},
	{"unknown field", with("roomtype", "video"), CodeBody, []string{`"roomtype"`, "unknown field", "allowed fields"}},
	{"unknown field callback", with("success", "fn"), CodeBody, []string{`"success"`}},
	{"roomType missing", without("roomType"), CodeRoomType, []string{"roomType", "missing"}},
	{"roomType null", with("roomType", nil), CodeRoomType, []string{"roomType", "missing"}},
	{"roomType empty", with("roomType", ""), CodeRoomType, []string{"roomType", "empty", "voice"}},
	{"roomType audio", with("roomType", "audio"), CodeRoomType, []string{"roomType", `"audio"`, `"voice" or "video"`}},
	{"roomType case", with("roomType", "Video"), CodeRoomType, []string{"roomType", `"Video"`}},
	{"roomType number", with("roomType", 1), CodeRoomType, []string{"roomType", "number", "string"}},
	{"sn missing", without("sn"), CodeSN, []string{"sn", "missing"}},
	{"sn empty", with("sn", ""), CodeSN, []string{"sn", "empty"}},
	{"sn space", with("sn", "SN 1"), CodeSN, []string{"sn", `"SN 1"`, "whitespace"}},
	{"sn newline", with("sn", "SN\n1"), CodeSN, []string{"sn", "control"}},
	{"sn too long", with("sn", strings.Repeat("s", 129)), CodeSN, []string{"sn", "129 bytes", "at most 128"}},
	{"sn object", with("sn", map[string]any{}), CodeSN, []string{"sn", "object"}},
	{"modelId missing", without("modelId"), CodeModelID, []string{"modelId", "missing"}},
	{"modelId empty", with("modelId", ""), CodeModelID, []string{"modelId", "empty"}},
	{"modelId bool", with("modelId", true), CodeModelID, []string{"modelId", "boolean"}},
	{"pushToken missing", without("pushToken"), CodePushToken, []string{"pushToken", "missing"}},
	{"pushToken empty", with("pushToken", ""), CodePushToken, []string{"pushToken", "empty"}},
	{"pushToken number", with("pushToken", 12345), CodePushToken, []string{"pushToken", "number", "12345"}},
	{"pushToken too long", with("pushToken", strings.Repeat("t", 513)), CodePushToken, []string{"pushToken", "at most 512"}},
	{"nickName missing", without("nickName"), CodeNickName, []string{"nickName", "missing"}},
	{"nickName empty", with("nickName", ""), CodeNickName, []string{"nickName", "empty"}},
	{"nickName array", with("nickName", []string{"a"}), CodeNickName, []string{"nickName", "array"}},
	{"nickName lone surrogate", `{"roomType":"video","sn":"a","modelId":"m","pushToken":"p","nickName":"x\ud800y"}`, CodeNickName, []string{"nickName", `\ud800`, "surrogate"}},
	{"nickName huge", with("nickName", strings.Repeat("名", 600)), CodeNickName, []string{"nickName", "customQuery", "5120"}},
	{"deviceName number", with("deviceName", 7), CodeDeviceName, []string{"deviceName", "number"}},
	{"deviceName too long", with("deviceName", strings.Repeat("d", 1025)), CodeDeviceName, []string{"deviceName", "1024"}},
	{"envVersion beta", with("envVersion", "beta"), CodeEnvVersion, []string{"envVersion", `"beta"`, "release", "trial", "develop"}},
	{"envVersion empty", with("envVersion", ""), CodeEnvVersion, []string{"envVersion", `""`}},
	{"envVersion formal", with("envVersion", "formal"), CodeEnvVersion, []string{"envVersion", `"formal"`}},
	{"envVersion number", with("envVersion", 0), CodeEnvVersion, []string{"envVersion", "number"}},
	{"customQuery leading &", with("customQuery", "&a=1"), CodeCustomQuery, []string{"customQuery", "starts with"}},
	{"customQuery leading ?", with("customQuery", "?a=1"), CodeCustomQuery, []string{"customQuery", "starts with"}},
	{"customQuery empty pair", with("customQuery", "a=1&&b=2"), CodeCustomQuery, []string{"customQuery", "empty"}},
	{"customQuery trailing &", with("customQuery", "a=1&"), CodeCustomQuery, []string{"customQuery", "empty"}},
	{"customQuery empty key", with("customQuery", "=1"), CodeCustomQuery, []string{"customQuery", "empty key"}},
	{"customQuery space", with("customQuery", "a=b c"), CodeCustomQuery, []string{"customQuery", `' '`}},
	{"customQuery hash", with("customQuery", "a=b#c"), CodeCustomQuery, []string{"customQuery", `'#'`}},
	{"customQuery bad escape", with("customQuery", "a=%zz"), CodeCustomQuery, []string{"customQuery", "two hex digits"}},
	{"customQuery second =", with("customQuery", "a=b=c"), CodeCustomQuery, []string{"customQuery", "second '='"}},
	{"customQuery reserved", with("customQuery", "callerName=Mallory"), CodeCustomQuery, []string{"customQuery", `"callerName"`, "set by the plugin"}},
	{"customQuery reserved encoded", with("customQuery", "x=1&group%49d=2"), CodeCustomQuery, []string{"customQuery", `"groupId"`}},
	{"customQuery non-ASCII", with("customQuery", "a=中"), CodeCustomQuery, []string{"customQuery", "'中'"}},
	{"customQuery number", with("customQuery", 5), CodeCustomQuery, []string{"customQuery", "number"}},
	{"customQuery huge", with("customQuery", "a="+strings.Repeat("x", 5200)), CodeCustomQuery, []string{"customQuery", "nickName", "5120"}},
	{"timeLimit zero", with("timeLimit", 0), CodeTimeLimit, []string{"timeLimit", "0", "1 to 86400"}},
	{"timeLimit negative", with("timeLimit", -5), CodeTimeLimit, []string{"timeLimit", "-5"}},
	{"timeLimit fraction", with("timeLimit", 1.5), CodeTimeLimit, []string{"timeLimit", "1.5"}},
	{"timeLimit string", with("timeLimit", "60"), CodeTimeLimit, []string{"timeLimit", "string", `"60"`}},
	{"timeLimit too big", with("timeLimit", 86401), CodeTimeLimit, []string{"timeLimit", "86401"}},
	{"timeLimit huge exponent", `{"roomType":"video","sn":"a","modelId":"m","pushToken":"p","nickName":"n","timeLimit":1e999}`, CodeTimeLimit, []string{"timeLimit", "1e999"}},
	{"chargeType bad", with("chargeType", "free"), CodeChargeType, []string{"chargeType", `"free"`, "license", "duration"}},
	{"chargeType empty", with("chargeType", ""), CodeChargeType, []string{"chargeType", `""`}},
	{"chargeType bool", with("chargeType", false), CodeChargeType, []string{"chargeType", "boolean"}},
	{"enableCallerCamera string", with("enableCallerCamera", "true"), CodeCamera, []string{"enableCallerCamera", "string", "true or false"}},
	{"enableListenerCamera number", with("enableListenerCamera", 1), CodeCamera, []string{"enableListenerCamera", "number"}},
	{"sim not object", with("sim", "never"), CodeBody, []string{"sim", "string", "object"}},
	{"sim unknown key", with("sim", map[string]any{"join": "never"}), CodeBody, []string{"sim.join", "callerJoin"}},
	{"sim callerJoin bad", with("sim", map[string]any{"callerJoin": "later"}), CodeBody, []string{"sim.callerJoin", `"later"`, "milliseconds"}},
	{"sim callerJoin negative", with("sim", map[string]any{"callerJoin": "-1"}), CodeBody, []string{"sim.callerJoin", `"-1"`}},
	{"sim callerJoin number", with("sim", map[string]any{"callerJoin": 100}), CodeBody, []string{"sim.callerJoin", "number"}},
}

func bodyBytes(t testing.TB, body any) []byte {
	if s, ok := body.(string); ok {
		return []byte(s)
	}
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecodeCallParamsErrors(t *testing.T) {
	for _, c := range callErrorCases {
		t.Run(c.name, func(t *testing.T) {
			_, err := DecodeCallParams(bodyBytes(t, c.body))
			var ce *CallError
			if !errors.As(err, &ce) {
				t.Fatalf("error %v (%T), want *CallError", err, err)
			}
			if ce.ErrCode != c.code || ce.Errno != c.code {
				t.Errorf("errCode %d errno %d, want %d: %s", ce.ErrCode, ce.Errno, c.code, ce.ErrMsg)
			}
			if !strings.HasPrefix(ce.ErrMsg, "callWMPF:fail ") {
				t.Errorf("errMsg %q lacks the callWMPF:fail prefix", ce.ErrMsg)
			}
			for _, w := range c.want {
				if !strings.Contains(ce.ErrMsg, w) {
					t.Errorf("errMsg %q does not contain %q", ce.ErrMsg, w)
				}
			}
			if ce.HTTPStatus != 400 {
				t.Errorf("HTTPStatus %d, want 400", ce.HTTPStatus)
			}
			if _, ok := ce.Cause["field"]; !ok {
				t.Errorf("cause %v lacks field", ce.Cause)
			}
			if len(ce.ErrMsg) > 1200 {
				t.Errorf("errMsg is %d bytes: values should be truncated", len(ce.ErrMsg))
			}
		})
	}
}

func TestDecodeCallParamsDefaultsAndValues(t *testing.T) {
	p, err := DecodeCallParams(bodyBytes(t, validCall()))
	if err != nil {
		t.Fatal(err)
	}
	want := CallParams{RoomType: "video", SN: "SN1", ModelID: "M1", PushToken: "PT1", NickName: "Alice",
		EnvVersion: "release", ChargeType: "license", EnableCallerCamera: true, EnableListenerCamera: true}
	if p != want {
		t.Errorf("defaults: got %+v, want %+v", p, want)
	}
	full := `{"roomType":"voice","sn":"SN1","modelId":"M1","pushToken":"PT1","nickName":"😀 \"Bob\" & co","deviceName":"My learning machine",
		"envVersion":"trial","customQuery":"a=1&b=%E4%B8%AD&flag","timeLimit":300.0,"enableCallerCamera":false,"enableListenerCamera":null,
		"chargeType":"duration","sim":{"callerJoin":"1500"}}`
	p, err = DecodeCallParams([]byte(full))
	if err != nil {
		t.Fatal(err)
	}
	want = CallParams{RoomType: "voice", SN: "SN1", ModelID: "M1", PushToken: "PT1", NickName: "😀 \"Bob\" & co", DeviceName: "My learning machine",
		EnvVersion: "trial", CustomQuery: "a=1&b=%E4%B8%AD&flag", TimeLimit: 300, EnableCallerCamera: false, EnableListenerCamera: true,
		ChargeType: "duration", Sim: SimOptions{CallerJoin: "1500"}}
	if p != want {
		t.Errorf("full: got %+v, want %+v", p, want)
	}
	// 200 CJK characters and every hostile name fit.
	for _, name := range hostileNames {
		if _, err := DecodeCallParams(bodyBytes(t, with("nickName", name))); err != nil {
			t.Errorf("nickName %q: %v", name, err)
		}
	}
}
