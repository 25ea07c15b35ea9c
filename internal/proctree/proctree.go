// Package proctree reads a process and all its descendants from Linux's
// /proc — each one's resident memory (VmRSS) and CPU time — and samples
// such a tree over time, so that a benchmark can give the peak memory of a
// whole tree of processes (a supervisor, its workers, the adb server it
// started) and where its CPU went.
//
//	s := proctree.Start(ctx, cmd.Process.Pid, 200*time.Millisecond)
//	_ = cmd.Wait()
//	sum := s.Stop()
//	fmt.Println(sum.PeakRSS, sum.MaxProcs)
package proctree

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// clockTick is the unit of utime and stime in /proc/PID/stat: USER_HZ,
// which Linux fixes at 100 on every architecture it reports to user space.
const clockTick = 10 * time.Millisecond

// Proc is one process of a tree.
type Proc struct {
	PID, PPID int
	// Name is the command name (comm, at most 15 bytes).
	Name string
	// Args is the command line; empty for a process that exited before
	// it was read, or a kernel thread.
	Args []string
	// RSS is VmRSS in bytes: its resident memory, the pages it shares
	// with other processes (its executable's) included; Anon is RssAnon,
	// its own memory (heap, stacks) alone.
	RSS, Anon int64
	// CPU is its user and system time so far (not its children's).
	CPU time.Duration
	// FDs is how many files it has open, FDLimit its soft limit of them
	// (0 when they could not be read: another user's process).
	FDs, FDLimit int
}

// Snapshot is a tree of processes at one moment: the root first, then its
// descendants by pid.
type Snapshot struct {
	At    time.Time
	Procs []Proc
}

// RSS is the sum of the processes' resident memory. Pages shared between
// them (the same binary's text) count once per process, as in top.
func (s Snapshot) RSS() int64 {
	var n int64
	for _, p := range s.Procs {
		n += p.RSS
	}
	return n
}

// Anon is the sum of the processes' own memory (RssAnon), which no other
// process shares.
func (s Snapshot) Anon() int64 {
	var n int64
	for _, p := range s.Procs {
		n += p.Anon
	}
	return n
}

// ErrNoProcess is Tree's error when the root process is gone.
var ErrNoProcess = errors.New("proctree: no such process")

// Tree reads root and its descendants now, from /proc. Processes that exit
// while it reads are left out; the root's exit is ErrNoProcess.
func Tree(root int) (Snapshot, error) {
	return treeIn("/proc", root, nil)
}

// once is what is read of a process once: its command line and limits.
type once struct {
	args    []string
	fdLimit int
}

// treeIn reads a tree from a proc file system at dir; cache keeps what is
// read once per pid (nil: read it each time).
func treeIn(dir string, root int, cache map[int]once) (Snapshot, error) {
	snap := Snapshot{At: time.Now()}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return snap, fmt.Errorf("proctree: %w", err)
	}
	stats := map[int]stat{}
	children := map[int][]int{}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid <= 0 {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name(), "stat"))
		if err != nil {
			continue // gone since the listing
		}
		st, err := parseStat(b)
		if err != nil {
			return snap, fmt.Errorf("proctree: %s/%d/stat: %w", dir, pid, err)
		}
		stats[pid] = st
		children[st.ppid] = append(children[st.ppid], pid)
	}
	if _, ok := stats[root]; !ok {
		return snap, fmt.Errorf("%w: %d", ErrNoProcess, root)
	}
	var tree []int
	for queue := []int{root}; len(queue) > 0; {
		pid := queue[0]
		queue = queue[1:]
		tree = append(tree, pid)
		queue = append(queue, children[pid]...)
	}
	sort.Ints(tree[1:])
	for _, pid := range tree {
		st := stats[pid]
		p := Proc{PID: pid, PPID: st.ppid, Name: st.comm, CPU: st.cpu}
		b, err := os.ReadFile(filepath.Join(dir, strconv.Itoa(pid), "status"))
		if err != nil {
			if pid == root {
				return snap, fmt.Errorf("%w: %d", ErrNoProcess, root)
			}
			continue
		}
		if p.RSS, p.Anon, err = parseStatus(b); err != nil {
			return snap, fmt.Errorf("proctree: %s/%d/status: %w", dir, pid, err)
		}
		pdir := filepath.Join(dir, strconv.Itoa(pid))
		o, ok := cache[pid]
		if !ok {
			o = once{args: readArgs(filepath.Join(pdir, "cmdline")), fdLimit: readFDLimit(filepath.Join(pdir, "limits"))}
			if cache != nil && len(o.args) > 0 {
				cache[pid] = o
			}
		}
		p.Args, p.FDLimit = o.args, o.fdLimit
		if fds, err := os.ReadDir(filepath.Join(pdir, "fd")); err == nil {
			p.FDs = len(fds)
		}
		snap.Procs = append(snap.Procs, p)
	}
	return snap, nil
}

// stat is what Tree needs of /proc/PID/stat.
type stat struct {
	comm string
	ppid int
	cpu  time.Duration
}

// parseStat reads /proc/PID/stat: "pid (comm) state ppid … utime stime …".
// comm may hold spaces and parentheses, so the fields after it are found
// from its last ')'.
func parseStat(b []byte) (stat, error) {
	open := bytes.IndexByte(b, '(')
	closing := bytes.LastIndexByte(b, ')')
	if open < 0 || closing < open {
		return stat{}, fmt.Errorf("no (comm) in %q", clip(b))
	}
	// Fields after comm, from field 3 (state): ppid is field 4, utime 14,
	// stime 15 (proc(5), counted from 1).
	f := strings.Fields(string(b[closing+1:]))
	if len(f) < 13 {
		return stat{}, fmt.Errorf("%d fields after comm, want at least 13: %q", len(f), clip(b))
	}
	ppid, err1 := strconv.Atoi(f[1])
	utime, err2 := strconv.ParseUint(f[11], 10, 64)
	stime, err3 := strconv.ParseUint(f[12], 10, 64)
	if err := errors.Join(err1, err2, err3); err != nil {
		return stat{}, fmt.Errorf("ppid, utime or stime: %w", err)
	}
	return stat{comm: string(b[open+1 : closing]), ppid: ppid, cpu: time.Duration(utime+stime) * clockTick}, nil
}

// parseStatus reads VmRSS and RssAnon from /proc/PID/status
// ("VmRSS:\t  1234 kB"). A process without them (a kernel thread, a
// zombie) has 0.
func parseStatus(b []byte) (rss, anon int64, err error) {
	for _, line := range strings.Split(string(b), "\n") {
		key, v, ok := strings.Cut(line, ":")
		if !ok || key != "VmRSS" && key != "RssAnon" {
			continue
		}
		f := strings.Fields(v)
		var kb int64
		if len(f) == 2 && f[1] == "kB" {
			kb, err = strconv.ParseInt(f[0], 10, 64)
		}
		if len(f) != 2 || f[1] != "kB" || err != nil || kb < 0 {
			return 0, 0, fmt.Errorf("%s line %q: want a number of kB", key, line)
		}
		if key == "VmRSS" {
			rss = kb * 1024
		} else {
			anon = kb * 1024
		}
	}
	return rss, anon, nil
}

// parseFDLimit reads the soft limit of open files from /proc/PID/limits
// ("Max open files  1024  4096  files"); 0 when there is none.
func parseFDLimit(b []byte) int {
	for _, line := range strings.Split(string(b), "\n") {
		rest, ok := strings.CutPrefix(line, "Max open files")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) < 1 {
			return 0
		}
		n, err := strconv.Atoi(f[0])
		if err != nil {
			return 0 // "unlimited"
		}
		return n
	}
	return 0
}

func readFDLimit(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	return parseFDLimit(b)
}

func readArgs(path string) []string {
	b, err := os.ReadFile(path)
	if err != nil || len(b) == 0 {
		return nil
	}
	return strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
}

func clip(b []byte) string {
	if len(b) > 120 {
		return string(b[:120]) + "…"
	}
	return string(b)
}
