package simcontainer

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
)

// A farm's container must not outlive the process that started it, even
// one killed with SIGKILL, which runs no deferred Terminate (and the Ryuk
// reaper, which would otherwise see to it, is an image that cannot be
// pulled here). So Run starts a watchdog: this same program, run again
// with watchdogEnv set, whose init (below) watches the owner instead of
// running main.
//
// The owner holds the write end of a pipe that is the watchdog's stdin
// and tells it, one line each, what to remove: "network ID", then
// "container ID" once the container exists. Terminate removes both itself
// and then writes "done". When the pipe closes without "done" — the owner
// exited without Terminate, however it died, since the kernel closes a
// dead process's files — the watchdog removes the container (unpausing it
// first) and the network, then exits. It runs in a process group of its
// own, so that a Ctrl-C meant for the owner does not end it first.
//
// The owner-label reaper (reap.go) stays for what the watchdog cannot
// cover: a watchdog killed too, or the host going down.
const (
	watchdogEnv = "WMPF_HIL_SIMCONTAINER_WATCHDOG"
	// watchdogRemoveTimeout bounds the watchdog's removal.
	watchdogRemoveTimeout = 30 * time.Second
)

func init() {
	if os.Getenv(watchdogEnv) == "" {
		return
	}
	os.Exit(watchdogMain(os.Stdin, os.Stderr))
}

// watchdogMain is the watchdog process: it reads its owner's lines until
// the pipe closes, then removes what the owner left.
func watchdogMain(in io.Reader, errOut io.Writer) int {
	var containerID, networkID string
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		verb, arg, _ := strings.Cut(strings.TrimSpace(sc.Text()), " ")
		switch verb {
		case "container":
			containerID = arg
		case "network":
			networkID = arg
		case "done":
			return 0
		}
	}
	if containerID == "" && networkID == "" {
		return 0
	}
	ctx, cancel := context.WithTimeout(context.Background(), watchdogRemoveTimeout)
	defer cancel()
	docker, err := testcontainers.NewDockerClientWithOpts(ctx)
	if err != nil {
		fmt.Fprintf(errOut, "simcontainer watchdog: %v\n", err)
		return 1
	}
	defer docker.Close()
	if err := removeOrphan(ctx, docker, containerID, networkID); err != nil {
		fmt.Fprintf(errOut, "simcontainer watchdog: %v\n", err)
		return 1
	}
	return 0
}

// removeOrphan removes a farm's container (unpaused first: a paused one
// cannot be killed) and its network; either id may be "", and what is
// already gone is no error.
func removeOrphan(ctx context.Context, docker *testcontainers.DockerClient, containerID, networkID string) error {
	var errs []error
	if containerID != "" {
		if st, err := docker.ContainerInspect(ctx, containerID, client.ContainerInspectOptions{}); err == nil &&
			st.Container.State != nil && st.Container.State.Paused {
			_, _ = docker.ContainerUnpause(ctx, containerID, client.ContainerUnpauseOptions{})
		}
		_, err := docker.ContainerRemove(ctx, containerID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
		if err != nil && !notFound(err) {
			errs = append(errs, fmt.Errorf("remove container %.12s: %w", containerID, err))
		}
	}
	if networkID != "" {
		if _, err := docker.NetworkRemove(ctx, networkID, client.NetworkRemoveOptions{}); err != nil && !notFound(err) {
			errs = append(errs, fmt.Errorf("remove network %.12s: %w", networkID, err))
		}
	}
	return errors.Join(errs...)
}

func notFound(err error) bool {
	return err != nil && (strings.Contains(err.Error(), "No such") || strings.Contains(err.Error(), "not found"))
}

// watchdog is the owner's side of a farm's watchdog.
type watchdog struct {
	cmd    *exec.Cmd
	pipe   io.WriteCloser
	exited chan struct{}

	mu     sync.Mutex
	closed bool
}

// startWatchdog starts a watchdog for a farm of this process.
func startWatchdog() (*watchdog, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("watchdog: find this program: %w", err)
	}
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), watchdogEnv+"=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// No stdout or stderr of the owner: a watchdog that outlives it must
	// not hold a pipe someone reads to its end.
	pipe, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("watchdog: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("watchdog: start %s: %w", self, err)
	}
	w := &watchdog{cmd: cmd, pipe: pipe, exited: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(w.exited)
	}()
	return w, nil
}

// watch tells the watchdog of something to remove: "container" or
// "network", and its id.
func (w *watchdog) watch(kind, id string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return errors.New("watchdog: already stopped")
	}
	if _, err := fmt.Fprintf(w.pipe, "%s %s\n", kind, id); err != nil {
		return fmt.Errorf("watchdog: %w", err)
	}
	return nil
}

// stop ends the watchdog: with removed, the owner removed everything
// itself and the watchdog just exits; without, it removes what it was told
// of. stop waits a moment for it to exit.
func (w *watchdog) stop(removed bool) {
	w.mu.Lock()
	if !w.closed {
		w.closed = true
		if removed {
			_, _ = io.WriteString(w.pipe, "done\n")
		}
		_ = w.pipe.Close()
	}
	w.mu.Unlock()
	wait := time.NewTimer(watchdogRemoveTimeout)
	defer wait.Stop()
	select {
	case <-w.exited:
	case <-wait.C:
	}
}

// Pid is the watchdog process's pid.
func (w *watchdog) pid() int { return w.cmd.Process.Pid }
