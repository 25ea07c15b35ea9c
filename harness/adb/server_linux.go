package adb

import "syscall"

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
