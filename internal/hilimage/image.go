// Package hilimage builds the container image of wmpf-hil from this source
// tree: a static wmpf-hil (CGO_ENABLED=0) FROM scratch, with an empty
// world-writable /tmp and the build host's CA certificates. Nothing is
// pulled: scratch is no image. Shard runners in containers, CI jobs and
// Kubernetes pods (deploy/kubernetes) run it; `make image` builds the same
// image with docker build.
//
//	img, err := hilimage.Build(ctx, hilimage.Options{Root: moduleRoot})
//	… testcontainers.ContainerRequest{Image: img.Tag, Cmd: []string{"run", "-shard", "1/2"}}
package hilimage

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"

	"github.com/wmpf-hil/wmpf-hil/internal/staticbin"
)

// dockerfile is the image's Dockerfile, written into each build context.
//
//go:embed Dockerfile
var dockerfile []byte

// DefaultTag is the tag Build gives the image.
const DefaultTag = "wmpf-hil/wmpf-hil:dev"

// caBundle is where Debian and Ubuntu keep the CA certificates, and where
// Go's crypto/x509 looks first on Linux.
const caBundle = "/etc/ssl/certs/ca-certificates.crt"

// Options say what to build.
type Options struct {
	// Root is the module's directory (where go.mod is): ./cmd/wmpf-hil is
	// built from it. Required unless Binary is set.
	Root string
	// Binary is a static linux wmpf-hil already built; empty: Build
	// builds one from Root.
	Binary string
	// Tag of the image (default DefaultTag).
	Tag string
	// BuildLog receives docker build's output (default: discarded).
	BuildLog io.Writer
}

// Image is an image built.
type Image struct {
	Tag string
	ID  string
	// Compile is the go build of the binary; Build the docker build.
	Compile, Build time.Duration
}

// Build builds the image and returns its tag and id. A build that moves
// the tag off an older image removes that image (unless a container still
// uses it), so repeated builds do not pile up.
func Build(ctx context.Context, o Options) (*Image, error) {
	if o.Tag == "" {
		o.Tag = DefaultTag
	}
	repo, tag, ok := strings.Cut(o.Tag, ":")
	if !ok || repo == "" || tag == "" || strings.ContainsAny(o.Tag, " @") {
		return nil, fmt.Errorf("hilimage: tag %q: want REPOSITORY:TAG, like %s", o.Tag, DefaultTag)
	}
	if o.Root == "" && o.Binary == "" {
		return nil, errors.New("hilimage: Options.Root (the module directory to build ./cmd/wmpf-hil from) or Options.Binary is required")
	}
	// The reaper's image would be pulled: without it, callers remove their
	// containers themselves.
	if _, set := os.LookupEnv("TESTCONTAINERS_RYUK_DISABLED"); !set {
		if err := os.Setenv("TESTCONTAINERS_RYUK_DISABLED", "true"); err != nil {
			return nil, fmt.Errorf("hilimage: %w", err)
		}
	}
	dir, err := os.MkdirTemp("", "wmpf-hil-image-")
	if err != nil {
		return nil, fmt.Errorf("hilimage: build context: %w", err)
	}
	defer os.RemoveAll(dir)
	img := &Image{Tag: o.Tag}
	t0 := time.Now()
	if err := WriteContext(ctx, dir, o.Root, o.Binary); err != nil {
		return nil, err
	}
	img.Compile = time.Since(t0)

	docker, err := testcontainers.NewDockerClientWithOpts(ctx)
	if err != nil {
		return nil, fmt.Errorf("hilimage: Docker is needed to build the image: %w", err)
	}
	defer docker.Close()
	old := imageID(ctx, docker, o.Tag)
	prov, err := testcontainers.NewDockerProvider()
	if err != nil {
		return nil, fmt.Errorf("hilimage: %w", err)
	}
	defer prov.Close()
	log := o.BuildLog
	if log == nil {
		log = io.Discard
	}
	t0 = time.Now()
	_, err = prov.BuildImage(ctx, &testcontainers.ContainerRequest{FromDockerfile: testcontainers.FromDockerfile{
		Context: dir, Dockerfile: "Dockerfile", Repo: repo, Tag: tag, KeepImage: true, BuildLogWriter: log,
	}})
	if err != nil {
		return nil, fmt.Errorf("hilimage: docker build %s: %w", o.Tag, err)
	}
	img.Build = time.Since(t0)
	if img.ID = imageID(ctx, docker, o.Tag); img.ID == "" {
		return nil, fmt.Errorf("hilimage: the build said it made %s, but Docker has no such image", o.Tag)
	}
	if old != "" && old != img.ID {
		_, _ = docker.ImageRemove(ctx, old, client.ImageRemoveOptions{PruneChildren: true})
	}
	return img, nil
}

func imageID(ctx context.Context, docker *testcontainers.DockerClient, ref string) string {
	res, err := docker.ImageInspect(ctx, ref)
	if err != nil {
		return ""
	}
	return res.ID
}

// WriteContext lays the build context out in dir: the Dockerfile, and
// under rootfs/ the image's files — the static binary (binary, checked and
// copied, or built from the module at root), tmp/ with mode 1777, and
// etc/ssl/certs/ca-certificates.crt when the host has it.
func WriteContext(ctx context.Context, dir, root, binary string) error {
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), dockerfile, 0o644); err != nil {
		return fmt.Errorf("hilimage: build context: %w", err)
	}
	rootfs := filepath.Join(dir, "rootfs")
	certs := filepath.Join(rootfs, "etc", "ssl", "certs")
	if err := os.MkdirAll(certs, 0o755); err != nil {
		return fmt.Errorf("hilimage: build context: %w", err)
	}
	out := filepath.Join(rootfs, "wmpf-hil")
	if binary == "" {
		if err := staticbin.Build(ctx, root, "./cmd/wmpf-hil", out); err != nil {
			return fmt.Errorf("hilimage: Options.Root: %w", err)
		}
	} else if err := copyFile(binary, out, 0o755); err != nil {
		return fmt.Errorf("hilimage: build context: binary: %w", err)
	}
	if err := staticbin.Check(out); err != nil {
		return fmt.Errorf("hilimage: %w", err)
	}
	tmp := filepath.Join(rootfs, "tmp")
	if err := os.Mkdir(tmp, 0o755); err != nil {
		return fmt.Errorf("hilimage: build context: %w", err)
	}
	// Mkdir's mode is masked by the umask; Chmod's is not.
	if err := os.Chmod(tmp, os.ModeDir|os.ModeSticky|0o777); err != nil {
		return fmt.Errorf("hilimage: build context: %w", err)
	}
	if _, err := os.Stat(caBundle); err == nil {
		if err := copyFile(caBundle, filepath.Join(certs, filepath.Base(caBundle)), 0o644); err != nil {
			return fmt.Errorf("hilimage: build context: CA certificates: %w", err)
		}
	}
	return nil
}

func copyFile(src, dst string, mode os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
