package android

import (
	"bytes"
	"context"
	"fmt"
	"path"
	"sort"
	"strconv"
	"strings"
)

// Word expansion: parameters, command substitution, arithmetic, field
// splitting and globbing against the device file system.

type field struct {
	val    strings.Builder
	pat    strings.Builder
	glob   bool
	quoted bool
	any    bool
}

func globMeta(s string) bool { return strings.ContainsAny(s, "*?[") }

func escapeGlob(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune("*?[]\\", r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

func (sh *shell) expandWords(ctx context.Context, ws []*word, tio ioTable) ([]string, error) {
	var out []string
	for _, w := range ws {
		fs, err := sh.expandWord(ctx, w, tio, true)
		if err != nil {
			return nil, err
		}
		out = append(out, fs...)
	}
	return out, nil
}

func (sh *shell) expandNoSplit(ctx context.Context, w *word, tio ioTable) (string, error) {
	fs, err := sh.expandWord(ctx, w, tio, false)
	if err != nil {
		return "", err
	}
	return strings.Join(fs, " "), nil
}

func (sh *shell) expandWord(ctx context.Context, w *word, tio ioTable, split bool) ([]string, error) {
	var fields []*field
	cur := &field{}
	fields = append(fields, cur)
	addText := func(s string, quoted bool, splittable bool) {
		if !splittable || !split {
			cur.val.WriteString(s)
			if quoted {
				cur.pat.WriteString(escapeGlob(s))
				cur.quoted = true
			} else {
				cur.pat.WriteString(s)
				if globMeta(s) {
					cur.glob = true
				}
			}
			cur.any = true
			return
		}
		// unquoted expansion: split on IFS whitespace
		i := 0
		for i < len(s) {
			if s[i] == ' ' || s[i] == '\t' || s[i] == '\n' {
				if cur.any || cur.quoted {
					cur = &field{}
					fields = append(fields, cur)
				}
				for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n') {
					i++
				}
				continue
			}
			j := i
			for j < len(s) && s[j] != ' ' && s[j] != '\t' && s[j] != '\n' {
				j++
			}
			cur.val.WriteString(s[i:j])
			cur.pat.WriteString(s[i:j])
			if globMeta(s[i:j]) {
				cur.glob = true
			}
			cur.any = true
			i = j
		}
	}
	for _, p := range w.parts {
		switch p.kind {
		case partLit:
			addText(p.text, p.quoted, false)
			if p.quoted {
				cur.quoted = true
			}
		case partVar:
			if p.text == "@" && p.quoted && p.op == "" && split {
				for i, a := range sh.params[1:] {
					if i > 0 {
						cur = &field{}
						fields = append(fields, cur)
					}
					addText(a, true, false)
				}
				cur.quoted = cur.quoted || len(sh.params) > 1
				continue
			}
			v, err := sh.paramValue(ctx, p, tio)
			if err != nil {
				return nil, err
			}
			addText(v, p.quoted, !p.quoted)
			if p.quoted {
				cur.quoted = true
			}
		case partCmd:
			v := sh.commandSubst(ctx, p.text, tio)
			addText(v, p.quoted, !p.quoted)
			if p.quoted {
				cur.quoted = true
			}
		case partArith:
			v, err := sh.arith(p.text)
			if err != nil {
				return nil, err
			}
			addText(strconv.FormatInt(v, 10), p.quoted, !p.quoted)
		}
	}
	var out []string
	for _, f := range fields {
		if !f.any && !f.quoted {
			continue
		}
		if split && f.glob {
			if m := sh.glob(f.pat.String()); len(m) > 0 {
				out = append(out, m...)
				continue
			}
		}
		out = append(out, f.val.String())
	}
	if !split && len(out) == 0 {
		out = []string{""}
	}
	return out, nil
}

func (sh *shell) paramValue(ctx context.Context, p wordPart, tio ioTable) (string, error) {
	v, set := sh.getVar(p.text)
	switch p.op {
	case "#":
		return strconv.Itoa(len([]rune(v))), nil
	case ":-", "-":
		if !set || (p.op == ":-" && v == "") {
			return sh.expandNoSplit(ctx, p.arg, tio)
		}
	case ":=", "=":
		if !set || (p.op == ":=" && v == "") {
			nv, err := sh.expandNoSplit(ctx, p.arg, tio)
			if err != nil {
				return "", err
			}
			sh.vars[p.text] = nv
			return nv, nil
		}
	case ":+", "+":
		if set && (p.op == "+" || v != "") {
			return sh.expandNoSplit(ctx, p.arg, tio)
		}
		return "", nil
	case ":?", "?":
		if !set || (p.op == ":?" && v == "") {
			msg, _ := sh.expandNoSplit(ctx, p.arg, tio)
			if msg == "" {
				msg = "parameter null or not set"
			}
			return "", fmt.Errorf("%s: %s", p.text, msg)
		}
	}
	return v, nil
}

func (sh *shell) commandSubst(ctx context.Context, src string, tio ioTable) string {
	var buf bytes.Buffer
	sub := sh.sub(nil)
	sub.depth++
	if sub.depth > maxNesting {
		return ""
	}
	st := sub.runSource(ctx, src, ioTable{in: strings.NewReader(""), out: &buf, err: tio.err})
	sh.status = st
	return strings.TrimRight(buf.String(), "\n")
}

// glob expands a pattern against the device file system.
func (sh *shell) glob(pat string) []string {
	if pat == "" {
		return nil
	}
	absPat := pat
	rel := !strings.HasPrefix(pat, "/")
	if rel {
		absPat = path.Join(sh.cwd, pat)
	}
	parts := strings.Split(strings.Trim(absPat, "/"), "/")
	matches := []string{"/"}
	for _, part := range parts {
		var next []string
		for _, dir := range matches {
			if !globMeta(part) {
				cand := path.Join(dir, unescapeGlob(part))
				if _, err := sh.sys.fs.stat(cand); err == nil {
					next = append(next, cand)
				}
				continue
			}
			ents, err := sh.sys.fs.list(dir, sh.uid == 0)
			if err != nil {
				continue
			}
			for _, e := range ents {
				if strings.HasPrefix(e.name, ".") && !strings.HasPrefix(part, ".") {
					continue
				}
				if ok, err := path.Match(part, e.name); err == nil && ok {
					next = append(next, path.Join(dir, e.name))
				}
			}
		}
		matches = next
		if len(matches) == 0 || len(matches) > 10000 {
			return nil
		}
	}
	sort.Strings(matches)
	if rel {
		base := sh.cwd
		for i, m := range matches {
			if r := strings.TrimPrefix(m, strings.TrimSuffix(base, "/")+"/"); r != m {
				matches[i] = r
			}
		}
	}
	return matches
}

func unescapeGlob(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
