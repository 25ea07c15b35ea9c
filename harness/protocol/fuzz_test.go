package protocol

import (
	"encoding/json"
	"strings"
	"testing"
)

func addCallSeeds(f *testing.F) {
	for _, c := range callErrorCases {
		b, ok := c.body.(string)
		if !ok {
			raw, err := json.Marshal(c.body)
			if err != nil {
				f.Fatal(err)
			}
			b = string(raw)
		}
		f.Add([]byte(b))
	}
	f.Add([]byte(`{"roomType":"video","sn":"SN1","modelId":"m","pushToken":"PT","nickName":"n","sim":{"callerJoin":"never"}}`))
	f.Add([]byte(`{"roomType":"voice","sn":"SN1","modelId":"m","pushToken":"PT","nickName":"\ud83d\ude00","customQuery":"a=%E4%B8%AD","timeLimit":1e2}`))
	f.Add([]byte(`{"sim":{"callerJoin":"1","callerJoin":"2"}}`))
	f.Add([]byte("\xef\xbb\xbf{}"))
}

// FuzzDecodeCallParams: decoding never panics; it either succeeds with
// parameters that validate and fit in a push message, or returns a plugin
// error whose message has the callWMPF:fail prefix.
func FuzzDecodeCallParams(f *testing.F) {
	addCallSeeds(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		p, err := DecodeCallParams(body)
		if err != nil {
			ce, ok := err.(*CallError)
			if !ok {
				t.Fatalf("error %T %v, want *CallError", err, err)
			}
			if ce.ErrCode < 1000 || ce.ErrCode > 1011 || !strings.HasPrefix(ce.ErrMsg, "callWMPF:fail ") || ce.Cause == nil {
				t.Fatalf("bad error %+v", ce)
			}
			return
		}
		if cerr := p.Validate(); cerr != nil {
			t.Fatalf("decoded params do not validate: %v", cerr)
		}
		msg, err := BuildPushMessage(p, "g0123456789abcdef01234567", ExampleAppID)
		if err != nil || len(msg) > MaxPushMsgBytes {
			t.Fatalf("decoded params make no push message: %v", err)
		}
	})
}
