package simcontainer_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"

	"github.com/wmpf-hil/wmpf-hil/simulator/simcontainer"
)

// watchdogOwnerEnv makes the test binary a farm owner that is killed.
const watchdogOwnerEnv = "SIMCONTAINER_TEST_WATCHDOG_OWNER"

// A process that started a farm is killed with SIGKILL — no Terminate, no
// deferred cleanup: its watchdog removes the container and the network
// within seconds, and exits. A farm terminated as usual stops its watchdog.
func TestKilledOwnersFarmIsRemovedByItsWatchdog(t *testing.T) {
	if os.Getenv(watchdogOwnerEnv) != "" {
		farm, err := simcontainer.Run(context.Background())
		if err != nil {
			fmt.Println("ERROR", err)
			os.Exit(1)
		}
		fmt.Println("FARM", farm.Container().GetContainerID(), farm.Network(), farm.WatchdogPid())
		select {} // until killed
	}
	t.Setenv("TESTCONTAINERS_RYUK_DISABLED", "true")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	owner := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestKilledOwnersFarmIsRemovedByItsWatchdog$")
	owner.Env = append(os.Environ(), watchdogOwnerEnv+"=1")
	stdout, err := owner.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := owner.Start(); err != nil {
		t.Fatal(err)
	}
	var id, network string
	var dogPid int
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) == 4 && f[0] == "FARM" {
			id, network = f[1], f[2]
			dogPid, _ = strconv.Atoi(f[3])
			break
		}
		if strings.HasPrefix(sc.Text(), "ERROR") {
			t.Fatalf("the owner could not start its farm: %s", sc.Text())
		}
	}
	if id == "" || dogPid == 0 {
		_ = owner.Process.Kill()
		t.Fatalf("the owner printed no farm and watchdog")
	}
	docker, err := testcontainers.NewDockerClientWithOpts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer docker.Close()
	defer func() { // when the test fails
		_, _ = docker.ContainerRemove(context.Background(), id, client.ContainerRemoveOptions{Force: true})
		_, _ = docker.NetworkRemove(context.Background(), network, client.NetworkRemoveOptions{})
	}()
	if !running(dogPid) {
		t.Fatalf("watchdog pid %d is not running while its owner is", dogPid)
	}
	// A paused farm too: the watchdog must unpause it to remove it.
	if _, err := docker.ContainerPause(ctx, id, client.ContainerPauseOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := owner.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = owner.Wait()
	killed := time.Now()
	for {
		_, cerr := docker.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
		_, nerr := docker.NetworkInspect(ctx, network, client.NetworkInspectOptions{})
		if cerr != nil && nerr != nil && !running(dogPid) {
			break
		}
		if time.Since(killed) > 10*time.Second {
			t.Fatalf("10 s after its owner was killed: container %.12s there: %v, network %s there: %v, watchdog %d running: %v",
				id, cerr == nil, network, nerr == nil, dogPid, running(dogPid))
		}
		time.Sleep(50 * time.Millisecond) // Docker has no event for this in reach; poll
	}
	t.Logf("container, network and watchdog gone %v after the owner was killed", time.Since(killed).Round(time.Millisecond))

	// Terminate as usual: the watchdog exits with the farm, having removed
	// nothing (the farm did).
	farm, err := simcontainer.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	dog := farm.WatchdogPid()
	if dog == 0 || !running(dog) {
		farm.Terminate(context.Background())
		t.Fatalf("farm has no running watchdog (pid %d)", dog)
	}
	if err := farm.Terminate(ctx); err != nil {
		t.Fatal(err)
	}
	if running(dog) {
		t.Errorf("watchdog %d still runs after Terminate", dog)
	}
	if farm.WatchdogPid() != 0 {
		t.Errorf("WatchdogPid() = %d after Terminate, want 0", farm.WatchdogPid())
	}
}

// running reports whether pid is a live process (not a zombie).
func running(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && i+2 < len(s) && s[i+2] != 'Z' && s[i+2] != 'X'
}
