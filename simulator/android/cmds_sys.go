package android

import (
	"bufio"
	"fmt"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Process and system information: sleep, id, whoami, uname, getprop,
// setprop, env, which, basename, dirname, seq, yes, uptime, nproc, df, free,
// toybox.

func cmdSleep(c *cmdCtx) int {
	if len(c.args) < 2 {
		c.errf("sleep: Needs 1 argument\n")
		return 1
	}
	var total time.Duration
	for _, a := range c.args[1:] {
		d, ok := parseSleep(a)
		if !ok {
			return c.fail("Not a number '%s'", a)
		}
		total += d
	}
	if !c.sleep(total) {
		return 130
	}
	return 0
}

func parseSleep(s string) (time.Duration, bool) {
	mult := time.Second
	switch {
	case strings.HasSuffix(s, "s"):
		s = s[:len(s)-1]
	case strings.HasSuffix(s, "m"):
		s, mult = s[:len(s)-1], time.Minute
	case strings.HasSuffix(s, "h"):
		s, mult = s[:len(s)-1], time.Hour
	case strings.HasSuffix(s, "d"):
		s, mult = s[:len(s)-1], 24*time.Hour
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 || f != f || f > 1e7 || strings.ContainsAny(s, "xXpPeEnNiI") {
		return 0, false
	}
	return time.Duration(f * float64(mult)), true
}

var shellGroups = "1004(input),1007(log),1011(adb),1015(sdcard_rw),1028(sdcard_r),1078(ext_data_rw),1079(ext_obb_rw),3001(net_bt_admin),3002(net_bt),3003(inet),3006(net_bw_stats),3009(readproc),3011(uhid)"

func cmdId(c *cmdCtx) int {
	flags, rest, bad := splitFlags(c.args[1:], "ugGnrZ", "")
	if bad != "" {
		return c.unknownOpt(bad)
	}
	uid := c.sh.uid
	name := userName(uid)
	if len(rest) > 0 {
		u := uidOfName(rest[0])
		if u < 0 {
			if n, err := strconv.Atoi(rest[0]); err == nil {
				u = n
			}
		}
		if u < 0 {
			return c.fail("unknown user '%s'", rest[0])
		}
		uid, name = u, userName(u)
	}
	_, n := flags['n']
	_, isU := flags['u']
	_, isG := flags['g']
	_, isGG := flags['G']
	switch {
	case isU || isG:
		if n {
			c.outf("%s\n", name)
		} else {
			c.outf("%d\n", uid)
		}
		return 0
	case isGG:
		if n {
			c.outf("%s input log adb sdcard_rw sdcard_r ext_data_rw ext_obb_rw net_bt_admin net_bt inet net_bw_stats readproc uhid\n", name)
		} else {
			c.outf("%d 1004 1007 1011 1015 1028 1078 1079 3001 3002 3003 3006 3009 3011\n", uid)
		}
		return 0
	}
	ctxLabel := "u:r:shell:s0"
	if uid == 0 {
		ctxLabel = "u:r:su:s0"
	}
	groups := fmt.Sprintf("%d(%s),%s", uid, name, shellGroups)
	if len(rest) > 0 && uid != 2000 && uid != 0 {
		groups = fmt.Sprintf("%d(%s)", uid, name)
	}
	line := fmt.Sprintf("uid=%d(%s) gid=%d(%s) groups=%s", uid, name, uid, name, groups)
	if len(rest) == 0 {
		line += " context=" + ctxLabel
	}
	c.outf("%s\n", line)
	return 0
}

func cmdWhoami(c *cmdCtx) int {
	c.outf("%s\n", userName(c.sh.uid))
	return 0
}

func cmdUname(c *cmdCtx) int {
	flags, _, bad := splitFlags(c.args[1:], "asnrvmpio", "")
	if bad != "" {
		return c.unknownOpt(bad)
	}
	vals := map[byte]string{
		's': "Linux", 'n': "localhost", 'r': "4.9.223-g5d3a4b6",
		'v': "#1 SMP PREEMPT " + c.sys.GetProp("ro.build.date"), 'm': "aarch64", 'o': "Android",
	}
	if _, a := flags['a']; a {
		c.outf("%s %s %s %s %s %s\n", vals['s'], vals['n'], vals['r'], vals['v'], vals['m'], vals['o'])
		return 0
	}
	var out []string
	for _, f := range []byte("snrvmo") {
		if _, ok := flags[f]; ok {
			out = append(out, vals[f])
		}
	}
	if _, ok := flags['p']; ok {
		out = append(out, vals['m'])
	}
	if len(out) == 0 {
		out = []string{vals['s']}
	}
	c.outf("%s\n", strings.Join(out, " "))
	return 0
}

func cmdGetprop(c *cmdCtx) int {
	args := c.args[1:]
	for len(args) > 0 && strings.HasPrefix(args[0], "-") {
		if args[0] != "-T" && args[0] != "-Z" {
			return c.unknownOpt(args[0])
		}
		args = args[1:]
	}
	if len(args) == 0 {
		props := c.sys.Props()
		for _, k := range sortedStrKeys(props) {
			c.outf("[%s]: [%s]\n", k, props[k])
		}
		return 0
	}
	v := c.sys.GetProp(args[0])
	if v == "" && len(args) > 1 {
		v = args[1]
	}
	c.outf("%s\n", v)
	return 0
}

func cmdSetprop(c *cmdCtx) int {
	if len(c.args) != 3 {
		c.errf("usage: setprop NAME VALUE\n\nSets an Android system property.\n")
		return 1
	}
	k, v := c.args[1], c.args[2]
	if strings.HasPrefix(k, "ro.") && c.sys.GetProp(k) != "" || len(v) > 91 && !strings.HasPrefix(k, "ro.") {
		c.errf("Failed to set property '%s' to '%s'.\nSee dmesg for error reason.\n", k, v)
		return 1
	}
	c.sys.SetProp(k, v)
	return 0
}

func cmdEnv(c *cmdCtx) int {
	env := map[string]string{}
	for k, ok := range c.sh.exported {
		if v, set := c.sh.vars[k]; ok && set {
			env[k] = v
		}
	}
	for k, v := range c.env {
		env[k] = v
	}
	args := c.args[1:]
	if c.args[0] == "printenv" {
		if len(args) == 0 {
			for _, k := range sortedStrKeys(env) {
				c.outf("%s=%s\n", k, env[k])
			}
			return 0
		}
		st := 0
		for _, a := range args {
			if v, ok := env[a]; ok {
				c.outf("%s\n", v)
			} else {
				st = 1
			}
		}
		return st
	}
	for len(args) > 0 && strings.Contains(args[0], "=") && !strings.HasPrefix(args[0], "=") {
		k, v, _ := strings.Cut(args[0], "=")
		env[k] = v
		args = args[1:]
	}
	if len(args) > 0 {
		return c.sh.dispatch(c.ctx, args, env, ioTable{in: c.stdin, out: c.stdout, err: c.stderr})
	}
	for _, k := range sortedStrKeys(env) {
		c.outf("%s=%s\n", k, env[k])
	}
	return 0
}

func cmdWhich(c *cmdCtx) int {
	st := 0
	for _, a := range c.args[1:] {
		if strings.HasPrefix(a, "-") {
			continue
		}
		if commands[a] != nil {
			c.outf("/system/bin/%s\n", a)
		} else {
			st = 1
		}
	}
	return st
}

func cmdBasename(c *cmdCtx) int {
	if len(c.args) < 2 {
		c.errf("basename: Needs 1 argument\n")
		return 1
	}
	b := path.Base(c.args[1])
	if len(c.args) > 2 {
		b = strings.TrimSuffix(b, c.args[2])
	}
	c.outf("%s\n", b)
	return 0
}

func cmdDirname(c *cmdCtx) int {
	if len(c.args) < 2 {
		c.errf("dirname: Needs 1 argument\n")
		return 1
	}
	c.outf("%s\n", path.Dir(c.args[1]))
	return 0
}

func cmdSeq(c *cmdCtx) int {
	var nums []int64
	for _, a := range c.args[1:] {
		n, err := strconv.ParseInt(a, 10, 64)
		if err != nil {
			return c.fail("Not integer: %s", a)
		}
		nums = append(nums, n)
	}
	first, step, last := int64(1), int64(1), int64(0)
	switch len(nums) {
	case 1:
		last = nums[0]
	case 2:
		first, last = nums[0], nums[1]
	case 3:
		first, step, last = nums[0], nums[1], nums[2]
	default:
		c.errf("seq: Needs 1 argument\n")
		return 1
	}
	if step == 0 {
		return c.fail("Invalid increment '0'")
	}
	bw := bufio.NewWriter(c.stdout)
	defer bw.Flush()
	for i, n := first, 0; (step > 0 && i <= last) || (step < 0 && i >= last); i += step {
		fmt.Fprintf(bw, "%d\n", i)
		n++
		if n%1024 == 0 && c.ctx.Err() != nil {
			return 1
		}
	}
	return 0
}

func cmdYes(c *cmdCtx) int {
	s := "y"
	if len(c.args) > 1 {
		s = strings.Join(c.args[1:], " ")
	}
	line := []byte(s + "\n")
	for c.ctx.Err() == nil {
		if _, err := c.stdout.Write(line); err != nil {
			return 1
		}
	}
	return 1
}

func cmdUptime(c *cmdCtx) int {
	up := c.sys.clock.Uptime()
	now := c.sys.clock.Now().In(c.sys.Location())
	days := int(up.Hours()) / 24
	h := int(up.Hours()) % 24
	m := int(up.Minutes()) % 60
	ds := ""
	if days > 0 {
		ds = fmt.Sprintf("%d day%s, ", days, map[bool]string{true: "s", false: ""}[days != 1])
	}
	c.outf(" %s up %s%2d:%02d,  0 users,  load average: 0.52, 0.58, 0.59\n", now.Format("15:04:05"), ds, h, m)
	return 0
}

func cmdNproc(c *cmdCtx) int {
	c.outf("8\n")
	return 0
}

func cmdFree(c *cmdCtx) int {
	c.outf("\t\ttotal        used        free      shared     buffers\nMem:        3851943936  3696766976   155176960    16314368     8237056\n-/+ buffers/cache:  3688529920   163414016\nSwap:       1073737728   406568960   667168768\n")
	return 0
}

func cmdToybox(c *cmdCtx) int {
	if len(c.args) < 2 {
		var names []string
		for n := range commands {
			names = append(names, n)
		}
		sort.Strings(names)
		c.outf("%s\n", strings.Join(names, " "))
		return 0
	}
	sub := *c
	sub.args = c.args[1:]
	fn := commands[c.args[1]]
	if fn == nil {
		c.errf("toybox: Unknown command %s\n", c.args[1])
		return 1
	}
	return fn(&sub)
}
