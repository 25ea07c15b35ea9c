package android

import (
	"bufio"
	"context"
	"io"
	"path"
	"strconv"
	"strings"
)

// File utilities: sh, cat, ls, rm, rmdir, mkdir, touch, cp, mv, stat.

func cmdSh(c *cmdCtx) int {
	args := c.args[1:]
	sub := c.sh.sub(c.proc)
	// a new shell sees only the environment
	sub.vars = map[string]string{}
	for k := range sub.exported {
		if v, ok := c.sh.vars[k]; ok {
			sub.vars[k] = v
		}
	}
	for k, v := range c.env {
		sub.vars[k] = v
		sub.exported[k] = true
	}
	sub.params = []string{"sh"}
	tio := ioTable{in: c.stdin, out: c.stdout, err: c.stderr}
	for len(args) > 0 && strings.HasPrefix(args[0], "-") && args[0] != "-c" {
		args = args[1:]
	}
	if len(args) > 0 && args[0] == "-c" {
		if len(args) < 2 {
			c.errf("%s: -c: option requires an argument\n", shName)
			return 1
		}
		if len(args) > 2 {
			sub.params = append([]string{args[2]}, args[3:]...)
		}
		st := sub.runSource(c.ctx, args[1], tio)
		sub.finish()
		return st
	}
	var src []byte
	var err error
	if len(args) > 0 {
		src, err = c.readFile(args[0])
		if err != nil {
			c.errf("%s: %s: No such file or directory\n", shName, args[0])
			return 127
		}
		sub.params = args
	} else {
		src, err = io_ReadAllCtx(c.ctx, c.stdin)
		if err != nil {
			return 1
		}
	}
	st := sub.runSource(c.ctx, string(src), tio)
	sub.finish()
	return st
}

// io_ReadAllCtx reads r to the end or until ctx is done.
func io_ReadAllCtx(ctx context.Context, r io.Reader) ([]byte, error) {
	type res struct {
		b   []byte
		err error
	}
	ch := make(chan res, 1)
	go func() {
		b, err := io.ReadAll(r)
		ch <- res{b, err}
	}()
	select {
	case x := <-ch:
		return x.b, x.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// lines calls fn for each line of the named files (or stdin), stopping
// when fn returns false or the command is cancelled.
func (c *cmdCtx) eachLine(files []string, fn func(file, line string) bool) int {
	st := 0
	if len(files) == 0 {
		files = []string{"-"}
	}
	for _, f := range files {
		var r io.Reader
		if f == "-" {
			r = c.stdin
		} else {
			data, err := c.readFile(f)
			if err != nil {
				c.fail("%s: %s", f, errnoText(err))
				st = 1
				continue
			}
			r = strings.NewReader(string(data))
		}
		br := bufio.NewReaderSize(r, 64*1024)
		for {
			if c.ctx.Err() != nil {
				return st
			}
			line, err := br.ReadString('\n')
			if line != "" {
				if !fn(f, strings.TrimSuffix(line, "\n")) {
					return st
				}
			}
			if err != nil {
				break
			}
		}
	}
	return st
}

func cmdCat(c *cmdCtx) int {
	_, files, bad := splitFlags(c.args[1:], "uvtenAbs", "")
	if bad != "" {
		return c.unknownOpt(bad)
	}
	if len(files) == 0 {
		files = []string{"-"}
	}
	st := 0
	for _, f := range files {
		if f == "-" {
			if _, err := copyCtx(c.ctx, c.stdout, c.stdin); err != nil {
				return 1
			}
			continue
		}
		data, err := c.readFile(f)
		if err != nil {
			c.fail("%s: %s", f, errnoText(err))
			st = 1
			continue
		}
		if _, err := c.stdout.Write(data); err != nil {
			return 1
		}
	}
	return st
}

// copyCtx copies until EOF, a write error or cancellation.
func copyCtx(ctx context.Context, w io.Writer, r io.Reader) (int64, error) {
	buf := make([]byte, 32*1024)
	var n int64
	for {
		if ctx.Err() != nil {
			return n, ctx.Err()
		}
		k, err := r.Read(buf)
		if k > 0 {
			if _, werr := w.Write(buf[:k]); werr != nil {
				return n, werr
			}
			n += int64(k)
		}
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}

func cmdLs(c *cmdCtx) int {
	flags, paths, bad := splitFlags(c.args[1:], "laAdR1htrSFnCix", "")
	if bad != "" {
		return c.unknownOpt(bad)
	}
	_, long := flags['l']
	_, all := flags['a']
	_, almost := flags['A']
	_, dirOnly := flags['d']
	_, numeric := flags['n']
	if len(paths) == 0 {
		paths = []string{"."}
	}
	st := 0
	type group struct {
		title string
		ents  []finfo
		dir   bool
	}
	var files []finfo
	var groups []group
	for _, p := range paths {
		ap := c.abs(p)
		fi, err := c.sys.fs.stat(ap)
		if err != nil {
			c.fail("%s: %s", p, errnoText(err))
			st = 1
			continue
		}
		if !fi.dir || dirOnly {
			fi.name = p
			files = append(files, fi)
			continue
		}
		ents, err := c.sys.fs.list(ap, c.root())
		if err != nil {
			c.fail("%s: %s", p, errnoText(err))
			st = 1
			continue
		}
		var shown []finfo
		if all {
			self := fi
			self.name = "."
			parent := fi
			parent.name = ".."
			shown = append(shown, self, parent)
		}
		for _, e := range ents {
			if strings.HasPrefix(e.name, ".") && !all && !almost {
				continue
			}
			shown = append(shown, e)
		}
		groups = append(groups, group{title: p, ents: shown, dir: true})
	}
	now := c.sys.clock.Now()
	_ = now
	loc := c.sys.Location()
	render := func(ents []finfo, total bool) {
		if !long {
			for _, e := range ents {
				c.outf("%s\n", e.name)
			}
			return
		}
		wl, wo, wg, ws := 1, 1, 1, 1
		blocks := 0
		for _, e := range ents {
			o, g := e.owner, e.group
			if numeric {
				o, g = strconv.Itoa(uidOfName(o)), strconv.Itoa(uidOfName(g))
			}
			wl = max(wl, len(strconv.Itoa(e.links)))
			wo = max(wo, len(o))
			wg = max(wg, len(g))
			ws = max(ws, len(strconv.Itoa(e.size)))
			blocks += (e.size + 4095) / 4096 * 4
		}
		if total {
			c.outf("total %d\n", blocks)
		}
		for _, e := range ents {
			t := "-"
			if e.dir {
				t = "d"
			}
			o, g := e.owner, e.group
			if numeric {
				o, g = strconv.Itoa(uidOfName(o)), strconv.Itoa(uidOfName(g))
			}
			c.outf("%s%s %*d %-*s %-*s %*d %s %s\n", t, e.mode, wl, e.links, wo, o, wg, g, ws, e.size,
				e.mtime.In(loc).Format("2006-01-02 15:04"), e.name)
		}
	}
	if len(files) > 0 {
		render(files, false)
	}
	for i, g := range groups {
		if len(groups) > 1 || len(files) > 0 {
			if i > 0 || len(files) > 0 {
				c.outf("\n")
			}
			c.outf("%s:\n", g.title)
		}
		render(g.ents, true)
	}
	return st
}

func cmdRm(c *cmdCtx) int {
	flags, paths, bad := splitFlags(c.args[1:], "rRfiv", "")
	if bad != "" {
		return c.unknownOpt(bad)
	}
	_, r1 := flags['r']
	_, r2 := flags['R']
	_, force := flags['f']
	if len(paths) == 0 {
		if force {
			return 0
		}
		c.errf("rm: Needs 1 argument\n")
		return 1
	}
	st := 0
	for _, p := range paths {
		if err := c.sys.fs.remove(c.abs(p), r1 || r2, c.root()); err != nil {
			if force && errnoText(err) == errNoEnt.Error() {
				continue
			}
			c.fail("%s: %s", p, errnoText(err))
			st = 1
		}
	}
	return st
}

func cmdRmdir(c *cmdCtx) int {
	st := 0
	for _, p := range c.args[1:] {
		if strings.HasPrefix(p, "-") {
			continue
		}
		if err := c.sys.fs.rmdir(c.abs(p), c.root()); err != nil {
			c.fail("%s: %s", p, errnoText(err))
			st = 1
		}
	}
	return st
}

func cmdMkdir(c *cmdCtx) int {
	flags, paths, bad := splitFlags(c.args[1:], "pv", "mZ")
	if bad != "" {
		return c.unknownOpt(bad)
	}
	_, parents := flags['p']
	if len(paths) == 0 {
		c.errf("mkdir: Needs 1 argument\n")
		return 1
	}
	st := 0
	for _, p := range paths {
		if err := c.sys.fs.mkdir(c.abs(p), parents, c.root()); err != nil {
			c.fail("'%s': %s", p, errnoText(err))
			st = 1
		}
	}
	return st
}

func cmdTouch(c *cmdCtx) int {
	_, paths, bad := splitFlags(c.args[1:], "acmh", "dtr")
	if bad != "" {
		return c.unknownOpt(bad)
	}
	if len(paths) == 0 {
		c.errf("touch: Needs 1 argument\n")
		return 1
	}
	st := 0
	for _, p := range paths {
		if err := c.sys.fs.touch(c.abs(p), c.root()); err != nil {
			c.fail("'%s': %s", p, errnoText(err))
			st = 1
		}
	}
	return st
}

func cmdCp(c *cmdCtx) int {
	_, paths, bad := splitFlags(c.args[1:], "rRfpaivndlsuHLPF", "")
	if bad != "" {
		return c.unknownOpt(bad)
	}
	if len(paths) < 2 {
		c.errf("cp: Needs 2 arguments\n")
		return 1
	}
	dst := paths[len(paths)-1]
	st := 0
	for _, src := range paths[:len(paths)-1] {
		data, err := c.readFile(src)
		if err != nil {
			c.fail("%s: %s", src, errnoText(err))
			st = 1
			continue
		}
		target := c.abs(dst)
		if fi, err := c.sys.fs.stat(target); err == nil && fi.dir {
			target = path.Join(target, path.Base(src))
		}
		if err := c.sys.fs.writeFile(target, data, false, c.root()); err != nil {
			c.fail("'%s': %s", dst, errnoText(err))
			st = 1
		}
	}
	return st
}

func cmdMv(c *cmdCtx) int {
	if st := cmdCp(c); st != 0 {
		return st
	}
	_, paths, _ := splitFlags(c.args[1:], "fivnT", "")
	for _, src := range paths[:len(paths)-1] {
		_ = c.sys.fs.remove(c.abs(src), true, c.root())
	}
	return 0
}
