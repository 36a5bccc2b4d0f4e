//go:build linux

package main

import "syscall"

// childProcAttr is the process attributes of the processes the demo
// starts (nats-server, the agent processes): a process group of their own,
// so that the Ctrl-C of a terminal reaches the demo alone, which stops
// them in order; and SIGKILL when the demo dies, even by SIGKILL, so that
// none outlives it. (Pdeathsig follows the thread that started the child;
// the Go runtime does not end its threads while goroutines that did not
// lock one run on them, and the children also stop at the end of their
// standard input, which the demo's death closes.)
func childProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
