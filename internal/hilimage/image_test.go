package hilimage

import (
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/wait"

	"github.com/wmpf-hil/wmpf-hil/internal/staticbin"
)

// probe is a program that reports what a process in the image finds: its
// user, HOME and TMPDIR, whether it can write a temporary file, and
// whether os.Executable works (wmpf-hil starts its workers with it).
const probe = `package main

import (
	"fmt"
	"os"
)

func main() {
	f, err := os.CreateTemp("", "probe-")
	if err == nil {
		f.Close()
		os.Remove(f.Name())
	}
	exe, exeErr := os.Executable()
	fmt.Printf("uid=%d home=%s tmpdir=%s reports=%s temp-file-err=%v exe=%s exe-err=%v\n",
		os.Getuid(), os.Getenv("HOME"), os.TempDir(), os.Getenv("WMPF_HIL_REPORTS"), err, exe, exeErr)
}
`

// buildProbe builds the probe statically into dir.
func buildProbe(t *testing.T, dir string) string {
	t.Helper()
	src := filepath.Join(dir, "src")
	if err := os.MkdirAll(src, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, body := range map[string]string{"go.mod": "module probe\n\ngo 1.26\n", "main.go": probe} {
		if err := os.WriteFile(filepath.Join(src, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	bin := filepath.Join(dir, "probe")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=-mod=mod")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build the probe: %v\n%s", err, out)
	}
	return bin
}

func TestContextLayout(t *testing.T) {
	dir := t.TempDir()
	ctxDir := filepath.Join(dir, "ctx")
	if err := os.Mkdir(ctxDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := WriteContext(context.Background(), ctxDir, "", buildProbe(t, dir)); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(filepath.Join(ctxDir, "rootfs", "tmp"))
	if err != nil || st.Mode() != os.ModeDir|os.ModeSticky|0o777 {
		t.Errorf("tmp/: %v %v, want a directory of mode 1777", st.Mode(), err)
	}
	if st, err := os.Stat(filepath.Join(ctxDir, "rootfs", "wmpf-hil")); err != nil || st.Mode()&0o111 == 0 {
		t.Errorf("wmpf-hil: %v, want an executable", err)
	}
	df, _ := os.ReadFile(filepath.Join(ctxDir, "Dockerfile"))
	for _, want := range []string{"FROM scratch", "COPY rootfs/ /", "USER 65534:65534", `ENTRYPOINT ["/wmpf-hil"]`} {
		if !strings.Contains(string(df), want) {
			t.Errorf("Dockerfile lacks %q", want)
		}
	}
	if _, err := os.Stat(caBundle); err == nil {
		if _, err := os.Stat(filepath.Join(ctxDir, "rootfs", "etc", "ssl", "certs", "ca-certificates.crt")); err != nil {
			t.Errorf("the host has %s but the context lacks it: %v", caBundle, err)
		}
	}
}

func TestRefusedInput(t *testing.T) {
	dir := t.TempDir()
	text := filepath.Join(dir, "text")
	if err := os.WriteFile(text, []byte("#!/bin/sh\necho hi\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, c := range []struct {
		name string
		err  func() error
		want string
	}{
		{"dynamic binary", func() error { return staticbin.Check("/bin/sh") }, "dynamically linked"},
		{"not an executable", func() error { return staticbin.Check(text) }, "not a linux executable"},
		{"bad tag", func() error { _, err := Build(ctx, Options{Binary: "/bin/sh", Tag: "no-tag"}); return err }, `tag "no-tag": want REPOSITORY:TAG`},
		{"nothing to build", func() error { _, err := Build(ctx, Options{}); return err }, "Options.Root"},
		{"not the module", func() error { return WriteContext(ctx, t.TempDir(), dir, "") }, "not the wmpf-hil module"},
	} {
		err := c.err()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error saying %q", c.name, err, c.want)
		}
	}
}

// The image runs a static program as its user, with a writable /tmp, HOME
// and TMPDIR set, and os.Executable working.
func TestImageRunsAStaticProgram(t *testing.T) {
	t.Setenv("TESTCONTAINERS_RYUK_DISABLED", "true")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	const tag = "wmpf-hil/hilimage-test:dev"
	img, err := Build(ctx, Options{Binary: buildProbe(t, t.TempDir()), Tag: tag})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("image %s (%.19s) built in %v", img.Tag, img.ID, img.Build.Round(time.Millisecond))
	docker, err := testcontainers.NewDockerClientWithOpts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer docker.Close()
	defer docker.ImageRemove(context.Background(), img.ID, client.ImageRemoveOptions{Force: true, PruneChildren: true})
	ctr, err := testcontainers.GenericContainer(ctx, testcontainers.GenericContainerRequest{
		ContainerRequest: testcontainers.ContainerRequest{Image: img.Tag, WaitingFor: wait.ForExit().WithExitTimeout(time.Minute)},
		Started:          true,
	})
	if ctr != nil {
		defer ctr.Terminate(context.Background())
	}
	if err != nil {
		t.Fatal(err)
	}
	st, err := ctr.State(ctx)
	if err != nil {
		t.Fatal(err)
	}
	logs, err := ctr.Logs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	out, _ := io.ReadAll(logs)
	want := "uid=65534 home=/tmp tmpdir=/tmp reports=/reports temp-file-err=<nil> exe=/wmpf-hil exe-err=<nil>"
	if st.ExitCode != 0 || !strings.Contains(string(out), want) {
		t.Errorf("exit %d, printed %q; want %q", st.ExitCode, out, want)
	}
}
