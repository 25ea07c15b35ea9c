package contract

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Parser turns contract log messages into events, reassembling continuation
// lines. One Parser per device (per process id is tracked inside).
type Parser struct {
	pending map[pendingKey]*pending
}

type pendingKey struct {
	pid, seq int
}

type pending struct {
	parts []string
	got   int
	first time.Time
}

// NewParser returns an empty parser.
func NewParser() *Parser { return &Parser{pending: map[pendingKey]*pending{}} }

// Feed takes the message of one log entry with the contract Tag. It returns
// the completed event, ok=false while a split line is incomplete, or an
// error naming what is wrong with the line.
func (p *Parser) Feed(pid int, t time.Time, msg string) (Event, bool, error) {
	msg = strings.TrimRight(msg, "\r\n")
	if strings.HasPrefix(msg, "~") {
		return p.continuation(pid, t, msg)
	}
	ev, err := decode(msg)
	if err != nil {
		return Event{}, false, err
	}
	ev.Time, ev.Pid = t, pid
	return ev, true, nil
}

func (p *Parser) continuation(pid int, t time.Time, msg string) (Event, bool, error) {
	// "~SEQ I/N FRAGMENT"
	head, frag, ok := strings.Cut(msg[1:], " ")
	if !ok {
		return Event{}, false, fmt.Errorf("contract: continuation %q: want \"~SEQ I/N TEXT\"", clip(msg))
	}
	pos, frag, ok := strings.Cut(frag, " ")
	if !ok {
		return Event{}, false, fmt.Errorf("contract: continuation %q: want \"~SEQ I/N TEXT\"", clip(msg))
	}
	seq, err1 := strconv.Atoi(head)
	is, ns, _ := strings.Cut(pos, "/")
	i, err2 := strconv.Atoi(is)
	n, err3 := strconv.Atoi(ns)
	if err1 != nil || err2 != nil || err3 != nil || n < 1 || n > 64 || i < 1 || i > n {
		return Event{}, false, fmt.Errorf("contract: continuation %q: bad SEQ or I/N (N allowed 1..64)", clip(msg))
	}
	k := pendingKey{pid, seq}
	pe := p.pending[k]
	if pe == nil || len(pe.parts) != n {
		pe = &pending{parts: make([]string, n), first: t}
		p.pending[k] = pe
	}
	if pe.parts[i-1] == "" {
		pe.got++
	}
	pe.parts[i-1] = frag
	if pe.got < n {
		return Event{}, false, nil
	}
	delete(p.pending, k)
	ev, err := decode(strings.Join(pe.parts, ""))
	if err != nil {
		return Event{}, false, err
	}
	// The event happened when its first piece was logged.
	ev.Time, ev.Pid = pe.first, pid
	return ev, true, nil
}

// Incomplete reports split lines still missing pieces (for evidence).
func (p *Parser) Incomplete() int { return len(p.pending) }

func decode(text string) (Event, error) {
	var raw map[string]any
	dec := json.NewDecoder(strings.NewReader(text))
	dec.UseNumber()
	if err := dec.Decode(&raw); err != nil {
		return Event{}, fmt.Errorf("contract: line %q: not a JSON object: %w", clip(text), err)
	}
	if dec.More() {
		return Event{}, fmt.Errorf("contract: line %q: text after the JSON object", clip(text))
	}
	name, ok := raw["ev"].(string)
	if !ok || name == "" {
		return Event{}, fmt.Errorf("contract: line %q: field \"ev\" missing or not a string", clip(text))
	}
	ev := Event{Name: name, Raw: text, Fields: raw}
	if n, ok := raw["seq"].(json.Number); ok {
		s, err := strconv.Atoi(string(n))
		if err != nil || s < 0 {
			return Event{}, fmt.Errorf("contract: line %q: field \"seq\" %q: want a non-negative integer", clip(text), n)
		}
		ev.Seq = s
	}
	delete(raw, "ev")
	delete(raw, "seq")
	return ev, nil
}

func clip(s string) string {
	if len(s) > 160 {
		return s[:160] + "…"
	}
	return s
}
