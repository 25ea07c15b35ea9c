package android

import (
	"fmt"
	"strings"
)

// The shell lexer: tokens, words with their quoted and expandable parts,
// redirection operators.

type tokKind int

const (
	tokEOF tokKind = iota
	tokWord
	tokOp    // ; & && || | ;; ( ) newline
	tokRedir // redirection operator with fd
)

type token struct {
	kind tokKind
	w    *word
	op   string
	fd   int
}

type syntaxError struct{ msg string }

func (e *syntaxError) Error() string { return e.msg }

type lexer struct {
	src  string
	pos  int
	toks []token
}

const maxNesting = 64

func isNameStart(c byte) bool { return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') }
func isNameChar(c byte) bool  { return isNameStart(c) || (c >= '0' && c <= '9') }

func lex(src string, depth int) ([]token, error) {
	if depth > maxNesting {
		return nil, &syntaxError{"syntax error: nesting too deep"}
	}
	l := &lexer{src: src}
	for {
		t, err := l.next(depth)
		if err != nil {
			return nil, err
		}
		l.toks = append(l.toks, t)
		if t.kind == tokEOF {
			return l.toks, nil
		}
	}
}

func (l *lexer) peekc(off int) byte {
	if l.pos+off < len(l.src) {
		return l.src[l.pos+off]
	}
	return 0
}

func (l *lexer) next(depth int) (token, error) {
	// skip blanks, comments and line continuations
	for l.pos < len(l.src) {
		c := l.src[l.pos]
		if c == ' ' || c == '\t' || c == '\r' {
			l.pos++
			continue
		}
		if c == '\\' && l.peekc(1) == '\n' {
			l.pos += 2
			continue
		}
		if c == '#' {
			for l.pos < len(l.src) && l.src[l.pos] != '\n' {
				l.pos++
			}
			continue
		}
		break
	}
	if l.pos >= len(l.src) {
		return token{kind: tokEOF}, nil
	}
	c := l.src[l.pos]
	switch c {
	case '\n':
		l.pos++
		return token{kind: tokOp, op: "\n"}, nil
	case ';':
		if l.peekc(1) == ';' {
			l.pos += 2
			return token{kind: tokOp, op: ";;"}, nil
		}
		l.pos++
		return token{kind: tokOp, op: ";"}, nil
	case '&':
		if l.peekc(1) == '&' {
			l.pos += 2
			return token{kind: tokOp, op: "&&"}, nil
		}
		if l.peekc(1) == '>' {
			l.pos += 2
			return token{kind: tokRedir, op: "&>", fd: 1}, nil
		}
		l.pos++
		return token{kind: tokOp, op: "&"}, nil
	case '|':
		if l.peekc(1) == '|' {
			l.pos += 2
			return token{kind: tokOp, op: "||"}, nil
		}
		l.pos++
		return token{kind: tokOp, op: "|"}, nil
	case '(', ')':
		l.pos++
		return token{kind: tokOp, op: string(c)}, nil
	case '<', '>':
		return l.redirOp(-1)
	}
	// fd-number redirection: digits immediately followed by < or >
	j := l.pos
	for j < len(l.src) && l.src[j] >= '0' && l.src[j] <= '9' {
		j++
	}
	if j > l.pos && j-l.pos <= 2 && j < len(l.src) && (l.src[j] == '<' || l.src[j] == '>') {
		fd := 0
		for _, d := range l.src[l.pos:j] {
			fd = fd*10 + int(d-'0')
		}
		l.pos = j
		return l.redirOp(fd)
	}
	w, err := l.word(depth)
	if err != nil {
		return token{}, err
	}
	return token{kind: tokWord, w: w}, nil
}

func (l *lexer) redirOp(fd int) (token, error) {
	c := l.src[l.pos]
	op := ""
	switch {
	case strings.HasPrefix(l.src[l.pos:], "<<<"):
		op = "<<<"
	case strings.HasPrefix(l.src[l.pos:], "<<"):
		return token{}, &syntaxError{"here documents are not supported"}
	case strings.HasPrefix(l.src[l.pos:], ">>"):
		op = ">>"
	case strings.HasPrefix(l.src[l.pos:], ">&"), strings.HasPrefix(l.src[l.pos:], "<&"):
		op = l.src[l.pos : l.pos+2]
	case strings.HasPrefix(l.src[l.pos:], ">|"):
		op = ">"
		l.pos++
	case strings.HasPrefix(l.src[l.pos:], "<>"):
		op = "<"
		l.pos++
	default:
		op = string(c)
	}
	if op == ">|" {
		op = ">"
	}
	l.pos += len(op)
	if op == ">" && fd < 0 {
		fd = 1
	}
	if fd < 0 {
		if op[0] == '<' {
			fd = 0
		} else {
			fd = 1
		}
	}
	return token{kind: tokRedir, op: op, fd: fd}, nil
}

// word reads one shell word.
func (l *lexer) word(depth int) (*word, error) {
	w := &word{}
	var lit strings.Builder
	flush := func(quoted bool) {
		if lit.Len() > 0 || quoted {
			w.parts = append(w.parts, wordPart{kind: partLit, text: lit.String(), quoted: quoted})
			lit.Reset()
		}
	}
	for l.pos < len(l.src) {
		c := l.src[l.pos]
		switch c {
		case ' ', '\t', '\r', '\n', ';', '&', '|', '<', '>', '(', ')':
			flush(false)
			return w, nil
		case '\\':
			if l.pos+1 >= len(l.src) {
				l.pos++
				continue
			}
			flush(false)
			if l.src[l.pos+1] == '\n' {
				l.pos += 2
				continue
			}
			lit.WriteByte(l.src[l.pos+1])
			l.pos += 2
			flush(true)
		case '\'':
			flush(false)
			end := strings.IndexByte(l.src[l.pos+1:], '\'')
			if end < 0 {
				return nil, &syntaxError{"no closing quote"}
			}
			lit.WriteString(l.src[l.pos+1 : l.pos+1+end])
			l.pos += end + 2
			flush(true)
		case '"':
			flush(false)
			l.pos++
			if err := l.dquote(w, depth); err != nil {
				return nil, err
			}
		case '$':
			p, ok, err := l.dollar(false, depth)
			if err != nil {
				return nil, err
			}
			if !ok {
				lit.WriteByte('$')
				l.pos++
				continue
			}
			flush(false)
			w.parts = append(w.parts, p)
		case '`':
			flush(false)
			p, err := l.backquote(false, depth)
			if err != nil {
				return nil, err
			}
			w.parts = append(w.parts, p)
		default:
			lit.WriteByte(c)
			l.pos++
		}
	}
	flush(false)
	return w, nil
}

func (l *lexer) dquote(w *word, depth int) error {
	var lit strings.Builder
	empty := true
	flush := func() {
		if lit.Len() > 0 {
			w.parts = append(w.parts, wordPart{kind: partLit, text: lit.String(), quoted: true})
			lit.Reset()
			empty = false
		}
	}
	for l.pos < len(l.src) {
		c := l.src[l.pos]
		switch c {
		case '"':
			l.pos++
			flush()
			if empty {
				w.parts = append(w.parts, wordPart{kind: partLit, quoted: true})
			}
			return nil
		case '\\':
			n := l.peekc(1)
			switch n {
			case '$', '`', '"', '\\':
				lit.WriteByte(n)
				l.pos += 2
			case '\n':
				l.pos += 2
			default:
				lit.WriteByte('\\')
				l.pos++
			}
		case '$':
			p, ok, err := l.dollar(true, depth)
			if err != nil {
				return err
			}
			if !ok {
				lit.WriteByte('$')
				l.pos++
				continue
			}
			flush()
			w.parts = append(w.parts, p)
			empty = false
		case '`':
			flush()
			p, err := l.backquote(true, depth)
			if err != nil {
				return err
			}
			w.parts = append(w.parts, p)
			empty = false
		default:
			lit.WriteByte(c)
			l.pos++
		}
	}
	return &syntaxError{"no closing quote"}
}

// dollar parses an expansion at l.pos ('$'); ok is false for a lone '$'.
func (l *lexer) dollar(quoted bool, depth int) (wordPart, bool, error) {
	n := l.peekc(1)
	switch {
	case n == '(':
		if l.peekc(2) == '(' {
			end, err := matchParen(l.src, l.pos+2)
			if err != nil {
				return wordPart{}, false, err
			}
			src := l.src[l.pos+3 : end]
			if end+1 < len(l.src) && l.src[end+1] == ')' {
				l.pos = end + 2
				return wordPart{kind: partArith, text: strings.TrimSuffix(src, ")"), quoted: quoted}, true, nil
			}
		}
		end, err := matchParen(l.src, l.pos+1)
		if err != nil {
			return wordPart{}, false, err
		}
		src := l.src[l.pos+2 : end]
		l.pos = end + 1
		if _, err := lex(src, depth+1); err != nil {
			return wordPart{}, false, err
		}
		return wordPart{kind: partCmd, text: src, quoted: quoted}, true, nil
	case n == '{':
		end := strings.IndexByte(l.src[l.pos+2:], '}')
		if end < 0 {
			return wordPart{}, false, &syntaxError{"syntax error: missing '}'"}
		}
		body := l.src[l.pos+2 : l.pos+2+end]
		l.pos += end + 3
		return parseBraceParam(body, quoted, depth)
	case n == '?' || n == '$' || n == '!' || n == '#' || n == '@' || n == '*' || n == '-' || (n >= '0' && n <= '9'):
		l.pos += 2
		return wordPart{kind: partVar, text: string(n), quoted: quoted}, true, nil
	case isNameStart(n):
		j := l.pos + 1
		for j < len(l.src) && isNameChar(l.src[j]) {
			j++
		}
		name := l.src[l.pos+1 : j]
		l.pos = j
		return wordPart{kind: partVar, text: name, quoted: quoted}, true, nil
	}
	return wordPart{}, false, nil
}

func parseBraceParam(body string, quoted bool, depth int) (wordPart, bool, error) {
	if strings.HasPrefix(body, "#") && len(body) > 1 {
		return wordPart{kind: partVar, text: body[1:], op: "#", quoted: quoted}, true, nil
	}
	i := 0
	if i < len(body) && (body[i] == '?' || body[i] == '$' || body[i] == '!' || body[i] == '#' || body[i] == '@' || body[i] == '*') {
		i = 1
	} else {
		for i < len(body) && isNameChar(body[i]) {
			i++
		}
	}
	name := body[:i]
	if name == "" {
		return wordPart{}, false, &syntaxError{fmt.Sprintf("${%s}: bad substitution", body)}
	}
	rest := body[i:]
	if rest == "" {
		return wordPart{kind: partVar, text: name, quoted: quoted}, true, nil
	}
	for _, op := range []string{":-", ":=", ":+", ":?", "-", "=", "+", "?"} {
		if strings.HasPrefix(rest, op) {
			sub := &lexer{src: rest[len(op):]}
			w, err := sub.word(depth + 1)
			if err != nil {
				return wordPart{}, false, err
			}
			if sub.pos < len(sub.src) {
				// keep spaces and the like literally
				w = &word{parts: []wordPart{{kind: partLit, text: rest[len(op):], quoted: true}}}
			}
			return wordPart{kind: partVar, text: name, op: op, arg: w, quoted: quoted}, true, nil
		}
	}
	return wordPart{}, false, &syntaxError{fmt.Sprintf("${%s}: bad substitution", body)}
}

// matchParen returns the index of the ')' matching the '(' at open.
func matchParen(s string, open int) (int, error) {
	depth := 0
	for i := open; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return 0, &syntaxError{"no closing quote"}
			}
			i += j + 1
		case '"':
			for i++; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' {
					i++
				}
			}
			if i >= len(s) {
				return 0, &syntaxError{"no closing quote"}
			}
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				return i, nil
			}
		}
	}
	return 0, &syntaxError{"syntax error: ')' missing"}
}

func (l *lexer) backquote(quoted bool, depth int) (wordPart, error) {
	var b strings.Builder
	for i := l.pos + 1; i < len(l.src); i++ {
		c := l.src[i]
		if c == '\\' && i+1 < len(l.src) && (l.src[i+1] == '`' || l.src[i+1] == '\\' || l.src[i+1] == '$') {
			b.WriteByte(l.src[i+1])
			i++
			continue
		}
		if c == '`' {
			l.pos = i + 1
			if _, err := lex(b.String(), depth+1); err != nil {
				return wordPart{}, err
			}
			return wordPart{kind: partCmd, text: b.String(), quoted: quoted}, nil
		}
		b.WriteByte(c)
	}
	return wordPart{}, &syntaxError{"no closing quote"}
}
