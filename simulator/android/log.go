package android

import (
	"sort"
	"sync"
	"time"
)

// Priority is a log priority letter: 'V', 'D', 'I', 'W', 'E' or 'F'.
type Priority byte

// Log priorities.
const (
	Verbose Priority = 'V'
	Debug   Priority = 'D'
	Info    Priority = 'I'
	Warn    Priority = 'W'
	Error   Priority = 'E'
	Fatal   Priority = 'F'
)

// level maps a priority to android_LogPriority (2..7); 0 when unknown.
func (p Priority) level() int {
	switch p {
	case 'V', 'v':
		return 2
	case 'D', 'd':
		return 3
	case 'I', 'i':
		return 4
	case 'W', 'w':
		return 5
	case 'E', 'e':
		return 6
	case 'F', 'f', 'A', 'a':
		return 7
	}
	return 0
}

func (p Priority) char() byte {
	switch p.level() {
	case 2:
		return 'V'
	case 3:
		return 'D'
	case 4:
		return 'I'
	case 5:
		return 'W'
	case 6:
		return 'E'
	case 7:
		return 'F'
	}
	return '?'
}

// Entry is one log record.
type Entry struct {
	Time     time.Time // device clock
	Pid, Tid int
	Uid      int
	Prio     Priority
	Tag, Msg string
	Buffer   string // "main" (default), "system", "crash", "events", "radio", "kernel"
}

// LoggerEntryMaxPayload is liblog's LOGGER_ENTRY_MAX_PAYLOAD: priority byte,
// tag, NUL, message, NUL.
const LoggerEntryMaxPayload = 4068

// loggerEntryMaxLen is LOGGER_ENTRY_MAX_LEN.
const loggerEntryMaxLen = 5 * 1024

// entry header overhead as accounted by logd (struct logger_entry + ids).
const entryOverhead = 28

// Log buffer ids, in liblog's numbering order.
var bufferNames = []string{"main", "radio", "events", "system", "crash", "kernel"}

func bufferID(name string) int {
	for i, n := range bufferNames {
		if n == name {
			return i
		}
	}
	return -1
}

type logRecord struct {
	seq  uint64
	e    Entry
	size int
}

type ring struct {
	recs  []logRecord
	head  int // index of the oldest live record
	bytes int
	limit int
}

func (r *ring) live() []logRecord { return r.recs[r.head:] }

func (r *ring) push(rec logRecord) {
	r.recs = append(r.recs, rec)
	r.bytes += rec.size
	for r.bytes > r.limit && r.head < len(r.recs)-1 {
		r.bytes -= r.recs[r.head].size
		r.recs[r.head] = logRecord{}
		r.head++
	}
	// compact when more than half of the slice is dead
	if r.head > 64 && r.head*2 > len(r.recs) {
		n := copy(r.recs, r.recs[r.head:])
		for i := n; i < len(r.recs); i++ {
			r.recs[i] = logRecord{}
		}
		r.recs = r.recs[:n]
		r.head = 0
	}
}

func (r *ring) clear() {
	r.recs = nil
	r.head = 0
	r.bytes = 0
}

// after returns the live records with seq > s.
func (r *ring) after(s uint64) []logRecord {
	l := r.live()
	i := sort.Search(len(l), func(i int) bool { return l[i].seq > s })
	return l[i:]
}

// logger holds the ring buffers. Readers never block writers: a reader
// copies what it needs under the lock and formats outside it.
type logger struct {
	mu     sync.Mutex
	seq    uint64
	rings  []*ring
	notify chan struct{} // closed and cleared on append; created lazily by waiters
	closed bool
}

func newLogger(limit int) *logger {
	l := &logger{}
	for range bufferNames {
		l.rings = append(l.rings, &ring{limit: limit})
	}
	return l
}

func (l *logger) append(e Entry) {
	id := bufferID(e.Buffer)
	size := entryOverhead + 3 + len(e.Tag) + len(e.Msg)
	l.mu.Lock()
	l.seq++
	l.rings[id].push(logRecord{seq: l.seq, e: e, size: size})
	ch := l.notify
	l.notify = nil
	l.mu.Unlock()
	if ch != nil {
		close(ch)
	}
}

// waitChan returns a channel closed at the next append (or at close).
func (l *logger) waitChan() <-chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		c := make(chan struct{})
		close(c)
		return c
	}
	if l.notify == nil {
		l.notify = make(chan struct{})
	}
	return l.notify
}

func (l *logger) close() {
	l.mu.Lock()
	l.closed = true
	ch := l.notify
	l.notify = nil
	l.mu.Unlock()
	if ch != nil {
		close(ch)
	}
}

// snapshot returns the records of the masked buffers with seq > after,
// merged in sequence order, and the newest sequence number.
func (l *logger) snapshot(mask uint, after uint64) ([]logRecord, uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var parts [][]logRecord
	total := 0
	for i, r := range l.rings {
		if mask&(1<<uint(i)) == 0 {
			continue
		}
		p := r.after(after)
		if len(p) > 0 {
			parts = append(parts, p)
			total += len(p)
		}
	}
	out := make([]logRecord, 0, total)
	for _, p := range parts {
		out = append(out, p...)
	}
	if len(parts) > 1 {
		sort.Slice(out, func(i, j int) bool { return out[i].seq < out[j].seq })
	}
	return out, l.seq
}

func (l *logger) clear(mask uint) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i, r := range l.rings {
		if mask&(1<<uint(i)) != 0 {
			r.clear()
		}
	}
}

func (l *logger) sizes(id int) (limit, used int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.rings[id].limit, l.rings[id].bytes
}

func (l *logger) setLimit(mask uint, n int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i, r := range l.rings {
		if mask&(1<<uint(i)) != 0 {
			r.limit = n
		}
	}
}

// truncatePayload applies the LOGGER_ENTRY_MAX_PAYLOAD limit.
func truncatePayload(tag, msg string) (string, string) {
	const room = LoggerEntryMaxPayload - 3 // prio byte and two NULs
	if len(tag) > room {
		tag = tag[:room]
	}
	if len(tag)+len(msg) > room {
		msg = msg[:room-len(tag)]
	}
	return tag, msg
}

// Log stores an entry: it stamps Time with the device clock when zero,
// defaults Buffer to "main" and Prio to 'I', truncates tag and message to the
// 4068-byte payload limit, appends the entry to its ring buffer (dropping the
// oldest entries when the buffer is full) and wakes streaming readers. It
// returns the entry as stored.
func (s *System) Log(e Entry) Entry {
	if e.Time.IsZero() {
		e.Time = s.clock.Now()
	}
	if e.Buffer == "" || bufferID(e.Buffer) < 0 {
		e.Buffer = "main"
	}
	if e.Prio == 0 {
		e.Prio = Info
	}
	e.Tag, e.Msg = truncatePayload(e.Tag, e.Msg)
	s.logs.append(e)
	return e
}
