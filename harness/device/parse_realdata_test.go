package device

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Output of real devices (testdata/real; SOURCES.md says where each file
// comes from). The expected values were read off the files by hand.

func readReal(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "real", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestRealUIDumps(t *testing.T) {
	type node struct {
		sel       string
		class     string
		id        string
		bounds    [4]int
		clickable bool
		enabled   bool
	}
	cases := []struct {
		file  string
		nodes int // nodes in the dump, the hierarchy element not counted
		want  []node
	}{
		{"uiautomator-dump/15-aena-appiumtest.xml", 34, []node{
			{"text=NEXT", "android.widget.Button", "es.aena.mobile:id/btn_next_welcoming", [4]int{0, 2161, 1080, 2242}, true, true},
			{"desc=Next page", "android.widget.Button", "es.aena.mobile:id/btn_next_welcoming", [4]int{0, 2161, 1080, 2242}, true, true},
			{"desc=Language selected: English. Change", "android.widget.TextView", "es.aena.mobile:id/tv_fragment_welcoming_idioma", [4]int{766, 147, 1007, 245}, true, true},
			{"id=es.aena.mobile:id/tv_welcoming_welcome_item_view_title", "android.widget.TextView", "es.aena.mobile:id/tv_welcoming_welcome_item_view_title", [4]int{84, 1039, 996, 1149}, false, true},
		}},
		// rotation="1" and NAF="true" nodes (attributes the parser skips).
		{"uiautomator-dump/unknown-bluestacks-spotlight.xml", 126, []node{
			{"desc=Go Back", "android.widget.ImageView", "net.spotlightlabs.spotlight:id/ivBack", [4]int{12, 18, 72, 78}, true, true},
			{"text=Following", "android.widget.Button", "net.spotlightlabs.spotlight:id/followBtn", [4]int{24, 319, 840, 391}, true, true},
			// Non-ASCII text written as is (U+2019).
			{"text=Column | Thoughts on Penn State men’s basketball through 3-0 start to season", "android.widget.TextView", "net.spotlightlabs.spotlight:id/tvTitle", [4]int{18, 1360, 863, 1393}, false, true},
			{"desc=Profile", "android.widget.FrameLayout", "net.spotlightlabs.spotlight:id/navigation_profile", [4]int{864, 1836, 1080, 1920}, true, true},
		}},
		// drawing-order and hint attributes; a no-break space (U+00A0) at
		// the end of a text.
		{"uiautomator-dump/unknown-openweather.xml", 110, []node{
			{"text=49°F", "android.widget.TextView", "", [4]int{347, 481, 733, 691}, false, true},
			{"text=Wind: 16.1mph ENE\u00a0", "android.widget.TextView", "", [4]int{53, 931, 390, 982}, false, true},
			{"desc=Go to settings", "android.view.ViewGroup", "", [4]int{954, 184, 1059, 289}, true, true},
		}},
		{"uiautomator-dump/unknown-funnyenglish-pixel9a-emulator.xml", 13, []node{
			{"text=NEXT", "android.widget.Button", "", [4]int{796, 2203, 1027, 2329}, true, true},
			{"text=SKIP", "android.widget.Button", "", [4]int{21, 2203, 184, 2329}, true, true},
		}},
		// Icon-font glyphs written as character references beyond U+FFFF
		// (&#983360; is U+F0140); a disabled EditText; resource ids
		// without a package.
		{"uiautomator-dump/unknown-wdiodemoapp.xml", 68, []node{
			{"text=\U000f0140", "android.widget.TextView", "dropdown-chevron", [4]int{854, 1483, 917, 1548}, false, true},
			{"text=Select an item...", "android.widget.EditText", "text_input", [4]int{131, 1457, 949, 1563}, false, false},
			{"desc=Home", "android.widget.Button", "", [4]int{0, 2207, 154, 2357}, true, true},
			{"desc=text-input", "android.widget.EditText", "RNE__Input__text-input", [4]int{131, 685, 949, 791}, true, true},
		}},
	}
	for _, c := range cases {
		root, err := ParseUIDump(readReal(t, c.file))
		if err != nil {
			t.Errorf("%s: %v", c.file, err)
			continue
		}
		count := -1 // the root stands for the hierarchy element
		root.Walk(func(*UINode) { count++ })
		if count != c.nodes || len(root.Children) != 1 {
			t.Errorf("%s: %d nodes under %d top nodes, want %d under 1", c.file, count, len(root.Children), c.nodes)
		}
		for _, w := range c.want {
			sel, err := ParseSelector(w.sel)
			if err != nil {
				t.Fatal(err)
			}
			n := sel.Find(root)
			if n == nil {
				t.Errorf("%s: no node %s", c.file, w.sel)
				continue
			}
			if n.Class != w.class || n.ResourceID != w.id || n.Bounds != w.bounds || n.Clickable != w.clickable || n.Enabled != w.enabled {
				t.Errorf("%s: %s found %+v, want class %s id %q bounds %v clickable %v enabled %v", c.file, w.sel, *n, w.class, w.id, w.bounds, w.clickable, w.enabled)
			}
		}
	}
}

func TestRealUIDumpError(t *testing.T) {
	// What `uiautomator dump` printed on an Android 9 device instead of a
	// dump: the error must carry it.
	out := readReal(t, "uiautomator-dump/9-null-root-error.txt")
	_, err := ParseUIDump(out)
	if err == nil || !strings.Contains(err.Error(), "ERROR: null root node returned by UiTestAutomationBridge") {
		t.Errorf("err %v, want one quoting the device's message", err)
	}
}

func TestRealResumedActivity(t *testing.T) {
	for _, c := range []struct{ file, want string }{
		// Android 9 (MIUI): stacks with mResumedActivity, the display's
		// ResumedActivity; a line the terminal wrapped in two.
		{"dumpsys-activity-activities/9-flywith24-sagit.txt", "com.kunminx.relearn_android/com.kunminx.basicfacttesting.test03_task_test.SingleTaskTwoActivity"},
		// Android 13 (MediaTek tablet, screen off): no topResumedActivity,
		// records printed as ActivityRecord{HASH u0 PKG/CLS} tTASK}.
		{"dumpsys-activity-activities/13-healer-mt8168.txt", "com.mediatek.camera/.CameraLauncher"},
		// Android 16 emulator: topResumedActivity, "Resumed:" and
		// ResumedActivity, records with decimal hashes.
		{"dumpsys-activity-activities/16-adbjsoncli-emulator.txt", "com.google.android.apps.nexuslauncher/.NexusLauncherActivity"},
	} {
		got, err := ParseResumedActivity(readReal(t, c.file))
		if err != nil || got != c.want {
			t.Errorf("%s: got %q, %v; want %q", c.file, got, err, c.want)
		}
	}
}

// TestRealLogcatInEventLog feeds the event log real devices' logcat lines
// (the logcat package's testdata): every line is kept, every entry parsed,
// and none is taken for a contract event.
func TestRealLogcatInEventLog(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "logcat", "testdata", "real", "*", "*.txt"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no real logcat files: %v", err)
	}
	l := NewEventLog(0)
	n := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
			l.Add(line, time.Now())
			n++
		}
	}
	if got := len(l.Lines(0)); got != n {
		t.Errorf("kept %d lines of %d", got, n)
	}
	l.mu.Lock()
	for _, ln := range l.lines {
		if !ln.Parsed && !strings.HasPrefix(ln.Text, "--------- ") {
			t.Errorf("not parsed: %q", ln.Text)
		}
	}
	l.mu.Unlock()
	if evs := l.Since(0); len(evs) != 0 || len(l.Malformed()) != 0 {
		t.Errorf("events %v, malformed %q from lines of other tags", evs, l.Malformed())
	}
}
