// Package system assembles the whole toolkit from one Config: the breaker
// registry, the health aggregator, the recovery orchestrator, the chaos
// engine, the meter with its sink, the agent bus, and the ops API over
// them. It is the one place that builds, runs and stops them: Run owns
// every component's goroutine, and stops them in the one order that loses
// nothing (chaos first, then the bus's undelivered messages, recovery,
// health, the meter's last flush, the sink).
//
// The Config's JSON form is the config file of `antifragile serve`: each
// component's own Config under its section, read strictly by Parse and Load
// with every problem reported by its JSON path.
//
//	sys, err := system.New(system.Config{})
//	if err != nil {
//		return err
//	}
//	sys.Bus().Register("validator", handle)
//	go sys.Run(ctx) // until ctx ends
//	<-sys.Started()
//	http.ListenAndServe("127.0.0.1:8080", sys.Handler())
package system
