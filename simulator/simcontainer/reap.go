package simcontainer

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"

	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
)

// Without the Ryuk reaper (its image cannot be pulled here), a farm whose
// process was killed before Terminate leaves its container and network
// behind. Run labels both with their owner, host and pid, and first removes
// those of owners on this host that are gone.
const (
	labelOwner = "wmpf-hil.simcontainer.owner"
)

func ownerLabel() map[string]string {
	host, _ := os.Hostname()
	return map[string]string{labelOwner: host + ":" + strconv.Itoa(os.Getpid())}
}

// ownerGone reports whether a label names a process of this host that no
// longer runs.
func ownerGone(owner string) bool {
	host, pidText, ok := strings.Cut(owner, ":")
	me, _ := os.Hostname()
	pid, err := strconv.Atoi(pidText)
	if !ok || err != nil || host != me || pid <= 0 {
		return false
	}
	return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}

// reap removes the containers and networks of farms whose process died.
// It returns how many containers it removed.
func reap(ctx context.Context, docker *testcontainers.DockerClient) (int, error) {
	var errs []error
	cs, err := docker.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: make(client.Filters).Add("label", labelOwner)})
	if err != nil {
		return 0, fmt.Errorf("list farm containers: %w", err)
	}
	n := 0
	for _, c := range cs.Items {
		if !ownerGone(c.Labels[labelOwner]) {
			continue
		}
		if _, err := docker.ContainerRemove(ctx, c.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true}); err != nil {
			errs = append(errs, fmt.Errorf("remove stale farm container %.12s: %w", c.ID, err))
			continue
		}
		n++
	}
	ns, err := docker.NetworkList(ctx, client.NetworkListOptions{Filters: make(client.Filters).Add("label", labelOwner)})
	if err != nil {
		return n, errors.Join(append(errs, fmt.Errorf("list farm networks: %w", err))...)
	}
	for _, nw := range ns.Items {
		if !ownerGone(nw.Labels[labelOwner]) {
			continue
		}
		if _, err := docker.NetworkRemove(ctx, nw.ID, client.NetworkRemoveOptions{}); err != nil {
			errs = append(errs, fmt.Errorf("remove stale farm network %s: %w", nw.Name, err))
		}
	}
	return n, errors.Join(errs...)
}
