package profile

import (
	"fmt"
	"io/fs"
	"os"
	"sort"
	"strings"

	"github.com/wmpf-hil/wmpf-hil/fixtures"
)

// A Library is a directory of profiles (NAME.yaml): one on disk, or the
// profiles built into the binary.
type Library struct {
	FS fs.FS
	// Where names the library in messages: a directory, or "built-in".
	Where string
}

// Dir is the library of a directory on disk.
func Dir(dir string) Library { return Library{FS: os.DirFS(dir), Where: dir} }

// Builtin is the library built into the binary (fixtures/profiles).
func Builtin() Library { return Library{FS: fixtures.Profiles(), Where: "built-in profiles"} }

// Find loads the profile called name.
func (l Library) Find(name string) (*Profile, error) {
	if _, err := fs.Stat(l.FS, name+".yaml"); err != nil || name == "" || strings.ContainsAny(name, `/\`) {
		names, _ := l.List()
		return nil, fmt.Errorf("profile %q: %w in %s; allowed: %s", name, ErrNotFound, l.Where, strings.Join(names, ", "))
	}
	return l.load(name, nil)
}

// List returns the profile names, sorted.
func (l Library) List() ([]string, error) {
	m, err := fs.Glob(l.FS, "*.yaml")
	if err != nil {
		return nil, err
	}
	var names []string
	for _, f := range m {
		names = append(names, strings.TrimSuffix(f, ".yaml"))
	}
	sort.Strings(names)
	if len(names) == 0 {
		return nil, fmt.Errorf("no profiles (*.yaml) in %s", l.Where)
	}
	return names, nil
}
