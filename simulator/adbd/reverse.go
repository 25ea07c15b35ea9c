package adbd

import (
	"fmt"
	"strconv"
	"strings"
)

// reverseRule is one `adb reverse` rule: connections to Local on the
// device would be forwarded to Remote on the host. The simulated device
// keeps and lists the rules as adbd does but does not tunnel any traffic.
type reverseRule struct {
	local, remote string
}

// firstReversePort is where ports for `adb reverse tcp:0 ...` are taken
// from (the device's kernel would pick an ephemeral port).
const firstReversePort = 37001

// serveReverse answers reverse:forward:, reverse:forward:norebind:,
// reverse:killforward:, reverse:killforward-all and reverse:list-forward
// with the replies of adbd's handle_forward_request: "OKAY" (plus the
// chosen port for tcp:0), "FAIL" + hex length + message, or for
// list-forward the hex length and one "host-N LOCAL REMOTE" line per rule.
func (c *conn) serveReverse(arg string, st *Stream) error {
	reply, err := c.reverseCommand(arg)
	if err != nil {
		_, werr := st.Write([]byte(protocolString("FAIL", err.Error())))
		return werr
	}
	_, werr := st.Write([]byte(reply))
	return werr
}

// protocolString is adb's length-prefixed string, after an optional status.
func protocolString(status, s string) string {
	return fmt.Sprintf("%s%04x%s", status, len(s), s)
}

func (c *conn) reverseCommand(arg string) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case arg == "list-forward":
		var b strings.Builder
		for _, r := range c.reverse {
			// adbd names a TCP transport "host-FD"; a fixed fd stands in.
			fmt.Fprintf(&b, "host-%d %s %s\n", 19, r.local, r.remote)
		}
		return protocolString("", b.String()), nil
	case arg == "killforward-all":
		c.reverse = nil
		return "OKAY", nil
	case strings.HasPrefix(arg, "killforward:"):
		local := arg[len("killforward:"):]
		for i, r := range c.reverse {
			if r.local == local {
				c.reverse = append(c.reverse[:i], c.reverse[i+1:]...)
				return "OKAY", nil
			}
		}
		return "", fmt.Errorf("listener '%s' not found", local)
	case strings.HasPrefix(arg, "forward:"):
		spec := arg[len("forward:"):]
		noRebind := false
		if rest, ok := strings.CutPrefix(spec, "norebind:"); ok {
			spec, noRebind = rest, true
		}
		local, remote, ok := strings.Cut(spec, ";")
		if !ok || local == "" || remote == "" {
			return "", fmt.Errorf("bad forward: %s", spec)
		}
		if err := checkSocketSpec(local); err != nil {
			return "", fmt.Errorf("cannot bind listener: %v", err)
		}
		if err := checkSocketSpec(remote); err != nil {
			return "", fmt.Errorf("cannot bind listener: %v", err)
		}
		port := 0
		if local == "tcp:0" {
			port = c.freeReversePortLocked()
			local = "tcp:" + strconv.Itoa(port)
		}
		for i, r := range c.reverse {
			if r.local == local {
				if noRebind {
					return "", fmt.Errorf("cannot rebind existing socket")
				}
				c.reverse[i].remote = remote
				return "OKAY", nil
			}
		}
		c.reverse = append(c.reverse, reverseRule{local: local, remote: remote})
		if port != 0 {
			return "OKAY" + protocolString("", strconv.Itoa(port)), nil
		}
		return "OKAY", nil
	}
	return "", fmt.Errorf("not a reverse forwarding command")
}

func (c *conn) freeReversePortLocked() int {
	for p := firstReversePort; ; p++ {
		taken := false
		for _, r := range c.reverse {
			if r.local == "tcp:"+strconv.Itoa(p) {
				taken = true
				break
			}
		}
		if !taken {
			return p
		}
	}
}

// checkSocketSpec accepts the socket specifications adb's socket_spec.cpp
// knows (tcp:PORT, localabstract:, localreserved:, localfilesystem:, jdwp:
// and vsock:) with the error texts it gives for the others.
func checkSocketSpec(spec string) error {
	kind, rest, ok := strings.Cut(spec, ":")
	if !ok {
		return fmt.Errorf("unknown socket specification '%s'", spec)
	}
	switch kind {
	case "tcp":
		p, err := strconv.Atoi(rest)
		if err != nil || p < 0 || p > 65535 {
			return fmt.Errorf("could not parse TCP spec '%s'", spec)
		}
		return nil
	case "localabstract", "localreserved", "localfilesystem", "local", "dev", "jdwp", "vsock", "acceptfd":
		if rest == "" {
			return fmt.Errorf("unknown socket specification '%s'", spec)
		}
		return nil
	}
	return fmt.Errorf("unknown socket specification '%s'", spec)
}
