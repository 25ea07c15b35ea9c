package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/wmpf-hil/wmpf-hil/harness/protocol"

	"github.com/wmpf-hil/wmpf-hil/harness/caller"
	"github.com/wmpf-hil/wmpf-hil/internal/cli"
)

func runCall(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("call", stderr)
	api := fs.String("api", "", "URL of the simulated WeChat side (wmpf-sim farm prints it)")
	token := fs.String("token", "", "access token (wmpf-sim farm prints it)")
	sn := fs.String("sn", "", "the called device's sn")
	room := fs.String("room", "video", "voice or video")
	name := fs.String("caller", "", "the caller's nickName shown on the device")
	modelID := fs.String("model-id", "", "the device's modelId (default: as the WeChat side knows the device)")
	pushToken := fs.String("push-token", "", "the device's push token (default: the newest issued to sn)")
	deviceName := fs.String("device-name", "", "deviceName")
	env := fs.String("env", "", "envVersion: release, trial or develop")
	custom := fs.String("custom-query", "", "customQuery appended to the call page path")
	timeLimit := fs.Int("time-limit", 0, "timeLimit in seconds")
	wait := fs.String("wait", "", "after placing, wait until the room is in this state (answered, ongoing, ended) and print it")
	waitFor := fs.Duration("timeout", 30*time.Second, "how long -wait waits")
	if err := parse(fs, args); err != nil {
		return err
	}
	var missing []string
	for flagName, v := range map[string]string{"-api": *api, "-token": *token, "-sn": *sn, "-caller": *name} {
		if v == "" {
			missing = append(missing, flagName)
		}
	}
	if len(missing) > 0 {
		return cli.UsageError{Msg: "missing " + strings.Join(sortedStrings(missing), ", ")}
	}
	if *room != "voice" && *room != "video" {
		return cli.UsageError{Msg: fmt.Sprintf("-room %q: allowed voice, video", *room)}
	}
	if *wait != "" && *wait != "answered" && *wait != "ongoing" && *wait != "ended" {
		return cli.UsageError{Msg: fmt.Sprintf("-wait %q: allowed answered, ongoing, ended", *wait)}
	}
	c := caller.NewWithToken(*api, *token)
	if *modelID == "" || *pushToken == "" {
		d, err := c.Device(ctx, *sn)
		if err != nil {
			return fmt.Errorf("look up device %s (give -model-id and -push-token to skip): %w", *sn, err)
		}
		if *modelID == "" {
			*modelID = d.ModelID
		}
		if *pushToken == "" {
			if d.PushToken == "" {
				return fmt.Errorf("device %s has no push token yet (not activated?); give -push-token", *sn)
			}
			*pushToken = d.PushToken
		}
	}
	res, err := c.CallWMPF(ctx, caller.CallRequest{
		RoomType: *room, SN: *sn, ModelID: *modelID, PushToken: *pushToken, NickName: *name,
		DeviceName: *deviceName, EnvVersion: *env, CustomQuery: *custom, TimeLimit: *timeLimit,
	})
	if err != nil {
		var ce *protocol.CallError
		if errors.As(err, &ce) {
			return fmt.Errorf("errCode=%d errMsg=%s", ce.ErrCode, ce.ErrMsg)
		}
		return err
	}
	fmt.Fprintf(stdout, "roomId=%s\n", res.RoomID)
	fmt.Fprintf(stderr, "  groupId=%s\n", res.GroupID)
	if *wait == "" {
		return nil
	}
	wctx, cancel := context.WithTimeout(ctx, *waitFor)
	defer cancel()
	rank := map[string]int{"ringing": 0, "answered": 1, "ongoing": 2, "ended": 3}
	r, err := c.WaitRoom(wctx, res.RoomID, 50*time.Millisecond, func(r protocol.Room) bool { return rank[r.State] >= rank[*wait] })
	if err != nil {
		return fmt.Errorf("room %s: %w", res.RoomID, err)
	}
	fmt.Fprintf(stdout, "state=%s endReason=%s events=%s\n", r.State, r.EndReason, strings.Join(r.EventNames(), ","))
	return nil
}

func runPush(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("push", stderr)
	api := fs.String("api", "", "base URL of the push API (the simulated WeChat side, or https://api.weixin.qq.com)")
	token := fs.String("token", "", "access token")
	appID := fs.String("appid", "", "appid, to get a token with -secret instead of -token")
	secret := fs.String("secret", "", "app secret")
	pushToken := fs.String("push-token", "", "the device's push token")
	msg := fs.String("msg", "", "the message (a JSON string such as a call push)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *api == "" || *pushToken == "" || *msg == "" {
		return cli.UsageError{Msg: "-api, -push-token and -msg are required"}
	}
	var c *caller.Client
	switch {
	case *token != "":
		c = caller.NewWithToken(*api, *token)
	case *appID != "" && *secret != "":
		c = caller.New(*api, *appID, *secret)
	default:
		return cli.UsageError{Msg: "give -token, or -appid and -secret"}
	}
	if err := c.PushAppMsg(ctx, *pushToken, *msg); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "errcode=0 errmsg=ok")
	return nil
}

func sortedStrings(s []string) []string {
	m := map[string]string{}
	for _, v := range s {
		m[v] = v
	}
	return sortedKeys(m)
}
