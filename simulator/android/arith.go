package android

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// arith evaluates $((...)) integer expressions: + - * / % ( ) comparisons,
// && || ! and variables.
func (sh *shell) arith(src string) (int64, error) {
	a := &arithParser{src: src, sh: sh}
	v, err := a.expr(0)
	if err != nil {
		return 0, err
	}
	a.skip()
	if a.pos < len(a.src) {
		return 0, fmt.Errorf("%s: unexpected '%s'", strings.TrimSpace(src), a.src[a.pos:])
	}
	return v, nil
}

type arithParser struct {
	src   string
	pos   int
	sh    *shell
	depth int
}

func (a *arithParser) skip() {
	for a.pos < len(a.src) && (a.src[a.pos] == ' ' || a.src[a.pos] == '\t' || a.src[a.pos] == '\n') {
		a.pos++
	}
}

var arithOps = [][]string{
	{"||"}, {"&&"}, {"==", "!="}, {"<=", ">=", "<", ">"}, {"+", "-"}, {"*", "/", "%"},
}

func (a *arithParser) expr(level int) (int64, error) {
	if level >= len(arithOps) {
		return a.unary()
	}
	l, err := a.expr(level + 1)
	if err != nil {
		return 0, err
	}
	for {
		a.skip()
		op := ""
		for _, o := range arithOps[level] {
			if strings.HasPrefix(a.src[a.pos:], o) {
				op = o
				break
			}
		}
		if op == "" {
			return l, nil
		}
		a.pos += len(op)
		r, err := a.expr(level + 1)
		if err != nil {
			return 0, err
		}
		b := func(c bool) int64 {
			if c {
				return 1
			}
			return 0
		}
		switch op {
		case "||":
			l = b(l != 0 || r != 0)
		case "&&":
			l = b(l != 0 && r != 0)
		case "==":
			l = b(l == r)
		case "!=":
			l = b(l != r)
		case "<=":
			l = b(l <= r)
		case ">=":
			l = b(l >= r)
		case "<":
			l = b(l < r)
		case ">":
			l = b(l > r)
		case "+":
			l += r
		case "-":
			l -= r
		case "*":
			l *= r
		case "/", "%":
			if r == 0 {
				return 0, errors.New("divide by zero")
			}
			if op == "/" {
				l /= r
			} else {
				l %= r
			}
		}
	}
}

func (a *arithParser) unary() (int64, error) {
	a.depth++
	defer func() { a.depth-- }()
	if a.depth > 200 {
		return 0, errors.New("expression too deep")
	}
	a.skip()
	if a.pos >= len(a.src) {
		return 0, errors.New("missing expression")
	}
	switch c := a.src[a.pos]; {
	case c == '-' || c == '+' || c == '!':
		a.pos++
		v, err := a.unary()
		if c == '-' {
			v = -v
		} else if c == '!' {
			if v == 0 {
				v = 1
			} else {
				v = 0
			}
		}
		return v, err
	case c == '(':
		a.pos++
		v, err := a.expr(0)
		if err != nil {
			return 0, err
		}
		a.skip()
		if a.pos >= len(a.src) || a.src[a.pos] != ')' {
			return 0, errors.New("missing )")
		}
		a.pos++
		return v, nil
	case c >= '0' && c <= '9':
		j := a.pos
		for j < len(a.src) && isNameChar(a.src[j]) {
			j++
		}
		v, err := strconv.ParseInt(a.src[a.pos:j], 0, 64)
		if err != nil {
			return 0, fmt.Errorf("%s: bad number", a.src[a.pos:j])
		}
		a.pos = j
		return v, nil
	case c == '$' || isNameStart(c):
		if c == '$' {
			a.pos++
		}
		j := a.pos
		for j < len(a.src) && isNameChar(a.src[j]) {
			j++
		}
		if j == a.pos && j < len(a.src) {
			j++
		}
		name := a.src[a.pos:j]
		a.pos = j
		v, _ := a.sh.getVar(name)
		if strings.TrimSpace(v) == "" {
			return 0, nil
		}
		n, err := strconv.ParseInt(strings.TrimSpace(v), 0, 64)
		if err != nil {
			return 0, fmt.Errorf("%s: bad number", v)
		}
		return n, nil
	}
	return 0, fmt.Errorf("unexpected '%c'", a.src[a.pos])
}
