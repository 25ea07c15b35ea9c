package android

import (
	"fmt"
	"strings"
)

// This file parses the subset of mksh that `adb shell` users type: words
// with quoting and escapes, parameter and command substitution, pipelines,
// && ||, ; &, redirections, and if/while/until/for/{ }/( ) compounds.

type partKind int

const (
	partLit   partKind = iota // literal text
	partVar                   // $NAME, ${NAME}, ${NAME:-w}, ${#NAME}
	partCmd                   // $(...) or `...`
	partArith                 // $((...)), rejected at expansion
)

type wordPart struct {
	kind   partKind
	text   string // literal text, variable name, or command source
	quoted bool   // inside "..." or '...'
	op     string // for partVar: "", ":-", "-", ":=", "=", ":+", "+", "#"
	arg    *word  // for partVar operators
}

type word struct{ parts []wordPart }

// lit returns the word's text when it is a single unquoted literal.
func (w *word) lit() (string, bool) {
	if len(w.parts) == 1 && w.parts[0].kind == partLit && !w.parts[0].quoted {
		return w.parts[0].text, true
	}
	return "", false
}

type redir struct {
	fd     int    // fd being redirected
	op     string // ">", ">>", "<", ">&", "<&", "&>", "<<<"
	target *word
}

type assign struct {
	name string
	val  *word
}

type node interface{}

type simpleCmd struct {
	assigns []assign
	words   []*word
	redirs  []redir
}

type pipeline struct {
	bang bool
	cmds []node // *simpleCmd or compound
}

type andOr struct {
	pipes []*pipeline
	ops   []string // "&&" or "||" between pipes
	bg    bool
}

type list struct{ items []*andOr }

type ifCmd struct {
	conds  []*list
	bodies []*list
	els    *list
	redirs []redir
}

type loopCmd struct {
	until  bool
	cond   *list
	body   *list
	redirs []redir
}

type forCmd struct {
	name   string
	items  []*word
	hasIn  bool
	body   *list
	redirs []redir
}

type groupCmd struct {
	body     *list
	subshell bool
	redirs   []redir
}

// ---- lexer ----

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

// ---- parser ----

type parser struct {
	toks  []token
	pos   int
	depth int
}

func parseScript(src string) (*list, error) {
	toks, err := lex(src, 0)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks}
	l, err := p.list(nil)
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tokEOF {
		return nil, p.unexpected(t)
	}
	return l, nil
}

func (p *parser) peek() token { return p.toks[p.pos] }

func (p *parser) advance() token {
	t := p.toks[p.pos]
	if t.kind != tokEOF {
		p.pos++
	}
	return t
}

func tokText(t token) string {
	switch t.kind {
	case tokEOF:
		return "EOF"
	case tokWord:
		var b strings.Builder
		for _, pt := range t.w.parts {
			b.WriteString(pt.text)
		}
		return b.String()
	case tokOp:
		if t.op == "\n" {
			return "newline"
		}
	}
	return t.op
}

func (p *parser) unexpected(t token) error {
	if t.kind == tokEOF {
		return &syntaxError{"syntax error: unexpected EOF"}
	}
	return &syntaxError{fmt.Sprintf("syntax error: '%s' unexpected", tokText(t))}
}

func (p *parser) isReserved(t token, words ...string) bool {
	if t.kind != tokWord {
		return false
	}
	s, ok := t.w.lit()
	if !ok {
		return false
	}
	for _, w := range words {
		if s == w {
			return true
		}
	}
	return false
}

func (p *parser) skipNewlines() {
	for t := p.peek(); t.kind == tokOp && t.op == "\n"; t = p.peek() {
		p.advance()
	}
}

// list parses and-or lists until EOF, ')' or one of the stop words.
func (p *parser) list(stop []string) (*list, error) {
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > maxNesting {
		return nil, &syntaxError{"syntax error: nesting too deep"}
	}
	l := &list{}
	for {
		p.skipNewlines()
		t := p.peek()
		if t.kind == tokEOF || (t.kind == tokOp && (t.op == ")" || t.op == ";;")) || p.isReserved(t, stop...) {
			return l, nil
		}
		if t.kind == tokOp && (t.op == ";" || t.op == "&" || t.op == "|" || t.op == "&&" || t.op == "||") {
			return nil, p.unexpected(t)
		}
		ao, err := p.andOr(stop)
		if err != nil {
			return nil, err
		}
		l.items = append(l.items, ao)
		t = p.peek()
		if t.kind == tokOp && (t.op == ";" || t.op == "&" || t.op == "\n") {
			p.advance()
			if t.op == "&" {
				ao.bg = true
			}
			continue
		}
		if t.kind == tokEOF || (t.kind == tokOp && t.op == ")") || p.isReserved(t, stop...) {
			return l, nil
		}
		return nil, p.unexpected(t)
	}
}

func (p *parser) andOr(stop []string) (*andOr, error) {
	ao := &andOr{}
	for {
		pl, err := p.pipeline(stop)
		if err != nil {
			return nil, err
		}
		ao.pipes = append(ao.pipes, pl)
		t := p.peek()
		if t.kind == tokOp && (t.op == "&&" || t.op == "||") {
			p.advance()
			ao.ops = append(ao.ops, t.op)
			p.skipNewlines()
			continue
		}
		return ao, nil
	}
}

func (p *parser) pipeline(stop []string) (*pipeline, error) {
	pl := &pipeline{}
	if p.isReserved(p.peek(), "!") {
		p.advance()
		pl.bang = true
	}
	for {
		c, err := p.command(stop)
		if err != nil {
			return nil, err
		}
		pl.cmds = append(pl.cmds, c)
		if t := p.peek(); t.kind == tokOp && t.op == "|" {
			p.advance()
			p.skipNewlines()
			continue
		}
		return pl, nil
	}
}

func (p *parser) expectWord(w string) error {
	p.skipNewlines()
	t := p.peek()
	if !p.isReserved(t, w) {
		if t.kind == tokEOF {
			return &syntaxError{fmt.Sprintf("syntax error: '%s' expected", w)}
		}
		return p.unexpected(t)
	}
	p.advance()
	return nil
}

func (p *parser) redirsAfter() ([]redir, error) {
	var rs []redir
	for p.peek().kind == tokRedir {
		r, err := p.redirect()
		if err != nil {
			return nil, err
		}
		rs = append(rs, r)
	}
	return rs, nil
}

func (p *parser) redirect() (redir, error) {
	t := p.advance()
	w := p.peek()
	if w.kind != tokWord {
		return redir{}, p.unexpected(w)
	}
	p.advance()
	return redir{fd: t.fd, op: t.op, target: w.w}, nil
}

func (p *parser) command(stop []string) (node, error) {
	t := p.peek()
	switch {
	case t.kind == tokOp && t.op == "(":
		p.advance()
		body, err := p.list(nil)
		if err != nil {
			return nil, err
		}
		if c := p.peek(); c.kind != tokOp || c.op != ")" {
			return nil, p.unexpected(c)
		}
		p.advance()
		rs, err := p.redirsAfter()
		return &groupCmd{body: body, subshell: true, redirs: rs}, err
	case p.isReserved(t, "{"):
		p.advance()
		body, err := p.list([]string{"}"})
		if err != nil {
			return nil, err
		}
		if err := p.expectWord("}"); err != nil {
			return nil, err
		}
		rs, err := p.redirsAfter()
		return &groupCmd{body: body, redirs: rs}, err
	case p.isReserved(t, "if"):
		p.advance()
		c := &ifCmd{}
		for {
			cond, err := p.list([]string{"then"})
			if err != nil {
				return nil, err
			}
			if err := p.expectWord("then"); err != nil {
				return nil, err
			}
			body, err := p.list([]string{"elif", "else", "fi"})
			if err != nil {
				return nil, err
			}
			c.conds = append(c.conds, cond)
			c.bodies = append(c.bodies, body)
			p.skipNewlines()
			nt := p.advance()
			switch {
			case p.isReserved(nt, "elif"):
				continue
			case p.isReserved(nt, "else"):
				els, err := p.list([]string{"fi"})
				if err != nil {
					return nil, err
				}
				c.els = els
				if err := p.expectWord("fi"); err != nil {
					return nil, err
				}
			case p.isReserved(nt, "fi"):
			default:
				if nt.kind == tokEOF {
					return nil, &syntaxError{"syntax error: 'if' unmatched"}
				}
				return nil, p.unexpected(nt)
			}
			rs, err := p.redirsAfter()
			c.redirs = rs
			return c, err
		}
	case p.isReserved(t, "while", "until"):
		p.advance()
		c := &loopCmd{until: p.isReserved(t, "until")}
		cond, err := p.list([]string{"do"})
		if err != nil {
			return nil, err
		}
		if err := p.expectWord("do"); err != nil {
			return nil, err
		}
		body, err := p.list([]string{"done"})
		if err != nil {
			return nil, err
		}
		if err := p.expectWord("done"); err != nil {
			return nil, err
		}
		c.cond, c.body = cond, body
		c.redirs, err = p.redirsAfter()
		return c, err
	case p.isReserved(t, "for"):
		p.advance()
		nt := p.advance()
		name, ok := "", false
		if nt.kind == tokWord {
			name, ok = nt.w.lit()
		}
		if !ok || name == "" || !isNameStart(name[0]) {
			return nil, p.unexpected(nt)
		}
		c := &forCmd{name: name}
		p.skipNewlines()
		if p.isReserved(p.peek(), "in") {
			p.advance()
			c.hasIn = true
			for p.peek().kind == tokWord && !p.isReserved(p.peek(), "do") {
				c.items = append(c.items, p.advance().w)
			}
		}
		if t := p.peek(); t.kind == tokOp && (t.op == ";" || t.op == "\n") {
			p.advance()
		}
		if err := p.expectWord("do"); err != nil {
			return nil, err
		}
		body, err := p.list([]string{"done"})
		if err != nil {
			return nil, err
		}
		if err := p.expectWord("done"); err != nil {
			return nil, err
		}
		c.body = body
		c.redirs, err = p.redirsAfter()
		return c, err
	case p.isReserved(t, "then", "else", "elif", "fi", "do", "done", "}", "esac", "in"):
		return nil, p.unexpected(t)
	case p.isReserved(t, "case", "select", "function", "[[", "time", "coproc"):
		s, _ := t.w.lit()
		return nil, &syntaxError{fmt.Sprintf("syntax error: '%s' is not supported here", s)}
	}
	return p.simple()
}

func (p *parser) simple() (node, error) {
	c := &simpleCmd{}
	for {
		t := p.peek()
		switch t.kind {
		case tokRedir:
			r, err := p.redirect()
			if err != nil {
				return nil, err
			}
			c.redirs = append(c.redirs, r)
			continue
		case tokWord:
			if len(c.words) == 0 {
				if a, ok := asAssign(t.w); ok {
					p.advance()
					c.assigns = append(c.assigns, a)
					continue
				}
			}
			p.advance()
			c.words = append(c.words, t.w)
			continue
		case tokOp:
			if t.op == "(" && len(c.words) == 1 {
				return nil, &syntaxError{"syntax error: function definitions are not supported"}
			}
		}
		if len(c.words) == 0 && len(c.assigns) == 0 && len(c.redirs) == 0 {
			return nil, p.unexpected(t)
		}
		return c, nil
	}
}

// asAssign recognizes NAME=value words.
func asAssign(w *word) (assign, bool) {
	if len(w.parts) == 0 || w.parts[0].kind != partLit || w.parts[0].quoted {
		return assign{}, false
	}
	first := w.parts[0].text
	eq := strings.IndexByte(first, '=')
	if eq <= 0 || !isNameStart(first[0]) {
		return assign{}, false
	}
	for i := 1; i < eq; i++ {
		if !isNameChar(first[i]) {
			return assign{}, false
		}
	}
	val := &word{}
	if rest := first[eq+1:]; rest != "" {
		val.parts = append(val.parts, wordPart{kind: partLit, text: rest})
	}
	val.parts = append(val.parts, w.parts[1:]...)
	return assign{name: first[:eq], val: val}, true
}
