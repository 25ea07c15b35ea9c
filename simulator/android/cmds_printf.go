package android

import (
	"fmt"
	"io"
	"strconv"
	"strings"
)

// printf and its format and escape handling.

func cmdPrintf(c *cmdCtx) int {
	if len(c.args) < 2 {
		c.errf("printf: Needs 1 argument\n")
		return 1
	}
	format, args := c.args[1], c.args[2:]
	var b strings.Builder
	st := 0
	for {
		used, stop, err := printfOnce(&b, format, args)
		if err != nil {
			c.fail("%v", err)
			st = 1
		}
		args = args[used:]
		if stop || used == 0 || len(args) == 0 {
			break
		}
	}
	io.WriteString(c.stdout, b.String())
	return st
}

func printfOnce(b *strings.Builder, format string, args []string) (used int, stop bool, err error) {
	next := func() (string, bool) {
		if used < len(args) {
			used++
			return args[used-1], true
		}
		return "", false
	}
	for i := 0; i < len(format); i++ {
		ch := format[i]
		if ch == '\\' {
			str, next, more := printfEscape(format, i)
			b.WriteString(str)
			if !more {
				return used, true, err
			}
			i = next - 1
			continue
		}
		if ch != '%' {
			b.WriteByte(ch)
			continue
		}
		j := i + 1
		for j < len(format) && strings.IndexByte("-+ #0123456789.", format[j]) >= 0 {
			j++
		}
		if j >= len(format) {
			b.WriteString(format[i:])
			return used, false, err
		}
		spec := format[i+1 : j]
		verb := format[j]
		i = j
		switch verb {
		case '%':
			b.WriteByte('%')
		case 's':
			a, _ := next()
			fmt.Fprintf(b, "%"+spec+"s", a)
		case 'b':
			a, _ := next()
			s, more := echoEscapes(a)
			fmt.Fprintf(b, "%"+spec+"s", s)
			if !more {
				return used, true, err
			}
		case 'c':
			a, _ := next()
			if a != "" {
				b.WriteByte(a[0])
			}
		case 'd', 'i', 'u', 'x', 'X', 'o':
			a, _ := next()
			n, perr := parsePrintfInt(a)
			if perr != nil {
				err = perr
			}
			v := verb
			if v == 'i' || v == 'u' {
				v = 'd'
			}
			fmt.Fprintf(b, "%"+spec+string(v), n)
		case 'f', 'e', 'E', 'g', 'G':
			a, _ := next()
			f, perr := strconv.ParseFloat(strings.TrimSpace(a), 64)
			if perr != nil && a != "" {
				err = fmt.Errorf("invalid number '%s'", a)
			}
			fmt.Fprintf(b, "%"+spec+string(verb), f)
		default:
			return used, true, fmt.Errorf("bad %%%c", verb)
		}
	}
	return used, false, err
}

func parsePrintfInt(a string) (int64, error) {
	a = strings.TrimSpace(a)
	if a == "" {
		return 0, nil
	}
	if len(a) > 1 && (a[0] == '\'' || a[0] == '"') {
		return int64(a[1]), nil
	}
	n, err := strconv.ParseInt(a, 0, 64)
	if err != nil {
		return 0, fmt.Errorf("invalid number '%s'", a)
	}
	return n, nil
}

func printfEscape(format string, i int) (string, int, bool) {
	if i+1 >= len(format) {
		return "\\", i + 1, true
	}
	c := format[i+1]
	if c >= '0' && c <= '7' {
		v, j := 0, i+1
		for ; j < len(format) && j < i+4 && format[j] >= '0' && format[j] <= '7'; j++ {
			v = v*8 + int(format[j]-'0')
		}
		return string([]byte{byte(v)}), j, true
	}
	switch c {
	case 'c':
		return "", i + 2, false
	case '"', '\'':
		return string(c), i + 2, true
	}
	s, _ := echoEscapes(format[i : i+2])
	return s, i + 2, true
}
