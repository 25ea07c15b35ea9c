// Package staticbin builds the project's commands as static linux
// executables for this machine's architecture and checks that a binary is
// one: what a container image built FROM scratch can run.
package staticbin

import (
	"bytes"
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
)

// Build runs go build on the package pkg (for example "./cmd/wmpf-sim") of
// the module at root, with cgo off, for linux on the host's architecture,
// and writes the binary to out.
func Build(ctx context.Context, root, pkg, out string) error {
	if _, err := os.Stat(filepath.Join(root, filepath.FromSlash(pkg))); err != nil {
		return fmt.Errorf("build %s: %q is not the wmpf-hil module (%w)", pkg, root, err)
	}
	goCmd, err := exec.LookPath("go")
	if err != nil {
		return fmt.Errorf("build %s: the go command is needed: %w", pkg, err)
	}
	cmd := exec.CommandContext(ctx, goCmd, "build", "-trimpath", "-ldflags=-s -w", "-o", out, pkg)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH)
	var output bytes.Buffer
	cmd.Stdout, cmd.Stderr = &output, &output
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build %s in %s: %w\n%s", pkg, root, err, bytes.TrimSpace(output.Bytes()))
	}
	return nil
}

// Check refuses a binary that is not a linux executable of this machine's
// architecture, or that needs a dynamic loader or shared libraries, none
// of which a scratch image has.
func Check(path string) error {
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("%s: not a linux executable: %w", path, err)
	}
	defer f.Close()
	if want := goarchMachine[runtime.GOARCH]; want != elf.EM_NONE && f.Machine != want {
		return fmt.Errorf("%s is built for %v; this machine's containers run %v", path, f.Machine, want)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("%s is dynamically linked (it has an ELF interpreter): build it with CGO_ENABLED=0", path)
		}
	}
	libs, err := f.ImportedLibraries()
	if err != nil && !errors.Is(err, elf.ErrNoSymbols) {
		return fmt.Errorf("%s: %w", path, err)
	}
	if len(libs) > 0 {
		return fmt.Errorf("%s needs shared libraries %v: build it with CGO_ENABLED=0", path, libs)
	}
	return nil
}

var goarchMachine = map[string]elf.Machine{
	"amd64":   elf.EM_X86_64,
	"arm64":   elf.EM_AARCH64,
	"386":     elf.EM_386,
	"arm":     elf.EM_ARM,
	"riscv64": elf.EM_RISCV,
	"ppc64le": elf.EM_PPC64,
	"s390x":   elf.EM_S390,
}
