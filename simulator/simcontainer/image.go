package simcontainer

import (
	"context"
	_ "embed"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/wmpf-hil/wmpf-hil/internal/staticbin"
)

// dockerfile is the Dockerfile of the image, written into each build context.
//
//go:embed Dockerfile
var dockerfile []byte

// modulePath is the module whose cmd/wmpf-sim and fixtures/profiles go into
// the image.
const modulePath = "github.com/wmpf-hil/wmpf-hil"

// moduleRoot finds the directory of this module's go.mod: above this
// package's source directory, or above the working directory when the
// source path is not available (a -trimpath build).
func moduleRoot() (string, error) {
	var starts []string
	if _, file, _, ok := runtime.Caller(0); ok && filepath.IsAbs(file) {
		starts = append(starts, filepath.Dir(file))
	}
	if wd, err := os.Getwd(); err == nil {
		starts = append(starts, wd)
	}
	for _, dir := range starts {
		for {
			b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
			if err == nil && isModule(b) {
				return dir, nil
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				break
			}
			dir = parent
		}
	}
	return "", fmt.Errorf("go.mod of %s not found above %s", modulePath, strings.Join(starts, " or "))
}

func isModule(gomod []byte) bool {
	for _, line := range strings.Split(string(gomod), "\n") {
		f := strings.Fields(line)
		if len(f) == 2 && f[0] == "module" && strings.Trim(f[1], `"`) == modulePath {
			return true
		}
	}
	return false
}

// buildContext prepares a Docker build context in a new temporary directory:
// the Dockerfile, a static linux wmpf-sim built from the module at root, and
// the device profiles. The caller removes the directory.
func buildContext(ctx context.Context, root string) (dir string, err error) {
	dir, err = os.MkdirTemp("", "wmpf-sim-image-")
	if err != nil {
		return "", fmt.Errorf("build context: %w", err)
	}
	defer func() {
		if err != nil {
			os.RemoveAll(dir)
			dir = ""
		}
	}()
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), dockerfile, 0o644); err != nil {
		return "", fmt.Errorf("build context: %w", err)
	}
	bin := filepath.Join(dir, "wmpf-sim")
	if err := staticbin.Build(ctx, root, "./cmd/wmpf-sim", bin); err != nil {
		return "", fmt.Errorf("build wmpf-sim: %w", err)
	}
	if err := staticbin.Check(bin); err != nil {
		return "", fmt.Errorf("check wmpf-sim: %w", err)
	}
	if err := copyProfiles(filepath.Join(root, "fixtures", "profiles"), filepath.Join(dir, "profiles")); err != nil {
		return "", fmt.Errorf("build context: %w", err)
	}
	return dir, nil
}

// copyProfiles copies the *.yaml device profiles of src into dst.
func copyProfiles(src, dst string) error {
	files, err := filepath.Glob(filepath.Join(src, "*.yaml"))
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return fmt.Errorf("no device profiles (*.yaml) in %s", src)
	}
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return err
	}
	for _, f := range files {
		if err := copyFile(f, filepath.Join(dst, filepath.Base(f))); err != nil {
			return err
		}
	}
	return nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
