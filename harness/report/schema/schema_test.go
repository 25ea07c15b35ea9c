package schema

import (
	"strings"
	"testing"
)

func TestPayloadSchemas(t *testing.T) {
	v, err := New()
	if err != nil {
		t.Fatal(err)
	}
	if err := v.ValidatePayload("start", []byte(`{"spec":"s","device":"tv-1","attempt":1}`)); err != nil {
		t.Error(err)
	}
	if err := v.ValidatePayload("start", []byte(`{"spec":"s","device":"tv-1","attempt":0}`)); err == nil {
		t.Error("attempt 0 valid")
	}
	if err := v.ValidatePayload("bogus", []byte(`{}`)); err == nil || !strings.Contains(err.Error(), `"bogus"`) {
		t.Errorf("unknown kind: %v", err)
	}
	if err := v.Validate([]byte(`{`)); err == nil || !strings.Contains(err.Error(), "not JSON") {
		t.Errorf("broken line: %v", err)
	}
	err = v.Validate([]byte(`{"kind":"end","at":"2026-03-02T01:00:00Z","process":1,"end":{}}`))
	if err == nil || !strings.Contains(err.Error(), `"end" record`) {
		t.Errorf("empty end: %v", err)
	}
}
