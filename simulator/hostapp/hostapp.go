// Package hostapp is the reference host app of a simulated device: the
// device maker's Android app, written the way the vendor guide says, with
// the debug-build test hooks of the device contract (harness/contract).
//
// It registers its push listener when it starts, can show its own incoming
// call screen, launches the Mini Program (adding isClickedHangOnBtn=1 when
// the call was accepted on that screen), watches WMPF with the lifecycle
// listener and restarts it, prefetches the device credential, and handles
// the end of a call in one of three ways. Defects from the device's profile
// make it behave the way buggy apps do.
package hostapp

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/wmpf-hil/wmpf-hil/harness/protocol"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/wmpf-hil/wmpf-hil/harness/contract"
	"github.com/wmpf-hil/wmpf-hil/simulator/android"
	"github.com/wmpf-hil/wmpf-hil/simulator/profile"
	"github.com/wmpf-hil/wmpf-hil/simulator/wmpf"
)

// Package names and components of the reference app.
const (
	DefaultPackage   = "com.example.voipdevice"
	MainActivity     = ".MainActivity"
	IncomingActivity = ".IncomingCallActivity"
	HookReceiver     = ".TestHookReceiver"
	BootReceiver     = ".BootReceiver"
	VersionName      = "1.4.0-debug"
	tagApp           = "VoipDevice"
)

// TruthFunc records when a stage really happened (host clock).
type TruthFunc func(stage, groupID string, at time.Time)

// Config configures the app.
type Config struct {
	Package string // default DefaultPackage
	System  *android.System
	WMPF    *wmpf.Service
	Timing  profile.Timing
	Defects profile.DefectSet
	Sampler *profile.Sampler
	Truth   TruthFunc
	// APK is the build the app was installed from (its version); nil: the
	// reference build (VersionName, version code 140).
	APK *android.APK
	// Settings are the app's saved settings (shared preferences, kept
	// across updates and reboots); nil: the defaults.
	Settings *Settings
}

// Settings are what ActionConfigure sets; they survive app restarts (as
// shared preferences would).
type Settings struct {
	EndMode      string `json:"endMode"`
	EndPagePath  string `json:"endPagePath"`
	Notification string `json:"notification"`
	AutoAccept   bool   `json:"autoAccept"`
}

// App is the host app of one device.
type App struct {
	cfg     Config
	pkg     string
	sys     *android.System
	version string
	detach  func()

	mu           sync.Mutex
	droppedFirst bool
	settings     Settings
	proc         *android.Process
	client       *wmpf.Client
	seq          int
	crashed      bool
	ended        map[string]bool // groupIds whose end was handled
	appIDs       map[string]string
	lastPush     string
	// what the state line reports
	activated  bool
	listenerOK bool
	token      string
	tokenExp   time.Time
	// defects' and push token state: see token.go and defects.go
	stopToken context.CancelFunc
	late      *lateWriter
}

// Install installs the app on the device.
func Install(cfg Config) (*App, error) {
	if cfg.Package == "" {
		cfg.Package = DefaultPackage
	}
	cfg.Timing = cfg.Timing.WithDefaults()
	a := &App{cfg: cfg, pkg: cfg.Package, sys: cfg.System, version: VersionName,
		settings: Settings{EndMode: contract.EndPage, Notification: contract.NotifyNone},
		ended:    map[string]bool{}, appIDs: map[string]string{}}
	if cfg.Settings != nil {
		a.settings = *cfg.Settings
	}
	versionCode := 140
	if cfg.APK != nil {
		a.version, versionCode = cfg.APK.VersionName, cfg.APK.VersionCode
	}
	err := cfg.System.Install(&android.Package{
		Name:        a.pkg,
		APK:         cfg.APK,
		VersionName: a.version,
		VersionCode: versionCode,
		Activities: []android.ActivityInfo{
			{Class: a.pkg + MainActivity, Exported: true, Launcher: true},
			{Class: a.pkg + IncomingActivity},
		},
		Receivers: a.receivers(),
		App:       (*androidApp)(a),
	})
	if err != nil {
		return nil, fmt.Errorf("hostapp: install: %w", err)
	}
	a.detach = cfg.System.OnProcessDeath(a.onDeath)
	if cfg.Truth != nil && cfg.WMPF != nil {
		// The device hands the app its truth reporter; WMPF reports the
		// system's own lines of the Mini Program's start through the same
		// one, so a call's stages and their witness land together.
		cfg.WMPF.SetTruth(wmpf.TruthFunc(cfg.Truth))
	}
	return a, nil
}

// Package is the app's package name.
func (a *App) Package() string { return a.pkg }

// Version is the app's versionName.
func (a *App) Version() string { return a.version }

// Settings returns the app's saved settings.
func (a *App) Settings() Settings {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.settings
}

// Detach stops the app watching the system: another build replaced it.
func (a *App) Detach() { a.detach() }

// receivers are the app's manifest receivers: the test hooks, and
// BOOT_COMPLETED unless the build has the no-boot-start defect.
func (a *App) receivers() []android.ReceiverInfo {
	rs := []android.ReceiverInfo{{Class: a.pkg + HookReceiver, Exported: true, Actions: []string{contract.ActionInjectPush, contract.ActionConfigure, contract.ActionReport}}}
	if a.StartsAtBoot() {
		rs = append(rs, android.ReceiverInfo{Class: a.pkg + BootReceiver, Exported: false, Actions: []string{"android.intent.action.BOOT_COMPLETED"}})
	}
	return rs
}

// StartsAtBoot reports whether the app starts on BOOT_COMPLETED (a build
// with the no-boot-start defect has no receiver for it).
func (a *App) StartsAtBoot() bool { return !a.cfg.Defects.Has(profile.NoBootStart) }

// Boot starts the app as BOOT_COMPLETED would, with its main screen in front.
func (a *App) Boot(ctx context.Context) error {
	_, err := a.sys.StartActivity(ctx, android.Intent{
		Action:    "android.intent.action.MAIN",
		Component: android.ComponentName{Package: a.pkg, Class: a.pkg + MainActivity},
	}, true)
	return err
}

type androidApp App

func (aa *androidApp) OnProcessStart(p *android.Process) {
	a := (*App)(aa)
	a.mu.Lock()
	a.proc = p
	a.seq = 0
	a.crashed = false
	a.activated, a.listenerOK = false, false
	a.client = a.cfg.WMPF.NewClient(p)
	a.mu.Unlock()
	a.startHookWriter(p)
	a.emit(p, contract.EvHostStarted, map[string]any{"pkg": a.pkg, "version": a.version})
	p.Go(a.startup)
}

func (aa *androidApp) StartActivity(p *android.Process, act *android.Activity, in android.Intent) {
	a := (*App)(aa)
	switch act.Component().Class {
	case a.pkg + IncomingActivity:
		a.showIncoming(p, act, in)
	default:
		act.SetContent(a.homeScreen())
		act.Displayed()
	}
}

func (aa *androidApp) OnReceive(p *android.Process, in android.Intent) {
	a := (*App)(aa)
	switch in.Action {
	case contract.ActionInjectPush:
		a.injectPush(p, in)
	case contract.ActionConfigure:
		a.configure(p, in)
	case contract.ActionReport:
		a.report(p)
	}
}

// emit writes one contract line (or its continuation lines) and returns
// when the step it reports happened (device clock): the line's time stamp,
// as the line is written when the step happens — except with the
// lagging-hooks defect (see writeLate).
func (a *App) emit(p *android.Process, name string, fields map[string]any) time.Time {
	a.mu.Lock()
	a.seq++
	seq := a.seq
	a.mu.Unlock()
	lines := contract.Format(seq, name, fields)
	if a.cfg.Defects.Has(profile.LaggingHooks) {
		return a.writeLate(p, lines)
	}
	var first android.Entry
	for i, line := range lines {
		e := p.Log('I', contract.Tag, line)
		if i == 0 {
			first = e
		}
	}
	return first.Time
}

// truth reports the host time of a stage that happened at device time at.
func (a *App) truth(stage, groupID string, at time.Time) {
	if a.cfg.Truth != nil {
		a.cfg.Truth(stage, groupID, a.sys.Clock().ToHost(at))
	}
}

func (a *App) sleep(ctx context.Context, d profile.Dist) bool { return a.cfg.Sampler.Sleep(ctx, d) }

// startup follows the guide: WMPF up and activated, then the push listener
// (before any call can come), the lifecycle listener, the device credential
// and the push token.
func (a *App) startup(ctx context.Context) {
	a.mu.Lock()
	p, c := a.proc, a.client
	a.mu.Unlock()
	if !a.cfg.Defects.Has(profile.NoLifecycleListener) {
		c.AddLifecycleListener(&lifecycle{a: a, p: p})
	}
	a.bringUpWMPF(ctx, p, c)
}

// bringUpWMPF starts and activates WMPF and registers with it, retrying
// until it works or the app dies.
func (a *App) bringUpWMPF(ctx context.Context, p *android.Process, c *wmpf.Client) {
	backoff := 500 * time.Millisecond
	for ctx.Err() == nil {
		if err := c.StartWMPF(ctx); err != nil {
			return
		}
		err := c.ActivateDevice(ctx)
		if err == nil {
			break
		}
		a.emit(p, contract.EvWMPFActivated, map[string]any{"ok": false, "error": err.Error()})
		if !profile.Sleep(ctx, backoff) {
			return
		}
		backoff = min(backoff*2, 10*time.Second)
	}
	if ctx.Err() != nil {
		return
	}
	a.emit(p, contract.EvWMPFActivated, map[string]any{"ok": true})
	a.mu.Lock()
	a.activated = true
	a.mu.Unlock()
	a.applySettings(c)
	if a.cfg.Defects.Has(profile.LateListener) {
		if !a.sleep(ctx, a.cfg.Timing.LateListenerDelay) {
			return
		}
	}
	if err := c.RegisterPushMsgEventListener(ctx, func(msg string) { a.onPush(p, msg, "wmpf") }); err != nil {
		p.Log('E', tagApp, "registerPushMsgEventListener: "+err.Error())
	} else {
		a.mu.Lock()
		a.listenerOK = true
		a.mu.Unlock()
		a.emit(p, contract.EvListenerRegistered, nil)
	}
	c.SetInvokeChannelListener(func(m wmpf.InvokeMessage) { a.onInvoke(p, m) })
	if err := c.PrefetchDeviceToken(ctx); err != nil {
		a.emit(p, contract.EvPrefetch, map[string]any{"ok": false, "error": err.Error()})
	} else {
		a.emit(p, contract.EvPrefetch, map[string]any{"ok": true})
	}
	a.keepPushToken(ctx, p, c)
}

type lifecycle struct {
	a *App
	p *android.Process
}

func (l *lifecycle) OnWMPFFinish() {
	a, p := l.a, l.p
	a.emit(p, contract.EvWMPFDied, nil)
	a.mu.Lock()
	a.activated, a.listenerOK = false, false
	c := a.client
	a.mu.Unlock()
	// Restart WMPF so that no push is lost.
	p.Go(func(ctx context.Context) {
		if err := c.StartWMPF(ctx); err != nil {
			p.Log('E', tagApp, "restart WMPF: "+err.Error())
		}
	})
}

func (l *lifecycle) OnWMPFRestart() {
	a, p := l.a, l.p
	a.emit(p, contract.EvWMPFRestarted, nil)
	a.mu.Lock()
	c := a.client
	a.mu.Unlock()
	p.Go(func(ctx context.Context) { a.bringUpWMPF(ctx, p, c) })
}

// onDeath restarts the app after a crash, as the system restarts a sticky
// service.
func (a *App) onDeath(p *android.Process) {
	a.mu.Lock()
	mine := p == a.proc
	crashed := a.crashed
	if mine {
		a.proc = nil
	}
	a.mu.Unlock()
	if !mine || !crashed {
		return
	}
	go func() {
		time.Sleep(a.cfg.Sampler.Sample(a.cfg.Timing.AppRestart))
		_, _ = a.sys.StartProcess(android.ProcSpec{Name: a.pkg, Package: a.pkg})
	}()
}

func (a *App) homeScreen() *android.Node {
	sz := a.sys.Screen()
	return &android.Node{Class: "android.widget.FrameLayout", Package: a.pkg, Enabled: true,
		Bounds: android.Rect{Right: sz.Width, Bottom: sz.Height},
		Children: []*android.Node{{Class: "android.widget.TextView", Package: a.pkg, Text: "待机", ResourceID: a.pkg + ":id/status",
			Enabled: true, Bounds: android.Rect{Left: sz.Width / 4, Top: sz.Height / 3, Right: sz.Width * 3 / 4, Bottom: sz.Height/3 + sz.Height/10}}}}
}

// --- hooks ---

func (a *App) injectPush(p *android.Process, in android.Intent) {
	msg, hasMsg := in.Extras[contract.ExtraMsg].(string)
	if b64, ok := in.Extras[contract.ExtraMsgB64].(string); ok {
		raw, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			a.emit(p, contract.EvPushIgnored, map[string]any{"reason": "extra msg_b64 is not base64: " + err.Error(), "via": "inject"})
			return
		}
		msg, hasMsg = string(raw), true
	}
	if !hasMsg {
		a.emit(p, contract.EvPushIgnored, map[string]any{"reason": "no extra msg or msg_b64 (string) in the broadcast", "via": "inject"})
		return
	}
	p.Go(func(context.Context) { a.onPush(p, msg, "inject") })
}

func (a *App) configure(p *android.Process, in android.Intent) {
	a.mu.Lock()
	s := a.settings
	a.mu.Unlock()
	var errs []string
	if v, ok := in.Extras[contract.ExtraEndMode]; ok {
		m, _ := v.(string)
		switch m {
		case contract.EndPage, contract.EndBackground, contract.EndExit:
			s.EndMode = m
		default:
			errs = append(errs, fmt.Sprintf("%s %q: allowed %s, %s, %s", contract.ExtraEndMode, fmt.Sprint(v), contract.EndPage, contract.EndBackground, contract.EndExit))
		}
	}
	if v, ok := in.Extras[contract.ExtraEndPagePath]; ok {
		s.EndPagePath = fmt.Sprint(v)
	}
	if v, ok := in.Extras[contract.ExtraNotification]; ok {
		m, _ := v.(string)
		switch m {
		case contract.NotifyNone, contract.NotifyCustom:
			s.Notification = m
		default:
			errs = append(errs, fmt.Sprintf("%s %q: allowed %s, %s", contract.ExtraNotification, fmt.Sprint(v), contract.NotifyNone, contract.NotifyCustom))
		}
	}
	if v, ok := in.Extras[contract.ExtraAutoAccept]; ok {
		switch b := v.(type) {
		case bool:
			s.AutoAccept = b
		case string:
			if b == "true" || b == "false" {
				s.AutoAccept = b == "true"
			} else {
				errs = append(errs, fmt.Sprintf("%s %q: allowed true, false (use --ez)", contract.ExtraAutoAccept, b))
			}
		default:
			errs = append(errs, fmt.Sprintf("%s %v: allowed true, false (use --ez)", contract.ExtraAutoAccept, v))
		}
	}
	fields := map[string]any{"endMode": s.EndMode, "endPagePath": s.EndPagePath, "notification": s.Notification, "autoAccept": s.AutoAccept}
	if len(errs) > 0 {
		fields["ok"] = false
		fields["error"] = strings.Join(errs, "; ")
		a.emit(p, contract.EvConfigured, fields)
		return
	}
	a.mu.Lock()
	a.settings = s
	c := a.client
	a.mu.Unlock()
	if c != nil {
		a.applySettings(c)
	}
	fields["ok"] = true
	a.emit(p, contract.EvConfigured, fields)
}

// applySettings passes the end handling to the vendor's Mini Program.
func (a *App) applySettings(c *wmpf.Client) {
	a.mu.Lock()
	s := a.settings
	a.mu.Unlock()
	if s.EndMode == contract.EndPage {
		c.SetVoipEndPagePath(s.EndPagePath)
	} else {
		c.SetVoipEndPagePath("")
	}
	c.SetExitOnEnd(s.EndMode == contract.EndExit)
}

func (a *App) report(p *android.Process) {
	a.mu.Lock()
	s := a.settings
	fields := map[string]any{"endMode": s.EndMode, "endPagePath": s.EndPagePath, "notification": s.Notification,
		"autoAccept": s.AutoAccept, "wmpfRunning": a.cfg.WMPF.Running(), "activated": a.activated,
		"listenerRegistered": a.listenerOK, "pushToken": a.token}
	if !a.tokenExp.IsZero() {
		fields["pushTokenExpire"] = a.tokenExp.Unix()
	}
	a.mu.Unlock()
	a.emit(p, contract.EvState, fields)
}

// --- a call ---

// PushMessage is a call push the app accepts.
type PushMessage struct {
	Path    string
	AppType int
	AppID   string
}

// ParsePush reads a push message the way the app's push listener does
// (org.json, as the vendor demo does): one JSON object, keys matched
// exactly, no key twice, nothing after it; path and appid strings, appType
// 0, 1 or 2; the path the wmpf-voip call page's. The error names the field.
func ParsePush(msg string) (PushMessage, error) {
	dec := json.NewDecoder(strings.NewReader(msg))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return PushMessage{}, fmt.Errorf("not a JSON object: %v", err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		kind := "null"
		switch v := tok.(type) {
		case json.Delim:
			kind = "an array"
			if v != '[' {
				kind = "a stray " + v.String()
			}
		case string:
			kind = "a string"
		case json.Number:
			kind = "a number"
		case bool:
			kind = "a boolean"
		}
		return PushMessage{}, fmt.Errorf("not a JSON object: %s", kind)
	}
	fields := map[string]json.RawMessage{}
	for dec.More() {
		kt, err := dec.Token()
		if err != nil {
			return PushMessage{}, fmt.Errorf("not a JSON object: %v", err)
		}
		key, _ := kt.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return PushMessage{}, fmt.Errorf("not a JSON object: value of %q: %v", key, err)
		}
		if _, dup := fields[key]; dup {
			return PushMessage{}, fmt.Errorf("duplicate key %q", key)
		}
		fields[key] = raw
	}
	if _, err := dec.Token(); err != nil {
		return PushMessage{}, fmt.Errorf("not a JSON object: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return PushMessage{}, errors.New("not a JSON object: text after the object")
	}
	var missing []string
	for _, k := range []string{"path", "appType", "appid"} {
		if _, ok := fields[k]; !ok {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		return PushMessage{}, errors.New("missing " + strings.Join(missing, ", "))
	}
	var pm PushMessage
	str := func(key string, dst *string) error {
		raw := fields[key]
		if string(raw) == "null" || json.Unmarshal(raw, dst) != nil {
			return fmt.Errorf("%s %s: want a string", key, clip(string(raw)))
		}
		return nil
	}
	if err := str("path", &pm.Path); err != nil {
		return PushMessage{}, err
	}
	if err := str("appid", &pm.AppID); err != nil {
		return PushMessage{}, err
	}
	if string(fields["appType"]) == "null" || json.Unmarshal(fields["appType"], &pm.AppType) != nil || pm.AppType < 0 || pm.AppType > 2 {
		return PushMessage{}, fmt.Errorf("appType %s: allowed 0 (release), 1 (development), 2 (trial)", clip(string(fields["appType"])))
	}
	if !strings.HasPrefix(pm.Path, protocol.CallPagePath+"?") {
		return PushMessage{}, errors.New("path is not the wmpf-voip call page")
	}
	return pm, nil
}

func clip(s string) string {
	if len(s) > 60 {
		return s[:60] + "…"
	}
	return s
}

func (a *App) onPush(p *android.Process, msg, via string) {
	if a.cfg.Defects.Has(profile.DropFirstPush) {
		a.mu.Lock()
		first := !a.droppedFirst
		a.droppedFirst = true
		a.mu.Unlock()
		if first {
			p.Log('W', tagApp, "push listener not ready: message dropped")
			return
		}
	}
	at := a.emit(p, contract.EvPushReceived, map[string]any{"msg": msg, "via": via})
	if a.cfg.Defects.Has(profile.CrashOnPush) {
		a.crash(p, "java.lang.NullPointerException: Attempt to invoke virtual method 'java.lang.String org.json.JSONObject.getString(java.lang.String)' on a null object reference")
		return
	}
	pm, err := ParsePush(msg)
	if err != nil {
		a.emit(p, contract.EvPushIgnored, map[string]any{"reason": err.Error(), "via": via})
		return
	}
	groupID := queryValue(pm.Path, "groupId")
	a.truth(wmpf.StagePushReceived, groupID, at)
	ctx := p.Context()
	if !a.sleep(ctx, a.cfg.Timing.AppHandle) {
		return
	}
	a.mu.Lock()
	s := a.settings
	a.appIDs[groupID] = pm.AppID
	a.mu.Unlock()
	if s.Notification == contract.NotifyCustom {
		a.mu.Lock()
		a.lastPush = msg
		a.mu.Unlock()
		_, err := p.StartActivity(ctx, nil, android.Intent{
			Component: android.ComponentName{Package: a.pkg, Class: a.pkg + IncomingActivity},
			Extras:    map[string]any{"appid": pm.AppID, "path": pm.Path, "appType": pm.AppType},
		}, false)
		if err != nil {
			p.Log('E', tagApp, "incoming call screen: "+err.Error())
		}
		return
	}
	a.launch(ctx, p, pm.AppID, pm.Path, pm.AppType, false)
}

func (a *App) crash(p *android.Process, reason string) {
	a.emit(p, contract.EvCrash, map[string]any{"reason": reason})
	a.mu.Lock()
	a.crashed = true
	a.mu.Unlock()
	p.LogBuffer("crash", 'E', "AndroidRuntime", "FATAL EXCEPTION: main\nProcess: "+a.pkg+", PID: "+fmt.Sprint(p.Pid)+"\n"+reason+
		"\n\tat "+a.pkg+".push.PushHandler.onPushMsg(PushHandler.java:42)")
	_ = a.sys.Kill(p.Pid, 9)
}

// showIncoming is the app's own incoming-call screen.
func (a *App) showIncoming(p *android.Process, act *android.Activity, in android.Intent) {
	appID, _ := in.Extras["appid"].(string)
	path, _ := in.Extras["path"].(string)
	appType, _ := in.Extras["appType"].(int)
	caller := queryValue(path, "callerName")
	roomType := queryValue(path, "roomType")
	groupID := queryValue(path, "groupId")
	var once sync.Once
	accept := func() {
		once.Do(func() {
			p.Go(func(ctx context.Context) {
				a.emit(p, contract.EvNotificationAnswer, map[string]any{"groupId": groupID})
				act.Finish()
				a.launch(ctx, p, appID, path, appType, true)
			})
		})
	}
	reject := func() {
		once.Do(func() {
			p.Go(func(context.Context) {
				a.emit(p, contract.EvNotificationReject, map[string]any{"groupId": groupID})
				act.Finish()
			})
		})
	}
	sz := a.sys.Screen()
	w, h := sz.Width, sz.Height
	btn := func(text, id string, col int, fn func()) *android.Node {
		return &android.Node{Class: "android.widget.Button", Package: a.pkg, Text: text, ResourceID: a.pkg + ":id/" + id,
			Clickable: true, Enabled: true, Focusable: true, OnClick: fn,
			Bounds: android.Rect{Left: col*w/2 + w/12, Top: h * 3 / 4, Right: (col+1)*w/2 - w/12, Bottom: h*3/4 + h/10}}
	}
	act.SetContent(&android.Node{Class: "android.widget.FrameLayout", Package: a.pkg, Enabled: true,
		Bounds: android.Rect{Right: w, Bottom: h},
		Children: []*android.Node{
			{Class: "android.widget.TextView", Package: a.pkg, Text: caller, ResourceID: a.pkg + ":id/caller", Enabled: true,
				Bounds: android.Rect{Left: w / 8, Top: h / 5, Right: w * 7 / 8, Bottom: h/5 + h/10}},
			{Class: "android.widget.TextView", Package: a.pkg, Text: "来电 " + roomType, ResourceID: a.pkg + ":id/kind", Enabled: true,
				Bounds: android.Rect{Left: w / 8, Top: h / 3, Right: w * 7 / 8, Bottom: h/3 + h/12}},
			btn("拒绝", "reject", 0, reject),
			btn("接听", "accept", 1, accept),
		}})
	p.Go(func(ctx context.Context) {
		if !a.sleep(ctx, a.cfg.Timing.NotificationShow) {
			return
		}
		act.Displayed()
		a.emit(p, contract.EvNotificationShown, map[string]any{"roomType": roomType, "callerName": caller, "groupId": groupID})
		a.mu.Lock()
		auto := a.settings.AutoAccept
		a.mu.Unlock()
		if auto && a.sleep(ctx, a.cfg.Timing.AutoAccept) {
			accept()
		}
	})
}

// launch calls launchMiniProgram with the push's parameters (twice with the
// double-launch defect).
func (a *App) launch(ctx context.Context, p *android.Process, appID, path string, appType int, accepted bool) {
	path = a.rewritePath(path)
	if accepted && !a.cfg.Defects.Has(profile.DropHangOnFlag) {
		path += "&isClickedHangOnBtn=1"
	}
	if a.cfg.Defects.Has(profile.WrongAppType) {
		switch appType {
		case 1:
			appType = 2
		case 2:
			appType = 1
		}
	}
	params := wmpf.StartAppParams{AppID: appID, Path: path, AppType: appType}
	a.launchMiniProgram(ctx, p, params)
	if a.cfg.Defects.Has(profile.DoubleLaunch) {
		a.launchAgain(ctx, p, params)
	}
}

// launchMiniProgram logs launch_called and calls launchMiniProgram.
func (a *App) launchMiniProgram(ctx context.Context, p *android.Process, params wmpf.StartAppParams) {
	at := a.emit(p, contract.EvLaunchCalled, map[string]any{"appid": params.AppID, "path": params.Path, "appType": params.AppType})
	a.truth(wmpf.StageLaunchCalled, queryValue(params.Path, "groupId"), at)
	a.mu.Lock()
	c := a.client
	a.mu.Unlock()
	if err := c.LaunchMiniProgram(ctx, params); err != nil {
		fields := map[string]any{"errMsg": err.Error()}
		if ae, ok := err.(*wmpf.ApiException); ok {
			fields["errType"], fields["errCode"], fields["errMsg"] = ae.ErrType, ae.ErrCode, ae.ErrMsg
		}
		a.emit(p, contract.EvLaunchFailed, fields)
	}
}

// onInvoke handles what the Mini Program forwards over the Invoke Channel.
func (a *App) onInvoke(p *android.Process, m wmpf.InvokeMessage) {
	at := a.emit(p, contract.EvVoipEvent, map[string]any{"eventName": m.EventName, "roomId": m.RoomID, "groupId": m.GroupID, "data": m.Data})
	switch m.EventName {
	case "callPageOnShow":
		a.truth(wmpf.StagePageShown, m.GroupID, at)
	case "hangOnVoip":
		a.truth(wmpf.StageAnswered, m.GroupID, at)
	case "endVoip", "finishVoip":
		a.handleEnd(p, m)
	}
}

// handleEnd leaves the call page as the settings say, once per call.
func (a *App) handleEnd(p *android.Process, m wmpf.InvokeMessage) {
	if a.cfg.Defects.Has(profile.StuckOnCallPage) {
		return
	}
	a.mu.Lock()
	if a.ended[m.GroupID] {
		a.mu.Unlock()
		return
	}
	a.ended[m.GroupID] = true
	s := a.settings
	c := a.client
	a.mu.Unlock()
	fields := map[string]any{"how": s.EndMode, "roomId": m.RoomID, "groupId": m.GroupID, "on": m.EventName}
	switch s.EndMode {
	case contract.EndBackground:
		p.Go(func(ctx context.Context) {
			if err := c.CloseWxaApp(ctx, m.AppID, true); err != nil {
				fields["error"] = err.Error()
			}
			a.emit(p, contract.EvCallEnded, fields)
		})
	case contract.EndPage:
		page := s.EndPagePath
		if page == "" {
			page = "call-log"
		}
		fields["page"] = page
		a.emit(p, contract.EvCallEnded, fields)
	default:
		a.emit(p, contract.EvCallEnded, fields)
	}
}

// rewritePath is where buggy apps go wrong: they take the path apart and
// put it together again.
func (a *App) rewritePath(path string) string {
	switch {
	case a.cfg.Defects.Has(profile.DoubleEncodeCaller):
		base, q, _ := strings.Cut(path, "?")
		parts := strings.Split(q, "&")
		for i, part := range parts {
			k, v, ok := strings.Cut(part, "=")
			if ok {
				parts[i] = k + "=" + encodeURIComponent(v)
			}
		}
		return base + "?" + strings.Join(parts, "&")
	case a.cfg.Defects.Has(profile.RawCaller):
		base, q, _ := strings.Cut(path, "?")
		parts := strings.Split(q, "&")
		for i, part := range parts {
			k, v, ok := strings.Cut(part, "=")
			if ok && k == "callerName" {
				if dv, err := pathUnescape(v); err == nil {
					parts[i] = k + "=" + dv
				}
			}
		}
		return base + "?" + strings.Join(parts, "&")
	}
	return path
}
