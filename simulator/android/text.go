package android

import (
	"bufio"
	"bytes"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// numArg parses -n N / -N / -nN forms for head and tail.
func numArg(args []string, def int) (n int, plus bool, files []string, bad string) {
	n = def
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "-n" || a == "-c":
			if i+1 >= len(args) {
				return n, plus, files, a
			}
			i++
			a = args[i]
			if strings.HasPrefix(a, "+") {
				plus = true
			}
			v, err := strconv.Atoi(strings.TrimPrefix(strings.TrimPrefix(a, "+"), "-"))
			if err != nil {
				return n, plus, files, a
			}
			n = v
		case strings.HasPrefix(a, "-n"):
			v, err := strconv.Atoi(strings.TrimPrefix(a[2:], "+"))
			if err != nil {
				return n, plus, files, a
			}
			plus = strings.HasPrefix(a[2:], "+")
			n = v
		case len(a) > 1 && a[0] == '-' && a[1] >= '0' && a[1] <= '9':
			v, err := strconv.Atoi(a[1:])
			if err != nil {
				return n, plus, files, a
			}
			n = v
		case a == "-q" || a == "-v" || a == "-f" || a == "-F":
		case len(a) > 1 && a[0] == '-':
			return n, plus, files, a
		default:
			files = append(files, a)
		}
	}
	return
}

func cmdHead(c *cmdCtx) int {
	n, _, files, bad := numArg(c.args[1:], 10)
	if bad != "" {
		return c.unknownOpt(bad)
	}
	i := 0
	w := bufio.NewWriter(c.stdout)
	defer w.Flush()
	if n == 0 {
		return 0
	}
	return c.eachLine(files, func(_, line string) bool {
		fmt.Fprintf(w, "%s\n", line)
		i++
		return i < n
	})
}

func cmdTail(c *cmdCtx) int {
	n, plus, files, bad := numArg(c.args[1:], 10)
	if bad != "" {
		return c.unknownOpt(bad)
	}
	var ring []string
	i := 0
	st := c.eachLine(files, func(_, line string) bool {
		i++
		if plus {
			if i >= n {
				ring = append(ring, line)
			}
			return true
		}
		ring = append(ring, line)
		if len(ring) > n {
			ring = ring[1:]
		}
		return true
	})
	w := bufio.NewWriter(c.stdout)
	defer w.Flush()
	for _, l := range ring {
		fmt.Fprintf(w, "%s\n", l)
	}
	return st
}

func cmdWc(c *cmdCtx) int {
	flags, files, bad := splitFlags(c.args[1:], "lwcmL", "")
	if bad != "" {
		return c.unknownOpt(bad)
	}
	if len(files) == 0 {
		files = []string{"-"}
	}
	_, fl := flags['l']
	_, fw := flags['w']
	_, fc := flags['c']
	_, fm := flags['m']
	if !fl && !fw && !fc && !fm {
		fl, fw, fc = true, true, true
	}
	st := 0
	var tl, tw, tc int
	for _, f := range files {
		var data []byte
		var err error
		if f == "-" {
			data, err = io_ReadAllCtx(c.ctx, c.stdin)
		} else {
			data, err = c.readFile(f)
		}
		if err != nil {
			c.fail("%s: %s", f, errnoText(err))
			st = 1
			continue
		}
		l, w, ch := bytes.Count(data, []byte("\n")), len(strings.Fields(string(data))), len(data)
		if fm {
			ch = len([]rune(string(data)))
		}
		tl, tw, tc = tl+l, tw+w, tc+ch
		var parts []string
		if fl {
			parts = append(parts, strconv.Itoa(l))
		}
		if fw {
			parts = append(parts, strconv.Itoa(w))
		}
		if fc || fm {
			parts = append(parts, strconv.Itoa(ch))
		}
		line := strings.Join(parts, " ")
		if len(parts) > 1 {
			line = ""
			for _, p := range parts {
				line += fmt.Sprintf("%7s ", p)
			}
			line = strings.TrimRight(line, " ")
		}
		if f != "-" {
			line += " " + f
		}
		c.outf("%s\n", line)
	}
	if len(files) > 1 {
		c.outf("%d %d %d total\n", tl, tw, tc)
	}
	return st
}

func cmdSort(c *cmdCtx) int {
	flags, files, bad := splitFlags(c.args[1:], "nrufbdisMcC", "ktoT")
	if bad != "" {
		return c.unknownOpt(bad)
	}
	var lines []string
	st := c.eachLine(files, func(_, l string) bool { lines = append(lines, l); return true })
	_, numeric := flags['n']
	_, rev := flags['r']
	_, uniq := flags['u']
	_, fold := flags['f']
	key := 0
	if k, ok := flags['k']; ok {
		n, err := strconv.Atoi(strings.SplitN(k, ",", 2)[0])
		if err != nil || n < 1 {
			return c.fail("bad -k '%s'", k)
		}
		key = n
	}
	sep, hasSep := flags['t']
	keyOf := func(l string) string {
		if key == 0 {
			return l
		}
		var fs []string
		if hasSep && sep != "" {
			fs = strings.Split(l, sep[:1])
		} else {
			fs = strings.Fields(l)
		}
		if key-1 < len(fs) {
			return strings.Join(fs[key-1:], " ")
		}
		return ""
	}
	less := func(a, b string) bool {
		ka, kb := keyOf(a), keyOf(b)
		if numeric {
			na, _ := strconv.ParseFloat(leadingNumber(ka), 64)
			nb, _ := strconv.ParseFloat(leadingNumber(kb), 64)
			if na != nb {
				return na < nb
			}
			return a < b
		}
		if fold {
			ka, kb = strings.ToLower(ka), strings.ToLower(kb)
		}
		if ka != kb {
			return ka < kb
		}
		return a < b
	}
	sort.SliceStable(lines, func(i, j int) bool {
		if rev {
			return less(lines[j], lines[i])
		}
		return less(lines[i], lines[j])
	})
	w := bufio.NewWriter(c.stdout)
	defer w.Flush()
	for i, l := range lines {
		if uniq && i > 0 && keyOf(lines[i-1]) == keyOf(l) {
			continue
		}
		fmt.Fprintf(w, "%s\n", l)
	}
	return st
}

func leadingNumber(s string) string {
	s = strings.TrimSpace(s)
	i := 0
	if i < len(s) && (s[i] == '-' || s[i] == '+') {
		i++
	}
	for i < len(s) && ((s[i] >= '0' && s[i] <= '9') || s[i] == '.') {
		i++
	}
	return s[:i]
}

// parseRanges parses cut lists like "1,3-5,7-".
func parseRanges(s string) ([][2]int, bool) {
	var out [][2]int
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, b := 1, 1<<30
		var err error
		if lo != "" {
			if a, err = strconv.Atoi(lo); err != nil || a < 1 {
				return nil, false
			}
		}
		if !isRange {
			b = a
		} else if hi != "" {
			if b, err = strconv.Atoi(hi); err != nil || b < a {
				return nil, false
			}
		}
		out = append(out, [2]int{a, b})
	}
	return out, true
}

func inRanges(rs [][2]int, i int) bool {
	for _, r := range rs {
		if i >= r[0] && i <= r[1] {
			return true
		}
	}
	return false
}

func cmdCut(c *cmdCtx) int {
	flags, files, bad := splitFlags(c.args[1:], "sn", "dfcb")
	if bad != "" {
		return c.unknownOpt(bad)
	}
	delim := "\t"
	if d, ok := flags['d']; ok {
		delim = d
		if delim == "" {
			delim = "\n"
		}
		delim = delim[:1]
	}
	_, onlyDelim := flags['s']
	var spec string
	mode := byte(0)
	for _, m := range []byte{'f', 'c', 'b'} {
		if v, ok := flags[m]; ok {
			spec, mode = v, m
		}
	}
	if mode == 0 {
		c.errf("cut: Needs -fcb\n")
		return 1
	}
	rs, ok := parseRanges(spec)
	if !ok {
		return c.fail("bad list '%s'", spec)
	}
	w := bufio.NewWriter(c.stdout)
	defer w.Flush()
	return c.eachLine(files, func(_, line string) bool {
		if mode == 'f' {
			if !strings.Contains(line, delim) {
				if !onlyDelim {
					fmt.Fprintf(w, "%s\n", line)
				}
				return true
			}
			var out []string
			for i, f := range strings.Split(line, delim) {
				if inRanges(rs, i+1) {
					out = append(out, f)
				}
			}
			fmt.Fprintf(w, "%s\n", strings.Join(out, delim))
			return true
		}
		var b strings.Builder
		for i := 0; i < len(line); i++ {
			if inRanges(rs, i+1) {
				b.WriteByte(line[i])
			}
		}
		fmt.Fprintf(w, "%s\n", b.String())
		return true
	})
}

func cmdUniq(c *cmdCtx) int {
	flags, files, bad := splitFlags(c.args[1:], "cdui", "fsw")
	if bad != "" {
		return c.unknownOpt(bad)
	}
	_, cnt := flags['c']
	_, dup := flags['d']
	_, uni := flags['u']
	w := bufio.NewWriter(c.stdout)
	defer w.Flush()
	var prev string
	n := 0
	emit := func() {
		if n == 0 || (dup && n < 2) || (uni && n > 1) {
			return
		}
		if cnt {
			fmt.Fprintf(w, "%7d %s\n", n, prev)
		} else {
			fmt.Fprintf(w, "%s\n", prev)
		}
	}
	st := c.eachLine(files, func(_, l string) bool {
		if n > 0 && l == prev {
			n++
			return true
		}
		emit()
		prev, n = l, 1
		return true
	})
	emit()
	return st
}

func expandTrSet(s string) []rune {
	rs := []rune(s)
	var out []rune
	for i := 0; i < len(rs); i++ {
		if rs[i] == '\\' && i+1 < len(rs) {
			i++
			switch {
			case rs[i] == 'n':
				out = append(out, '\n')
			case rs[i] == 't':
				out = append(out, '\t')
			case rs[i] == 'r':
				out = append(out, '\r')
			case rs[i] >= '0' && rs[i] <= '7':
				v, j := 0, i
				for ; j < len(rs) && j < i+3 && rs[j] >= '0' && rs[j] <= '7'; j++ {
					v = v*8 + int(rs[j]-'0')
				}
				out = append(out, rune(v))
				i = j - 1
			default:
				out = append(out, rs[i])
			}
			continue
		}
		if i+2 < len(rs) && rs[i+1] == '-' && rs[i+2] >= rs[i] && rs[i+2]-rs[i] < 4096 {
			for r := rs[i]; r <= rs[i+2]; r++ {
				out = append(out, r)
			}
			i += 2
			continue
		}
		out = append(out, rs[i])
	}
	return out
}

func cmdTr(c *cmdCtx) int {
	flags, sets, bad := splitFlags(c.args[1:], "dsc", "")
	if bad != "" {
		return c.unknownOpt(bad)
	}
	_, del := flags['d']
	_, squeeze := flags['s']
	if len(sets) == 0 || (!del && !squeeze && len(sets) < 2) {
		c.errf("tr: Needs 2 arguments\n")
		return 1
	}
	from := expandTrSet(sets[0])
	var to []rune
	if len(sets) > 1 {
		to = expandTrSet(sets[1])
	}
	data, err := io_ReadAllCtx(c.ctx, c.stdin)
	if err != nil {
		return 1
	}
	var b strings.Builder
	var last rune = -1
	for _, r := range string(data) {
		idx := -1
		for i, f := range from {
			if f == r {
				idx = i
				break
			}
		}
		if idx >= 0 {
			if del {
				continue
			}
			if len(to) > 0 {
				if idx >= len(to) {
					idx = len(to) - 1
				}
				r = to[idx]
			}
			if squeeze && r == last {
				continue
			}
		}
		b.WriteRune(r)
		last = r
	}
	c.outf("%s", b.String())
	return 0
}

func cmdTee(c *cmdCtx) int {
	flags, files, bad := splitFlags(c.args[1:], "ai", "")
	if bad != "" {
		return c.unknownOpt(bad)
	}
	_, appendTo := flags['a']
	st := 0
	for _, f := range files {
		if err := c.writeFile(f, nil, appendTo); err != nil {
			c.fail("%s: %s", f, errnoText(err))
			st = 1
		}
	}
	buf := make([]byte, 32*1024)
	for c.ctx.Err() == nil {
		n, err := c.stdin.Read(buf)
		if n > 0 {
			if _, werr := c.stdout.Write(buf[:n]); werr != nil {
				return 1
			}
			for _, f := range files {
				_ = c.writeFile(f, buf[:n], true)
			}
		}
		if err != nil {
			break
		}
	}
	return st
}

func cmdXargs(c *cmdCtx) int {
	args := c.args[1:]
	maxArgs := 0
	for len(args) > 0 && strings.HasPrefix(args[0], "-") {
		if args[0] == "-n" && len(args) > 1 {
			n, err := strconv.Atoi(args[1])
			if err != nil || n < 1 {
				return c.fail("bad -n '%s'", args[1])
			}
			maxArgs = n
			args = args[2:]
			continue
		}
		args = args[1:]
	}
	if len(args) == 0 {
		args = []string{"echo"}
	}
	data, err := io_ReadAllCtx(c.ctx, c.stdin)
	if err != nil {
		return 1
	}
	items := strings.Fields(string(data))
	st := 0
	run := func(batch []string) {
		argv := append(append([]string(nil), args...), batch...)
		if r := c.sh.dispatch(c.ctx, argv, c.env, ioTable{in: strings.NewReader(""), out: c.stdout, err: c.stderr}); r != 0 {
			st = 123
		}
	}
	if maxArgs == 0 {
		run(items)
		return st
	}
	for len(items) > 0 {
		n := min(maxArgs, len(items))
		run(items[:n])
		items = items[n:]
	}
	return st
}
