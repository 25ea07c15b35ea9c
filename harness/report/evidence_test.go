package report

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
)

// Fourteen failing specs whose names share their first 80 characters once
// wrote into one folder (the name was cut to 80 after the uniqueness
// suffix). Each now gets its own.
func TestEvidenceDirsOfLongSpecNamesAreUnique(t *testing.T) {
	prefix := "push → launch: the host app hands launchMiniProgram the exact appid, appType and path of the push when "
	if len(prefix) <= 80 {
		t.Fatalf("prefix of %d bytes: the names must share more than 80", len(prefix))
	}
	run := t.TempDir()
	dirs := map[string]string{}
	for i := range 14 {
		spec := fmt.Sprintf("%scase %02d: the push's customQuery has %d parameters", prefix, i, i)
		d := EvidenceDir(run, "tv-1", spec, 1)
		if !regexp.MustCompile(`^evidence/tv-1/[A-Za-z0-9._-]{1,60}-[0-9a-f]{8}$`).MatchString(d) {
			t.Errorf("EvidenceDir %q", d)
		}
		if other, dup := dirs[d]; dup {
			t.Errorf("%q and %q share %s", other, spec, d)
		}
		dirs[d] = spec
		paths, err := Evidence(run, "tv-1", spec, 1, map[string]string{"logcat.txt": spec})
		if err != nil {
			t.Fatal(err)
		}
		if len(paths) != 1 || path.Dir(paths[0]) != d {
			t.Errorf("Evidence wrote %v, EvidenceDir said %s", paths, d)
		}
	}
	// Every folder holds its own spec's file.
	for d, spec := range dirs {
		b, err := os.ReadFile(filepath.Join(run, filepath.FromSlash(d), "logcat.txt"))
		if err != nil || string(b) != spec {
			t.Errorf("%s: %q %v", d, b, err)
		}
	}
	ents, _ := os.ReadDir(filepath.Join(run, "evidence", "tv-1"))
	if len(ents) != 14 {
		t.Errorf("%d folders for 14 specs", len(ents))
	}
	// The readable part is the start of the spec, cut before the hash.
	for d := range dirs {
		base := path.Base(d)
		if !strings.HasPrefix(base, "push_launch_the_host_app_hands_launchMiniProgram_the_exact_a") {
			t.Errorf("slug %s", base)
		}
	}
}

func TestEvidenceIsNeverOverwritten(t *testing.T) {
	run := t.TempDir()
	spec := "call end: leaves the call page"
	first, err := Evidence(run, "tv-1", spec, 1, map[string]string{"logcat.txt": "first"})
	if err != nil {
		t.Fatal(err)
	}
	if next := EvidenceDir(run, "tv-1", spec, 1); next != path.Dir(first[0])+"-2" {
		t.Errorf("EvidenceDir of a taken folder: %s, want %s-2", next, path.Dir(first[0]))
	}
	second, err := Evidence(run, "tv-1", spec, 1, map[string]string{"logcat.txt": "second"})
	if err != nil {
		t.Fatal(err)
	}
	if path.Dir(second[0]) != path.Dir(first[0])+"-2" {
		t.Errorf("second evidence in %s", second[0])
	}
	if b, _ := os.ReadFile(filepath.Join(run, first[0])); string(b) != "first" {
		t.Errorf("first evidence overwritten: %q", b)
	}
	// Attempts and devices have folders of their own.
	a2, err := Evidence(run, "tv-1", spec, 2, map[string]string{"logcat.txt": "attempt 2"})
	if err != nil || !strings.HasSuffix(path.Dir(a2[0]), "-a2") {
		t.Errorf("attempt 2: %v %v", a2, err)
	}
	other, err := Evidence(run, "tv-2", spec, 1, map[string]string{"logcat.txt": "tv-2"})
	if err != nil || !strings.HasPrefix(other[0], "evidence/tv-2/") || path.Base(path.Dir(other[0])) != path.Base(path.Dir(first[0])) {
		t.Errorf("tv-2: %v %v", other, err)
	}
}

// Workers writing the same cell's evidence at once each get a folder.
func TestEvidenceConcurrentWritersGetTheirOwnFolders(t *testing.T) {
	run := t.TempDir()
	var mu sync.Mutex
	seen := map[string]bool{}
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p, err := Evidence(run, "tv-1", "same spec", 1, map[string]string{"n.txt": fmt.Sprint(i)})
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if seen[path.Dir(p[0])] {
				t.Errorf("two writers in %s", path.Dir(p[0]))
			}
			seen[path.Dir(p[0])] = true
		}()
	}
	wg.Wait()
	if len(seen) != 8 {
		t.Errorf("%d folders for 8 writers", len(seen))
	}
}

func TestEvidenceNames(t *testing.T) {
	run := t.TempDir()
	for _, c := range []struct{ device, spec, want string }{
		{"tv-1", "a/b\\c: d", `^evidence/tv-1/a_b_c_d-[0-9a-f]{8}$`},
		{"../../etc", "x", `^evidence/etc-[0-9a-f]{8}/x-[0-9a-f]{8}$`},
		{"电视-1", "接听通话", `^evidence/1-[0-9a-f]{8}/spec-[0-9a-f]{8}$`},
		{"", "farm is healthy", `^evidence/_farm-[0-9a-f]{8}/farm_is_healthy-[0-9a-f]{8}$`},
		{"tv 1", "x", `^evidence/tv_1-[0-9a-f]{8}/x-[0-9a-f]{8}$`},
		{"tv_1", "x", `^evidence/tv_1/x-[0-9a-f]{8}$`},
		{"tv-1", ".hidden", `^evidence/tv-1/hidden-[0-9a-f]{8}$`},
	} {
		if got := EvidenceDir(run, c.device, c.spec, 1); !regexp.MustCompile(c.want).MatchString(got) {
			t.Errorf("EvidenceDir(%q, %q) = %s, want %s", c.device, c.spec, got, c.want)
		}
	}
	files, err := Evidence(run, "tv-1", "s", 3, map[string]string{"ui dump.xml": "<x/>", "../../passwd": "no"})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if !strings.HasPrefix(f, "evidence/tv-1/s-") || strings.Contains(f, "..") || !strings.Contains(f, "-a3/") {
			t.Errorf("evidence file %s", f)
		}
	}
}

func TestEvidenceBadInput(t *testing.T) {
	run := t.TempDir()
	for _, c := range []struct {
		spec    string
		attempt int
		files   map[string]string
		want    string
	}{
		{"", 1, map[string]string{"a": "b"}, "spec is empty"},
		{"s", 0, map[string]string{"a": "b"}, "attempt 0"},
		{"s", 1, nil, "no files"},
		{"s", 1, map[string]string{"a b": "1", "a_b": "2"}, "both become"},
	} {
		if _, err := Evidence(run, "tv-1", c.spec, c.attempt, c.files); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c, err, c.want)
		}
	}
}

func TestSafeName(t *testing.T) {
	long := strings.Repeat("abcdefghij", 9)
	a, b := SafeName(long+"-one"), SafeName(long+"-two")
	if a == b || len(a) > 80 || len(b) > 80 {
		t.Errorf("long names: %s %s", a, b)
	}
	if SafeName("tv-1") != "tv-1" || SafeName("a b/c") != "a_b_c" {
		t.Errorf("short names changed: %s %s", SafeName("tv-1"), SafeName("a b/c"))
	}
	for _, s := range []string{"", ".", ".."} {
		if n := SafeName(s); n == s || n == "" || strings.Trim(n, ".") == "" {
			t.Errorf("SafeName(%q) = %q", s, n)
		}
	}
}
