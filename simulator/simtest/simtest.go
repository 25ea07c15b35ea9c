// Package simtest helps tests start what they need against the real adb
// server: an adb server of their own, simulated devices on free ports, the
// shipped device profiles. Everything started is stopped when the test ends.
package simtest

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/wmpf-hil/wmpf-hil/harness/adb"
	"github.com/wmpf-hil/wmpf-hil/simulator"
	"github.com/wmpf-hil/wmpf-hil/simulator/profile"
)

// Timeout bounds each start.
const Timeout = 30 * time.Second

// ProfilesDir is fixtures/profiles of this source tree.
func ProfilesDir() string {
	if d := os.Getenv("WMPF_HIL_PROFILES"); d != "" {
		return d
	}
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "fixtures", "profiles")
}

// Profile loads a shipped profile by name.
func Profile(t testing.TB, name string) *profile.Profile {
	t.Helper()
	p, err := profile.Find(ProfilesDir(), name)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// ADBServer starts an adb server of the test's own on a free port, with
// its own HOME, never the user's on 5037, and stops it when the test ends.
func ADBServer(t testing.TB) *adb.LocalServer {
	t.Helper()
	if _, err := exec.LookPath("adb"); err != nil {
		t.Fatalf("the adb command is required (apt-get install -y adb): %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	srv, err := adb.StartServer(ctx, adb.ServerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Errorf("stop adb server: %v", err)
		}
	})
	if Port(t, srv.Addr()) == 5037 {
		t.Fatalf("adb server on the default port 5037")
	}
	return srv
}

// Device boots a simulated device on a free 127.0.0.1 port (the panel
// profile unless cfg names one) and closes it when the test ends.
func Device(t testing.TB, cfg simulator.DeviceConfig) *simulator.Device {
	t.Helper()
	if cfg.Profile == nil {
		cfg.Profile = Profile(t, "panel")
	}
	cfg.Addr = "127.0.0.1:0"
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	dev, err := simulator.NewDevice(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dev.Close() })
	if err := simulator.CheckPort(Port(t, dev.Serial())); err != nil {
		t.Fatalf("device %s: %v", dev.Serial(), err)
	}
	return dev
}

// Port is the port of a HOST:PORT address.
func Port(t testing.TB, addr string) int {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	port, err := strconv.Atoi(p)
	if err != nil {
		t.Fatal(err)
	}
	return port
}
