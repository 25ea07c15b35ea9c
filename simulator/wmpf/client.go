package wmpf

import (
	"context"
	"errors"
	"fmt"
	"github.com/wmpf-hil/wmpf-hil/harness/protocol"
	"time"

	"github.com/wmpf-hil/wmpf-hil/simulator/android"
)

// Client is the WMPF client SDK as linked into an app: every call crosses
// to the WMPF service process and fails with *ApiException when it is not
// there.
type Client struct {
	s    *Service
	proc *android.Process
}

// NewClient returns the SDK for an app process.
func (s *Service) NewClient(proc *android.Process) *Client { return &Client{s: s, proc: proc} }

func (c *Client) ipc(ctx context.Context) error {
	if !c.s.cfg.Sampler.Sleep(ctx, c.s.timing().IPC) {
		return ctx.Err()
	}
	return nil
}

// StartWMPF starts the WMPF service if it is not running and waits until it
// is up.
func (c *Client) StartWMPF(ctx context.Context) error {
	for {
		c.s.mu.Lock()
		main, ready := c.s.main, c.s.ready
		c.s.mu.Unlock()
		if main == nil || !main.Alive() {
			if err := c.s.Start(); err != nil {
				return fmt.Errorf("start WMPF: %w", err)
			}
			continue
		}
		select {
		case <-ready:
			return nil
		case <-main.Done():
			// died while starting: start it again
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// ActivateDevice activates the device with the WeChat backend and opens the
// push connection.
func (c *Client) ActivateDevice(ctx context.Context) error {
	if err := c.ipc(ctx); err != nil {
		return err
	}
	main, err := c.s.serviceReady()
	if err != nil {
		return err
	}
	if c.s.dc == nil {
		return &ApiException{ErrType: ErrTypeBackend, ErrCode: -100, ErrMsg: "no network: WeChat backend not configured"}
	}
	if !c.s.cfg.Sampler.Sleep(ctx, c.s.timing().Activation) {
		return ctx.Err()
	}
	actx, cancel := context.WithTimeout(ctx, 30*time.Second) // WMPF's request timeout
	defer cancel()
	if err := c.s.dc.Activate(actx); err != nil {
		main.Log('E', tagService, "activateDevice failed: "+err.Error())
		return backendErr(err)
	}
	c.s.mu.Lock()
	already := c.s.activated && c.s.main == main
	c.s.activated = true
	c.s.mu.Unlock()
	main.Log('I', tagService, "activateDevice ok sn="+c.s.cfg.SN+" modelId="+c.s.cfg.ModelID)
	if !already {
		main.Go(func(ctx context.Context) { c.s.pushLoop(ctx, main) })
	}
	return nil
}

func backendErr(err error) error {
	var ae *protocol.APIError
	if errors.As(err, &ae) {
		return &ApiException{ErrType: ErrTypeBackend, ErrCode: ae.ErrCode, ErrMsg: ae.ErrMsg}
	}
	return &ApiException{ErrType: ErrTypeBackend, ErrCode: -101, ErrMsg: err.Error()}
}

func (c *Client) activatedService() (*android.Process, error) {
	main, err := c.s.serviceReady()
	if err != nil {
		return nil, err
	}
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	if !c.s.activated {
		return nil, &ApiException{ErrType: ErrTypeService, ErrCode: -3, ErrMsg: "device not activated"}
	}
	return main, nil
}

// RegisterPushMsgEventListener registers fn for push messages. It replaces
// an earlier registration.
func (c *Client) RegisterPushMsgEventListener(ctx context.Context, fn func(msg string)) error {
	if err := c.ipc(ctx); err != nil {
		return err
	}
	main, err := c.s.serviceReady()
	if err != nil {
		return err
	}
	c.s.mu.Lock()
	c.s.listener = &listenerReg{proc: c.proc, fn: fn}
	c.s.mu.Unlock()
	main.Log('I', tagPush, fmt.Sprintf("registerPushMsgEventListener from pid %d", c.proc.Pid))
	return nil
}

// GetPushToken returns a push token and its expiry.
func (c *Client) GetPushToken(ctx context.Context) (string, time.Time, error) {
	if err := c.ipc(ctx); err != nil {
		return "", time.Time{}, err
	}
	if _, err := c.activatedService(); err != nil {
		return "", time.Time{}, err
	}
	tok, exp, err := c.s.dc.PushToken(ctx)
	if err != nil {
		return "", time.Time{}, backendErr(err)
	}
	return tok, exp, nil
}

// PrefetchDeviceToken fetches the device credential early; it is cached for
// the lifetime the backend gives (1 hour) and makes cold starts faster.
func (c *Client) PrefetchDeviceToken(ctx context.Context) error {
	if err := c.ipc(ctx); err != nil {
		return err
	}
	main, err := c.activatedService()
	if err != nil {
		return err
	}
	_, ttl, err := c.s.dc.DeviceToken(ctx)
	if err != nil {
		return backendErr(err)
	}
	c.s.mu.Lock()
	c.s.devToken = time.Now().Add(ttl)
	c.s.mu.Unlock()
	main.Log('I', tagService, fmt.Sprintf("prefetchDeviceToken ok, valid %v", ttl))
	return nil
}

// AddLifecycleListener registers a WMPFLifeCycleManager listener.
func (c *Client) AddLifecycleListener(l LifecycleListener) {
	c.s.mu.Lock()
	c.s.lifecycle = append(c.s.lifecycle, &lifecycleReg{proc: c.proc, l: l})
	c.s.mu.Unlock()
}

// SetInvokeChannelListener receives what the Mini Program sends the app.
func (c *Client) SetInvokeChannelListener(fn func(InvokeMessage)) {
	c.s.mu.Lock()
	c.s.invoke = &invokeReg{proc: c.proc, fn: fn}
	c.s.mu.Unlock()
}

// SetVoipEndPagePath is what the vendor's Mini Program calls on the plugin
// (setVoipEndPagePath) when the app asks it to over the Invoke Channel; ""
// restores the call log page.
func (c *Client) SetVoipEndPagePath(path string) {
	c.s.mu.Lock()
	c.s.endPage = path
	c.s.mu.Unlock()
}

// SetExitOnEnd makes the vendor's Mini Program call wx.exitMiniProgram when
// a call finishes.
func (c *Client) SetExitOnEnd(exit bool) {
	c.s.mu.Lock()
	if exit {
		c.s.endMode = "exit"
	} else {
		c.s.endMode = ""
	}
	c.s.mu.Unlock()
}

// LaunchMiniProgram opens a Mini Program page. It returns once WMPF has
// accepted the launch; the page shows later.
func (c *Client) LaunchMiniProgram(ctx context.Context, p StartAppParams) error {
	if err := c.ipc(ctx); err != nil {
		return err
	}
	main, err := c.activatedService()
	if err != nil {
		return err
	}
	if !appIDPattern.MatchString(p.AppID) {
		return &ApiException{ErrType: ErrTypeParam, ErrCode: -10, ErrMsg: fmt.Sprintf("invalid appId %q: want wx followed by 16 hex digits", clip(p.AppID, 40))}
	}
	if p.AppType < 0 || p.AppType > 2 {
		return &ApiException{ErrType: ErrTypeParam, ErrCode: -11, ErrMsg: fmt.Sprintf("invalid appType %d: allowed 0 (release), 1 (development), 2 (trial)", p.AppType)}
	}
	c.s.mu.Lock()
	c.s.launchSeq++
	seq := c.s.launchSeq
	c.s.mu.Unlock()
	main.Log('I', tagAppBrand, fmt.Sprintf("launchMiniProgram appId=%s appType=%d path=%s", p.AppID, p.AppType, clip(p.Path, 3000)))
	// WMPF starts AppBrandUI00 from its service: a new task, and a start
	// while it is on top of its task (the Mini Program in front or in the
	// background) goes to it as onNewIntent, as for a singleTask activity.
	// The system logs START for every start; Start proc only when it forks
	// the AppBrand process, Displayed only for a new activity's first frame.
	in := android.Intent{
		Component: android.ComponentName{Package: Package, Class: MPActivity},
		Flags:     android.FlagActivityNewTask | android.FlagActivitySingleTop,
		Extras:    map[string]any{"appId": p.AppID, "path": p.Path, "appType": p.AppType, "launchSeq": seq},
	}
	res, err := main.StartActivity(ctx, nil, in, false)
	if err != nil {
		main.Log('E', tagAppBrand, "start AppBrandUI failed: "+err.Error())
		return &ApiException{ErrType: ErrTypeInternal, ErrCode: -20, ErrMsg: "start AppBrandUI: " + err.Error()}
	}
	groupID := queryValue(p.Path, "groupId")
	c.s.truth(StageActivityStart, groupID, res.StartLine)
	c.s.truth(StageProcessStart, groupID, res.ProcLine)
	return nil
}

// CloseWxaApp closes the Mini Program: keepRunning sends it to the
// background, otherwise it is destroyed.
func (c *Client) CloseWxaApp(ctx context.Context, appID string, keepRunning bool) error {
	if err := c.ipc(ctx); err != nil {
		return err
	}
	main, err := c.s.serviceReady()
	if err != nil {
		return err
	}
	c.s.mu.Lock()
	mp, mpProc := c.s.mp, c.s.mpProc
	c.s.mu.Unlock()
	if mp == nil || mp.appID != appID {
		return &ApiException{ErrType: ErrTypeParam, ErrCode: -12, ErrMsg: fmt.Sprintf("closeWxaApp: Mini Program %q is not running", appID)}
	}
	main.Log('I', tagAppBrand, fmt.Sprintf("closeWxaApp appId=%s keepRunning=%v", appID, keepRunning))
	if keepRunning {
		mp.act.MoveTaskToBack()
		return nil
	}
	mp.act.Finish()
	if mpProc != nil {
		_ = c.s.sys.Kill(mpProc.Pid, 9)
	}
	return nil
}
