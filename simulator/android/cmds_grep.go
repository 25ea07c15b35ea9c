package android

import (
	"bufio"
	"bytes"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// grep, and the POSIX regular expressions it takes.

// breToGo converts a POSIX basic regular expression to Go syntax.
func breToGo(p string) string {
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c == '\\' && i+1 < len(p) {
			n := p[i+1]
			i++
			switch n {
			case '(', ')', '{', '}', '|', '+', '?':
				b.WriteByte(n)
			case '<', '>':
				b.WriteString(`\b`)
			default:
				b.WriteByte('\\')
				b.WriteByte(n)
			}
			continue
		}
		switch c {
		case '(', ')', '{', '}', '|', '+', '?':
			b.WriteByte('\\')
			b.WriteByte(c)
		case '*':
			if i == 0 || (i == 1 && p[0] == '^') {
				b.WriteString(`\*`)
			} else {
				b.WriteByte(c)
			}
		case '[':
			// copy the bracket expression verbatim
			j := i + 1
			if j < len(p) && p[j] == '^' {
				j++
			}
			if j < len(p) && p[j] == ']' {
				j++
			}
			for j < len(p) && p[j] != ']' {
				j++
			}
			if j >= len(p) {
				b.WriteString(`\[`)
				continue
			}
			b.WriteString(p[i : j+1])
			i = j
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func cmdGrep(c *cmdCtx) int {
	args := c.args[1:]
	ext := c.args[0] == "egrep"
	fixed := c.args[0] == "fgrep"
	var icase, invert, count, quiet, lineno, onlyMatch, word, whole, listFiles, noName, withName bool
	maxCount := -1
	var patterns []string
	var files []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			files = append(files, args[i+1:]...)
			break
		}
		if strings.HasPrefix(a, "--") {
			switch {
			case a == "--color" || strings.HasPrefix(a, "--color=") || a == "--line-buffered":
			case a == "--ignore-case":
				icase = true
			case strings.HasPrefix(a, "--regexp="):
				patterns = append(patterns, a[len("--regexp="):])
			default:
				return c.unknownOpt(a)
			}
			continue
		}
		if len(a) < 2 || a[0] != '-' {
			files = append(files, a)
			continue
		}
		for j := 1; j < len(a); j++ {
			switch a[j] {
			case 'E':
				ext = true
			case 'F':
				fixed = true
			case 'i':
				icase = true
			case 'v':
				invert = true
			case 'c':
				count = true
			case 'q', 's':
				if a[j] == 'q' {
					quiet = true
				}
			case 'n':
				lineno = true
			case 'o':
				onlyMatch = true
			case 'w':
				word = true
			case 'x':
				whole = true
			case 'l':
				listFiles = true
			case 'h':
				noName = true
			case 'H':
				withName = true
			case 'r', 'R', 'a', 'I', 'z':
			case 'e', 'm', 'A', 'B', 'C', 'f':
				v := a[j+1:]
				if v == "" {
					if i+1 >= len(args) {
						c.errf("grep: Missing argument to -%c (see \"grep --help\")\n", a[j])
						return 2
					}
					i++
					v = args[i]
				}
				switch a[j] {
				case 'e':
					patterns = append(patterns, v)
				case 'm':
					n, err := strconv.Atoi(v)
					if err != nil {
						c.errf("grep: -m: not integer %s\n", v)
						return 2
					}
					maxCount = n
				case 'f':
					data, err := c.readFile(v)
					if err != nil {
						c.errf("grep: %s: %s\n", v, errnoText(err))
						return 2
					}
					patterns = append(patterns, strings.Split(strings.TrimRight(string(data), "\n"), "\n")...)
				}
				j = len(a)
			default:
				c.errf("grep: Unknown option '%c' (see \"grep --help\")\n", a[j])
				return 2
			}
		}
	}
	if len(patterns) == 0 {
		if len(files) == 0 {
			c.errf("usage: grep [-EFHIabchilnoqrsvwxz] [-ABC NUM] [-m MAX] [-e REGEX]... [-MS PATTERN]... [-f REGEXFILE] [FILE]...\n")
			return 2
		}
		patterns, files = []string{files[0]}, files[1:]
	}
	var res []*regexp.Regexp
	for _, p := range patterns {
		expr := p
		switch {
		case fixed:
			expr = regexp.QuoteMeta(p)
		case !ext:
			expr = breToGo(p)
		}
		if word {
			expr = `\b(?:` + expr + `)\b`
		}
		if whole {
			expr = `^(?:` + expr + `)$`
		}
		if icase {
			expr = "(?i)" + expr
		}
		re, err := regexp.Compile(expr)
		if err != nil {
			c.errf("grep: bad REGEX '%s': %v\n", p, err)
			return 2
		}
		res = append(res, re)
	}
	showName := (len(files) > 1 || withName) && !noName
	matched := false
	bw := bufio.NewWriter(c.stdout)
	defer bw.Flush()
	counts := map[string]int{}
	lineNos := map[string]int{}
	listed := map[string]bool{}
	st := c.eachLine(files, func(file, line string) bool {
		lineNos[file]++
		hit := false
		var locs [][]int
		for _, re := range res {
			if onlyMatch && !invert {
				for _, l := range re.FindAllStringIndex(line, -1) {
					if l[1] > l[0] {
						locs = append(locs, l)
					}
				}
				if len(locs) > 0 {
					hit = true
				}
			} else if re.MatchString(line) {
				hit = true
				break
			}
		}
		if hit == invert {
			return true
		}
		matched = true
		if quiet {
			return false
		}
		counts[file]++
		if listFiles {
			if !listed[file] {
				listed[file] = true
				name := file
				if name == "-" {
					name = "(standard input)"
				}
				fmt.Fprintf(bw, "%s\n", name)
			}
			return true
		}
		if !count {
			prefix := ""
			if showName {
				name := file
				if name == "-" {
					name = "(standard input)"
				}
				prefix = name + ":"
			}
			if lineno {
				prefix += strconv.Itoa(lineNos[file]) + ":"
			}
			if onlyMatch && !invert {
				sort.Slice(locs, func(i, j int) bool { return locs[i][0] < locs[j][0] })
				for _, l := range locs {
					fmt.Fprintf(bw, "%s%s\n", prefix, line[l[0]:l[1]])
				}
			} else {
				fmt.Fprintf(bw, "%s%s\n", prefix, line)
			}
			if _, isFile := c.stdout.(*bytes.Buffer); !isFile {
				if err := bw.Flush(); err != nil {
					return false
				}
			}
		}
		if maxCount >= 0 && counts[file] >= maxCount {
			return false
		}
		return true
	})
	if count && !quiet {
		if len(files) == 0 {
			files = []string{"-"}
		}
		for _, f := range files {
			if showName {
				fmt.Fprintf(bw, "%s:%d\n", f, counts[f])
			} else {
				fmt.Fprintf(bw, "%d\n", counts[f])
			}
		}
	}
	if st != 0 && !matched {
		return 2
	}
	if !matched {
		return 1
	}
	return 0
}
