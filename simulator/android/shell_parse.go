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
