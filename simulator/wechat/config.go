package wechat

import (
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Defaults used when a Config field is left zero.
const (
	DefaultAppID          = "wx0123456789abcdef"
	DefaultAppSecret      = "0123456789abcdef0123456789abcdef"
	DefaultPushTokenTTL   = 24 * time.Hour
	DefaultAccessTokenTTL = 7200 * time.Second
	DefaultOfflineGrace   = 30 * time.Second
	DefaultRingTimeout    = 60 * time.Second
	DefaultJoinWait       = 20 * time.Second
	DefaultPingInterval   = 10 * time.Second
	DefaultDeviceTokenTTL = time.Hour
)

// Licence states of a device.
const (
	LicenceActive  = "active"
	LicenceExpired = "expired"
	LicenceNone    = "none"
)

// DeviceRecord is a device known to the backend before it activates.
type DeviceRecord struct {
	ModelID string
	// Licence is "active" (the default when empty), "expired" or "none".
	Licence string
}

// Config configures a Server. Zero fields take the defaults above.
type Config struct {
	// AppID is the vendor Mini Program's appid: "wx" + 16 lowercase hex
	// digits. It is the appid of every push message and the one
	// /cgi-bin/token accepts.
	AppID string
	// AppSecret is the secret /cgi-bin/token accepts.
	AppSecret string
	// PushTokenTTL is how long a push token from /wmpf/pushtoken is valid.
	PushTokenTTL time.Duration
	// AccessTokenTTL is how long an access token is valid.
	AccessTokenTTL time.Duration
	// OfflineGrace: a device whose push connection dropped (or that activated
	// and has not connected yet) less than this long ago is still online;
	// pushes to it are queued and delivered when it connects. After that it
	// is offline: its queued pushes expire and calls to it fail.
	OfflineGrace time.Duration
	// RingTimeout: a call nobody answers ends with "timeout" after this long.
	RingTimeout time.Duration
	// JoinWait: after the device answers it waits this long for the caller to
	// join the room, then aborts (abortVoip, abortByCaller).
	JoinWait time.Duration
	// PingInterval is how often a push stream carries {"type":"ping"}.
	PingInterval time.Duration
	// DeviceTokenTTL is the lifetime /wmpf/devicetoken reports.
	DeviceTokenTTL time.Duration
	// Devices are devices registered before they activate, by sn. An sn not
	// listed that activates is registered with an active licence and the
	// modelId it activates with.
	Devices map[string]DeviceRecord
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Logf receives one line per notable event (default: discarded).
	Logf func(format string, args ...any)
	// Faults switches bugs on (see Faults); for showing that the suites
	// catch a broken WeChat side.
	Faults []string
}

// withDefaults validates c and fills in defaults. Errors name the field, the
// value and what is allowed.
func (c Config) withDefaults() (Config, error) {
	if c.AppID == "" {
		c.AppID = DefaultAppID
	}
	if err := checkAppID(c.AppID); err != nil {
		return c, fmt.Errorf("wechat config: AppID: %w", err)
	}
	if c.AppSecret == "" {
		c.AppSecret = DefaultAppSecret
	}
	if len(c.AppSecret) > 128 || strings.IndexFunc(c.AppSecret, func(r rune) bool { return r <= ' ' || r > '~' }) >= 0 {
		return c, fmt.Errorf("wechat config: AppSecret %s: allowed 1 to 128 printable ASCII characters without spaces", show(c.AppSecret))
	}
	durations := []struct {
		name string
		v    *time.Duration
		def  time.Duration
	}{
		{"PushTokenTTL", &c.PushTokenTTL, DefaultPushTokenTTL},
		{"AccessTokenTTL", &c.AccessTokenTTL, DefaultAccessTokenTTL},
		{"OfflineGrace", &c.OfflineGrace, DefaultOfflineGrace},
		{"RingTimeout", &c.RingTimeout, DefaultRingTimeout},
		{"JoinWait", &c.JoinWait, DefaultJoinWait},
		{"PingInterval", &c.PingInterval, DefaultPingInterval},
		{"DeviceTokenTTL", &c.DeviceTokenTTL, DefaultDeviceTokenTTL},
	}
	for _, d := range durations {
		if *d.v < 0 {
			return c, fmt.Errorf("wechat config: %s %v: allowed a positive duration, or 0 for the default %v", d.name, *d.v, d.def)
		}
		if *d.v == 0 {
			*d.v = d.def
		}
	}
	devices := make(map[string]DeviceRecord, len(c.Devices))
	for sn, rec := range c.Devices {
		if err := checkIdent(sn, 128); err != nil {
			return c, fmt.Errorf("wechat config: Devices key (sn) %s: %w", show(sn), err)
		}
		if err := checkIdent(rec.ModelID, 128); err != nil {
			return c, fmt.Errorf("wechat config: Devices[%s].ModelID %s: %w", show(sn), show(rec.ModelID), err)
		}
		if rec.Licence == "" {
			rec.Licence = LicenceActive
		}
		if !validLicence(rec.Licence) {
			return c, fmt.Errorf("wechat config: Devices[%s].Licence %s: allowed %q, %q or %q", show(sn), show(rec.Licence), LicenceActive, LicenceExpired, LicenceNone)
		}
		devices[sn] = rec
	}
	c.Devices = devices
	if c.Logf == nil {
		c.Logf = func(string, ...any) {}
	}
	return c, nil
}

func validLicence(l string) bool {
	return l == LicenceActive || l == LicenceExpired || l == LicenceNone
}

// checkAppID checks the form "wx" + 16 lowercase hex digits.
func checkAppID(id string) error {
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
		return fmt.Errorf("%s: allowed \"wx\" followed by 16 lowercase hex digits, e.g. %q", show(id), DefaultAppID)
	}
	return nil
}

// checkIdent checks an identifier such as an sn, a modelId or a token: 1 to
// max bytes of valid UTF-8 without whitespace or control characters.
func checkIdent(s string, max int) error {
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
