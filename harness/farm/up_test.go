package farm

import (
	"context"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wmpf-hil/wmpf-hil/harness/adb"
)

func TestDefaultFarmComesUpHealthy(t *testing.T) {
	cfg, err := Load("../../devices.yaml")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	f, err := Up(ctx, cfg, Options{Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Down()
	if len(f.Spec.Devices) != 4 || len(f.Spec.Excluded) != 0 {
		t.Fatalf("devices %d, excluded %+v", len(f.Spec.Devices), f.Spec.Excluded)
	}
}

// The farm starts its adb server again each time it dies, with the devices
// reconnected, up to maxServerRestarts; then it reports the server failed.
func TestServerStartedAgainUntilItKeepsDying(t *testing.T) {
	cfg, err := Parse([]byte(`version: 1
adbServers: [{name: local, address: start}]
wechat: {mode: simulated}
budgets: ../../fixtures/budgets.yaml
profiles: ../../fixtures/profiles
simulated: [{count: 2, profile: panel}]
`), ".")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	events := make(chan ServerEvent, 32)
	f, err := Up(ctx, cfg, Options{Logf: t.Logf, ServerEvents: func(e ServerEvent) { events <- e }})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Down()
	ls := f.servers[0]
	next := func(phase string) ServerEvent {
		t.Helper()
		select {
		case e := <-events:
			if e.Phase != phase {
				t.Fatalf("event %+v, want phase %s", e, phase)
			}
			return e
		case <-ctx.Done():
			t.Fatalf("no %s event", phase)
		}
		return ServerEvent{}
	}
	for i := 0; i <= maxServerRestarts; i++ {
		if err := syscall.Kill(ls.Pid(), syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		if e := next(ServerExited); e.Exit != "signal: killed" {
			t.Errorf("exit %q, want signal: killed", e.Exit)
		}
		if i == maxServerRestarts {
			if e := next(ServerFailed); e.Err == nil || !strings.Contains(e.Err.Error(), "not starting it again") {
				t.Errorf("after %d deaths: %+v", i+1, e)
			}
			break
		}
		e := next(ServerRestarted)
		if len(e.Reconnected) != 2 || len(e.NotBack) != 0 {
			t.Fatalf("restart %d: reconnected %v, not back %v", i+1, e.Reconnected, e.NotBack)
		}
		if st, err := adb.NewClient(ls.Addr()).Device(f.Spec.Devices[0].Serial).State(ctx); st != adb.StateDevice {
			t.Fatalf("restart %d: device state %s, %v", i+1, st, err)
		}
		t.Logf("restart %d: back with 2 devices in %v", i+1, e.Took)
	}
	if got := ls.Restarts(); got != maxServerRestarts {
		t.Errorf("Restarts %d, want %d", got, maxServerRestarts)
	}
}
