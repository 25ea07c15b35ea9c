package proctree

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The parsers on files copied from a real host's /proc (testdata/README.md).
func TestParseRealProcFiles(t *testing.T) {
	for _, c := range []struct {
		file string
		comm string
		ppid int
		cpu  time.Duration
		rss  int64
		anon int64
	}{
		{"dockerd", "dockerd", 1, 3420 * time.Millisecond, 81900 * 1024, 27860 * 1024},
		{"kthreadd", "kthreadd", 0, 0, 0, 0},
		{"odd-comm", "a) b (c", 1, 0, 1788 * 1024, 108 * 1024},
	} {
		st, err := parseStat(readTestdata(t, c.file+".stat"))
		if err != nil {
			t.Errorf("%s.stat: %v", c.file, err)
			continue
		}
		if st.comm != c.comm || st.ppid != c.ppid || st.cpu != c.cpu {
			t.Errorf("%s.stat: comm %q ppid %d cpu %v; want %q %d %v", c.file, st.comm, st.ppid, st.cpu, c.comm, c.ppid, c.cpu)
		}
		rss, anon, err := parseStatus(readTestdata(t, c.file+".status"))
		if err != nil || rss != c.rss || anon != c.anon {
			t.Errorf("%s.status: VmRSS %d, RssAnon %d (%v), want %d and %d", c.file, rss, anon, err, c.rss, c.anon)
		}
	}
	if n := parseFDLimit(readTestdata(t, "dockerd.limits")); n != 20000 {
		t.Errorf("dockerd.limits: Max open files %d, want 20000", n)
	}
}

func TestParseRefusesDamagedFiles(t *testing.T) {
	for _, bad := range []string{"", "12 sleep S 1", "12 (sleep) S 1 2 3", "12 (sleep) S x 1 1 0 -1 0 0 0 0 0 y 0 0"} {
		if _, err := parseStat([]byte(bad)); err == nil {
			t.Errorf("parseStat(%q): no error", bad)
		}
	}
	for _, bad := range []string{"VmRSS:\t12 MB\n", "VmRSS:\tlots kB\n", "VmRSS:\n", "RssAnon:\t-5 kB\n"} {
		if _, _, err := parseStatus([]byte(bad)); err == nil {
			t.Errorf("parseStatus(%q): no error", bad)
		}
	}
}

// A real tree: this test's process, a shell it starts, and the shell's two
// children.
func TestTreeFindsRealDescendants(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd := exec.CommandContext(ctx, "sh", "-c", "sleep 60 & sleep 60 & echo started; wait")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cancel(); _ = cmd.Wait() }()
	buf := make([]byte, 8)
	if _, err := out.Read(buf); err != nil { // the shell has started both sleeps
		t.Fatal(err)
	}
	// The shell has forked both sleeps; each may not have exec'd yet.
	// Await the exec: the children's names say when it happened.
	var snap Snapshot
	for deadline := time.Now().Add(10 * time.Second); ; {
		var err error
		if snap, err = Tree(os.Getpid()); err != nil {
			t.Fatal(err)
		}
		if countSleeps(snap) == 2 || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond) // /proc has no event for an exec: poll it
	}
	if snap.Procs[0].PID != os.Getpid() || snap.Procs[0].RSS <= 0 {
		t.Errorf("root %+v: want this process with its memory", snap.Procs[0])
	}
	sleeps := 0
	for _, p := range snap.Procs {
		if p.Name == "sleep" {
			sleeps++
			if p.PPID != cmd.Process.Pid || len(p.Args) != 2 || p.Args[1] != "60" {
				t.Errorf("sleep %+v: want a child of the shell %d with args [sleep 60]", p, cmd.Process.Pid)
			}
		}
	}
	if sleeps != 2 || len(snap.Procs) < 4 {
		t.Errorf("tree of %d processes with %d sleeps, want this test, the shell and 2 sleeps: %+v", len(snap.Procs), sleeps, snap.Procs)
	}
	if snap.Procs[0].FDs < 3 || snap.Procs[0].FDLimit < snap.Procs[0].FDs {
		t.Errorf("root has %d files open of %d: want stdin, stdout, stderr at least, within its limit", snap.Procs[0].FDs, snap.Procs[0].FDLimit)
	}
	if snap.RSS() <= snap.Procs[0].RSS {
		t.Errorf("tree RSS %d not above the root's own %d", snap.RSS(), snap.Procs[0].RSS)
	}
	if _, err := Tree(1 << 30); !errors.Is(err, ErrNoProcess) {
		t.Errorf("Tree of a pid that does not exist: %v, want ErrNoProcess", err)
	}
}

// The sampler over a proc directory whose processes change between samples:
// the peak is the largest sum in one sample, not the sum of maxima; a
// process that exits keeps its last CPU; the root's exit ends sampling.
func TestSamplerPeakAndCPU(t *testing.T) {
	dir := t.TempDir()
	write := func(pid, ppid int, ticks int, rssKB int64) {
		d := filepath.Join(dir, strconv.Itoa(pid))
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		stat := fmt.Sprintf("%d (w%d) S %d 1 1 0 -1 0 0 0 0 0 %d 0 20 0 1 0 1 0 0\n", pid, pid, ppid, ticks)
		status := fmt.Sprintf("Name:\tw%d\nVmRSS:\t%d kB\nRssAnon:\t%d kB\n", pid, rssKB, rssKB/2)
		limits := "Limit                     Soft Limit           Hard Limit           Units     \n" +
			fmt.Sprintf("Max open files            %d                 4096                 files     \n", 1000+pid)
		for name, body := range map[string]string{"stat": stat, "status": status, "cmdline": fmt.Sprintf("w\x00%d\x00", pid), "limits": limits} {
			if err := os.WriteFile(filepath.Join(d, name), []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	write(10, 1, 5, 100) // root
	write(11, 10, 1, 50)
	write(99, 1, 1, 5000) // not in the tree
	s := newSampler(nil)
	s.cancel = func() {}
	close(s.done)
	step := func() bool { return s.sample(dir, 10) }

	step() // 150 kB, 2 procs
	write(11, 10, 30, 400)
	write(12, 11, 2, 10)
	step() // 510 kB, 3 procs
	if err := os.RemoveAll(filepath.Join(dir, "12")); err != nil {
		t.Fatal(err)
	}
	write(11, 10, 40, 20)
	step() // 120 kB
	if err := os.RemoveAll(filepath.Join(dir, "10")); err != nil {
		t.Fatal(err)
	}
	if step() {
		t.Error("sampling went on after the root exited")
	}
	sum := s.Stop()
	if sum.Samples != 3 || sum.PeakRSS != 510*1024 || sum.PeakProcs != 3 || sum.MaxProcs != 3 {
		t.Errorf("summary %+v: want 3 samples, peak 510 kB with 3 processes", sum)
	}
	cpu := sum.CPU(func(p Proc) string {
		if p.PID == 10 {
			return "root"
		}
		return "children"
	})
	if cpu["root"] != 50*time.Millisecond || cpu["children"] != 420*time.Millisecond {
		t.Errorf("CPU %v: want root 50ms, children 420ms (pid 12's last 20ms kept)", cpu)
	}
	if len(sum.Procs) != 3 || sum.Procs[2].PID != 12 || sum.Procs[2].Args[1] != "12" || sum.Procs[2].FDLimit != 1012 {
		t.Errorf("processes seen %+v: want 10, 11, 12 with their command lines and limits", sum.Procs)
	}
	if sum.PeakAnon != 255*1024 {
		t.Errorf("peak RssAnon %d, want 255 kB", sum.PeakAnon)
	}
	if len(sum.Peak.Procs) != 3 || sum.Peak.RSS() != sum.PeakRSS {
		t.Errorf("peak sample %+v: want the 3 processes of the peak", sum.Peak)
	}
	if sum.FDLimits["w11"] != 1011 {
		t.Errorf("fd limits %v: want w11's 1011", sum.FDLimits)
	}

	// Without the root: the same tree, less its root.
	s = newSampler([]Option{WithoutRoot()})
	write(10, 1, 5, 100)
	s.sample(dir, 10)
	if s.sum.PeakRSS != 20*1024 || s.sum.MaxProcs != 1 {
		t.Errorf("without the root: peak %d with %d processes; want pid 11's 20 kB alone", s.sum.PeakRSS, s.sum.MaxProcs)
	}
}

// Start on a real process: it samples until the root exits by itself.
func TestSamplerStopsWhenTheRootExits(t *testing.T) {
	cmd := exec.Command("sh", "-c", "sleep 0.3 & wait")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := Start(context.Background(), cmd.Process.Pid, 20*time.Millisecond)
	_ = cmd.Wait()
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		t.Fatal("the sampler did not end after its root exited")
	}
	sum := s.Stop()
	if sum.Samples == 0 || sum.MaxProcs < 2 || sum.PeakRSS <= 0 || sum.Errors != 0 {
		t.Errorf("summary %+v: want samples of the shell and its sleep", sum)
	}
}

func countSleeps(s Snapshot) int {
	n := 0
	for _, p := range s.Procs {
		if p.Name == "sleep" && len(p.Args) == 2 {
			n++
		}
	}
	return n
}
