package adb

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// serverAttrs put the adb server a run starts in a process group of its
// own (signals to the run's group do not reach it; Close ends it) and have
// the kernel kill it when the process that started it dies, however it
// dies: a run killed with SIGKILL leaves no adb server behind.
//
// Linux sends the death signal when the thread that forked the child
// exits; the Go runtime keeps its threads for the life of the process
// (it ends only threads locked to a goroutine that exits locked, which
// nothing here does), so in practice that is the process's death.
func serverAttrs() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// raiseFileLimit lets the adb server have as many open files as the hard
// limit allows: it holds about three a device, and Go starts children with
// the soft limit the shell gave (often 1024, about 350 devices).
func raiseFileLimit(pid int) {
	var lim unix.Rlimit
	if err := unix.Prlimit(pid, unix.RLIMIT_NOFILE, nil, &lim); err != nil || lim.Cur >= lim.Max {
		return
	}
	lim.Cur = lim.Max
	_ = unix.Prlimit(pid, unix.RLIMIT_NOFILE, &lim, nil)
}
