package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/antifragile-go/antifragile/api"
	"github.com/antifragile-go/antifragile/client"
	"github.com/antifragile-go/antifragile/recovery"
)

const recoveryUsage = `
usage: antifragile recovery [status] [-json]
       antifragile recovery schedule NAME [-strategy s] [-priority n] [policy flags]
       antifragile recovery resume|resolve|cancel NAME
       antifragile recovery history NAME [-json]

Shows and steers the recovery orchestrator (all but status need the token):
  status    the tracked recoveries and the last results (the default)
  schedule  schedule the recovery of a service
  resume    retry at once a recovery that waits for an operator
  resolve   mark a recovery that waits for an operator resolved
  cancel    cancel a recovery
  history   a service's past outages and what the learned strategy makes
            of them

schedule's -strategy is exponential_backoff, linear_backoff, immediate,
manual or learned (default: the service's policy on the server). Any policy flag
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
	switch action {
	case "status":
		st, err := c.Recovery(ctx)
		if err != nil {
			return err
		}
		return output(stdout, rf.json, st, printRecovery)
	case "history":
		h, err := c.RecoveryHistory(ctx, pos[0])
		if err != nil {
			return err
		}
		return output(stdout, rf.json, h, printRecoveryHistory)
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
	const usage = "antifragile recovery status|schedule|resume|resolve|cancel|history [NAME]"
	switch action {
	case "status":
		return needArgs(pos, 0, "antifragile recovery status")
	case "schedule", "resume", "resolve", "cancel", "history":
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
	fs.StringVar(&f.strategy, "strategy", "", "retry `strategy`: exponential_backoff, linear_backoff, immediate, manual or learned")
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
		for _, t := range st.Services {
			if t.Learning != nil {
				fmt.Fprintf(w, "%s: %s\n", t.Service, t.Learning.Reason)
			}
		}
	}
	printLearningCounts(w, st)
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

// printLearningCounts prints the outage history's and the predictions'
// counts, when there is anything to count.
func printLearningCounts(w io.Writer, st recovery.Status) {
	h := st.History
	if h.Outages > 0 || h.Persistent {
		where := "in memory"
		if h.Persistent {
			where = "stored"
		}
		fmt.Fprintf(w, "\noutage history (%s): %d outages of %d services, %d evicted, %d unreadable, %d store errors\n",
			where, h.Outages, h.Services, h.Evicted, h.Skipped, h.StoreErrors)
	}
	p := st.Predictions.Total
	if p.TruePositives+p.FalsePositives+uint64(p.Pending) == 0 {
		return // no prediction was ever made: misses alone say nothing
	}
	fmt.Fprintf(w, "predictions (horizon %s): %d true, %d false, %d missed outages, %d pending; precision %s, recall %s\n",
		st.Predictions.Horizon.D(), p.TruePositives, p.FalsePositives, p.Misses, p.Pending, ratio(p.Precision), ratio(p.Recall))
}

// ratio prints a rate as a percentage, or "-" when undefined.
func ratio(r *float64) string {
	if r == nil {
		return "-"
	}
	return fmt.Sprintf("%.0f %%", 100**r)
}

// printRecoveryHistory prints a service's outages and its learned schedule.
func printRecoveryHistory(w io.Writer, h api.RecoveryHistory) {
	fmt.Fprintf(w, "%s: %s\n", h.Service, h.Learning.Reason)
	if len(h.Outages) == 0 {
		fmt.Fprintln(w, "no outages recorded")
		return
	}
	fmt.Fprintln(w)
	tw := table(w)
	fmt.Fprintln(tw, "OPENED\tDURATION\tOUTCOME\tSTRATEGY\tATTEMPTS\tDELAYS")
	now := time.Now()
	for _, u := range h.Outages {
		delays := make([]string, len(u.Delays))
		for i, d := range u.Delays {
			delays[i] = d.D().String()
		}
		strategy := u.Strategy.String()
		if u.Learned {
			strategy += " (learned)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\n", ago(u.OpenedAt, now), u.EndedAt.Sub(u.OpenedAt).Round(time.Millisecond),
			u.Outcome, strategy, u.Attempts, orDash(strings.Join(delays, " ")))
	}
	_ = tw.Flush()
}
