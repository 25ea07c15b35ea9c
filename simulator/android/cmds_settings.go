package android

import (
	"strconv"
	"strings"
)

// Framework commands with no package of their own: settings, wm, monkey.

func cmdSettings(c *cmdCtx) int {
	args := c.args[1:]
	for len(args) > 0 && (args[0] == "--user" || args[0] == "--lineage") {
		if len(args) < 2 {
			break
		}
		args = args[2:]
	}
	usage := func() int {
		c.errf("Settings provider (settings) commands:\n  get [--user <USER_ID> | current] NAMESPACE KEY\n  put [--user <USER_ID> | current] NAMESPACE KEY VALUE [TAG] [default]\n  delete [--user <USER_ID> | current] NAMESPACE KEY\n  list [--user <USER_ID> | current] NAMESPACE\n")
		return 255
	}
	if len(args) < 2 {
		return usage()
	}
	s := c.sys
	defer c.capture()()
	s.mu.Lock()
	defer s.mu.Unlock()
	ns := s.settings[args[1]]
	if ns == nil {
		c.errf("Invalid namespace '%s'\n", args[1])
		return 255
	}
	switch args[0] {
	case "get":
		if len(args) < 3 {
			return usage()
		}
		if v, ok := ns[args[2]]; ok {
			c.outf("%s\n", v)
		} else {
			c.outf("null\n")
		}
	case "put":
		if len(args) < 4 {
			return usage()
		}
		ns[args[2]] = args[3]
	case "delete":
		if len(args) < 3 {
			return usage()
		}
		if _, ok := ns[args[2]]; ok {
			delete(ns, args[2])
			c.outf("Deleted 1 rows\n")
		} else {
			c.outf("Deleted 0 rows\n")
		}
	case "list":
		for _, k := range sortedStrKeys(ns) {
			c.outf("%s=%s\n", k, ns[k])
		}
	default:
		return usage()
	}
	return 0
}

func cmdWm(c *cmdCtx) int {
	args := c.args[1:]
	if len(args) == 0 {
		c.errf("Window manager (window) commands:\n  help\n  size [reset|WxH|WdpxHdp] [-d DISPLAY_ID]\n  density [reset|DENSITY] [-d DISPLAY_ID]\n")
		return 255
	}
	switch args[0] {
	case "size":
		c.outf("Physical size: %dx%d\n", c.sys.cfg.Screen.Width, c.sys.cfg.Screen.Height)
	case "density":
		c.outf("Physical density: %s\n", c.sys.GetProp("ro.sf.lcd_density"))
	default:
		c.errf("Unknown command: %s\n", args[0])
		return 255
	}
	return 0
}

func cmdMonkey(c *cmdCtx) int {
	var pkg, cat string
	events := 0
	args := c.args[1:]
	for i := 0; i < len(args); i++ {
		switch a := args[i]; {
		case a == "-p" && i+1 < len(args):
			i++
			pkg = args[i]
		case a == "-c" && i+1 < len(args):
			i++
			cat = args[i]
		case a == "-v" || a == "--ignore-crashes" || a == "--ignore-timeouts":
		case strings.HasPrefix(a, "-") && i+1 < len(args):
			i++
		default:
			n, err := strconv.Atoi(a)
			if err != nil {
				c.errf("** Error: Invalid argument: %s\n", a)
				return 1
			}
			events = n
		}
	}
	if events == 0 {
		c.errf("** Error: Count not specified\nusage: monkey [-p ALLOWED_PACKAGE [-p ALLOWED_PACKAGE] ...]\n")
		return 1
	}
	start := c.sys.clock.Uptime()
	if pkg != "" && (cat == "" || cat == CategoryLauncher) {
		_, err := c.sys.startActivity(c.ctx, startReq{in: Intent{Action: ActionMain, Categories: []string{CategoryLauncher}, Package: pkg, Flags: 0x10200000}, callerUid: c.sh.uid})
		if err != nil {
			c.errf("** No activities found to run, monkey aborted.\n")
			return 251
		}
	}
	c.outf("  bash arg: -p\n  bash arg: %s\n", pkg)
	c.outf("Events injected: %d\n", events)
	el := (c.sys.clock.Uptime() - start).Milliseconds() + 20
	c.outf("## Network stats: elapsed time=%dms (0ms mobile, 0ms wifi, %dms not connected)\n", el, el)
	return 0
}

// printfEscape decodes the backslash escape at format[i]; it returns the
// text, the index after the escape, and false at \c.
