package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/antifragile-go/antifragile/api"
	"github.com/antifragile-go/antifragile/client"
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

// runRecovery runs the `recovery` subcommand (see recoveryUsage): it
// checks the action, its arguments and, for schedule, the request locally
// (mistakes are usage errors naming the flag), then sends the one request
// of the action and prints the answer.
func runRecovery(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	action, args := splitAction(args, "status")
	fs := newFlagSet("recovery "+action, recoveryUsage, stdout)
	var rf remoteFlags
	rf.register(fs)
	var sched scheduleFlags
	if action == "schedule" {
		sched.register(fs)
	}
	pos, err := parseFlags(fs, args)
	if err != nil {
		return helpOK(err)
	}
	if err := recoveryArgs(action, pos); err != nil {
		return err
	}
	var req api.ScheduleRequest
	if action == "schedule" {
		if req, err = sched.request(fs); err != nil {
			return err
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
		return output(stdout, rf.json, st, printRecovery)
	}
	a, err := recoveryRequest(ctx, c, action, pos[0], req)
	if err != nil {
		return err
	}
	return output(stdout, rf.json, a, printRecoveryAction)
}

// recoveryArgs checks the action of `recovery` and its positional
// arguments.
func recoveryArgs(action string, pos []string) error {
	const usage = "antifragile recovery status|schedule|resume|resolve|cancel [NAME]"
	switch action {
	case "status":
		return needArgs(pos, 0, "antifragile recovery status")
	case "schedule", "resume", "resolve", "cancel":
		return needArgs(pos, 1, "antifragile recovery "+action+" NAME")
	}
	return usageErrorf("unknown action %q: usage: %s", action, usage)
}

// scheduleFlags are the flags of `recovery schedule`.
type scheduleFlags struct {
	strategy, initialDelay, maxDelay string
	priority, maxAttempts            int
	multiplier, jitter               float64
}

// register adds the flags of `recovery schedule` to fs.
func (f *scheduleFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.strategy, "strategy", "", "retry `strategy`: exponential_backoff, linear_backoff, immediate or manual")
	fs.IntVar(&f.priority, "priority", 0, "`priority`: lower runs first")
	fs.IntVar(&f.maxAttempts, "max-attempts", 0, "policy: attempts in total (0: 5)")
	fs.StringVar(&f.initialDelay, "initial-delay", "", "policy: first delay, such as 1s")
	fs.StringVar(&f.maxDelay, "max-delay", "", "policy: longest delay, such as 1m")
	fs.Float64Var(&f.multiplier, "multiplier", 0, "policy: growth of exponential_backoff (0: 2)")
	fs.Float64Var(&f.jitter, "jitter", 0, "policy: spread of each delay, within [0, 1]")
}

// request returns the schedule request the flags describe: with a policy
// when any policy flag was given in fs, its other fields then taking their
// defaults. It checks the request locally, so that a typo is a usage error
// naming the flag.
func (f *scheduleFlags) request(fs *flag.FlagSet) (api.ScheduleRequest, error) {
	req := api.ScheduleRequest{Strategy: f.strategy, Priority: f.priority}
	policyFlag := func(name string) bool { return isFlagSet(fs, name) }
	if slices.ContainsFunc([]string{"max-attempts", "initial-delay", "max-delay", "multiplier", "jitter"}, policyFlag) {
		req.Policy = &api.Policy{MaxRetryAttempts: f.maxAttempts, InitialDelay: f.initialDelay, MaxDelay: f.maxDelay,
			BackoffMultiplier: f.multiplier, Jitter: f.jitter}
	}
	if _, _, _, err := req.Args(recovery.ExponentialBackoff); err != nil {
		return req, usageErrorf("%s", flagNames(err, map[string]string{
			"strategy": "-strategy", "policy.max_retry_attempts": "-max-attempts", "policy.initial_delay": "-initial-delay",
			"policy.max_delay": "-max-delay", "policy.backoff_multiplier": "-multiplier", "policy.jitter": "-jitter",
		}))
	}
	return req, nil
}

// recoveryRequest sends the request of the recovery action (schedule,
// resume, resolve or cancel) on the service name; req is schedule's.
func recoveryRequest(ctx context.Context, c *client.Client, action, name string, req api.ScheduleRequest) (api.RecoveryAction, error) {
	switch action {
	case "schedule":
		return c.ScheduleRecovery(ctx, name, req)
	case "resume":
		return c.ResumeRecovery(ctx, name)
	case "resolve":
		return c.ResolveRecovery(ctx, name)
	}
	return c.CancelRecovery(ctx, name)
}

// printRecoveryAction prints the answer of a recovery action: the task as
// it is now, or that it is no longer tracked.
func printRecoveryAction(w io.Writer, a api.RecoveryAction) {
	if a.Task == nil {
		fmt.Fprintf(w, "%s: %s done, no longer tracked\n", a.Service, a.Action)
		return
	}
	t := a.Task
	fmt.Fprintf(w, "%s: %s (%s, priority %d, attempt %d of %d", t.Service, t.State, t.Strategy, t.Priority, t.AttemptCount, t.MaxAttempts)
	if !t.NextAttemptAt.IsZero() {
		fmt.Fprintf(w, ", next %s", ago(t.NextAttemptAt, time.Now()))
	}
	fmt.Fprintln(w, ")")
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
