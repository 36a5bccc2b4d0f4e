// Package daemon builds a whole running antifragile system from one
// config.File and runs it: the shared breaker registry, the health
// aggregator, the recovery orchestrator, the chaos engine, the meter with
// its sink (memory, file or Redis; usage is always aggregated in memory
// for the ops API too), the agent bus wired through all of them, and the
// ops HTTP API over everything. It is what `antifragile serve` runs.
//
//	cfg, err := config.Load("antifragile.json")
//	if err != nil {
//		return err // every problem with its JSON path
//	}
//	d, err := daemon.New(cfg, daemon.WithLogger(logger))
//	if err != nil {
//		return err
//	}
//	d.Bus().Register("validator", handle) // agents may join before or during Run
//	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
//	defer stop()
//	go func() { <-d.Ready(); log.Println("listening on", d.URL()) }()
//	return d.Run(ctx)
//
// New builds everything and starts nothing. Run listens (port 0 picks a
// free port: Addr says which), runs every component, and when its context
// ends shuts down in order — HTTP first, then chaos (emergency stop: every
// scenario ended, every forced breaker released), the bus, recovery,
// health, and last the meter, which delivers every queued event before the
// sink is closed. Run returns only after every goroutine it started has
// exited. Signals are the caller's business (signal.NotifyContext).
package daemon
