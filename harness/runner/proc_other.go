//go:build !linux

package runner

import "syscall"

// workerAttrs put a worker in a process group of its own.
func workerAttrs() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }
