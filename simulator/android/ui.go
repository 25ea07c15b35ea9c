package android

import (
	"fmt"
	"strconv"
	"strings"
)

// Rect is a rectangle in screen pixels; Right and Bottom are exclusive.
type Rect struct{ Left, Top, Right, Bottom int }

// Contains reports whether the point lies inside r.
func (r Rect) Contains(x, y int) bool {
	return x >= r.Left && x < r.Right && y >= r.Top && y < r.Bottom
}

// Empty reports whether r has no area.
func (r Rect) Empty() bool { return r.Right <= r.Left || r.Bottom <= r.Top }

func (r Rect) intersect(o Rect) Rect {
	out := Rect{max(r.Left, o.Left), max(r.Top, o.Top), min(r.Right, o.Right), min(r.Bottom, o.Bottom)}
	if out.Empty() {
		return Rect{}
	}
	return out
}

// ShortString is Rect.toShortString: "[l,t][r,b]".
func (r Rect) ShortString() string {
	return fmt.Sprintf("[%d,%d][%d,%d]", r.Left, r.Top, r.Right, r.Bottom)
}

// Node is a view in a window's tree, as seen by accessibility. A zero
// Bounds means "same as the parent". Trees are replaced whole with
// Activity.SetContent and must not be changed once set.
type Node struct {
	Class, Text, ResourceID, ContentDesc, Package string
	Bounds                                        Rect
	Clickable, Enabled, Focusable, Focused        bool
	Checkable, Checked, Scrollable                bool
	LongClickable, Password, Selected             bool
	Children                                      []*Node
	// OnClick runs, on its own goroutine, when a tap hits this node.
	OnClick func()
}

func (n *Node) boundsIn(parent Rect) Rect {
	if n.Bounds == (Rect{}) {
		return parent
	}
	return n.Bounds
}

// HitTest returns the deepest node containing (x, y) that is Clickable and
// Enabled, preferring later (top-most) children; nil when there is none.
func (n *Node) HitTest(x, y int) *Node {
	if n == nil {
		return nil
	}
	return n.hit(x, y, n.Bounds, 0)
}

func (n *Node) hit(x, y int, parent Rect, depth int) *Node {
	if n == nil || depth > 200 {
		return nil
	}
	b := n.boundsIn(parent)
	if !b.Contains(x, y) {
		return nil
	}
	for i := len(n.Children) - 1; i >= 0; i-- {
		if h := n.Children[i].hit(x, y, b, depth+1); h != nil {
			return h
		}
	}
	if n.Clickable && n.Enabled {
		return n
	}
	return nil
}

// Find returns the first node (depth first) for which match is true.
func (n *Node) Find(match func(*Node) bool) *Node {
	if n == nil {
		return nil
	}
	if match(n) {
		return n
	}
	for _, c := range n.Children {
		if f := c.Find(match); f != nil {
			return f
		}
	}
	return nil
}

// ---- uiautomator XML ----

// stripInvalidXML replaces characters XML 1.0 cannot hold by '.', as
// AccessibilityNodeInfoDumper does.
func stripInvalidXML(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case (r >= 0x1 && r <= 0x8) || r == 0xB || r == 0xC || (r >= 0xE && r <= 0x1F) ||
			(r >= 0x7F && r <= 0x84) || (r >= 0x86 && r <= 0x9F) || (r >= 0xFDD0 && r <= 0xFDDF) ||
			r == 0 || r == 0xFFFE || r == 0xFFFF || (r&0xFFFF == 0xFFFE || r&0xFFFF == 0xFFFF):
			b.WriteByte('.')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// xmlAttr escapes an attribute value like KXmlSerializer.
func xmlAttr(s string) string {
	s = stripInvalidXML(s)
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '&':
			b.WriteString("&amp;")
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '"':
			b.WriteString("&quot;")
		case '\n', '\r', '\t':
			fmt.Fprintf(&b, "&#%d;", r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func nafExcluded(class string) bool {
	for _, c := range []string{"GridView", "GridLayout", "ListView", "TableLayout"} {
		if strings.HasSuffix(class, c) {
			return true
		}
	}
	return false
}

func (n *Node) hasLabelBelow(depth int) bool {
	if depth > 200 {
		return false
	}
	for _, c := range n.Children {
		if c == nil {
			continue
		}
		if c.Text != "" || c.ContentDesc != "" || c.hasLabelBelow(depth+1) {
			return true
		}
	}
	return false
}

// dumpHierarchy renders the uiautomator dump of a window.
func dumpHierarchy(root *Node, defPkg string, screen Size) string {
	var b strings.Builder
	b.WriteString("<?xml version='1.0' encoding='UTF-8' standalone='yes' ?><hierarchy rotation=\"0\">")
	scr := Rect{0, 0, screen.Width, screen.Height}
	if root != nil {
		dumpNode(&b, root, 0, scr, scr, defPkg, 0)
	}
	b.WriteString("</hierarchy>")
	return b.String()
}

func dumpNode(b *strings.Builder, n *Node, index int, parent, scr Rect, defPkg string, depth int) {
	bounds := n.boundsIn(parent)
	vis := bounds.intersect(scr)
	class := n.Class
	if class == "" {
		class = "android.view.View"
	}
	pkg := n.Package
	if pkg == "" {
		pkg = defPkg
	}
	b.WriteString("<node")
	if !nafExcluded(class) && n.Clickable && n.Enabled && n.Text == "" && n.ContentDesc == "" && !n.hasLabelBelow(0) {
		b.WriteString(` NAF="true"`)
	}
	fmt.Fprintf(b, ` index="%d" text="%s" resource-id="%s" class="%s" package="%s" content-desc="%s"`,
		index, xmlAttr(n.Text), xmlAttr(n.ResourceID), xmlAttr(class), xmlAttr(pkg), xmlAttr(n.ContentDesc))
	fmt.Fprintf(b, ` checkable="%t" checked="%t" clickable="%t" enabled="%t" focusable="%t" focused="%t" scrollable="%t" long-clickable="%t" password="%t" selected="%t" bounds="%s"`,
		n.Checkable, n.Checked, n.Clickable, n.Enabled, n.Focusable, n.Focused, n.Scrollable, n.LongClickable, n.Password, n.Selected, vis.ShortString())
	wrote := false
	if depth < 200 {
		for i, c := range n.Children {
			if c == nil || c.boundsIn(bounds).intersect(scr).Empty() {
				continue
			}
			if !wrote {
				b.WriteString(">")
				wrote = true
			}
			dumpNode(b, c, i, bounds, scr, defPkg, depth+1)
		}
	}
	if wrote {
		b.WriteString("</node>")
	} else {
		b.WriteString(" />")
	}
}

// WindowXML returns the uiautomator dump of the resumed activity's window.
func (s *System) WindowXML() string {
	a := s.ResumedActivity()
	if a == nil {
		return dumpHierarchy(nil, "", s.cfg.Screen)
	}
	return dumpHierarchy(a.Content(), a.comp.Package, s.cfg.Screen)
}

// ---- input ----

var keycodes = map[string]int{
	"UNKNOWN": 0, "SOFT_LEFT": 1, "SOFT_RIGHT": 2, "HOME": 3, "BACK": 4, "CALL": 5, "ENDCALL": 6,
	"STAR": 17, "POUND": 18, "DPAD_UP": 19, "DPAD_DOWN": 20, "DPAD_LEFT": 21, "DPAD_RIGHT": 22,
	"DPAD_CENTER": 23, "VOLUME_UP": 24, "VOLUME_DOWN": 25, "POWER": 26, "CAMERA": 27, "CLEAR": 28,
	"COMMA": 55, "PERIOD": 56, "TAB": 61, "SPACE": 62, "ENTER": 66, "DEL": 67, "MENU": 82,
	"NOTIFICATION": 83, "SEARCH": 84, "MEDIA_PLAY_PAUSE": 85, "PAGE_UP": 92, "PAGE_DOWN": 93,
	"ESCAPE": 111, "FORWARD_DEL": 112, "MOVE_HOME": 122, "MOVE_END": 123, "VOLUME_MUTE": 164,
	"APP_SWITCH": 187, "SLEEP": 223, "WAKEUP": 224,
}

func init() {
	for i := 0; i <= 9; i++ {
		keycodes[strconv.Itoa(i)] = 7 + i
	}
	for c := 'A'; c <= 'Z'; c++ {
		keycodes[string(c)] = 29 + int(c-'A')
	}
}

func keyCodeFromString(s string) int {
	if n, err := strconv.Atoi(s); err == nil {
		return n
	}
	if v, ok := keycodes[strings.TrimPrefix(s, "KEYCODE_")]; ok {
		return v
	}
	return 0
}

const inputUsage = `Usage: input [<source>] [-d DISPLAY_ID] <command> [<arg>...]

The sources are:
      dpad
      keyboard
      mouse
      touchpad
      gamepad
      touchnavigation
      joystick
      touchscreen
      stylus
      trackball

-d: specify the display ID.
      (Default: -1 for key event, 0 for motion event if not specified.)
The commands and default sources are:
      text <string> (Default: touchscreen)
      keyevent [--longpress] <key code number or name> ... (Default: keyboard)
      tap <x> <y> (Default: touchscreen)
      swipe <x1> <y1> <x2> <y2> [duration(ms)] (Default: touchscreen)
      draganddrop <x1> <y1> <x2> <y2> [duration(ms)] (Default: touchscreen)
      press (Default: trackball)
      roll <dx> <dy> (Default: trackball)
      motionevent <DOWN|UP|MOVE|CANCEL> <x> <y> (Default: touchscreen)
`

var inputSources = map[string]bool{"dpad": true, "keyboard": true, "mouse": true, "touchpad": true, "gamepad": true,
	"touchnavigation": true, "joystick": true, "touchscreen": true, "stylus": true, "trackball": true}

func cmdInput(c *cmdCtx) int {
	args := c.args[1:]
	if len(args) > 0 && inputSources[args[0]] {
		args = args[1:]
	}
	if len(args) >= 2 && args[0] == "-d" {
		args = args[2:]
	}
	if len(args) == 0 {
		c.errf("%s", inputUsage)
		return 1
	}
	bad := func() int {
		c.errf("Error: Invalid arguments for command: %s\n%s", args[0], inputUsage)
		return 1
	}
	floats := func(ss []string) ([]float64, bool) {
		var out []float64
		for _, s := range ss {
			f, err := strconv.ParseFloat(s, 32)
			if err != nil {
				c.errf("\nException occurred while executing '%s':\njava.lang.NumberFormatException: For input string: \"%s\"\n", args[0], s)
				return nil, false
			}
			out = append(out, f)
		}
		return out, true
	}
	s := c.sys
	switch args[0] {
	case "tap":
		if len(args) != 3 {
			return bad()
		}
		v, ok := floats(args[1:])
		if !ok {
			return 255
		}
		s.Tap(int(v[0]), int(v[1]))
		return 0
	case "swipe", "draganddrop":
		if len(args) != 5 && len(args) != 6 {
			return bad()
		}
		if _, ok := floats(args[1:]); !ok {
			return 255
		}
		return 0
	case "roll":
		if len(args) != 3 {
			return bad()
		}
		if _, ok := floats(args[1:]); !ok {
			return 255
		}
		return 0
	case "press":
		return 0
	case "motionevent":
		if len(args) != 4 {
			return bad()
		}
		if _, ok := floats(args[2:]); !ok {
			return 255
		}
		return 0
	case "text":
		if len(args) != 2 {
			return bad()
		}
		s.InputText(strings.ReplaceAll(args[1], "%s", " "))
		return 0
	case "keyevent":
		keys := args[1:]
		if len(keys) > 0 && (keys[0] == "--longpress" || keys[0] == "--doubletap") {
			keys = keys[1:]
		}
		if len(keys) == 0 {
			return bad()
		}
		for _, k := range keys {
			s.KeyEvent(keyCodeFromString(k))
		}
		return 0
	}
	c.errf("Error: Unknown command: %s\n%s", args[0], inputUsage)
	return 1
}

// Tap hit-tests the resumed activity's window and runs the OnClick of the
// node hit (on its own goroutine). It returns the node hit, or nil.
func (s *System) Tap(x, y int) *Node {
	a := s.ResumedActivity()
	if a == nil {
		return nil
	}
	n := a.Content().HitTest(x, y)
	if n != nil && n.OnClick != nil {
		go n.OnClick()
	}
	return n
}

// KeyEvent injects a key: HOME (3) brings the launcher to the front, BACK
// (4) runs the resumed activity's OnBack handler (default Finish); other
// keys have no effect.
func (s *System) KeyEvent(code int) {
	switch code {
	case 3:
		s.pressHome()
	case 4:
		a := s.ResumedActivity()
		if a == nil {
			return
		}
		if fn := a.onBack.Load(); fn != nil {
			go (*fn)()
			return
		}
		a.Finish()
	}
}

// InputText sends text to the resumed activity's OnTextInput handler.
func (s *System) InputText(text string) {
	if a := s.ResumedActivity(); a != nil {
		if fn := a.onText.Load(); fn != nil {
			go (*fn)(text)
		}
	}
}

// ---- uiautomator ----

func cmdUiautomator(c *cmdCtx) int {
	args := c.args[1:]
	if len(args) == 0 || args[0] != "dump" {
		if len(args) > 0 && args[0] != "help" {
			c.errf("Unknown command: %s\n", args[0])
		}
		c.errf("Usage: uiautomator <subcommand> [options]\n\nAvailable subcommands:\n\nhelp: displays help message\n\nruntest: executes UI automation tests\n    runtest <class spec> [options]\n\ndump: creates an XML dump of current UI hierarchy\n    dump [--verbose][file]\n      [--compressed]: dumps compressed layout information.\n      [file]: the location where the dumped XML should be stored, default is\n      /sdcard/window_dump.xml\n\nevents: prints out accessibility events until terminated\n")
		return 1
	}
	file := "/sdcard/window_dump.xml"
	for _, a := range args[1:] {
		if strings.HasPrefix(a, "-") {
			continue
		}
		file = a
	}
	xml := c.sys.WindowXML()
	if err := c.writeFile(file, []byte(xml), false); err != nil {
		c.errf("java.io.FileNotFoundException: %s: open failed: %s\n", file, errnoText(err))
		return 1
	}
	c.outf("UI hierchary dumped to: %s\n", file)
	return 0
}
