// Package wechat is the simulated WeChat side of wmpf-hil: the caller's
// wmpf-voip plugin call callWMPF, the WeChat backend (access tokens, push
// tokens, VoIP rooms, push delivery to devices) and WeChat's server API for
// device pushes (/cgi-bin/token and /wxa/business/runtime/pushappmsg).
//
// A Server is an HTTP server with JSON bodies. Three kinds of client use it:
//
//   - the harness (package harness/caller), with an access token, for
//     callWMPF, pushappmsg, rooms and the /sim/ admin endpoints;
//   - the simulated WMPF on each simulated device, through DeviceClient, with
//     the sn and the session it got from activation (/wmpf/ endpoints), which
//     holds a streaming connection on which pushes and VoIP events arrive;
//   - people, with curl (see docs/wechat-sim.md).
//
// Time comes from Config.Now. Timer-driven transitions (ring timeout, the
// device's wait for the caller to join, the call time limit, the end of a
// dropped device's grace period) run on real timers of the configured
// durations; with a fake clock, advance it and call Server.CheckTimers.
package wechat
