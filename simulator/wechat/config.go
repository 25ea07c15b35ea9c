package wechat

import (
	"fmt"
	"strings"
	"time"

	"github.com/wmpf-hil/wmpf-hil/harness/protocol"
)

// Defaults used when a Config field is left zero.
const (
	DefaultAppID          = protocol.ExampleAppID
	DefaultAppSecret      = "0123456789abcdef0123456789abcdef"
	DefaultPushTokenTTL   = 24 * time.Hour
	DefaultAccessTokenTTL = 7200 * time.Second
	DefaultOfflineGrace   = 30 * time.Second
	DefaultRingTimeout    = 60 * time.Second
	DefaultJoinWait       = 20 * time.Second
	DefaultPingInterval   = 10 * time.Second
	DefaultDeviceTokenTTL = time.Hour

	// HTTP limits of the server Start makes. A request's headers must
	// arrive within DefaultReadHeaderTimeout and the whole request, body
	// included, within DefaultReadTimeout; a reply must be written within
	// DefaultWriteTimeout (a push stream gets a fresh deadline for each
	// line); a kept-alive connection idle for DefaultIdleTimeout is closed.
	// A client that sends its body slowly is cut off, not waited for.
	DefaultReadHeaderTimeout = 5 * time.Second
	DefaultReadTimeout       = 15 * time.Second
	DefaultWriteTimeout      = 30 * time.Second
	DefaultIdleTimeout       = 60 * time.Second
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
	// PushTokenTTL is how long a push token from /wmpf/pushtoken is valid
	// (MinPushTokenTTL to MaxPushTokenTTL), unless POST /sim/devices/{sn}
	// set another lifetime for that device.
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

	// HTTP limits of the server Start makes (see DefaultReadTimeout):
	// ReadHeaderTimeout for a request's headers, ReadTimeout for the whole
	// request, WriteTimeout for a reply, IdleTimeout for a kept-alive
	// connection between requests.
	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration
	WriteTimeout      time.Duration
	IdleTimeout       time.Duration
}

// withDefaults validates c and fills in defaults. Errors name the field, the
// value and what is allowed.
func (c Config) withDefaults() (Config, error) {
	if c.AppID == "" {
		c.AppID = DefaultAppID
	}
	if err := protocol.CheckAppID(c.AppID); err != nil {
		return c, fmt.Errorf("wechat config: AppID: %w", err)
	}
	if c.AppSecret == "" {
		c.AppSecret = DefaultAppSecret
	}
	if len(c.AppSecret) > 128 || strings.IndexFunc(c.AppSecret, func(r rune) bool { return r <= ' ' || r > '~' }) >= 0 {
		return c, fmt.Errorf("wechat config: AppSecret %s: allowed 1 to 128 printable ASCII characters without spaces", protocol.Show(c.AppSecret))
	}
	headerDefault := c.ReadHeaderTimeout == 0
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
		{"ReadHeaderTimeout", &c.ReadHeaderTimeout, DefaultReadHeaderTimeout},
		{"ReadTimeout", &c.ReadTimeout, DefaultReadTimeout},
		{"WriteTimeout", &c.WriteTimeout, DefaultWriteTimeout},
		{"IdleTimeout", &c.IdleTimeout, DefaultIdleTimeout},
	}
	for _, d := range durations {
		if *d.v < 0 {
			return c, fmt.Errorf("wechat config: %s %v: allowed a positive duration, or 0 for the default %v", d.name, *d.v, d.def)
		}
		if *d.v == 0 {
			*d.v = d.def
		}
	}
	if c.PushTokenTTL < MinPushTokenTTL || c.PushTokenTTL > MaxPushTokenTTL {
		return c, fmt.Errorf("wechat config: PushTokenTTL %v: allowed %v to %v, or 0 for the default %v", c.PushTokenTTL, MinPushTokenTTL, MaxPushTokenTTL, DefaultPushTokenTTL)
	}
	if headerDefault && c.ReadHeaderTimeout > c.ReadTimeout {
		c.ReadHeaderTimeout = c.ReadTimeout
	}
	if c.ReadHeaderTimeout > c.ReadTimeout {
		return c, fmt.Errorf("wechat config: ReadHeaderTimeout %v: allowed at most ReadTimeout (%v), which bounds the whole request", c.ReadHeaderTimeout, c.ReadTimeout)
	}
	devices := make(map[string]DeviceRecord, len(c.Devices))
	for sn, rec := range c.Devices {
		if err := protocol.CheckIdent(sn, 128); err != nil {
			return c, fmt.Errorf("wechat config: Devices key (sn) %s: %w", protocol.Show(sn), err)
		}
		if err := protocol.CheckIdent(rec.ModelID, 128); err != nil {
			return c, fmt.Errorf("wechat config: Devices[%s].ModelID %s: %w", protocol.Show(sn), protocol.Show(rec.ModelID), err)
		}
		if rec.Licence == "" {
			rec.Licence = protocol.LicenceActive
		}
		if !validLicence(rec.Licence) {
			return c, fmt.Errorf("wechat config: Devices[%s].Licence %s: allowed %q, %q or %q", protocol.Show(sn), protocol.Show(rec.Licence), protocol.LicenceActive, protocol.LicenceExpired, protocol.LicenceNone)
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
	return l == protocol.LicenceActive || l == protocol.LicenceExpired || l == protocol.LicenceNone
}
