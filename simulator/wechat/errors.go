package wechat

import (
	"fmt"
	"strconv"
	"unicode/utf8"
)

// Backend error codes returned by callWMPF (the backend range 1–24). 9, 14, 23
// and 24 carry the meanings WeChat documents; 10 and 11 are unused by WeChat's
// published table and are this simulator's choice.
const (
	CodeNotAuthorised  = 9  // modelId does not match the device's
	CodeDeviceOffline  = 10 // device never activated, or its push connection dropped longer than Config.OfflineGrace ago
	CodeDeviceBusy     = 11 // device already has a call that has not ended
	CodeBadPushToken   = 14 // pushToken unknown, expired, or issued to another sn
	CodeLicenceExpired = 23 // the device's licence has expired
	CodeNotActivated   = 24 // the device has no licence
)

// Plugin parameter error codes returned by callWMPF (the plugin range
// 1000–1011), one per kind of mistake. A field of the wrong JSON type gets the
// code of that field.
const (
	CodeRoomType    = 1000 // roomType missing or not voice|video
	CodePushToken   = 1001 // pushToken missing, empty or malformed
	CodeSN          = 1002 // sn missing, empty or malformed
	CodeModelID     = 1003 // modelId missing, empty or malformed
	CodeBody        = 1004 // body not a JSON object, unknown or duplicate field, bad sim options
	CodeNickName    = 1005 // nickName missing or empty; push message too long mostly because of it
	CodeEnvVersion  = 1006 // envVersion not release|trial|develop
	CodeCustomQuery = 1007 // customQuery malformed or uses a reserved key; push message too long mostly because of it
	CodeTimeLimit   = 1008 // timeLimit not a positive whole number of seconds up to 86400
	CodeChargeType  = 1009 // chargeType not license|duration
	CodeCamera      = 1010 // enableCallerCamera or enableListenerCamera not a boolean
	CodeDeviceName  = 1011 // deviceName not a string or too long
)

// WeChat server API error codes (errcode), as WeChat uses them, and the
// simulator's own codes (610xx) for its /sim/ and /wmpf/ endpoints.
const (
	ErrcodeInvalidCredential  = 40001 // access_token invalid (or a device session invalid)
	ErrcodeInvalidGrantType   = 40002
	ErrcodeInvalidAppID       = 40013
	ErrcodeBadParameter       = 40101
	ErrcodeInvalidAppSecret   = 40125
	ErrcodeAccessTokenMissing = 41001
	ErrcodeAppIDMissing       = 41002
	ErrcodeSecretMissing      = 41004
	ErrcodeAccessTokenExpired = 42001
	ErrcodeMsgTooLong         = 45002
	ErrcodeInvalidPushToken   = 48012

	ErrcodeNotFound         = 61001 // no such room, push, device or endpoint
	ErrcodeWrongState       = 61002 // the room is not in a state that allows the action
	ErrcodeMethodNotAllowed = 61003
	ErrcodeNotYourRoom      = 61004 // a device acted on a room placed to another sn
)

// APIError is an error reply from the server in WeChat's shape
// {"errcode":N,"errmsg":"…"}, as DeviceClient returns it.
type APIError struct {
	Code int    // errcode
	Msg  string // errmsg
	// HTTPStatus is the HTTP status of the reply (0 when not known).
	HTTPStatus int
}

func (e *APIError) Error() string {
	return fmt.Sprintf("wechat: errcode %d: %s", e.Code, e.Msg)
}

// CallError is a callWMPF failure: the error object the plugin throws,
// {"errCode":N,"errMsg":"callWMPF:fail …","errno":N,"cause":{…}}.
type CallError struct {
	ErrCode    int            `json:"errCode"`
	ErrMsg     string         `json:"errMsg"`
	Errno      int            `json:"errno"`
	Cause      map[string]any `json:"cause"`
	HTTPStatus int            `json:"-"`
}

func (e *CallError) Error() string {
	return fmt.Sprintf("%s (errCode %d)", e.ErrMsg, e.ErrCode)
}

// apiError is an error reply in WeChat's shape, used inside the server.
type apiError struct {
	status int
	code   int
	msg    string
}

func (e *apiError) Error() string { return fmt.Sprintf("errcode %d: %s", e.code, e.msg) }

func newAPIError(status, code int, format string, args ...any) *apiError {
	return &apiError{status: status, code: code, msg: fmt.Sprintf(format, args...)}
}

// maxShown is how many characters of a value an error message shows.
const maxShown = 64

// show quotes s for an error message, truncated to maxShown characters.
func show(s string) string {
	if utf8.RuneCountInString(s) <= maxShown {
		return strconv.Quote(s)
	}
	n, i := 0, 0
	for i = range s {
		if n == maxShown {
			break
		}
		n++
	}
	return strconv.Quote(s[:i]) + fmt.Sprintf("…(%d bytes in all)", len(s))
}

// showRaw shows a raw JSON value for an error message, truncated.
func showRaw(raw []byte) string {
	const max = 64
	if len(raw) <= max {
		return string(raw)
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(raw[cut]) {
		cut--
	}
	return string(raw[:cut]) + fmt.Sprintf("…(%d bytes in all)", len(raw))
}

// jsonKind names the JSON type of a raw value.
func jsonKind(raw []byte) string {
	if len(raw) == 0 {
		return "nothing"
	}
	switch raw[0] {
	case '"':
		return "string"
	case '{':
		return "object"
	case '[':
		return "array"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	default:
		return "number"
	}
}
