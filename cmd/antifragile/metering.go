package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/antifragile-go/antifragile/api"
)

const meteringUsage = `
usage: antifragile metering [-json] [-addr URL]

Shows the meter's counters (events queued, delivered, dropped, failed) and
every tenant's lifetime usage.
`

func runMetering(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("metering", meteringUsage, stdout)
	var rf remoteFlags
	rf.register(fs)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return helpOK(err)
	}
	if err := needArgs(pos, 0, "antifragile metering [flags]"); err != nil {
		return err
	}
	c, err := rf.client()
	if err != nil {
		return err
	}
	defer c.CloseIdleConnections()
	m, err := c.Metering(ctx)
	if err != nil {
		return err
	}
	if rf.json {
		return writeJSON(stdout, m)
	}
	printMetering(stdout, m)
	return nil
}

func printMetering(w io.Writer, m api.Metering) {
	mt := m.Metrics
	state := "running"
	switch {
	case !mt.Enabled:
		state = "disabled"
	case !mt.Running:
		state = "not running"
	}
	fmt.Fprintf(w, "meter %s: %d queued, %d delivered, %d dropped, %d failed, %d waiting (of %d)\n",
		state, mt.Queued, mt.Flushed, mt.Dropped, mt.Failed, mt.QueueSize, mt.MaxQueueSize)
	if mt.Errors > 0 || mt.Retries > 0 {
		fmt.Fprintf(w, "sink: %d failed writes, %d retries\n", mt.Errors, mt.Retries)
	}
	if len(m.Usage) == 0 {
		fmt.Fprintln(w, "no usage recorded")
		return
	}
	fmt.Fprintln(w)
	tw := table(w)
	fmt.Fprintln(tw, "TENANT\tCALLS\tTOKENS\tERRORS\tREJECTED\tINJECTED\tMEAN LATENCY\tMAX LATENCY\tCOMPLIANCE")
	for _, u := range m.Usage {
		mean := time.Duration(0)
		if u.Count > 0 {
			mean = u.LatencySum / time.Duration(u.Count)
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%s\t%s\t%.3f\n", u.Tenant, u.Count, u.Tokens, u.Errors, u.Rejected, u.Injected,
			mean.Round(time.Microsecond), u.LatencyMax.Round(time.Microsecond), u.ComplianceMean)
	}
	_ = tw.Flush()
}
