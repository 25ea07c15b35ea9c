package simcontainer

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/wait"
)

// farmLines is what one run of `wmpf-sim farm` printed on stdout.
type farmLines struct {
	devices []readyLine
	apiURL  string // as printed: the in-container address
	token   string
}

// readyLine is one "READY serial=… sn=… model=…" line.
type readyLine struct {
	serial string // as printed: the in-container address
	port   int    // the in-container port, from serial
	sn     string
	model  string
}

// parseReady parses "READY serial=HOST:PORT sn=SN model=MODEL"; the model
// is the rest of the line.
func parseReady(line string) (readyLine, error) {
	rest, ok := strings.CutPrefix(line, "READY ")
	if !ok {
		return readyLine{}, fmt.Errorf("%q: not a READY line", line)
	}
	var r readyLine
	before, model, ok := strings.Cut(rest, " model=")
	if !ok {
		return readyLine{}, fmt.Errorf("%q: no model=", line)
	}
	r.model = model
	for _, f := range strings.Fields(before) {
		k, v, _ := strings.Cut(f, "=")
		switch k {
		case "serial":
			r.serial = v
		case "sn":
			r.sn = v
		}
	}
	if r.serial == "" || r.sn == "" {
		return readyLine{}, fmt.Errorf("%q: want serial=HOST:PORT sn=SN model=MODEL", line)
	}
	_, p, err := net.SplitHostPort(r.serial)
	if err != nil {
		return readyLine{}, fmt.Errorf("%q: serial: %w", line, err)
	}
	if r.port, err = strconv.Atoi(p); err != nil {
		return readyLine{}, fmt.Errorf("%q: serial port %q: %w", line, p, err)
	}
	return r, nil
}

// parseAPI parses "API url=URL token=TOKEN".
func parseAPI(line string) (url, token string, err error) {
	rest, ok := strings.CutPrefix(line, "API ")
	if !ok {
		return "", "", fmt.Errorf("%q: not an API line", line)
	}
	for _, f := range strings.Fields(rest) {
		k, v, _ := strings.Cut(f, "=")
		switch k {
		case "url":
			url = v
		case "token":
			token = v
		}
	}
	if url == "" || token == "" {
		return "", "", fmt.Errorf("%q: want url=URL token=TOKEN", line)
	}
	return url, token, nil
}

// readyWait is the farm's wait strategy: it follows the container's log and
// returns once the current run has printed its READY lines and its API
// line. A container that was stopped and started again keeps the lines of
// its earlier runs in its log; each run prints exactly one API line, so the
// lines of the current run are those after the API lines of the runs
// already seen.
type readyWait struct {
	docker  *testcontainers.DockerClient
	devices int
	timeout time.Duration

	mu      sync.Mutex
	runs    int       // runs whose API line was seen
	starts  time.Time // when the container was last started (a PreStarts hook)
	lines   farmLines // of the last run seen
	readyIn time.Duration
}

var _ wait.Strategy = (*readyWait)(nil)

func (w *readyWait) String() string {
	return fmt.Sprintf("%d READY lines and the API line of wmpf-sim farm", w.devices)
}

// Timeout implements wait.StrategyTimeout.
func (w *readyWait) Timeout() *time.Duration { return &w.timeout }

// starting records when the container is about to start.
func (w *readyWait) starting(context.Context, testcontainers.Container) error {
	w.mu.Lock()
	w.starts = time.Now()
	w.mu.Unlock()
	return nil
}

func (w *readyWait) result() (farmLines, time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.lines, w.readyIn
}

// WaitUntilReady implements wait.Strategy.
func (w *readyWait) WaitUntilReady(ctx context.Context, target wait.StrategyTarget) error {
	ctx, cancel := context.WithTimeout(ctx, w.timeout)
	defer cancel()
	info, err := target.Inspect(ctx)
	if err != nil {
		return fmt.Errorf("inspect: %w", err)
	}
	w.mu.Lock()
	skip := w.runs
	w.mu.Unlock()

	logs, err := w.docker.ContainerLogs(ctx, info.ID, client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true, Follow: true})
	if err != nil {
		return fmt.Errorf("follow the log: %w", err)
	}
	defer logs.Close()
	stdout, pw := io.Pipe()
	defer stdout.Close()
	stderr := &tailBuffer{max: 2048}
	go func() {
		_, err := stdcopy.StdCopy(pw, stderr, logs)
		pw.CloseWithError(err)
	}()

	var cur farmLines
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		switch {
		case strings.HasPrefix(line, "READY "):
			if skip > 0 {
				continue
			}
			r, err := parseReady(line)
			if err != nil {
				return err
			}
			cur.devices = append(cur.devices, r)
		case strings.HasPrefix(line, "API "):
			if skip > 0 {
				skip--
				continue
			}
			if cur.apiURL, cur.token, err = parseAPI(line); err != nil {
				return err
			}
			if len(cur.devices) != w.devices {
				return fmt.Errorf("wmpf-sim farm printed %d READY lines, want %d", len(cur.devices), w.devices)
			}
			w.mu.Lock()
			w.runs++
			w.lines = cur
			w.readyIn = time.Since(w.starts)
			w.mu.Unlock()
			return nil
		}
	}
	why := "its log ended"
	if err := sc.Err(); err != nil {
		why = err.Error()
	}
	if ctx.Err() != nil {
		return fmt.Errorf("not ready within %s (%d of %d READY lines, no API line); stderr: %s",
			w.timeout, len(cur.devices), w.devices, stderr.text())
	}
	if st, err := target.State(context.WithoutCancel(ctx)); err == nil && !st.Running {
		why = fmt.Sprintf("the container is %s (exit code %d)", st.Status, st.ExitCode)
	}
	return fmt.Errorf("wmpf-sim farm stopped before it was ready: %s; stderr: %s", why, stderr.text())
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) text() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := strings.TrimSpace(string(t.buf))
	if s == "" {
		return "(empty)"
	}
	return s
}
