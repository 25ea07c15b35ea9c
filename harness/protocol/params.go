package protocol

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Room types of callWMPF.
const (
	RoomVoice = "voice"
	RoomVideo = "video"
)

// Charge types of callWMPF.
const (
	ChargeLicense  = "license"
	ChargeDuration = "duration"
)

// Values of SimOptions.CallerJoin.
const (
	CallerJoinImmediate = "immediate"
	CallerJoinNever     = "never"
	CallerJoinFail      = "fail"
)

// MaxTimeLimit is the largest timeLimit callWMPF accepts, in seconds.
const MaxTimeLimit = 86400

// maxCallerJoinMS is the largest delay sim.callerJoin accepts.
const maxCallerJoinMS = 3600000

// CallParams are the parameters of the plugin's callWMPF, as decoded and
// defaulted by DecodeCallParams.
type CallParams struct {
	RoomType    string `json:"roomType"`
	SN          string `json:"sn"`
	ModelID     string `json:"modelId"`
	PushToken   string `json:"pushToken"`
	NickName    string `json:"nickName"`
	DeviceName  string `json:"deviceName,omitempty"`
	EnvVersion  string `json:"envVersion,omitempty"` // "release" after defaulting
	CustomQuery string `json:"customQuery,omitempty"`
	// TimeLimit is the longest the call may last, in seconds; 0 is no limit.
	TimeLimit            int        `json:"timeLimit,omitempty"`
	EnableCallerCamera   bool       `json:"enableCallerCamera"`
	EnableListenerCamera bool       `json:"enableListenerCamera"`
	ChargeType           string     `json:"chargeType,omitempty"` // "license" after defaulting
	Sim                  SimOptions `json:"sim,omitzero"`
}

// SimOptions are simulator-only callWMPF options (the body's "sim" object).
type SimOptions struct {
	// CallerJoin says when the caller joins the room after the device
	// answers: "immediate" (default), "never" (the device aborts after
	// Config.JoinWait), "fail" (joinFailCaller, then the same abort), or a
	// delay in milliseconds such as "1500" (a delay not shorter than JoinWait
	// means the caller is too late).
	CallerJoin string `json:"callerJoin,omitempty"`
}

// CallerJoinDelay parses CallerJoin: ok is false for never/fail.
func (o SimOptions) CallerJoinDelay() (ms int, ok bool) {
	switch o.CallerJoin {
	case "", CallerJoinImmediate:
		return 0, true
	case CallerJoinNever, CallerJoinFail:
		return 0, false
	}
	n, err := strconv.Atoi(o.CallerJoin)
	if err != nil {
		return 0, false
	}
	return n, true
}

// callFields are the body's fields in the order they are checked.
var callFields = []string{"roomType", "sn", "modelId", "pushToken", "nickName", "deviceName", "envVersion", "customQuery", "timeLimit", "chargeType", "enableCallerCamera", "enableListenerCamera", "sim"}

// reservedQueryKeys are set by the plugin and may not appear in customQuery.
var reservedQueryKeys = []string{"roomType", "groupId", "listenerId", "callerName"}

func NewCallError(status, code int, cause map[string]any, format string, args ...any) *CallError {
	if cause == nil {
		cause = map[string]any{}
	}
	return &CallError{
		ErrCode:    code,
		Errno:      code,
		ErrMsg:     "callWMPF:fail " + fmt.Sprintf(format, args...),
		Cause:      cause,
		HTTPStatus: status,
	}
}

// NewParamError is a plugin parameter error naming field and value.
func NewParamError(code int, field, value, allowed, format string, args ...any) *CallError {
	return NewCallError(http.StatusBadRequest, code,
		map[string]any{"field": Truncate(field), "value": Truncate(value), "allowed": allowed},
		format, args...)
}

// Truncate shortens s to maxShown characters for an error's cause.
func Truncate(s string) string {
	n := 0
	for i := range s {
		if n == maxShown {
			return s[:i] + "…"
		}
		n++
	}
	return s
}

// DecodeCallParams decodes and checks a callWMPF body the way the plugin
// checks its parameters (including that the push message it makes fits in
// MaxPushMsgBytes), and fills in the defaults (envVersion release,
// chargeType license, both cameras on). Every error is a *CallError with a
// plugin code (1000–1011) whose ErrMsg names the field, the value and what is
// allowed. It never panics.
func DecodeCallParams(body []byte) (CallParams, error) {
	var p CallParams
	fields, cerr := decodeObject(body)
	if cerr != nil {
		return p, cerr
	}
	for _, f := range fields.order {
		if !contains(callFields, f) {
			return p, NewParamError(CodeBody, f, "", strings.Join(callFields, ", "),
				"unknown field %s; allowed fields: %s", Show(f), strings.Join(callFields, ", "))
		}
	}
	raw := fields.values
	var err *CallError
	str := func(field string, code int, dst *string, required bool) bool {
		v, ok := raw[field]
		if !ok || JSONKind(v) == "null" {
			if required {
				err = NewParamError(code, field, "", "a non-empty string", "%s is required (a non-empty string) and is missing", field)
				return false
			}
			return true
		}
		if JSONKind(v) != "string" {
			err = NewParamError(code, field, ShowRaw(v), "a string", "%s: got %s %s; allowed a string", field, JSONKind(v), ShowRaw(v))
			return false
		}
		if lone := loneSurrogate(v); lone != "" {
			err = NewParamError(code, field, ShowRaw(v), "a well-formed string", "%s: contains the unpaired surrogate %s; allowed a well-formed Unicode string", field, lone)
			return false
		}
		if uerr := json.Unmarshal(v, dst); uerr != nil {
			err = NewParamError(code, field, ShowRaw(v), "a string", "%s: got %s: %v; allowed a string", field, ShowRaw(v), uerr)
			return false
		}
		return true
	}
	boolean := func(field string, dst *bool) bool {
		*dst = true
		v, ok := raw[field]
		if !ok || JSONKind(v) == "null" {
			return true
		}
		switch string(v) {
		case "true":
			return true
		case "false":
			*dst = false
			return true
		}
		err = NewParamError(CodeCamera, field, ShowRaw(v), "true or false", "%s: got %s %s; allowed true or false (default true)", field, JSONKind(v), ShowRaw(v))
		return false
	}
	ok := str("roomType", CodeRoomType, &p.RoomType, true) &&
		str("sn", CodeSN, &p.SN, true) &&
		str("modelId", CodeModelID, &p.ModelID, true) &&
		str("pushToken", CodePushToken, &p.PushToken, true) &&
		str("nickName", CodeNickName, &p.NickName, true) &&
		str("deviceName", CodeDeviceName, &p.DeviceName, false) &&
		str("envVersion", CodeEnvVersion, &p.EnvVersion, false) &&
		str("customQuery", CodeCustomQuery, &p.CustomQuery, false) &&
		decodeTimeLimit(raw["timeLimit"], &p.TimeLimit, &err) &&
		str("chargeType", CodeChargeType, &p.ChargeType, false) &&
		boolean("enableCallerCamera", &p.EnableCallerCamera) &&
		boolean("enableListenerCamera", &p.EnableListenerCamera) &&
		decodeSim(raw["sim"], &p.Sim, &err)
	if !ok {
		return p, err
	}
	if _, set := raw["envVersion"]; set && p.EnvVersion == "" && JSONKind(raw["envVersion"]) == "string" {
		return p, NewParamError(CodeEnvVersion, "envVersion", "", "release, trial or develop",
			`envVersion: got ""; allowed "release" (default), "trial" or "develop"; leave the field out for the default`)
	}
	if _, set := raw["chargeType"]; set && p.ChargeType == "" && JSONKind(raw["chargeType"]) == "string" {
		return p, NewParamError(CodeChargeType, "chargeType", "", "license or duration",
			`chargeType: got ""; allowed "license" (default) or "duration"; leave the field out for the default`)
	}
	if p.EnvVersion == "" {
		p.EnvVersion = EnvRelease
	}
	if p.ChargeType == "" {
		p.ChargeType = ChargeLicense
	}
	if cerr := p.Validate(); cerr != nil {
		return p, cerr
	}
	// The push message must fit: build it with a group id of the length the
	// server uses (every appid has the same length).
	if _, err := BuildPushMessage(p, "g"+strings.Repeat("0", GroupIDLen-1), ExampleAppID); err != nil {
		return p, err
	}
	return p, nil
}

// GroupIDLen is the length of the group ids the WeChat side makes ("g" and
// 24 hex digits): DecodeCallParams sizes the push message with one as long.
const GroupIDLen = 25

// Validate checks every field of p (already decoded and defaulted) and
// returns a *CallError for the first that is wrong, or nil.
func (p *CallParams) Validate() *CallError {
	for _, check := range []func(*CallParams) *CallError{
		checkRoomType, checkSN, checkModelID, checkPushToken, checkNickName, checkDeviceName,
		checkEnvVersion, checkCustomQuery, checkTimeLimit, checkChargeType, checkSim,
	} {
		if err := check(p); err != nil {
			return err
		}
	}
	return nil
}

func checkRoomType(p *CallParams) *CallError {
	if p.RoomType == RoomVoice || p.RoomType == RoomVideo {
		return nil
	}
	if p.RoomType == "" {
		return NewParamError(CodeRoomType, "roomType", "", "voice or video", `roomType is required and is empty; allowed "voice" or "video"`)
	}
	return NewParamError(CodeRoomType, "roomType", p.RoomType, "voice or video", `roomType: got %s; allowed "voice" or "video"`, Show(p.RoomType))
}

func identErr(code int, field, v string, max int) *CallError {
	if err := CheckIdent(v, max); err != nil {
		if v == "" {
			return NewParamError(code, field, "", "a non-empty string", "%s is required and is empty; allowed 1 to %d bytes without whitespace or control characters", field, max)
		}
		return NewParamError(code, field, v, fmt.Sprintf("1 to %d bytes without whitespace or control characters", max), "%s %s: %v", field, Show(v), err)
	}
	return nil
}

func checkSN(p *CallParams) *CallError      { return identErr(CodeSN, "sn", p.SN, 128) }
func checkModelID(p *CallParams) *CallError { return identErr(CodeModelID, "modelId", p.ModelID, 128) }
func checkPushToken(p *CallParams) *CallError {
	return identErr(CodePushToken, "pushToken", p.PushToken, 512)
}

func checkNickName(p *CallParams) *CallError {
	switch {
	case p.NickName == "":
		return NewParamError(CodeNickName, "nickName", "", "a non-empty string", "nickName is required and is empty; allowed any non-empty string whose push message fits in %d bytes", MaxPushMsgBytes)
	case !utf8.ValidString(p.NickName):
		return NewParamError(CodeNickName, "nickName", p.NickName, "valid UTF-8", "nickName %s: not valid UTF-8", Show(p.NickName))
	}
	return nil
}

func checkDeviceName(p *CallParams) *CallError {
	switch {
	case !utf8.ValidString(p.DeviceName):
		return NewParamError(CodeDeviceName, "deviceName", p.DeviceName, "valid UTF-8", "deviceName %s: not valid UTF-8", Show(p.DeviceName))
	case len(p.DeviceName) > 1024:
		return NewParamError(CodeDeviceName, "deviceName", p.DeviceName, "at most 1024 bytes", "deviceName %s: %d bytes long; allowed at most 1024", Show(p.DeviceName), len(p.DeviceName))
	}
	return nil
}

func checkEnvVersion(p *CallParams) *CallError {
	if _, err := AppTypeOf(p.EnvVersion); err != nil {
		return NewParamError(CodeEnvVersion, "envVersion", p.EnvVersion, "release, trial or develop", "%v", err)
	}
	return nil
}

func checkChargeType(p *CallParams) *CallError {
	switch p.ChargeType {
	case "", ChargeLicense, ChargeDuration:
		return nil
	}
	return NewParamError(CodeChargeType, "chargeType", p.ChargeType, "license or duration", `chargeType: got %s; allowed "license" (default) or "duration"`, Show(p.ChargeType))
}

func checkTimeLimit(p *CallParams) *CallError {
	if p.TimeLimit < 0 || p.TimeLimit > MaxTimeLimit {
		return NewParamError(CodeTimeLimit, "timeLimit", strconv.Itoa(p.TimeLimit), "1 to 86400", "timeLimit: got %d; allowed a whole number of seconds from 1 to %d (leave it out for no limit)", p.TimeLimit, MaxTimeLimit)
	}
	return nil
}

func checkSim(p *CallParams) *CallError {
	v := p.Sim.CallerJoin
	switch v {
	case "", CallerJoinImmediate, CallerJoinNever, CallerJoinFail:
		return nil
	}
	allowed := fmt.Sprintf(`"immediate" (default), "never", "fail" or a delay in milliseconds from "0" to "%d"`, maxCallerJoinMS)
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 || n > maxCallerJoinMS || strconv.Itoa(n) != v {
		return NewParamError(CodeBody, "sim.callerJoin", v, allowed, "sim.callerJoin: got %s; allowed %s", Show(v), allowed)
	}
	return nil
}

// checkCustomQuery checks customQuery: "" or key[=value] pairs joined by
// "&", keys and values made of the characters encodeURIComponent keeps and
// %XX escapes; the plugin's own keys are reserved.
func checkCustomQuery(p *CallParams) *CallError {
	q := p.CustomQuery
	if q == "" {
		return nil
	}
	const allowed = "key=value pairs joined by '&' (e.g. a=1&b=2), keys and values made of A-Z a-z 0-9 - _ . ! ~ * ' ( ) and %XX escapes (encode values with encodeURIComponent)"
	bad := func(format string, args ...any) *CallError {
		return NewParamError(CodeCustomQuery, "customQuery", q, allowed, "customQuery %s: %s; allowed %s", Show(q), fmt.Sprintf(format, args...), allowed)
	}
	if !utf8.ValidString(q) {
		return bad("not valid UTF-8")
	}
	if q[0] == '?' || q[0] == '&' {
		return bad("starts with %q (the plugin adds the '&')", q[0])
	}
	for i, seg := range strings.Split(q, "&") {
		if seg == "" {
			return bad("pair %d is empty (\"&&\" or a trailing '&')", i+1)
		}
		key, value, hasValue := strings.Cut(seg, "=")
		if key == "" {
			return bad("pair %d %s has an empty key", i+1, Show(seg))
		}
		if hasValue && strings.Contains(value, "=") {
			return bad("pair %d %s has a second '=' (encode it as %%3D)", i+1, Show(seg))
		}
		for _, part := range []string{key, value} {
			for j := 0; j < len(part); j++ {
				c := part[j]
				if c == '%' {
					if j+2 >= len(part) || !isHex(part[j+1]) || !isHex(part[j+2]) {
						return bad("pair %d %s has a '%%' not followed by two hex digits", i+1, Show(seg))
					}
					j += 2
					continue
				}
				if !uriUnreserved(c) {
					r, _ := utf8.DecodeRuneInString(part[j:])
					return bad("pair %d %s contains %q", i+1, Show(seg), r)
				}
			}
		}
		dk, err := url.PathUnescape(key)
		if err != nil {
			return bad("pair %d key %s: %v", i+1, Show(key), err)
		}
		if dv, err := url.PathUnescape(value); err != nil || !utf8.ValidString(dv) || !utf8.ValidString(dk) {
			return bad("pair %d %s does not decode to valid UTF-8", i+1, Show(seg))
		}
		for _, r := range reservedQueryKeys {
			if dk == r {
				return bad("key %q is set by the plugin and may not be given again", r)
			}
		}
	}
	return nil
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func decodeTimeLimit(v json.RawMessage, dst *int, errp **CallError) bool {
	if v == nil || JSONKind(v) == "null" {
		return true
	}
	const allowed = "a whole number of seconds from 1 to 86400"
	if JSONKind(v) != "number" {
		*errp = NewParamError(CodeTimeLimit, "timeLimit", ShowRaw(v), allowed, "timeLimit: got %s %s; allowed %s", JSONKind(v), ShowRaw(v), allowed)
		return false
	}
	f, err := strconv.ParseFloat(string(v), 64)
	if err != nil || f != math.Trunc(f) || f < 1 || f > MaxTimeLimit {
		*errp = NewParamError(CodeTimeLimit, "timeLimit", ShowRaw(v), allowed, "timeLimit: got %s; allowed %s (leave it out for no limit)", ShowRaw(v), allowed)
		return false
	}
	*dst = int(f)
	return true
}

func decodeSim(v json.RawMessage, dst *SimOptions, errp **CallError) bool {
	if v == nil || JSONKind(v) == "null" {
		return true
	}
	if JSONKind(v) != "object" {
		*errp = NewParamError(CodeBody, "sim", ShowRaw(v), "an object such as {\"callerJoin\":\"never\"}", "sim: got %s %s; allowed an object such as {\"callerJoin\":\"never\"}", JSONKind(v), ShowRaw(v))
		return false
	}
	fields, cerr := decodeObject(v)
	if cerr != nil {
		cerr.ErrMsg = strings.Replace(cerr.ErrMsg, "callWMPF:fail ", "callWMPF:fail sim: ", 1)
		*errp = cerr
		return false
	}
	for _, f := range fields.order {
		if f != "callerJoin" {
			*errp = NewParamError(CodeBody, "sim."+f, "", "callerJoin", "unknown field sim.%s; allowed fields of sim: callerJoin", strings.Trim(Show(f), `"`))
			return false
		}
	}
	cj := fields.values["callerJoin"]
	if cj == nil || JSONKind(cj) == "null" {
		return true
	}
	if JSONKind(cj) != "string" || loneSurrogate(cj) != "" {
		*errp = NewParamError(CodeBody, "sim.callerJoin", ShowRaw(cj), "a string", "sim.callerJoin: got %s %s; allowed \"immediate\", \"never\", \"fail\" or a delay in milliseconds as a string such as \"1500\"", JSONKind(cj), ShowRaw(cj))
		return false
	}
	if err := json.Unmarshal(cj, &dst.CallerJoin); err != nil {
		*errp = NewParamError(CodeBody, "sim.callerJoin", ShowRaw(cj), "a string", "sim.callerJoin: %v", err)
		return false
	}
	return true
}

type objectFields struct {
	order  []string
	values map[string]json.RawMessage
}

// decodeObject splits a JSON object into its members, rejecting anything
// that is not exactly one well-formed JSON object, and duplicate keys.
func decodeObject(body []byte) (objectFields, *CallError) {
	out := objectFields{values: map[string]json.RawMessage{}}
	const allowed = "one JSON object"
	bodyErr := func(format string, args ...any) *CallError {
		return NewParamError(CodeBody, "body", ShowRaw(body), allowed, "request body: "+format+"; allowed one JSON object with the callWMPF parameters", args...)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return out, bodyErr("empty")
	}
	if !utf8.Valid(body) {
		return out, bodyErr("not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	tok, err := dec.Token()
	if err != nil {
		return out, bodyErr("not JSON: %v", err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return out, bodyErr("a JSON %s, not an object", JSONKind(bytes.TrimSpace(body)))
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return out, bodyErr("not JSON: %v", err)
		}
		key, ok := tok.(string)
		if !ok {
			return out, bodyErr("not JSON: object key %v is not a string", tok)
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return out, bodyErr("not JSON: value of %s: %v", Show(key), err)
		}
		if _, dup := out.values[key]; dup {
			return out, NewParamError(CodeBody, key, "", "each field once", "field %s appears more than once; allowed each field once", Show(key))
		}
		out.order = append(out.order, key)
		out.values[key] = v
	}
	if _, err := dec.Token(); err != nil {
		return out, bodyErr("not JSON: %v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return out, bodyErr("more data after the JSON object")
	}
	return out, nil
}

// loneSurrogate returns the first \uXXXX escape of a JSON string literal
// that is an unpaired UTF-16 surrogate (JSON.parse accepts them, but such a
// string cannot be UTF-8 or URI encoded), or "".
func loneSurrogate(lit []byte) string {
	hex4 := func(b []byte) (int, bool) {
		if len(b) < 4 {
			return 0, false
		}
		v, err := strconv.ParseUint(string(b[:4]), 16, 16)
		return int(v), err == nil
	}
	for i := 0; i < len(lit); i++ {
		if lit[i] != '\\' || i+1 >= len(lit) {
			continue
		}
		if lit[i+1] != 'u' {
			i++
			continue
		}
		v, ok := hex4(lit[i+2:])
		if !ok {
			return ""
		}
		switch {
		case v >= 0xD800 && v < 0xDC00:
			if i+11 < len(lit) && lit[i+6] == '\\' && lit[i+7] == 'u' {
				if w, ok := hex4(lit[i+8:]); ok && w >= 0xDC00 && w < 0xE000 {
					i += 11
					continue
				}
			}
			return string(lit[i : i+6])
		case v >= 0xDC00 && v < 0xE000:
			return string(lit[i : i+6])
		}
		i += 5
	}
	return ""
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
