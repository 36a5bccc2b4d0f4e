// Package antifragile holds the vocabulary shared by every package of the
// antifragile toolkit: the constitutional hash that every component validates
// and stamps into its reports, the typed errors for a hash mismatch and for
// invalid configuration, and the toolkit's version.
//
// The toolkit itself lives in sub-packages:
//
//   - breaker: circuit breakers (closed / open / half-open, forced and disabled
//     states), a Registry and state-change events.
//   - health: a 0.0–1.0 health score over every breaker, with status, history
//     and change callbacks.
//   - recovery: a priority queue of services to recover with backoff
//     strategies, per-service policies and health checks.
//   - chaos: controlled fault injection with blast radius, duration caps,
//     stop conditions and an emergency stop.
//   - metering: fire-and-forget usage events batched to a sink.
//   - bus, ops, client and cmd/antifragile tie it together.
//
// A component validates its configured hash when it is built or acts:
//
//	if err := antifragile.ValidateHash(cfg.ConstitutionalHash); err != nil {
//		return err // errors.Is(err, antifragile.ErrHashMismatch)
//	}
package antifragile
