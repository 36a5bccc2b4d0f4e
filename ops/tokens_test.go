package ops_test

import (
	"net/http"
	"testing"

	"github.com/antifragile-go/antifragile/ops"
)

func TestTokens_Swap(t *testing.T) {
	const (
		oldWrite, newWrite = "old-write-token-0001", "new-write-token-0002"
		oldRead, newRead   = "old-read-token-00003", "new-read-token-00004"
	)
	tokens := ops.NewTokens(oldWrite, oldRead)
	s := newSystem(t, func(o *ops.Options) { o.Token, o.ReadToken, o.Tokens = "", "", tokens })
	bearer := func(tok string) []string { return []string{"Authorization", "Bearer " + tok} }
	write := func(tok string) int {
		return do(t, s.h, "POST", "/breakers/db/reset", "", bearer(tok)...).Code
	}
	read := func(tok string) int { return do(t, s.h, "GET", "/breakers", "", bearer(tok)...).Code }

	if write(oldWrite) != http.StatusOK || read(oldRead) != http.StatusOK || read(oldWrite) != http.StatusOK {
		t.Fatal("the tokens in force are refused")
	}
	tokens.Set(newWrite, newRead)
	if c := write(oldWrite); c != http.StatusForbidden {
		t.Fatalf("old write token after the swap: %d, want 403", c)
	}
	if c := read(oldRead); c != http.StatusForbidden {
		t.Fatalf("old read token after the swap: %d, want 403", c)
	}
	if write(newWrite) != http.StatusOK || read(newRead) != http.StatusOK || read(newWrite) != http.StatusOK {
		t.Fatal("the new tokens are refused")
	}
	tokens.Set("", "") // writes disabled, reads public
	if c := write(newWrite); c != http.StatusForbidden {
		t.Fatalf("write with no token configured: %d, want 403", c)
	}
	if c := do(t, s.h, "GET", "/breakers", "").Code; c != http.StatusOK {
		t.Fatalf("public read: %d", c)
	}
	if tokens.HasWrite() || tokens.HasRead() {
		t.Fatal("Has* after clearing")
	}
}

func TestOptions_TokenWinsOverTokens(t *testing.T) {
	const fixed = "a-fixed-token-000001"
	tokens := ops.NewTokens("a-live-token-0000002", "")
	s := newSystem(t, func(o *ops.Options) { o.Token, o.Tokens = fixed, tokens })
	post := func(tok string) int {
		return do(t, s.h, "POST", "/breakers/db/reset", "", "Authorization", "Bearer "+tok).Code
	}
	if post(fixed) != http.StatusOK || post("a-live-token-0000002") != http.StatusForbidden {
		t.Fatal("Options.Token does not take precedence over Options.Tokens")
	}
}
