package main

import (
	"context"
	"fmt"
	"io"

	"github.com/antifragile-go/antifragile/api"
)

const breakerUsage = `
usage: antifragile breaker reset|force-open|release|remove NAME [-json] [-addr URL] [-token T]

Acts on one circuit breaker (needs the token):
  reset       close it and clear its counters
  force-open  hold it open until released (no timeout ends it)
  release     close a forced-open breaker
  remove      take it out of the registry (and of the health report)
`

func runBreaker(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("breaker", breakerUsage, stdout)
	var rf remoteFlags
	rf.register(fs)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return helpOK(err)
	}
	const usage = "antifragile breaker reset|force-open|release|remove NAME"
	if len(pos) == 0 {
		return usageErrorf("missing action: usage: %s", usage)
	}
	action := pos[0]
	if !oneOf(action, api.ActionReset, api.ActionForceOpen, api.ActionRelease, api.ActionRemove) {
		return usageErrorf("unknown action %q: usage: %s", action, usage)
	}
	if err := needArgs(pos[1:], 1, usage); err != nil {
		return err
	}
	name := pos[1]
	c, err := rf.client()
	if err != nil {
		return err
	}
	defer c.CloseIdleConnections()
	var a api.BreakerAction
	switch action {
	case api.ActionReset:
		a, err = c.ResetBreaker(ctx, name)
	case api.ActionForceOpen:
		a, err = c.ForceOpenBreaker(ctx, name)
	case api.ActionRelease:
		a, err = c.ReleaseBreaker(ctx, name)
	case api.ActionRemove:
		a, err = c.RemoveBreaker(ctx, name)
	}
	if err != nil {
		return err
	}
	if rf.json {
		return writeJSON(stdout, a)
	}
	switch {
	case a.Action == api.ActionRemove:
		fmt.Fprintf(stdout, "%s: removed\n", a.Breaker)
	case a.Action == api.ActionReset:
		fmt.Fprintf(stdout, "%s: reset, now %s\n", a.Breaker, a.State)
	case a.Changed:
		fmt.Fprintf(stdout, "%s: now %s\n", a.Breaker, a.State)
	default:
		fmt.Fprintf(stdout, "%s: unchanged, %s\n", a.Breaker, a.State)
	}
	return nil
}
