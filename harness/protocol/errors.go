package protocol

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// ExampleAppID is a well-formed Mini Program appid ("wx" and 16 lowercase
// hex digits), the simulated WeChat side's default.
const ExampleAppID = "wx0123456789abcdef"

// Backend error codes returned by callWMPF (the backend range 1–24). 9, 14, 23
// and 24 carry the meanings WeChat documents; 10 and 11 are unused by WeChat's
// published table and are the simulated WeChat side's choice.
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
	ErrCode int    `json:"errcode"`
	ErrMsg  string `json:"errmsg"`
	// HTTPStatus is the HTTP status of the reply (0 when not known).
	HTTPStatus int `json:"-"`
}

func (e *APIError) Error() string {
	return fmt.Sprintf("errcode %d: %s", e.ErrCode, e.ErrMsg)
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

// maxShown is how many characters of a value an error message shows.
const maxShown = 64

// Show quotes s for an error message, truncated to maxShown characters.
func Show(s string) string {
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

// ShowRaw shows a raw JSON value for an error message, truncated.
func ShowRaw(raw []byte) string {
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

// JSONKind names the JSON type of a raw value.
func JSONKind(raw []byte) string {
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

// CheckAppID checks the form "wx" + 16 lowercase hex digits.
func CheckAppID(id string) error {
	ok := len(id) == 18 && strings.HasPrefix(id, "wx")
	if ok {
		for _, c := range id[2:] {
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
				ok = false
				break
			}
		}
	}
	if !ok {
		return fmt.Errorf("%s: allowed \"wx\" followed by 16 lowercase hex digits, e.g. %q", Show(id), ExampleAppID)
	}
	return nil
}

// CheckIdent checks an identifier such as an sn, a modelId or a token: 1 to
// max bytes of valid UTF-8 without whitespace or control characters.
func CheckIdent(s string, max int) error {
	switch {
	case s == "":
		return fmt.Errorf("empty; allowed 1 to %d bytes without whitespace or control characters", max)
	case len(s) > max:
		return fmt.Errorf("%d bytes long; allowed at most %d", len(s), max)
	case !utf8.ValidString(s):
		return fmt.Errorf("not valid UTF-8")
	}
	if i := strings.IndexFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }); i >= 0 {
		r, _ := utf8.DecodeRuneInString(s[i:])
		return fmt.Errorf("contains %q at byte %d; whitespace and control characters are not allowed", r, i)
	}
	return nil
}
