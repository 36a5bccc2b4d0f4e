package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/antifragile-go/antifragile/api"
	"github.com/antifragile-go/antifragile/breaker"
)

const breakersUsage = `
usage: antifragile breakers [-state s] [-json] [-addr URL]

Lists the circuit breakers with their state and counters, sorted by name.
-state keeps those in one state: closed, open, half_open, forced_open or
disabled.
`

func runBreakers(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("breakers", breakersUsage, stderr)
	var rf remoteFlags
	rf.register(fs)
	stateFlag := fs.String("state", "", "only breakers in this `state`")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return helpOK(err)
	}
	if err := needArgs(pos, 0, "antifragile breakers [flags]"); err != nil {
		return err
	}
	var want breaker.State
	if *stateFlag != "" {
		if want, err = breaker.ParseState(*stateFlag); err != nil {
			return usageErrorf("-state %q: want closed, open, half_open, forced_open or disabled", *stateFlag)
		}
	}
	c, err := rf.client()
	if err != nil {
		return err
	}
	defer c.CloseIdleConnections()
	bs, err := c.Breakers(ctx)
	if err != nil {
		return err
	}
	if *stateFlag != "" {
		kept := bs.Breakers[:0]
		for _, b := range bs.Breakers {
			if b.State == want {
				kept = append(kept, b)
			}
		}
		bs.Breakers, bs.Count = kept, len(kept)
	}
	if rf.json {
		return writeJSON(stdout, bs)
	}
	printBreakers(stdout, bs)
	return nil
}

func printBreakers(w io.Writer, bs api.Breakers) {
	if len(bs.Breakers) == 0 {
		fmt.Fprintln(w, "no breakers")
		return
	}
	tw := table(w)
	fmt.Fprintln(tw, "NAME\tSTATE\tCALLS\tFAILURES\tREJECTED\tSLOW\tTRIPS\tSINCE")
	now := time.Now()
	for _, b := range bs.Breakers {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%d\t%s\n", b.Name, b.State, b.Calls, b.Failures, b.Rejections,
			b.SlowCalls, b.Trips, ago(b.LastTransition, now))
	}
	_ = tw.Flush()
}
