package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/antifragile-go/antifragile/api"
	"github.com/antifragile-go/antifragile/recovery"
)

const recoveryUsage = `
usage: antifragile recovery [status] [-json]
       antifragile recovery schedule NAME [-strategy s] [-priority n] [policy flags]
       antifragile recovery resume|resolve|cancel NAME

Shows and steers the recovery orchestrator (all but status need the token):
  status    the tracked recoveries and the last results (the default)
  schedule  schedule the recovery of a service
  resume    retry at once a recovery that waits for an operator
  resolve   mark a recovery that waits for an operator resolved
  cancel    cancel a recovery

schedule's -strategy is exponential_backoff, linear_backoff, immediate or
manual (default: the service's policy on the server). Any policy flag
(-max-attempts, -initial-delay, -max-delay, -multiplier, -jitter) sends a
policy whose other fields take their defaults.
`

func runRecovery(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	action := "status"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		action, args = args[0], args[1:]
	}
	fs := newFlagSet("recovery "+action, recoveryUsage, stderr)
	var rf remoteFlags
	rf.register(fs)
	var (
		strategy, initialDelay, maxDelay string
		priority, maxAttempts            int
		multiplier, jitter               float64
	)
	if action == "schedule" {
		fs.StringVar(&strategy, "strategy", "", "retry `strategy`: exponential_backoff, linear_backoff, immediate or manual")
		fs.IntVar(&priority, "priority", 0, "`priority`: lower runs first")
		fs.IntVar(&maxAttempts, "max-attempts", 0, "policy: attempts in total (0: 5)")
		fs.StringVar(&initialDelay, "initial-delay", "", "policy: first delay, such as 1s")
		fs.StringVar(&maxDelay, "max-delay", "", "policy: longest delay, such as 1m")
		fs.Float64Var(&multiplier, "multiplier", 0, "policy: growth of exponential_backoff (0: 2)")
		fs.Float64Var(&jitter, "jitter", 0, "policy: spread of each delay, within [0, 1]")
	}
	pos, err := parseFlags(fs, args)
	if err != nil {
		return helpOK(err)
	}
	const usage = "antifragile recovery status|schedule|resume|resolve|cancel [NAME]"
	switch action {
	case "status":
		if err := needArgs(pos, 0, "antifragile recovery status"); err != nil {
			return err
		}
	case "schedule", "resume", "resolve", "cancel":
		if err := needArgs(pos, 1, "antifragile recovery "+action+" NAME"); err != nil {
			return err
		}
	default:
		return usageErrorf("unknown action %q: usage: %s", action, usage)
	}
	var req api.ScheduleRequest
	if action == "schedule" {
		req = api.ScheduleRequest{Strategy: strategy, Priority: priority}
		policySet := false
		fs.Visit(func(f *flag.Flag) {
			if oneOf(f.Name, "max-attempts", "initial-delay", "max-delay", "multiplier", "jitter") {
				policySet = true
			}
		})
		if policySet {
			req.Policy = &api.Policy{MaxRetryAttempts: maxAttempts, InitialDelay: initialDelay, MaxDelay: maxDelay,
				BackoffMultiplier: multiplier, Jitter: jitter}
		}
		// Check locally, so that a typo is a usage error naming the flag.
		if _, _, _, err := req.Args(recovery.ExponentialBackoff); err != nil {
			return usageErrorf("%s", flagNames(err, map[string]string{
				"strategy": "-strategy", "policy.max_retry_attempts": "-max-attempts", "policy.initial_delay": "-initial-delay",
				"policy.max_delay": "-max-delay", "policy.backoff_multiplier": "-multiplier", "policy.jitter": "-jitter",
			}))
		}
	}
	c, err := rf.client()
	if err != nil {
		return err
	}
	defer c.CloseIdleConnections()
	if action == "status" {
		st, err := c.Recovery(ctx)
		if err != nil {
			return err
		}
		if rf.json {
			return writeJSON(stdout, st)
		}
		printRecovery(stdout, st)
		return nil
	}
	name := pos[0]
	var a api.RecoveryAction
	switch action {
	case "schedule":
		a, err = c.ScheduleRecovery(ctx, name, req)
	case "resume":
		a, err = c.ResumeRecovery(ctx, name)
	case "resolve":
		a, err = c.ResolveRecovery(ctx, name)
	case "cancel":
		a, err = c.CancelRecovery(ctx, name)
	}
	if err != nil {
		return err
	}
	if rf.json {
		return writeJSON(stdout, a)
	}
	if a.Task == nil {
		fmt.Fprintf(stdout, "%s: %s done, no longer tracked\n", a.Service, a.Action)
		return nil
	}
	t := a.Task
	fmt.Fprintf(stdout, "%s: %s (%s, priority %d, attempt %d of %d", t.Service, t.State, t.Strategy, t.Priority, t.AttemptCount, t.MaxAttempts)
	if !t.NextAttemptAt.IsZero() {
		fmt.Fprintf(stdout, ", next %s", ago(t.NextAttemptAt, time.Now()))
	}
	fmt.Fprintln(stdout, ")")
	return nil
}

func printRecovery(w io.Writer, st recovery.Status) {
	running := "running"
	if !st.Running {
		running = "not running"
	}
	fmt.Fprintf(w, "orchestrator %s: %d tracked, %d queued, %d in progress\n", running, st.ActiveCount, st.QueuedCount, st.InProgressCount)
	now := time.Now()
	if len(st.Services) > 0 {
		fmt.Fprintln(w)
		tw := table(w)
		fmt.Fprintln(tw, "SERVICE\tSTATE\tSTRATEGY\tPRIORITY\tATTEMPTS\tNEXT\tLAST ERROR")
		for _, t := range st.Services {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d/%d\t%s\t%s\n", t.Service, t.State, t.Strategy, t.Priority,
				t.AttemptCount, t.MaxAttempts, ago(t.NextAttemptAt, now), orDash(t.LastError))
		}
		_ = tw.Flush()
	}
	if len(st.RecentResults) > 0 {
		fmt.Fprintln(w, "\nrecent results:")
		tw := table(w)
		fmt.Fprintln(tw, "WHEN\tSERVICE\tATTEMPT\tRESULT\tELAPSED\tERROR")
		for _, r := range st.RecentResults {
			result := "failed"
			if r.Success {
				result = "recovered"
			}
			fmt.Fprintf(tw, "%s\t%s\t%d/%d\t%s\t%s\t%s\n", ago(r.Timestamp, now), r.Service, r.AttemptNumber, r.TotalAttempts,
				result, r.Elapsed.D().Round(time.Microsecond), orDash(r.Error))
		}
		_ = tw.Flush()
	}
}
