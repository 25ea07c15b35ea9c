package wechat

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// addCallSeeds seeds the handler's fuzzing with good and bad bodies.
func addCallSeeds(f *testing.F) {
	for _, b := range []string{
		`{"roomType":"video","sn":"SN1","modelId":"m","pushToken":"PT","nickName":"n"}`,
		`{"roomType":"video","sn":"SN1","modelId":"m","pushToken":"PT","nickName":"n","sim":{"callerJoin":"never"}}`,
		`{"roomType":"voice","sn":"SN1","modelId":"m","pushToken":"PT","nickName":"\ud83d\ude00","customQuery":"a=%E4%B8%AD","timeLimit":1e2}`,
		`{"roomType":5}`, `[]`, `{"sim":{"callerJoin":"1","callerJoin":"2"}}`, "\xef\xbb\xbf{}", "",
	} {
		f.Add([]byte(b))
	}
}

// FuzzCallWMPFHandler: the HTTP endpoint always answers with a JSON object,
// HTTP 200 with a room or HTTP 4xx with a plugin or backend error.
func FuzzCallWMPFHandler(f *testing.F) {
	addCallSeeds(f)
	s, err := New(Config{})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = s.Close() })
	h := s.Handler()
	tok := s.AccessToken()
	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptest.NewRequest(http.MethodPost, "/sim/voip/callWMPF?access_token="+tok, strings.NewReader(string(body)))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		var reply map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &reply); err != nil {
			t.Fatalf("reply is not a JSON object: %v: %q", err, rec.Body.String())
		}
		if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Fatalf("Content-Type %q", ct)
		}
		if rec.Code == 200 {
			if reply["roomId"] == nil || reply["isSuccess"] != true {
				t.Fatalf("200 without a room: %v", reply)
			}
			return
		}
		if rec.Code < 400 || rec.Code > 499 {
			t.Fatalf("HTTP %d", rec.Code)
		}
		code, ok := reply["errCode"].(float64)
		msg, _ := reply["errMsg"].(string)
		if !ok || !(code >= 1000 && code <= 1011 || code >= 1 && code <= 24) || !strings.HasPrefix(msg, "callWMPF:fail ") || reply["errno"] != code {
			t.Fatalf("bad error reply %v", reply)
		}
	})
}
