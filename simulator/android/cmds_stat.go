package android

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"
)

// File status and file system usage: stat (toybox, with -c FORMAT) and df
// (toybox, with PATH operands).

// fileType is toybox stat's %F.
func fileType(fi finfo) string {
	switch {
	case fi.dir:
		return "directory"
	case fi.size == 0:
		return "regular empty file"
	}
	return "regular file"
}

func (fi finfo) typeLetter() string {
	if fi.dir {
		return "d"
	}
	return "-"
}

// statInode is a stable inode number for a path.
func statInode(p string) uint64 {
	var h uint64 = 14695981039346656037
	for i := 0; i < len(p); i++ {
		h = (h ^ uint64(p[i])) * 1099511628211
	}
	return h%900000 + 100000
}

// statFormat expands a toybox stat -c format for one file.
func statFormat(c *cmdCtx, format, name string, fi finfo) (string, error) {
	var b strings.Builder
	perm := permBits(fi.mode)
	uid, gid := idOfName(fi.owner), idOfName(fi.group)
	blocks := (fi.size + 4095) / 4096 * 8
	loc := c.sys.Location()
	human := fi.mtime.In(loc).Format("2006-01-02 15:04:05.000000000 -0700")
	epoch := strconv.FormatInt(fi.mtime.Unix(), 10)
	rawMode := uint32(perm)
	if fi.dir {
		rawMode |= 0o040000
	} else {
		rawMode |= 0o100000
	}
	for i := 0; i < len(format); i++ {
		ch := format[i]
		if ch != '%' {
			b.WriteByte(ch)
			continue
		}
		i++
		if i >= len(format) {
			return "", fmt.Errorf("bad -c '%s'", format)
		}
		switch format[i] {
		case '%':
			b.WriteByte('%')
		case 'a':
			fmt.Fprintf(&b, "%o", perm)
		case 'A':
			b.WriteString(fi.typeLetter() + fi.mode)
		case 'b':
			fmt.Fprint(&b, blocks)
		case 'B':
			b.WriteString("512")
		case 'd':
			b.WriteString("64773")
		case 'D':
			b.WriteString("fd05")
		case 'f':
			fmt.Fprintf(&b, "%x", rawMode)
		case 'F':
			b.WriteString(fileType(fi))
		case 'g':
			fmt.Fprint(&b, gid)
		case 'G':
			b.WriteString(fi.group)
		case 'h':
			fmt.Fprint(&b, fi.links)
		case 'i':
			fmt.Fprint(&b, statInode(c.abs(name)))
		case 'n':
			b.WriteString(name)
		case 'N':
			b.WriteString("'" + name + "'")
		case 'o':
			b.WriteString("4096")
		case 's':
			fmt.Fprint(&b, fi.size)
		case 't', 'T':
			b.WriteString("0")
		case 'u':
			fmt.Fprint(&b, uid)
		case 'U':
			b.WriteString(fi.owner)
		case 'x', 'y', 'z':
			b.WriteString(human)
		case 'X', 'Y', 'Z':
			b.WriteString(epoch)
		case 'C':
			b.WriteString("u:object_r:shell_data_file:s0")
		default:
			return "", fmt.Errorf("bad -c '%s'", format)
		}
	}
	return b.String(), nil
}

func cmdStat(c *cmdCtx) int {
	flags, paths, bad := splitFlags(c.args[1:], "fLt", "c")
	if bad != "" {
		return c.unknownOpt(bad)
	}
	if len(paths) == 0 {
		return c.fail("Need 1 argument (see \"stat --help\")")
	}
	format, custom := flags['c']
	st := 0
	for _, p := range paths {
		fi, err := c.sys.fs.stat(c.abs(p))
		if err != nil {
			st = c.fail("%s: %s", p, errnoText(err))
			continue
		}
		if custom {
			out, err := statFormat(c, format, p, fi)
			if err != nil {
				return c.fail("%v", err)
			}
			c.outf("%s\n", out)
			continue
		}
		ts := fi.mtime.In(c.sys.Location()).Format("2006-01-02 15:04:05.000000000 -0700")
		c.outf("  File: %s\n  Size: %d\t Blocks: %d\t IO Blocks: 4096\t%s\nDevice: fd05h/64773d\t Inode: %d\t Links: %d\nAccess: (%04o/%s%s)\tUid: (%5d/%8s)\tGid: (%5d/%8s)\nAccess: %s\nModify: %s\nChange: %s\n",
			p, fi.size, (fi.size+4095)/4096*8, fileType(fi), statInode(c.abs(p)), fi.links, permBits(fi.mode), fi.typeLetter(), fi.mode,
			idOfName(fi.owner), fi.owner, idOfName(fi.group), fi.group, ts, ts, ts)
	}
	return st
}

// mounts are the file systems df shows, as on a Pixel 3a with Android 11
// (system-as-root): the mount point and df's line for it.
var mounts = []struct{ mountpoint, line string }{
	{"/", "/dev/block/dm-4     2554280 2546424      7856 100% /\n"},
	{"/dev", "tmpfs               1880832    1092   1879740   1% /dev\n"},
	{"/data", "/dev/block/sda45   53159224 9183784  43844368  18% /data\n"},
	{"/storage/emulated", "/dev/fuse          53159224 9183784  43844368  18% /storage/emulated\n"},
}

const dfHeader = "Filesystem       1K-blocks    Used Available Use% Mounted on\n"

func dfLine(i int) string { return mounts[i].line }

// mountOf is the index of the mount holding the canonical path p.
func mountOf(p string) int {
	best, bestLen := 0, 0
	for i, m := range mounts {
		if under(p, m.mountpoint) && len(m.mountpoint) > bestLen {
			best, bestLen = i, len(m.mountpoint)
		}
	}
	return best
}

func cmdDf(c *cmdCtx) int {
	_, paths, bad := splitFlags(c.args[1:], "ahHiklPt", "t")
	if bad != "" {
		return c.unknownOpt(bad)
	}
	if len(paths) == 0 {
		c.outf("%s", dfHeader)
		for i := range mounts {
			c.outf("%s", dfLine(i))
		}
		return 0
	}
	st := 0
	header := false
	for _, p := range paths {
		full := canon(path.Clean(c.abs(p)))
		if _, err := c.sys.fs.stat(full); err != nil {
			st = c.fail("%s: %s", p, errnoText(err))
			continue
		}
		if !header {
			c.outf("%s", dfHeader)
			header = true
		}
		c.outf("%s", dfLine(mountOf(full)))
	}
	return st
}

// chmodMode applies a toybox chmod mode (octal, or [ugoa]*[+-=][rwx]*
// clauses separated by commas) to perm.
func chmodMode(perm uint32, spec string) (uint32, bool) {
	if spec == "" {
		return 0, false
	}
	if n, err := strconv.ParseUint(spec, 8, 32); err == nil {
		return uint32(n) & 0o7777, n <= 0o7777
	}
	for _, clause := range strings.Split(spec, ",") {
		who := uint32(0)
		i := 0
		for ; i < len(clause) && strings.IndexByte("ugoa", clause[i]) >= 0; i++ {
			switch clause[i] {
			case 'u':
				who |= 0o700
			case 'g':
				who |= 0o070
			case 'o':
				who |= 0o007
			case 'a':
				who |= 0o777
			}
		}
		if who == 0 {
			who = 0o777
		}
		if i >= len(clause) || strings.IndexByte("+-=", clause[i]) < 0 {
			return 0, false
		}
		op := clause[i]
		bits := uint32(0)
		for _, ch := range clause[i+1:] {
			switch ch {
			case 'r':
				bits |= 0o444
			case 'w':
				bits |= 0o222
			case 'x':
				bits |= 0o111
			default:
				return 0, false
			}
		}
		bits &= who
		switch op {
		case '+':
			perm |= bits
		case '-':
			perm &^= bits
		case '=':
			perm = perm&^who | bits
		}
	}
	return perm, true
}

// cmdChmod is toybox chmod [-R] MODE FILE...
func cmdChmod(c *cmdCtx) int {
	args := c.args[1:]
	recursive := false
	if len(args) > 0 && args[0] == "-R" {
		recursive, args = true, args[1:]
	}
	if len(args) < 2 {
		return c.fail("Need 2 arguments (see \"chmod --help\")")
	}
	spec := args[0]
	if _, ok := chmodMode(0, spec); !ok {
		return c.fail("bad mode '%s'", spec)
	}
	st := 0
	for _, p := range args[1:] {
		if err := c.sys.fs.chmod(c.abs(p), spec, recursive, c.root()); err != nil {
			var fe *fsError
			if errors.As(err, &fe) && fe.err == errNoEnt {
				st = c.fail("%s: %s", p, errnoText(err))
				continue
			}
			st = c.fail("chmod '%s' to %s: %s", p, spec, errnoText(err))
		}
	}
	return st
}

// chmod changes the permission bits of p (and what is under it).
func (f *fsys) chmod(p, spec string, recursive, root bool) error {
	p = canon(p)
	n := f.lookupLocked(p)
	if n == nil {
		return &fsError{"chmod", p, errNoEnt}
	}
	if under(p, sdcardReal) {
		return nil // sdcardfs keeps its own modes
	}
	if err := f.writable(p, root); err != nil {
		return &fsError{"chmod", p, err}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if !root && n.owner != "shell" {
		return &fsError{"chmod", p, errPerm}
	}
	var apply func(n *fnode)
	apply = func(n *fnode) {
		perm, _ := chmodMode(uint32(permBits(n.mode)), spec)
		n.mode = permString(fs.FileMode(perm & 0o777))
		if recursive {
			for _, ch := range n.children {
				apply(ch)
			}
		}
	}
	apply(n)
	return nil
}
