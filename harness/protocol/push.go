package protocol

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// PluginAppID is the appid of the wmpf-voip plugin.
const PluginAppID = "wxf830863afde621eb"

// CallPagePath is the plugin's call page, the path of every call push.
const CallPagePath = "plugin-private://" + PluginAppID + "/pages/call-page-plugin/call-page-plugin"

// MaxPushMsgBytes is the largest push message WeChat delivers (5 KB).
const MaxPushMsgBytes = 5120

// Mini Program types of a push message's appType.
const (
	AppTypeRelease = 0
	AppTypeDevelop = 1
	AppTypeTrial   = 2
)

// EnvVersion values of callWMPF.
const (
	EnvRelease = "release"
	EnvTrial   = "trial"
	EnvDevelop = "develop"
)

// AppTypeOf maps an envVersion to the push message's appType: release (or
// empty) 0, develop 1, trial 2.
func AppTypeOf(envVersion string) (int, error) {
	switch envVersion {
	case "", EnvRelease:
		return AppTypeRelease, nil
	case EnvDevelop:
		return AppTypeDevelop, nil
	case EnvTrial:
		return AppTypeTrial, nil
	}
	return 0, fmt.Errorf("envVersion %s: allowed %q (default), %q or %q", Show(envVersion), EnvRelease, EnvTrial, EnvDevelop)
}

const upperHex = "0123456789ABCDEF"

// uriUnreserved reports the bytes JavaScript's encodeURIComponent keeps.
func uriUnreserved(c byte) bool {
	switch {
	case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		return true
	}
	return strings.IndexByte("-_.!~*'()", c) >= 0
}

// EncodeURIComponent percent-encodes s the way JavaScript's
// encodeURIComponent does for a well-formed string: its UTF-8 bytes, keeping
// A-Z a-z 0-9 - _ . ! ~ * ' ( ) and writing every other byte as %XX with
// uppercase hex (a space is %20, never '+'). Bytes that are not valid UTF-8
// (which JavaScript strings cannot hold) are encoded byte by byte, so
// url.PathUnescape always gives s back.
func EncodeURIComponent(s string) string {
	n := 0
	for i := 0; i < len(s); i++ {
		if !uriUnreserved(s[i]) {
			n++
		}
	}
	if n == 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 2*n)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if uriUnreserved(c) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(upperHex[c>>4])
		b.WriteByte(upperHex[c&15])
	}
	return b.String()
}

// CallPath is the call-page path of a call's push message:
// CallPagePath?roomType=…&groupId=…&listenerId=<sn>&callerName=<nickName>
// (each value encoded with EncodeURIComponent), then "&" + customQuery when
// customQuery is not empty. It does not validate its arguments.
func CallPath(roomType, groupID, sn, nickName, customQuery string) string {
	var b strings.Builder
	b.WriteString(CallPagePath)
	b.WriteString("?roomType=")
	b.WriteString(EncodeURIComponent(roomType))
	b.WriteString("&groupId=")
	b.WriteString(EncodeURIComponent(groupID))
	b.WriteString("&listenerId=")
	b.WriteString(EncodeURIComponent(sn))
	b.WriteString("&callerName=")
	b.WriteString(EncodeURIComponent(nickName))
	if customQuery != "" {
		b.WriteByte('&')
		b.WriteString(customQuery)
	}
	return b.String()
}

// PushMessage is the JSON object of a call push: {"path","appType","appid"},
// in that order.
type PushMessage struct {
	Path    string `json:"path"`
	AppType int    `json:"appType"`
	AppID   string `json:"appid"`
}

// Marshal encodes m exactly as the device receives it: keys path, appType,
// appid; no HTML escaping; no trailing newline.
func (m PushMessage) Marshal() (string, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(m); err != nil {
		return "", fmt.Errorf("encode push message: %w", err)
	}
	return strings.TrimSuffix(buf.String(), "\n"), nil
}

// BuildPushMessage builds the push message the backend sends to the device
// for a callWMPF call: the JSON object {"path":…,"appType":…,"appid":…}
// described by PushMessage and CallPath, appType from p.EnvVersion and appid
// appID. It checks the fields it uses (RoomType, SN, NickName, EnvVersion,
// CustomQuery), groupID and appID, and that the message fits in
// MaxPushMsgBytes; errors are *CallError with the code of the field at fault.
func BuildPushMessage(p CallParams, groupID string, appID string) (string, error) {
	for _, check := range []func(*CallParams) *CallError{checkRoomType, checkSN, checkNickName, checkEnvVersion, checkCustomQuery} {
		if err := check(&p); err != nil {
			return "", err
		}
	}
	if err := CheckIdent(groupID, 128); err != nil {
		return "", fmt.Errorf("build push message: groupId %s: %w", Show(groupID), err)
	}
	if err := CheckAppID(appID); err != nil {
		return "", fmt.Errorf("build push message: appid: %w", err)
	}
	appType, err := AppTypeOf(p.EnvVersion)
	if err != nil {
		return "", fmt.Errorf("build push message: %w", err)
	}
	msg, err := PushMessage{
		Path:    CallPath(p.RoomType, groupID, p.SN, p.NickName, p.CustomQuery),
		AppType: appType,
		AppID:   appID,
	}.Marshal()
	if err != nil {
		return "", err
	}
	if len(msg) > MaxPushMsgBytes {
		nick := len(EncodeURIComponent(p.NickName))
		code, field := CodeNickName, "nickName"
		if len(p.CustomQuery) > nick {
			code, field = CodeCustomQuery, "customQuery"
		}
		return "", NewCallError(http.StatusBadRequest, code,
			map[string]any{"field": field, "messageBytes": len(msg), "limit": MaxPushMsgBytes},
			"%s: the push message to the device would be %d bytes; allowed at most %d bytes (nickName is %d bytes percent-encoded, customQuery %d bytes): shorten nickName or customQuery",
			field, len(msg), MaxPushMsgBytes, nick, len(p.CustomQuery))
	}
	return msg, nil
}
