package device

import (
	"encoding/xml"
	"fmt"
	"strconv"
	"strings"
)

// UINode is one node of a uiautomator dump.
type UINode struct {
	Index       int
	Text        string
	ResourceID  string
	Class       string
	Package     string
	ContentDesc string
	Clickable   bool
	Enabled     bool
	Bounds      [4]int // left, top, right, bottom
	Children    []*UINode
}

// Center is the middle of the node's bounds.
func (n *UINode) Center() (x, y int) {
	return (n.Bounds[0] + n.Bounds[2]) / 2, (n.Bounds[1] + n.Bounds[3]) / 2
}

// Walk visits the node and its descendants depth first.
func (n *UINode) Walk(fn func(*UINode)) {
	fn(n)
	for _, c := range n.Children {
		c.Walk(fn)
	}
}

// Texts lists every non-empty text and content description, in order.
func (n *UINode) Texts() []string {
	var out []string
	n.Walk(func(x *UINode) {
		if x.Text != "" {
			out = append(out, x.Text)
		}
		if x.ContentDesc != "" && x.ContentDesc != x.Text {
			out = append(out, x.ContentDesc)
		}
	})
	return out
}

type xmlNode struct {
	Index       string    `xml:"index,attr"`
	Text        string    `xml:"text,attr"`
	ResourceID  string    `xml:"resource-id,attr"`
	Class       string    `xml:"class,attr"`
	Package     string    `xml:"package,attr"`
	ContentDesc string    `xml:"content-desc,attr"`
	Clickable   string    `xml:"clickable,attr"`
	Enabled     string    `xml:"enabled,attr"`
	Bounds      string    `xml:"bounds,attr"`
	Nodes       []xmlNode `xml:"node"`
}

type xmlHierarchy struct {
	XMLName xml.Name  `xml:"hierarchy"`
	Nodes   []xmlNode `xml:"node"`
}

// ParseUIDump parses uiautomator's XML (extra text around it, such as the
// "UI hierchary dumped to" line, is ignored). The root returned holds the
// hierarchy's top nodes as children.
func ParseUIDump(out string) (*UINode, error) {
	start := strings.Index(out, "<hierarchy")
	end := strings.LastIndex(out, "</hierarchy>")
	if start < 0 || end < start {
		return nil, fmt.Errorf("uiautomator dump: no <hierarchy> in output %q", clip(out, 200))
	}
	var h xmlHierarchy
	if err := xml.Unmarshal([]byte(out[start:end+len("</hierarchy>")]), &h); err != nil {
		return nil, fmt.Errorf("uiautomator dump: %w", err)
	}
	root := &UINode{Class: "hierarchy"}
	for _, n := range h.Nodes {
		c, err := convert(n)
		if err != nil {
			return nil, err
		}
		root.Children = append(root.Children, c)
	}
	return root, nil
}

func convert(x xmlNode) (*UINode, error) {
	n := &UINode{Text: x.Text, ResourceID: x.ResourceID, Class: x.Class, Package: x.Package, ContentDesc: x.ContentDesc,
		Clickable: x.Clickable == "true", Enabled: x.Enabled == "true"}
	n.Index, _ = strconv.Atoi(x.Index)
	if x.Bounds != "" {
		var b [4]int
		if _, err := fmt.Sscanf(x.Bounds, "[%d,%d][%d,%d]", &b[0], &b[1], &b[2], &b[3]); err != nil {
			return nil, fmt.Errorf("uiautomator dump: bounds %q: %w", x.Bounds, err)
		}
		n.Bounds = b
	}
	for _, c := range x.Nodes {
		cn, err := convert(c)
		if err != nil {
			return nil, err
		}
		n.Children = append(n.Children, cn)
	}
	return n, nil
}

// Selector picks UI nodes: "text=接听", "desc=answer", "id=pkg:id/accept".
type Selector struct{ Kind, Value string }

// ParseSelector parses the text form.
func ParseSelector(s string) (Selector, error) {
	k, v, ok := strings.Cut(s, "=")
	if !ok || v == "" || (k != "text" && k != "desc" && k != "id") {
		return Selector{}, fmt.Errorf("selector %q: want text=VALUE, desc=VALUE or id=VALUE", s)
	}
	return Selector{k, v}, nil
}

func (s Selector) String() string { return s.Kind + "=" + s.Value }

// Matches reports whether n is selected.
func (s Selector) Matches(n *UINode) bool {
	switch s.Kind {
	case "text":
		return n.Text == s.Value
	case "desc":
		return n.ContentDesc == s.Value
	case "id":
		return n.ResourceID == s.Value
	}
	return false
}

// Find returns the first node the selector matches, depth first.
func (s Selector) Find(root *UINode) *UINode {
	var found *UINode
	root.Walk(func(n *UINode) {
		if found == nil && s.Matches(n) {
			found = n
		}
	})
	return found
}

// ParseResumedActivity finds the resumed activity in `dumpsys activity
// activities` output, as "pkg/cls" (class as printed, ".Short" or full).
// It reads the lines of Android 9-13: mResumedActivity, ResumedActivity and
// topResumedActivity.
func ParseResumedActivity(out string) (string, error) {
	for _, key := range []string{"topResumedActivity=", "ResumedActivity:", "mResumedActivity:"} {
		for _, line := range strings.Split(out, "\n") {
			t := strings.TrimSpace(line)
			if !strings.HasPrefix(t, key) && !strings.HasPrefix(t, "m"+key) {
				continue
			}
			i := strings.Index(t, "ActivityRecord{")
			if i < 0 {
				continue
			}
			rec := t[i+len("ActivityRecord{"):]
			rec, _, _ = strings.Cut(rec, "}")
			for _, f := range strings.Fields(rec) {
				if strings.Contains(f, "/") {
					return f, nil
				}
			}
		}
	}
	return "", fmt.Errorf("dumpsys activity activities: no resumed activity line")
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
