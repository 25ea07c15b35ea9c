package device

import (
	"reflect"
	"strings"
	"testing"
)

// A dump as `uiautomator dump /dev/tty` prints it: the XML with no line
// break, then the command's own line (its spelling, "hierchary", is
// uiautomator's). Node attributes in uiautomator's order, KXmlSerializer's
// escapes, a NAF node, non-ASCII text as character references.
const simDump = `<?xml version='1.0' encoding='UTF-8' standalone='yes' ?><hierarchy rotation="0">` +
	`<node index="0" text="" resource-id="" class="android.widget.FrameLayout" package="com.tencent.wmpf" content-desc="" checkable="false" checked="false" clickable="false" enabled="true" focusable="false" focused="false" scrollable="false" long-clickable="false" password="false" selected="false" bounds="[0,0][1080,1920]">` +
	`<node index="0" text="Title &lt;x&gt; &amp; &quot;q&quot;" resource-id="com.tencent.wmpf:id/title" class="android.widget.TextView" package="com.tencent.wmpf" content-desc="" checkable="false" checked="false" clickable="false" enabled="true" focusable="false" focused="false" scrollable="false" long-clickable="false" password="false" selected="false" bounds="[0,100][1080,200]" />` +
	`<node index="1" text="&#25509;&#21548;" resource-id="com.tencent.wmpf:id/accept" class="android.widget.Button" package="com.tencent.wmpf" content-desc="answer" checkable="false" checked="false" clickable="true" enabled="true" focusable="true" focused="false" scrollable="false" long-clickable="false" password="false" selected="false" bounds="[100,1500][500,1700]" />` +
	`<node index="2" text="挂断" resource-id="" class="android.widget.Button" package="com.tencent.wmpf" content-desc="挂断" checkable="false" checked="false" clickable="true" enabled="false" focusable="false" focused="false" scrollable="false" long-clickable="false" password="false" selected="false" bounds="[600,1500][1000,1700]" />` +
	`<node NAF="true" index="3" text="" resource-id="" class="android.widget.ImageButton" package="com.tencent.wmpf" content-desc="" checkable="false" checked="false" clickable="true" enabled="true" focusable="false" focused="false" scrollable="false" long-clickable="false" password="false" selected="false" bounds="[0,0][0,0]" />` +
	`</node></hierarchy>UI hierchary dumped to: /dev/tty` + "\n"

func TestParseUIDump(t *testing.T) {
	root, err := ParseUIDump(simDump)
	if err != nil {
		t.Fatal(err)
	}
	if root.Class != "hierarchy" || len(root.Children) != 1 {
		t.Fatalf("root %q with %d children, want hierarchy with 1", root.Class, len(root.Children))
	}
	frame := root.Children[0]
	if frame.Class != "android.widget.FrameLayout" || frame.Package != "com.tencent.wmpf" || !frame.Enabled || frame.Clickable ||
		frame.Bounds != [4]int{0, 0, 1080, 1920} || len(frame.Children) != 4 {
		t.Fatalf("frame %+v", frame)
	}
	cases := []struct {
		i    int
		want UINode
	}{
		{0, UINode{Index: 0, Text: `Title <x> & "q"`, ResourceID: "com.tencent.wmpf:id/title", Class: "android.widget.TextView", Package: "com.tencent.wmpf",
			Enabled: true, Bounds: [4]int{0, 100, 1080, 200}}},
		{1, UINode{Index: 1, Text: "接听", ResourceID: "com.tencent.wmpf:id/accept", Class: "android.widget.Button", Package: "com.tencent.wmpf",
			ContentDesc: "answer", Clickable: true, Enabled: true, Bounds: [4]int{100, 1500, 500, 1700}}},
		{2, UINode{Index: 2, Text: "挂断", Class: "android.widget.Button", Package: "com.tencent.wmpf", ContentDesc: "挂断", Clickable: true,
			Bounds: [4]int{600, 1500, 1000, 1700}}},
		{3, UINode{Index: 3, Class: "android.widget.ImageButton", Package: "com.tencent.wmpf", Clickable: true, Enabled: true}},
	}
	for _, c := range cases {
		got := *frame.Children[c.i]
		got.Children = nil
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("node %d:\n got %+v\nwant %+v", c.i, got, c.want)
		}
	}
	if x, y := frame.Children[1].Center(); x != 300 || y != 1600 {
		t.Errorf("Center() = %d,%d, want 300,1600", x, y)
	}
	// Texts: each text and description once, in document order; a
	// description equal to its node's text is not repeated.
	if got, want := root.Texts(), []string{`Title <x> & "q"`, "接听", "answer", "挂断"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Texts() = %q, want %q", got, want)
	}
	var order []string
	root.Walk(func(n *UINode) { order = append(order, n.Class) })
	if want := []string{"hierarchy", "android.widget.FrameLayout", "android.widget.TextView", "android.widget.Button", "android.widget.Button", "android.widget.ImageButton"}; !reflect.DeepEqual(order, want) {
		t.Errorf("Walk order %q, want %q", order, want)
	}
}

func TestParseUIDumpRejects(t *testing.T) {
	for _, c := range []struct {
		name, out, want string
	}{
		{"empty", "", "no <hierarchy>"},
		{"error text", "ERROR: could not get idle state.\n", "ERROR: could not get idle state."},
		{"no end", `<?xml version='1.0' ?><hierarchy rotation="0"><node index="0"`, "no <hierarchy>"},
		{"broken XML", `<hierarchy rotation="0"><node index="0"></hierarchy>`, "uiautomator dump:"},
		{"bounds", `<hierarchy rotation="0"><node index="0" bounds="[0,0][10]" /></hierarchy>`, `bounds "[0,0][10]"`},
		{"nested bounds", `<hierarchy rotation="0"><node bounds="[0,0][1,1]"><node bounds="x" /></node></hierarchy>`, `bounds "x"`},
	} {
		_, err := ParseUIDump(c.out)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err %v, want one containing %q", c.name, err, c.want)
		}
	}
}

func TestParseUIDumpEmptyHierarchy(t *testing.T) {
	// A screen whose window has no node yet dumps an empty hierarchy.
	root, err := ParseUIDump(`<?xml version='1.0' encoding='UTF-8' standalone='yes' ?><hierarchy rotation="1"></hierarchy>`)
	if err != nil || len(root.Children) != 0 || len(root.Texts()) != 0 {
		t.Fatalf("root %+v, err %v", root, err)
	}
}

func TestParseSelector(t *testing.T) {
	for _, c := range []struct {
		in   string
		want Selector
	}{
		{"text=接听", Selector{"text", "接听"}},
		{"desc=answer", Selector{"desc", "answer"}},
		{"id=com.tencent.wmpf:id/accept", Selector{"id", "com.tencent.wmpf:id/accept"}},
		{"text=a=b", Selector{"text", "a=b"}},
	} {
		got, err := ParseSelector(c.in)
		if err != nil || got != c.want {
			t.Errorf("ParseSelector(%q) = %+v, %v; want %+v", c.in, got, err, c.want)
		}
		if got.String() != c.in {
			t.Errorf("String() = %q, want %q", got.String(), c.in)
		}
	}
	for _, bad := range []string{"", "text", "text=", "=x", "class=Button", "Text=OK", "resource-id=x"} {
		_, err := ParseSelector(bad)
		if err == nil || !strings.Contains(err.Error(), "want text=VALUE, desc=VALUE or id=VALUE") {
			t.Errorf("ParseSelector(%q): err %v, want the allowed forms named", bad, err)
		}
	}
}

func TestSelectorFind(t *testing.T) {
	root, err := ParseUIDump(simDump)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		sel       Selector
		wantIndex int // -1: none
	}{
		{Selector{"text", "接听"}, 1},
		{Selector{"desc", "answer"}, 1},
		{Selector{"id", "com.tencent.wmpf:id/title"}, 0},
		{Selector{"text", "挂断"}, 2},
		{Selector{"desc", "挂断"}, 2},
		{Selector{"text", "answer"}, -1}, // a description is not a text
		{Selector{"text", "接"}, -1},      // no partial match
		{Selector{"id", "accept"}, -1},   // ids are matched whole
		{Selector{"bogus", "x"}, -1},
	} {
		n := c.sel.Find(root)
		switch {
		case c.wantIndex < 0 && n != nil:
			t.Errorf("%s found %+v, want none", c.sel, n)
		case c.wantIndex >= 0 && (n == nil || n.Index != c.wantIndex || n.Class == "hierarchy"):
			t.Errorf("%s found %+v, want the node with index %d", c.sel, n, c.wantIndex)
		}
	}
	// The first match in document order wins.
	dup, err := ParseUIDump(`<hierarchy rotation="0"><node index="0" text="OK" bounds="[0,0][1,1]"><node index="7" text="OK" bounds="[0,0][1,1]" /></node><node index="5" text="OK" bounds="[0,0][1,1]" /></hierarchy>`)
	if err != nil {
		t.Fatal(err)
	}
	if n := (Selector{"text", "OK"}).Find(dup); n == nil || n.Index != 0 {
		t.Errorf("first match %+v, want index 0", n)
	}
}

func TestParseResumedActivity(t *testing.T) {
	for _, c := range []struct {
		name, out, want string
	}{
		// Android 11 layout, as the simulator prints it: a stack's
		// mResumedActivity and the display's ResumedActivity.
		{"android 11", "ACTIVITY MANAGER ACTIVITIES (dumpsys activity activities)\nDisplay #0 (activities from top to bottom):\n\n  Stack #4: type=standard mode=fullscreen\n    mResumedActivity: ActivityRecord{f9edc82 u0 com.example.app/.Main t4}\n\n ResumedActivity: ActivityRecord{f9edc82 u0 com.example.app/.Main t4}\n",
			"com.example.app/.Main"},
		// Android 12 and later: topResumedActivity in the task.
		{"top resumed", "Display #0 (activities from top to bottom):\n  * Task{f383651 #2 type=home}\n      topResumedActivity=ActivityRecord{101347192 u0 com.google.android.apps.nexuslauncher/.NexusLauncherActivity t2}\n",
			"com.google.android.apps.nexuslauncher/.NexusLauncherActivity"},
		// topResumedActivity wins over a stack's mResumedActivity printed
		// earlier.
		{"order", "    mResumedActivity: ActivityRecord{1 u0 a.b/.Other t1}\n    topResumedActivity=ActivityRecord{2 u0 c.d/.Top t2}\n", "c.d/.Top"},
		// The resumed line may say null; the next one counts.
		{"null first", "    mResumedActivity: null\n  ResumedActivity: ActivityRecord{3 u10 com.tencent.wmpf/com.tencent.mm.plugin.appbrand.ui.AppBrandUI t9}\n",
			"com.tencent.wmpf/com.tencent.mm.plugin.appbrand.ui.AppBrandUI"},
		// A record whose text closes before the task id still names it.
		{"closing brace inside", "  ResumedActivity: ActivityRecord{1a70f4a u0 com.smile.gifmaker/com.yxcorp.gifshow.HomeActivity} t6294}\n",
			"com.smile.gifmaker/com.yxcorp.gifshow.HomeActivity"},
		{"finishing", "  ResumedActivity: ActivityRecord{5 u0 com.x/.Main t4 f}}\n", "com.x/.Main"},
		{"CRLF", "  ResumedActivity: ActivityRecord{5 u0 com.x/.Main t4}\r\n", "com.x/.Main"},
	} {
		got, err := ParseResumedActivity(c.out)
		if err != nil || got != c.want {
			t.Errorf("%s: got %q, %v; want %q", c.name, got, err, c.want)
		}
	}
	for _, c := range []struct{ name, out string }{
		{"empty", ""},
		{"no resumed", "ACTIVITY MANAGER ACTIVITIES (dumpsys activity activities)\nDisplay #0 (activities from top to bottom):\n"},
		{"null", "    mResumedActivity: null\n"},
		{"no component", "  ResumedActivity: ActivityRecord{5 u0 t4}\n"},
		{"other keys", "  mLastPausedActivity: ActivityRecord{1 u0 a.b/.C t1}\n  mFocusedApp=ActivityRecord{1 u0 a.b/.C t1}\n"},
	} {
		if got, err := ParseResumedActivity(c.out); err == nil {
			t.Errorf("%s: got %q, want an error", c.name, got)
		}
	}
}
