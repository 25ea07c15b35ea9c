//go:build !linux

package adb

import "syscall"

// serverAttrs put the adb server a run starts in a process group of its
// own. Only Linux can have it killed when its starter dies.
func serverAttrs() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}

// raiseFileLimit leaves the limit as it is.
func raiseFileLimit(int) {}
