package adb_test

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

	"github.com/wmpf-hil/wmpf-hil/harness/adb"
)

// ownerEnv makes the test binary a process that starts an adb server and
// is then killed.
const ownerEnv = "ADB_TEST_SERVER_OWNER"

// An adb server started by a process that is killed with SIGKILL — no
// Close, no deferred cleanup — dies with it.
func TestServerDiesWithItsOwner(t *testing.T) {
	if os.Getenv(ownerEnv) != "" {
		srv, err := adb.StartServer(context.Background(), adb.ServerOptions{})
		if err != nil {
			fmt.Println("ERROR", err)
			os.Exit(1)
		}
		fmt.Println("SERVER", srv.Pid(), srv.Addr())
		select {} // until killed
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	owner := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestServerDiesWithItsOwner$")
	owner.Env = append(os.Environ(), ownerEnv+"=1")
	out, err := owner.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := owner.Start(); err != nil {
		t.Fatal(err)
	}
	pid, addr := 0, ""
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) == 3 && f[0] == "SERVER" {
			pid, _ = strconv.Atoi(f[1])
			addr = f[2]
			break
		}
		if strings.HasPrefix(sc.Text(), "ERROR") {
			t.Fatalf("the owner could not start its server: %s", sc.Text())
		}
	}
	if pid == 0 {
		_ = owner.Process.Kill()
		t.Fatal("the owner printed no server")
	}
	if !processRunning(pid) {
		t.Fatalf("adb server pid %d is not running while its owner is", pid)
	}
	if err := owner.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = owner.Wait()
	killed := time.Now()
	for processRunning(pid) {
		if time.Since(killed) > 10*time.Second {
			t.Fatalf("adb server pid %d (%s) still runs 10 s after its owner was killed", pid, addr)
		}
		time.Sleep(10 * time.Millisecond) // no event tells another process's end
	}
	t.Logf("adb server %s (pid %d) gone %v after its owner was killed", addr, pid, time.Since(killed).Round(time.Millisecond))
}

// processRunning reports whether pid is a live process (a zombie waiting
// for its parent to reap it is not).
func processRunning(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	// pid (comm) state ...: comm may hold spaces and parentheses.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 || i+2 >= len(s) {
		return false
	}
	return s[i+2] != 'Z' && s[i+2] != 'X'
}
