package wmpf

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/wmpf-hil/wmpf-hil/simulator/android"
	"github.com/wmpf-hil/wmpf-hil/simulator/profile"
)

// miniProgram is the Mini Program running in the AppBrand process.
type miniProgram struct {
	appID   string
	appType int
	path    string
	act     *android.Activity
	proc    *android.Process
	page    *callPage // nil on other pages
	readyAt time.Time // when its runtime is loaded and the page shows
	loaded  bool      // guarded by Service.mu
}

func intExtra(in android.Intent, key string) int {
	switch v := in.Extras[key].(type) {
	case int:
		return v
	case int64:
		return int(v)
	}
	return 0
}

func strExtra(in android.Intent, key string) string {
	v, _ := in.Extras[key].(string)
	return v
}

// queryValue is the decoded value of key in a page path's query ("" when
// absent or malformed).
func queryValue(path, key string) string {
	_, raw, _ := strings.Cut(path, "?")
	params, _ := ParseQuery(raw)
	for _, p := range params {
		if p.Key == key {
			return p.Value
		}
	}
	return ""
}

// startMiniProgram runs in the AppBrand process when its activity starts,
// or when a launch comes to the running activity (onNewIntent). A launch of
// the same Mini Program while it is still loading in that activity takes
// over the load under way (its runtime loads once) and opens the new path
// when it is done; otherwise the page is loaded again: warm when the
// process has shown a page before, cold when not.
func (s *Service) startMiniProgram(p *android.Process, act *android.Activity, in android.Intent) {
	appID, path, appType := strExtra(in, "appId"), strExtra(in, "path"), intExtra(in, "appType")
	t := s.timing()
	s.mu.Lock()
	old := s.mp
	warm := s.mpWarm && s.mpProc == p
	prefetched := time.Now().Before(s.devToken)
	mp := &miniProgram{appID: appID, appType: appType, path: path, act: act, proc: p}
	joined := old != nil && old.act == act && old.appID == appID && !old.loaded
	if joined {
		mp.readyAt = old.readyAt
	}
	s.mp = mp
	s.mu.Unlock()
	if old != nil {
		if old.page != nil {
			old.page.unload()
		}
		if old.act != act {
			old.act.Finish()
		}
	}
	var d time.Duration
	if joined {
		d = max(time.Until(mp.readyAt), 0)
		p.Log('I', tagAppBrand, fmt.Sprintf("AppBrandUI onNewIntent appId=%s appType=%d while loading, ready in %v", appID, appType, d.Round(time.Millisecond)))
	} else {
		kind := "warm"
		d = s.cfg.Sampler.Sample(t.MPWarmStart)
		if !warm {
			kind = "cold"
			d = s.cfg.Sampler.Sample(t.MPColdStart)
			if prefetched {
				d -= s.cfg.Sampler.Sample(t.PrefetchSaving)
			}
		}
		if s.defects().Has(profile.SlowLaunch) {
			d = time.Duration(float64(d) * t.SlowLaunchFactor)
		}
		d = max(d, 50*time.Millisecond)
		mp.readyAt = time.Now().Add(d)
		p.Log('I', tagAppBrand, fmt.Sprintf("AppBrandUI onCreate appId=%s appType=%d %s start, prefetched=%v", appID, appType, kind, prefetched))
		act.SetContent(s.splash(appID))
	}
	p.Go(func(ctx context.Context) {
		if !profile.Sleep(ctx, d) {
			return
		}
		s.mu.Lock()
		current := s.mp == mp
		if current {
			mp.loaded = true
		}
		s.mpWarm = true
		s.mu.Unlock()
		if !current {
			return
		}
		if isCallPage(path) {
			page, err := newCallPage(s, mp, path)
			if err != nil {
				p.Log('E', tagVoip, "call page: "+err.Error())
				act.SetContent(s.textPage(appID, "pages/error", "参数错误", err.Error()))
				s.displayed(act, path)
				return
			}
			s.mu.Lock()
			mp.page = page
			s.mu.Unlock()
			act.SetContent(page.render())
			s.displayed(act, path)
			page.onShow(ctx)
			return
		}
		title := path
		if title == "" {
			title = "首页"
		}
		act.SetContent(s.textPage(appID, pagePath(path), title, ""))
		s.displayed(act, path)
	})
}

// displayed reports the activity's first frame drawn (the system logs
// Displayed for a new activity's first frame only) and reports that line
// as ground truth once.
func (s *Service) displayed(act *android.Activity, path string) {
	act.Displayed()
	e, ok := act.DisplayedLine()
	s.mu.Lock()
	report := ok && s.shownAct != act
	if report {
		s.shownAct = act
	}
	s.mu.Unlock()
	if report {
		s.truth(StageDisplayed, queryValue(path, "groupId"), e)
	}
}

func pagePath(path string) string {
	if path == "" {
		return "pages/index/index"
	}
	p, _, _ := strings.Cut(path, "?")
	return p
}

// --- view trees ---

func (s *Service) screen() (w, h int) {
	sz := s.sys.Screen()
	return sz.Width, sz.Height
}

func (s *Service) frame(appID string, children ...*android.Node) *android.Node {
	w, h := s.screen()
	web := &android.Node{Class: "android.webkit.WebView", Package: Package, ContentDesc: appID, Enabled: true, Focusable: true,
		Bounds: android.Rect{Left: 0, Top: 0, Right: w, Bottom: h}, Children: children}
	return &android.Node{Class: "android.widget.FrameLayout", Package: Package, Enabled: true,
		Bounds: android.Rect{Left: 0, Top: 0, Right: w, Bottom: h}, Children: []*android.Node{web}}
}

func (s *Service) text(text string, row int) *android.Node {
	w, h := s.screen()
	top := h/10 + row*h/12
	return &android.Node{Class: "android.view.View", Package: Package, Text: text, Enabled: true,
		Bounds: android.Rect{Left: w / 10, Top: top, Right: w - w/10, Bottom: top + h/14}}
}

func (s *Service) button(text string, col, cols int, onClick func()) *android.Node {
	w, h := s.screen()
	cw := w / cols
	return &android.Node{Class: "android.widget.Button", Package: Package, Text: text, ContentDesc: text, Enabled: true,
		Clickable: true, Focusable: true, OnClick: onClick,
		Bounds: android.Rect{Left: col*cw + cw/6, Top: h * 3 / 4, Right: (col+1)*cw - cw/6, Bottom: h*3/4 + h/10}}
}

func (s *Service) splash(appID string) *android.Node {
	return s.frame(appID, s.text("加载中…", 3))
}

func (s *Service) textPage(appID, page, title, detail string) *android.Node {
	nodes := []*android.Node{s.text(title, 0)}
	if detail != "" {
		nodes = append(nodes, s.text(detail, 1))
	}
	nodes = append(nodes, s.text(page, 2))
	return s.frame(appID, nodes...)
}
