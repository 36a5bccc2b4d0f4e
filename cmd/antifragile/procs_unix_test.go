//go:build unix

package main

import (
	"errors"
	"syscall"
)

// alive reports whether a process of that pid exists (a zombie counts).
func alive(pid int) bool {
	return !errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}
