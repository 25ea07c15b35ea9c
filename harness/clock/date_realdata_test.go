package clock

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A `date +%s%N` that does not know %N (busybox's, as pasted in a public
// issue; testdata/real/SOURCES.md): the device must be refused with the
// reason, not read as a time.
func TestRealDateWithoutNanoseconds(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "real", "date", "busybox-lynis-1315.txt"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseDate(string(b))
	if err == nil || !strings.Contains(err.Error(), "does not know %N") || !strings.Contains(err.Error(), "1658832080%N") {
		t.Errorf("ParseDate(%q) = %v, %v; want the %%N error quoting the output", b, got, err)
	}
}
