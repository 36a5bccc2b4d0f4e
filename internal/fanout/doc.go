// Package fanout delivers events to subscribers without ever blocking the
// publisher: each subscription has a buffered channel, a full buffer drops
// the event and counts the loss. The breaker registry, the recovery
// orchestrator and the chaos engine publish their events through it.
package fanout
