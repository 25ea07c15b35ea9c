// Package contract defines the device contract: the test hooks a debug build
// of a device maker's host app provides so that wmpf-hil can drive and observe
// a call on a real device. docs/device-contract.md is its prose form.
//
// Two hooks:
//   - injection and configuration broadcasts (ActionInjectPush,
//     ActionConfigure) that `am broadcast` sends to the host app;
//   - structured log lines under one logcat tag (Tag), one JSON object a
//     line, one for each step of a call.
//
// The simulated host app writes its lines with Format; the harness reads any
// device's lines with a Parser.
package contract

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Version of the contract described here.
const Version = 1

// Tag is the logcat tag of every contract line.
const Tag = "WmpfHilHook"

// Broadcast actions the host app's debug build receives.
const (
	// ActionInjectPush hands the app a push message exactly as WMPF's push
	// listener would. Extras: ExtraMsg (the JSON string) or ExtraMsgB64 (the
	// same, base64 of its UTF-8 bytes, which survives any shell quoting).
	ActionInjectPush = "wmpf.hil.action.INJECT_PUSH"
	// ActionConfigure selects behaviours a product can have. Extras:
	// ExtraEndMode, ExtraEndPagePath, ExtraNotification, ExtraAutoAccept.
	ActionConfigure = "wmpf.hil.action.CONFIGURE"
	// ActionReport asks the app to log a "state" line with its current
	// configuration and WMPF state.
	ActionReport = "wmpf.hil.action.REPORT"
)

// Broadcast extras.
const (
	ExtraMsg          = "msg"
	ExtraMsgB64       = "msg_b64"
	ExtraEndMode      = "endMode"      // EndPage | EndBackground | EndExit
	ExtraEndPagePath  = "endPagePath"  // for EndPage; empty: the plugin's call log page
	ExtraNotification = "notification" // NotifyNone | NotifyCustom
	ExtraAutoAccept   = "autoAccept"   // bool: accept the app's own notification at once, as a user tap would
)

// How a call leaves the call page.
const (
	EndPage       = "end_page"   // setVoipEndPagePath, or the call log page
	EndBackground = "background" // closeWxaApp(keepRunning=true) on endVoip/finishVoip
	EndExit       = "exit"       // wx.exitMiniProgram
)

// Notification modes.
const (
	NotifyNone   = "none"   // launch the Mini Program at once
	NotifyCustom = "custom" // show the app's own incoming-call screen first
)

// Event names (the "ev" field).
const (
	EvHostStarted        = "host_started"          // app process started: pkg, version
	EvState              = "state"                 // answer to ActionReport: config and WMPF state
	EvConfigured         = "configured"            // ActionConfigure applied: endMode, endPagePath, notification, autoAccept
	EvListenerRegistered = "listener_registered"   // registerPushMsgEventListener done
	EvPushToken          = "push_token"            // got a push token: token, expireTime (unix s)
	EvPrefetch           = "prefetch"              // prefetchDeviceToken: ok, error
	EvPushReceived       = "push_received"         // the push listener got a message: msg, via ("wmpf" | "inject")
	EvPushIgnored        = "push_ignored"          // not a call push, or malformed: reason, msg
	EvNotificationShown  = "notification_shown"    // the app's own incoming-call screen: roomType, callerName
	EvNotificationAnswer = "notification_answered" // the user accepted there
	EvNotificationReject = "notification_rejected"
	EvLaunchCalled       = "launch_called"  // launchMiniProgram: appid, path, appType
	EvLaunchFailed       = "launch_failed"  // WMPFApiException: errType, errCode, errMsg
	EvWMPFDied           = "wmpf_died"      // onWMPFFinish
	EvWMPFRestarted      = "wmpf_restarted" // onWMPFRestart
	EvWMPFActivated      = "wmpf_activated" // ok, error
	EvVoipEvent          = "voip_event"     // onVoipEvent forwarded over the Invoke Channel: eventName, roomId, groupId, data
	EvCallEnded          = "call_ended"     // the app handled the end: how (EndPage|EndBackground|EndExit), page, roomId
	EvCrash              = "crash"          // the app is about to die of an uncaught exception: reason
)

// Event is one contract line.
type Event struct {
	// Seq numbers the app's lines from 1 at each process start.
	Seq int `json:"seq"`
	// Name is the "ev" field.
	Name string `json:"ev"`
	// Fields holds every other field, decoded from JSON.
	Fields map[string]any `json:"-"`

	// Time is the logcat time stamp (device clock), Pid the process.
	Time time.Time `json:"-"`
	Pid  int       `json:"-"`
	// Raw is the JSON text.
	Raw string `json:"-"`
	// Received is when the harness read the line (host clock); zero when
	// the event was not read from a live stream.
	Received time.Time `json:"-"`
}

// Str returns a string field ("" if absent or not a string).
func (e Event) Str(key string) string {
	s, _ := e.Fields[key].(string)
	return s
}

// Int returns a numeric field and whether it is present and integral.
func (e Event) Int(key string) (int, bool) {
	switch v := e.Fields[key].(type) {
	case json.Number:
		n, err := strconv.Atoi(string(v))
		return n, err == nil
	case float64:
		return int(v), v == float64(int(v))
	}
	return 0, false
}

// Bool returns a boolean field.
func (e Event) Bool(key string) (bool, bool) {
	b, ok := e.Fields[key].(bool)
	return b, ok
}

// Map returns an object field.
func (e Event) Map(key string) map[string]any {
	m, _ := e.Fields[key].(map[string]any)
	return m
}

// VoipEventName is the plugin event name of a voip_event line.
func (e Event) VoipEventName() string { return e.Str("eventName") }

func (e Event) String() string {
	return fmt.Sprintf("%s#%d %s", e.Name, e.Seq, e.Raw)
}

// MaxLine is the longest contract line an app writes in one piece. Android's
// logger truncates entries at 4068 bytes of payload (priority, tag, message);
// longer lines are split into continuation lines (see Format).
const MaxLine = 3800

// Format renders an event as the log messages an app writes, in order: one
// JSON object, or when that is longer than MaxLine, continuation lines
// "~SEQ I/N FRAGMENT" whose fragments joined give the JSON object.
func Format(seq int, name string, fields map[string]any) []string {
	obj := make(map[string]any, len(fields)+2)
	for k, v := range fields {
		obj[k] = v
	}
	obj["seq"] = seq
	obj["ev"] = name
	b, err := marshal(obj)
	if err != nil {
		b, _ = marshal(map[string]any{"seq": seq, "ev": name, "formatError": err.Error()})
	}
	text := string(b)
	if len(text) <= MaxLine {
		return []string{text}
	}
	frag := MaxLine - 32
	var parts []string
	for len(text) > 0 {
		n := min(frag, len(text))
		// never split a UTF-8 sequence
		for n < len(text) && n > 0 && text[n]&0xC0 == 0x80 {
			n--
		}
		parts = append(parts, text[:n])
		text = text[n:]
	}
	out := make([]string, len(parts))
	for i, p := range parts {
		out[i] = fmt.Sprintf("~%d %d/%d %s", seq, i+1, len(parts), p)
	}
	return out
}

// marshal encodes JSON without HTML escaping, so paths stay readable in logs.
func marshal(v any) ([]byte, error) {
	var sb strings.Builder
	enc := json.NewEncoder(&sb)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return []byte(strings.TrimSuffix(sb.String(), "\n")), nil
}
