package hostapp

import (
	"context"
	"time"

	"github.com/wmpf-hil/wmpf-hil/harness/contract"
	"github.com/wmpf-hil/wmpf-hil/simulator/android"
	"github.com/wmpf-hil/wmpf-hil/simulator/profile"
	"github.com/wmpf-hil/wmpf-hil/simulator/wmpf"
)

// Push token keeping. The guide asks the app (and its server) to keep the
// sn → pushToken association fresh: the app gets a token when WMPF is up
// and gets a new one before the old one expires, without restarting.

// Limits of the refresh schedule (see refreshDelay).
const (
	// refreshMargin: a token is replaced at least this long before it
	// expires, so that a short-lived one is never used up.
	refreshMargin = 2 * time.Second
	// minRefreshEvery: the app asks for a token at most once a second.
	minRefreshEvery = time.Second
	// maxTokenRetry caps the wait between failed getPushToken attempts.
	maxTokenRetry = 30 * time.Second
)

// refreshDelay is how long the app keeps a token that has left to live
// before it gets the next: at 90% of its life, but at least refreshMargin
// before it expires, and never sooner than minRefreshEvery.
func refreshDelay(left time.Duration) time.Duration {
	return max(min(left*9/10, left-refreshMargin), minRefreshEvery)
}

// keepPushToken (re)starts the app's token keeper: it gets a push token,
// reports it, and gets a new one before each expires, for as long as the
// process lives. A call replaces the keeper an earlier one started (WMPF
// came back and was set up again). With the no-token-refresh defect the
// keeper gets one token and stops.
func (a *App) keepPushToken(ctx context.Context, p *android.Process, c *wmpf.Client) {
	kctx, cancel := context.WithCancel(ctx)
	a.mu.Lock()
	if a.stopToken != nil {
		a.stopToken()
	}
	a.stopToken = cancel
	a.mu.Unlock()
	p.Go(func(context.Context) { a.keepTokens(kctx, p, c) })
}

func (a *App) keepTokens(ctx context.Context, p *android.Process, c *wmpf.Client) {
	retry := time.Second
	for {
		tok, exp, err := c.GetPushToken(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			// WMPF may be restarting: when it is back the app sets it up
			// again and that replaces this keeper.
			p.Log('E', tagApp, "getPushToken: "+err.Error()+"; again in "+retry.String())
			if !profile.Sleep(ctx, retry) {
				return
			}
			retry = min(retry*2, maxTokenRetry)
			continue
		}
		retry = time.Second
		a.mu.Lock()
		a.token, a.tokenExp = tok, exp
		a.mu.Unlock()
		a.emit(p, contract.EvPushToken, map[string]any{"token": tok, "expireTime": exp.Unix()})
		if a.cfg.Defects.Has(profile.NoTokenRefresh) {
			return
		}
		if !profile.Sleep(ctx, refreshDelay(time.Until(exp))) {
			return
		}
	}
}
