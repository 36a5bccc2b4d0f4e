//go:build !unix

package main

// alive reports whether a process of that pid exists; it cannot tell here
// and says no.
func alive(int) bool { return false }
