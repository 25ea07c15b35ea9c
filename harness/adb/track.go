package adb

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Tracker follows the server's device list as it changes
// (host:track-devices): every change delivers the whole list.
type Tracker struct {
	updates chan []DeviceInfo
	done    chan struct{}
	cancel  context.CancelFunc
	err     error
}

// TrackDevices starts tracking. The first update is the current list.
func (c *Client) TrackDevices(ctx context.Context) (*Tracker, error) {
	h, err := c.dial(ctx, "track-devices", "")
	if err != nil {
		return nil, err
	}
	tctx, cancel := context.WithCancel(ctx)
	stop := watch(tctx, h)
	if err := h.request("host:track-devices"); err != nil {
		stop()
		cancel()
		h.Close()
		return nil, wrap(ctx, "track-devices", "", err)
	}
	t := &Tracker{updates: make(chan []DeviceInfo, 16), done: make(chan struct{}), cancel: cancel}
	go func() {
		defer close(t.done)
		defer close(t.updates)
		defer h.Close()
		defer stop()
		for {
			text, err := h.readBlock()
			if err != nil {
				if tctx.Err() != nil {
					t.err = &Error{Op: "track-devices", Err: context.Cause(tctx)}
				} else {
					t.err = wrap(tctx, "track-devices", "", err)
				}
				return
			}
			select {
			case t.updates <- ParseDevicesLong(text):
			case <-tctx.Done():
				t.err = &Error{Op: "track-devices", Err: context.Cause(tctx)}
				return
			}
		}
	}()
	return t, nil
}

// Updates delivers each new device list; it is closed when tracking ends.
func (t *Tracker) Updates() <-chan []DeviceInfo { return t.updates }

// Err says why tracking ended, once Updates is closed.
func (t *Tracker) Err() error {
	<-t.done
	return t.err
}

// Close stops tracking.
func (t *Tracker) Close() error {
	t.cancel()
	<-t.done
	return nil
}

// WaitForState waits until the server lists serial in one of the states
// (StateGone waits for the device to disappear from the list).
//
// It follows host:track-devices and also asks for the list every 250 ms:
// the adb 29 server pushes no update when a network device goes offline
// (only when it is dropped, about a minute later).
func (c *Client) WaitForState(ctx context.Context, serial string, states ...State) (State, error) {
	if len(states) == 0 {
		return "", errors.New("adb wait-for: no state given")
	}
	t, err := c.TrackDevices(ctx)
	if err != nil {
		return "", err
	}
	defer t.Close()
	stateOf := func(list []DeviceInfo) State {
		for _, d := range list {
			if d.Serial == serial {
				return d.State
			}
		}
		return StateGone
	}
	wanted := func(s State) bool {
		for _, w := range states {
			if s == w {
				return true
			}
		}
		return false
	}
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	last := StateGone
	updates := t.Updates()
	for {
		select {
		case list, ok := <-updates:
			if !ok {
				updates = nil
				if ctx.Err() != nil {
					return last, c.waitErr(serial, last, states, t.Err())
				}
				continue
			}
			last = stateOf(list)
		case <-tick.C:
			list, err := c.Devices(ctx)
			if err != nil {
				if ctx.Err() != nil {
					return last, c.waitErr(serial, last, states, err)
				}
				continue
			}
			last = stateOf(list)
		case <-ctx.Done():
			return last, c.waitErr(serial, last, states, context.Cause(ctx))
		}
		if wanted(last) {
			return last, nil
		}
	}
}

func (c *Client) waitErr(serial string, last State, states []State, err error) error {
	want := make([]string, len(states))
	for i, s := range states {
		want[i] = string(s)
	}
	return &Error{Op: "wait-for", Serial: serial,
		Msg: fmt.Sprintf("still %s, waited for %s", last, strings.Join(want, " or ")), Err: err}
}
