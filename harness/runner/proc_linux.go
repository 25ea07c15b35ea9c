package runner

import "syscall"

// workerAttrs put a worker in a process group of its own (the supervisor
// passes interrupts on itself, once) and make the kernel kill it if the
// supervisor dies, however it dies: no worker outlives its run.
func workerAttrs() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
