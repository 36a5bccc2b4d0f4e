// Package recovery orchestrates the self-healing of failed services: a
// priority queue of recovery tasks, one per service, each retried with
// backoff under a policy until it succeeds, fails for good, or waits for an
// operator. It takes the restart intensity of Erlang/OTP supervisors and the
// priorities, per-item backoff and one-worker-per-key rule of Kubernetes work
// queues.
//
// An attempt runs the policy's optional Action (reconnect, restart), then its
// optional HealthCheck, each bounded by its own timeout — a function that
// ignores its context is still cut off. Success resets the service's breaker
// in the registry and ends the task; a failure waits for the next attempt
// (ExponentialBackoff: 1 s, 2 s, 4 s … by default), fails the task once the
// attempts are used up, or, under the Manual strategy, waits for Resume or
// Resolve.
//
// Run owns every attempt: it sleeps on a timer until the earliest task is
// due, starts due tasks in priority order (at most Config.MaxConcurrent at
// once, never two of one service), and returns only after they have ended.
// With Config.Watch it schedules a recovery whenever a breaker of the
// registry opens by itself, and leaves breakers forced open by an operator
// or by chaos alone.
//
// Every outage — from a task's creation to its end — is kept in a bounded
// per-service history (Outages), in a file across restarts with
// Config.HistoryPath. The opt-in Learned strategy aims attempts at the
// quantiles of the service's past heal times, the first at the median,
// within the policy's delays and attempt limit, and falls back to the
// policy's Fallback with too little history; Task.Learning says why.
// AtRisk scores predictions of a detector against the outages that
// follow (precision and recall in Status.Predictions).
//
//	reg, _ := breaker.NewRegistry(breaker.RegistryConfig{})
//	o, _ := recovery.New(recovery.Config{
//		Watch: true,
//		DefaultPolicy: recovery.Policy{
//			HealthCheck: func(ctx context.Context) error { return db.PingContext(ctx) },
//		},
//	}, reg)
//	go o.Run(ctx)
//	_ = o.Schedule("cache", recovery.Immediate, 0, nil) // or schedule by hand
//	sub := o.Subscribe(0)
//	for ev := range sub.C {
//		log.Printf("%s: %s (attempt %d) %s", ev.Service, ev.State, ev.Attempt, ev.Detail)
//	}
package recovery
