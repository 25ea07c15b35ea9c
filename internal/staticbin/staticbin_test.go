package staticbin

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCheckRefusesWhatAScratchImageCannotRun(t *testing.T) {
	text := filepath.Join(t.TempDir(), "notes.txt")
	if err := os.WriteFile(text, []byte("not a program\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ path, want string }{
		{"/bin/sh", "dynamically linked"},
		{text, "not a linux executable"},
	} {
		if err := Check(c.path); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Check(%s) = %v, want an error saying %q", c.path, err, c.want)
		}
	}
}

func TestBuildMakesAStaticBinary(t *testing.T) {
	out := filepath.Join(t.TempDir(), "wmpf-sim")
	if err := Build(context.Background(), "../..", "./cmd/wmpf-sim", out); err != nil {
		t.Fatal(err)
	}
	if err := Check(out); err != nil {
		t.Errorf("built binary: %v", err)
	}
	if err := Build(context.Background(), t.TempDir(), "./cmd/wmpf-sim", out); err == nil || !strings.Contains(err.Error(), "not the wmpf-hil module") {
		t.Errorf("Build outside the module: %v, want it named", err)
	}
}
