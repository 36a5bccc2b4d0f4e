package ops

import (
	"crypto/sha256"
	"sync/atomic"
)

// Tokens holds the bearer tokens a Handler checks — the write token and the
// read token, each as Options.Token and Options.ReadToken describe them —
// so that they can be replaced while the handler serves (a configuration
// reload): after Set returns, every request is checked against the new
// tokens and one carrying an old token is refused. The zero value holds no
// token: writes disabled, reads public. A *Tokens is safe for concurrent
// use; its methods never block.
type Tokens struct {
	p atomic.Pointer[tokenPair]
}

// tokenPair is one published set of tokens, with their SHA-256 sums: a
// request's token is hashed and compared in constant time with a sum.
type tokenPair struct {
	write, read       string
	writeSum, readSum [sha256.Size]byte
}

// NewTokens returns Tokens holding write and read (either may be empty).
func NewTokens(write, read string) *Tokens {
	t := new(Tokens)
	t.Set(write, read)
	return t
}

// Set replaces both tokens at once. An empty write token disables the
// write routes; an empty read token makes the reads public.
func (t *Tokens) Set(write, read string) {
	t.p.Store(&tokenPair{write: write, read: read, writeSum: sha256.Sum256([]byte(write)), readSum: sha256.Sum256([]byte(read))})
}

// HasWrite reports whether a write token is set (the write routes are
// enabled).
func (t *Tokens) HasWrite() bool { return t.load().write != "" }

// HasRead reports whether a read token is set (the read routes need it).
func (t *Tokens) HasRead() bool { return t.load().read != "" }

var noTokens tokenPair

func (t *Tokens) load() *tokenPair {
	if p := t.p.Load(); p != nil {
		return p
	}
	return &noTokens
}
