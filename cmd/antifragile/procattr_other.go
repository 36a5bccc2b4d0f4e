//go:build !linux

package main

import "syscall"

// childProcAttr is the process attributes of the processes the demo
// starts: none beyond the defaults here (on Linux, a process group of
// their own and SIGKILL when the demo dies). The agent processes stop at
// the end of their standard input, which the demo's death closes.
func childProcAttr() *syscall.SysProcAttr { return nil }
