package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wmpf-hil/wmpf-hil/harness/caller"
	"github.com/wmpf-hil/wmpf-hil/harness/protocol"
	"github.com/wmpf-hil/wmpf-hil/harness/report"
)

// simFarm is a `wmpf-sim farm` running as its own process.
type simFarm struct {
	cmd     *exec.Cmd
	serials []string
	sns     []string
	modelID string
	url     string
	token   string
}

// startSimFarm builds wmpf-sim and starts a farm of n devices on free ports.
func startSimFarm(t *testing.T, n int) *simFarm {
	t.Helper()
	sim := filepath.Join(t.TempDir(), "wmpf-sim")
	build := exec.Command("go", "build", "-o", sim, "../wmpf-sim")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build wmpf-sim: %v\n%s", err, out)
	}
	port := 20000 + os.Getpid()%20000
	cmd := exec.Command(sim, "farm", "-n", fmt.Sprint(n), "-port", fmt.Sprint(port))
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	f := &simFarm{cmd: cmd}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	sc := bufio.NewScanner(stdout)
	deadline := time.AfterFunc(60*time.Second, func() { _ = cmd.Process.Kill() })
	defer deadline.Stop()
	for sc.Scan() {
		line := sc.Text()
		fields := map[string]string{}
		for _, kv := range strings.Fields(line)[1:] {
			k, v, _ := strings.Cut(kv, "=")
			fields[k] = v
		}
		switch {
		case strings.HasPrefix(line, "READY "):
			f.serials = append(f.serials, fields["serial"])
			f.sns = append(f.sns, fields["sn"])
		case strings.HasPrefix(line, "API "):
			f.url, f.token = fields["url"], fields["token"]
		}
		if f.url != "" {
			break
		}
	}
	if f.url == "" || len(f.serials) != n {
		t.Fatalf("wmpf-sim farm did not come up: %d devices, API %q", len(f.serials), f.url)
	}
	go func() {
		for sc.Scan() {
		}
	}()
	c := caller.NewWithToken(f.url, f.token)
	st, err := c.Device(context.Background(), f.sns[0])
	if err != nil {
		t.Fatal(err)
	}
	f.modelID = st.ModelID
	return f
}

// farmFile is a farm file for the sim farm's devices as network devices of
// a WeChat side at a URL.
func (f *simFarm) farmFile(t *testing.T) string {
	var b strings.Builder
	fmt.Fprintf(&b, "version: 1\nadbServers: [{name: local, address: start}]\nwechat: {mode: url, url: %s, token: %s}\ndevices:\n", f.url, f.token)
	for i, s := range f.serials {
		fmt.Fprintf(&b, "  - {name: box-%d, serial: %q, connect: true, sn: %s, modelId: %s, model: SimPanel-10, hostPackage: com.example.voipdevice, push: wechat}\n",
			i+1, s, f.sns[i], f.modelID)
	}
	return writeFarm(t, b.String())
}

// A device left with a call ringing (and another with a call answered)
// passes the health check only once the run has ended those calls: the
// cells that follow do not fail with "device busy".
func TestHealthCheckEndsCallsLeftOnTheDevice(t *testing.T) {
	f := startSimFarm(t, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c := caller.NewWithToken(f.url, f.token)
	var rooms []string
	for _, sn := range f.sns {
		st, err := c.Device(ctx, sn)
		if err != nil {
			t.Fatal(err)
		}
		r, err := c.CallWMPF(ctx, caller.CallRequest{RoomType: protocol.RoomVideo, SN: sn, ModelID: st.ModelID, PushToken: st.PushToken,
			NickName: "left ringing", Sim: map[string]any{"callerJoin": "never"}})
		if err != nil {
			t.Fatal(err)
		}
		rooms = append(rooms, r.RoomID)
	}
	reports := t.TempDir()
	cmd := exec.CommandContext(ctx, bin, "run", "-devices", f.farmFile(t), "-reports", reports, "-run-id", "left", "-label-filter", "launch")
	cmd.Dir = t.TempDir()
	out, _ := cmd.CombinedOutput()
	code := cmd.ProcessState.ExitCode()
	res, err := report.ReadDir(filepath.Join(reports, "left"))
	if err != nil {
		t.Fatalf("exit %d: %v\n%s", code, err, tail(string(out)))
	}
	for _, cell := range res.Cells() {
		if cell.State != report.StatePassed {
			t.Errorf("%s: %s: %s", cell.TestName(), cell.State, firstLineOf(cell.Failure+cell.Reason))
		}
		if strings.Contains(cell.Failure, "busy") {
			t.Errorf("%s failed with a busy device: the run did not end the call left on it", cell.TestName())
		}
	}
	if code != 0 {
		t.Errorf("exit %d, want 0\n%s", code, tail(string(out)))
	}
	for _, id := range rooms {
		r, err := c.Room(ctx, id)
		if err != nil || r.State != protocol.StateEnded {
			t.Errorf("the call left ringing (%s) is %q (%v), want ended by the run", id, r.State, err)
		}
	}
}
